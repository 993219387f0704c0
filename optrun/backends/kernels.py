"""Fused numba element kernels: one pass over memory per optimizer step.

Imported only when the numba backend is chosen (see :mod:`optrun.backends`). Each kernel is a
plain loop over rows ``s`` (batch members, one hyperparameter value per row) and columns
``lo <= j < hi``, compiled with :data:`JIT` (``cache=True, error_model="numpy", nogil=True``) and
*without* ``fastmath``: every ``+ - * / sqrt`` is one IEEE-754 operation with round-to-nearest and
LLVM contracts no multiply-add into an FMA, so where a kernel performs the numpy kernel's
operations in the numpy kernel's order (always, here; see each kernel's comment) the results are
the same bits. ``error_model="numpy"`` makes a division by zero give inf/nan as numpy does instead
of raising. Each row is taken as a 1-D view and indexed from 0, which lets LLVM prove the index
non-negative, drop numba's wrap-around check and vectorize the loop (4x faster than indexing
``a[s, j]`` with ``j`` from ``lo``, measured). ``nogil=True``: a large step runs on several
threads, each calling the kernel on its own contiguous range of columns.

Every kernel has the signature ``kernel(lo, hi, step, so, add, C, g, x, *state, *rows, *flags)``:
it writes its step into ``step[s, lo - so:hi - so]`` (``so = 0`` with the ``(S, d)`` step buffer,
``add`` False; ``so = lo`` with a small tile, ``add`` True: the step also goes into ``x`` in the
same pass). ``C`` is the ``(c, S)`` array of the step's per-step coefficients (bias corrections,
torch's ``clr``...: each numpy kernel's ``coefficients(t)``; ``(0, S)`` when there are none);
``state`` the ``(S, d)`` arrays the kernel reads and writes; ``rows`` hyperparameters as ``(S,)``
float64 arrays; ``flags`` booleans. That uniform head lets :mod:`optrun.backends.drivers` generate
every tile driver and chunk loop from the kernel alone.

``maximum`` reproduces ``np.maximum`` including NaN propagation (``a if a >= b or isnan(a) else
b``); ``lerp`` reproduces torch's two-branch ``lerp_`` as :func:`optrun.optimizers.transforms.lerp`
does, with ``c = w`` (``|w| < 0.5``) or ``w - 1``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: the options every kernel is compiled with (see the module doc)
JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**JIT, inline="always")
def maximum(a, b):
    return a if (a >= b or np.isnan(a)) else b


@njit(**JIT, inline="always")
def lerp(m, v, c, small):
    # transforms.lerp: tmp = v - m; tmp = tmp * c; small: m + tmp | else: v + tmp
    d = (v - m) * c
    return m + d if small else v + d


# ---------------------------------------------------------------- gradient descent, momentum


@njit(**JIT)
def gd(lo, hi, step, so, add, C, g, x, alpha):
    for s in range(g.shape[0]):
        x_ = x[s, lo:hi]
        a = alpha[s]
        step_, g_ = step[s, lo - so : hi - so], g[s, lo:hi]
        for j in range(hi - lo):
            out = -(g_[j] * a)  # multiply(g, -alpha): the same bits
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def heavy_ball(lo, hi, step, so, add, C, g, x, buf, alpha, mom, omd, wd, has_wd, nesterov):
    for s in range(g.shape[0]):
        a, m, o, w = alpha[s], mom[s], omd[s], wd[s]
        first = C[0, s] != 0.0  # t = 1: the buffer starts as the gradient
        g_, x_, buf_ = g[s, lo:hi], x[s, lo:hi], buf[s, lo:hi]
        step_ = step[s, lo - so : hi - so]
        for j in range(hi - lo):
            ge = g_[j] + x_[j] * w if has_wd else g_[j]  # add_scaled(geff, g, x, wd)
            b = ge if first else buf_[j] * m + ge * o  # copyto | buf*mu + g*(1-dampening)
            buf_[j] = b
            st = (ge + b * m) * a if nesterov else b * a
            out = -st
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


# ---------------------------------------------------------------- AdaGrad


@njit(**JIT)
def adagrad_tutorial(lo, hi, step, so, add, C, g, x, sum_sq, alpha, eps):
    for s in range(g.shape[0]):
        x_ = x[s, lo:hi]
        a, e = alpha[s], eps[s]
        g_, sum_sq_, step_ = g[s, lo:hi], sum_sq[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            gj = g_[j]
            v = sum_sq_[j] + gj * gj
            sum_sq_[j] = v
            out = -((a / (e + np.sqrt(v))) * gj)
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def adagrad_torch(lo, hi, step, so, add, C, g, x, sum_sq, wd, eps, has_wd):
    for s in range(g.shape[0]):
        nc, w, e = C[0, s], wd[s], eps[s]  # C: -clr
        g_, x_, sum_sq_ = g[s, lo:hi], x[s, lo:hi], sum_sq[s, lo:hi]
        step_ = step[s, lo - so : hi - so]
        for j in range(hi - lo):
            ge = g_[j] + x_[j] * w if has_wd else g_[j]
            v = sum_sq_[j] + ge * ge
            sum_sq_[j] = v
            out = (ge * nc) / (np.sqrt(v) + e)
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def adagrad_optax(lo, hi, step, so, add, C, g, x, sum_sq, neg_alpha, eps):
    for s in range(g.shape[0]):
        x_ = x[s, lo:hi]
        na, e = neg_alpha[s], eps[s]
        g_, sum_sq_, step_ = g[s, lo:hi], sum_sq[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            gj = g_[j]
            v = sum_sq_[j] + gj * gj
            sum_sq_[j] = v
            r = 1.0 / np.sqrt(v + e)
            if v <= 0.0:
                r = 0.0
            out = (r * gj) * na
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


# ---------------------------------------------------------------- RMSProp, Adadelta


@njit(**JIT)
def rmsprop_torch(
    lo,
    hi,
    step,
    so,
    add,
    C,
    g,
    x,
    nu,
    mu,
    buf,
    neg_alpha,
    decay,
    omd,
    lc,
    ls,
    eps,
    wd,
    mom,
    has_wd,
    centered,
    upd_buf,
):
    for s in range(g.shape[0]):
        na, dc, o, c, sm, e, w, m = neg_alpha[s], decay[s], omd[s], lc[s], ls[s], eps[s], wd[s], mom[s]
        g_, x_, nu_ = g[s, lo:hi], x[s, lo:hi], nu[s, lo:hi]
        mu_, buf_, step_ = mu[s, lo:hi], buf[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            ge = g_[j] + x_[j] * w if has_wd else g_[j]
            v = nu_[j] * dc + (ge * o) * ge  # decay_add_square
            nu_[j] = v
            if centered:
                a = lerp(mu_[j], ge, c, sm)
                mu_[j] = a
                den = np.sqrt(v - a * a) + e
            else:
                den = np.sqrt(v) + e
            if upd_buf:
                b = buf_[j] * m + ge / den
                buf_[j] = b
                out = b * na if m > 0.0 else (ge * na) / den
            else:
                out = (ge * na) / den
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def rmsprop_optax(
    lo,
    hi,
    step,
    so,
    add,
    C,
    g,
    x,
    nu,
    mu,
    buf,
    neg_alpha,
    decay,
    omd,
    eps,
    mom,
    centered,
    eps_in_sqrt,
    has_mom,
    nesterov,
):
    for s in range(g.shape[0]):
        x_ = x[s, lo:hi]
        na, dc, o, e, m = neg_alpha[s], decay[s], omd[s], eps[s], mom[s]
        g_, nu_, mu_ = g[s, lo:hi], nu[s, lo:hi], mu[s, lo:hi]
        buf_, step_ = buf[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            gj = g_[j]
            v = nu_[j] * dc + (gj * gj) * o  # ema_square
            nu_[j] = v
            if centered:
                a = mu_[j] * dc + gj * o  # ema
                mu_[j] = a
                v = v - a * a
            r = np.sqrt(v + e) if eps_in_sqrt else np.sqrt(v) + e
            st = ((1.0 / r) * gj) * na
            if has_mom:
                b = st + buf_[j] * m
                buf_[j] = b
                st = st + b * m if nesterov else b
            out = st
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def adadelta(lo, hi, step, so, add, C, g, x, e_g, e_x, rho, omr, eps, neg_alpha, wd, has_wd, torch_order):
    for s in range(g.shape[0]):
        r, o, e, na, w = rho[s], omr[s], eps[s], neg_alpha[s], wd[s]
        g_, x_, e_g_ = g[s, lo:hi], x[s, lo:hi], e_g[s, lo:hi]
        e_x_, step_ = e_x[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            ge = g_[j] + x_[j] * w if has_wd else g_[j]
            a = e_g_[j] * r + ((ge * o) * ge if torch_order else (ge * ge) * o)
            e_g_[j] = a
            delta = (np.sqrt(e_x_[j] + e) / np.sqrt(a + e)) * ge
            e_x_[j] = e_x_[j] * r + ((delta * o) * delta if torch_order else (delta * delta) * o)
            out = delta * na
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


# ---------------------------------------------------------------- the Adam family


@njit(**JIT)
def adam_torch(
    lo,
    hi,
    step,
    so,
    add,
    C,
    g,
    x,
    mu,
    nu,
    nu_max,
    lc,
    ls,
    beta2,
    omb2,
    eps,
    wd,
    factor,
    coupled,
    decoupled,
    amsgrad,
):
    for s in range(g.shape[0]):
        nss, bc = C[0, s], C[1, s]  # -alpha / (1 - beta1**t), sqrt(1 - beta2**t)
        c, sm, b2, o2, e, w, f = lc[s], ls[s], beta2[s], omb2[s], eps[s], wd[s], factor[s]
        g_, x_, mu_ = g[s, lo:hi], x[s, lo:hi], mu[s, lo:hi]
        nu_, nu_max_, step_ = nu[s, lo:hi], nu_max[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            ge = g_[j] + x_[j] * w if coupled else g_[j]
            m = lerp(mu_[j], ge, c, sm)
            mu_[j] = m
            v = nu_[j] * b2 + (ge * o2) * ge
            nu_[j] = v
            if amsgrad:
                v = maximum(nu_max_[j], v)
                nu_max_[j] = v
            st = (m * nss) / (np.sqrt(v) / bc + e)
            if decoupled:  # adam.decoupled: (x * factor + step) - x
                st = (x_[j] * f + st) - x_[j]
            out = st
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def adam_optax(
    lo,
    hi,
    step,
    so,
    add,
    C,
    g,
    x,
    mu,
    nu,
    nu_max,
    beta1,
    omb1,
    beta2,
    omb2,
    eps_root,
    eps,
    wd,
    neg_alpha,
    has_wd,
    nesterov,
    amsgrad,
):
    for s in range(g.shape[0]):
        i1, i1n, i2 = C[0, s], C[1, s], C[2, s]  # 1 / (1 - beta1**t), .. (t + 1), 1 / (1 - beta2**t)
        b1, o1, b2, o2 = beta1[s], omb1[s], beta2[s], omb2[s]
        er, e, w, na = eps_root[s], eps[s], wd[s], neg_alpha[s]
        g_, mu_, nu_ = g[s, lo:hi], mu[s, lo:hi], nu[s, lo:hi]
        nu_max_, x_, step_ = nu_max[s, lo:hi], x[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            gj = g_[j]
            m = mu_[j] * b1 + gj * o1  # ema
            mu_[j] = m
            v = nu_[j] * b2 + (gj * gj) * o2  # ema_square
            nu_[j] = v
            st = (m * i1n) * b1 + (gj * i1) * o1 if nesterov else m * i1
            vh = v * i2
            if amsgrad:
                vh = maximum(nu_max_[j], vh)
                nu_max_[j] = vh
            st = st / (np.sqrt(vh + er) + e)
            if has_wd:
                st = st + x_[j] * w
            out = st * na
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def nadam_torch(
    lo, hi, step, so, add, C, g, x, mu, nu, lc, ls, beta2, omb2, eps, wd, factor, coupled, decoupled
):
    for s in range(g.shape[0]):
        bc, k1, k2 = C[0, s], C[1, s], C[2, s]  # 1 - beta2**t and the two step sizes
        c, sm, b2, o2, e, w, f = lc[s], ls[s], beta2[s], omb2[s], eps[s], wd[s], factor[s]
        x_, g_, mu_ = x[s, lo:hi], g[s, lo:hi], mu[s, lo:hi]
        nu_, step_ = nu[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            xj = x_[j]
            ge = g_[j] + xj * w if coupled else g_[j]
            m = lerp(mu_[j], ge, c, sm)
            mu_[j] = m
            v = nu_[j] * b2 + (ge * o2) * ge
            nu_[j] = v
            den = np.sqrt(v / bc) + e
            y = xj * f if decoupled else xj
            y = y + (ge * k1) / den
            y = y + (m * k2) / den
            out = y - xj
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def adamax(
    lo, hi, step, so, add, C, g, x, mu, u, lc, ls, beta1, omb1, beta2, eps, wd, neg_alpha, has_wd, torch_order
):
    for s in range(g.shape[0]):
        k = C[0, s]  # torch: -alpha / (1 - beta1**t); optax: 1 / (1 - beta1**t)
        c, sm, b1, o1, b2, e, w, na = lc[s], ls[s], beta1[s], omb1[s], beta2[s], eps[s], wd[s], neg_alpha[s]
        g_, x_, mu_ = g[s, lo:hi], x[s, lo:hi], mu[s, lo:hi]
        u_, step_ = u[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            ge = g_[j] + x_[j] * w if has_wd else g_[j]
            m = lerp(mu_[j], ge, c, sm) if torch_order else mu_[j] * b1 + ge * o1
            mu_[j] = m
            un = maximum(u_[j] * b2, np.abs(ge) + e)
            u_[j] = un
            # torch: (m * -(alpha / bc1)) / u;  optax: ((m * (1 / bc1)) / u) * -alpha
            out = (m * k) / un if torch_order else ((m * k) / un) * na
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


@njit(**JIT)
def adam_paper(lo, hi, step, so, add, C, g, x, mu, nu, nu_max, beta2, omb2, alpha, eps, amsgrad, guard):
    # Reddi et al.'s Algorithms 1 and 2 with beta1(t) from C: the paper variants (constant beta1)
    # and the AMSGrad tutorial (its beta1 schedule; amsgrad always, no guard)
    for s in range(g.shape[0]):
        x_ = x[s, lo:hi]
        d1, o1 = C[0, s], C[1, s]  # beta1(t), 1 - beta1(t)
        b2, o2, a, e = beta2[s], omb2[s], alpha[s], eps[s]
        g_, mu_, nu_ = g[s, lo:hi], mu[s, lo:hi], nu[s, lo:hi]
        nu_max_, step_ = nu_max[s, lo:hi], step[s, lo - so : hi - so]
        for j in range(hi - lo):
            gj = g_[j]
            m = mu_[j] * d1 + gj * o1  # ema
            mu_[j] = m
            v = nu_[j] * b2 + (gj * gj) * o2  # ema_square
            nu_[j] = v
            if amsgrad:
                v = maximum(nu_max_[j], v)
                nu_max_[j] = v
            den = np.sqrt(v) + e  # root_plus_eps
            if guard:  # np.maximum(den, TINY): 0 / 0 gives 0
                den = maximum(den, 5e-324)
            out = -((m * a) / den)
            step_[j] = out
            if add:  # the fused step: x += step in the same pass
                x_[j] = x_[j] + out


#: every kernel, in the order of :mod:`optrun.optimizers.algorithms`
KERNELS = (
    "gd",
    "heavy_ball",
    "adagrad_tutorial",
    "adagrad_torch",
    "adagrad_optax",
    "rmsprop_torch",
    "rmsprop_optax",
    "adadelta",
    "adam_torch",
    "adam_optax",
    "nadam_torch",
    "adamax",
    "adam_paper",
)
