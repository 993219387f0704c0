"""Built-in test functions. Each is vectorized over ``(..., d)``, reduces on the last axis only,
and returns its analytic gradient with the value (one pass over ``x``).

Definitions, default domains and optima follow Surjanovic & Bingham, *Virtual Library of
Simulation Experiments: Test Functions and Datasets* (Simon Fraser University, 2013,
https://www.sfu.ca/~ssurjano/optimization.html, "SB" below) and Jamil & Yang, *A literature survey
of benchmark functions for global optimization problems*, Int. J. Math. Modelling and Numerical
Optimisation 4(2), 2013 ("JY"); the original paper of each function is cited with it. Minimizers
that are not exact numbers (Himmelblau, six-hump camel, Styblinski-Tang) were computed by Newton's
method on the gradient in 60-digit decimal arithmetic and rounded to float64.

Every function is a composition of numpy ufuncs and last-axis reductions, so a batch ``(S, d)``
gives row for row the same bits as ``S`` single ``(1, d)`` calls. Each is written once, as a kernel
``(x, g, take) -> f`` (:mod:`.scratch`) whose ufuncs write with ``out=`` into the gradient ``g`` or
into temporaries from ``take``, so ``evaluate_into`` allocates nothing of size ``d`` per call; the
comment above each kernel is the formula it evaluates, in that order. The functions of a fixed
dimension (d = 2) are in :mod:`.library_2d`.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from ..params import Param
from .base import ObjectiveSpec, box, ones, origin, zero
from .library_2d import (
    BEALE,
    BOOTH,
    EASOM,
    GOLDSTEIN_PRICE,
    HIMMELBLAU,
    MATYAS,
    SIX_HUMP_CAMEL,
    THREE_HUMP_CAMEL,
)
from .scratch import column_blocks, short

PI = np.pi


def _sphere(d: int):
    # f = x . x (for d = 2 this is x0*x0 + x1*x1, the tutorials' x**2.0 + y**2.0);  g = 2 x
    def kernel(x, g, take):
        np.multiply(x, 2.0, out=g)
        return np.vecdot(x, x)

    return kernel


SPHERE = ObjectiveSpec(
    name="sphere",
    summary="sum of squares, the tutorials' bowl",
    formula="f(x) = sum_i x_i^2",
    reference="De Jong 1975; the AdaGrad and AMSGrad tutorials' test problem",
    make=_sphere,
    bounds=box(-1.0, 1.0),
    minima=origin,
    f_min=zero,
)


def ellipsoid_weights(d: int, condition: float) -> np.ndarray:
    """The ellipsoid's weights ``condition ** (i / (d - 1))`` (also read by the compiled gradient)."""
    if d == 1:
        return np.ones(1)
    return np.power(float(condition), np.arange(d) / (d - 1))


def _ellipsoid(d: int, condition: float = 1e6):
    w = ellipsoid_weights(d, condition)
    w2 = 2.0 * w

    # f = sum((w x) x);  g = (2 w) x
    def kernel(x, g, take):
        np.multiply(w, x, out=g)
        np.multiply(g, x, out=g)
        f = np.sum(g, axis=-1)
        np.multiply(w2, x, out=g)
        return f

    return kernel


ELLIPSOID = ObjectiveSpec(
    name="ellipsoid",
    summary="ill-conditioned quadratic, Hessian condition number = condition",
    formula="f(x) = sum_i condition^((i-1)/(d-1)) x_i^2   (i = 1..d)",
    reference="Hansen, Finck, Ros, Auger 2009, BBOB noiseless functions, f2 (without T_osz)",
    make=_ellipsoid,
    bounds=box(-5.0, 5.0),
    minima=origin,
    f_min=zero,
    params=(Param("condition", 1e6, "ratio of the largest to the smallest Hessian eigenvalue", low=1.0),),
)


def _rosenbrock(d: int):
    # a = x[:-1], b = x[1:], t = b - a a, u = 1 - a;  f = sum(100 (t t) + u u);
    # g = 0; g[:-1] = (-400 a) t - 2 u; g[1:] += 200 t
    def kernel(x, g, take):
        m = x.shape[-1] - 1
        block, starts = column_blocks(x, m)
        (v,) = take(short(x), 1)
        tb, ub = take(block, 2)
        (carry,) = take(x.shape[:-1] + (1,), 1)
        # in blocks of columns, so that t and u stay in cache: g[lo] gets 200 t[lo - 1] from the
        # block before (carry)
        for lo in starts:
            n = min(block[-1], m - lo)
            a, b = x[..., lo : lo + n], x[..., lo + 1 : lo + n + 1]
            t, u, vv, head = tb[..., :n], ub[..., :n], v[..., lo : lo + n], g[..., lo : lo + n]
            np.multiply(a, a, out=t)
            np.subtract(b, t, out=t)
            np.subtract(1.0, a, out=u)
            np.multiply(t, t, out=vv)
            np.multiply(vv, 100.0, out=vv)
            np.multiply(u, u, out=head)
            np.add(vv, head, out=vv)
            np.multiply(a, -400.0, out=head)
            np.multiply(head, t, out=head)
            np.multiply(u, 2.0, out=u)
            np.subtract(head, u, out=head)
            np.multiply(t, 200.0, out=t)
            if lo > 0:
                np.add(head[..., :1], carry, out=head[..., :1])
            np.add(head[..., 1:], t[..., : n - 1], out=head[..., 1:])
            np.copyto(carry, t[..., n - 1 :])
        g[..., -1] = 0.0
        np.add(g[..., -1:], carry, out=g[..., -1:])
        return np.sum(v, axis=-1)

    return kernel


ROSENBROCK = ObjectiveSpec(
    name="rosenbrock",
    summary="curved narrow valley (the banana function)",
    formula="f(x) = sum_{i=1}^{d-1} [100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2]",
    reference="Rosenbrock 1960, Comput. J. 3(3):175-184; SB (De Jong's domain [-2.048, 2.048])",
    make=_rosenbrock,
    bounds=box(-2.048, 2.048),
    minima=ones,
    f_min=zero,
    dims=(2, None),
    minima_text="x_i = 1 for all i",
)


def _rastrigin(d: int):
    tau = 2.0 * PI

    # f = 10 d + sum(x x - 10 cos(tau x));  g = 2 x + (10 tau) sin(tau x)
    def kernel(x, g, take):
        (h,) = take(x.shape, 1)
        np.multiply(x, tau, out=h)
        np.cos(h, out=h)
        np.multiply(h, 10.0, out=h)
        np.multiply(x, x, out=g)
        np.subtract(g, h, out=h)
        f = 10.0 * d + np.sum(h, axis=-1)
        np.multiply(x, tau, out=h)
        np.sin(h, out=h)
        np.multiply(h, 10.0 * tau, out=h)
        np.multiply(x, 2.0, out=g)
        np.add(g, h, out=g)
        return f

    return kernel


RASTRIGIN = ObjectiveSpec(
    name="rastrigin",
    summary="highly multimodal: a bowl with a regular grid of local minima",
    formula="f(x) = 10 d + sum_i [x_i^2 - 10 cos(2 pi x_i)]",
    reference="Rastrigin 1974; Muehlenbein, Schomisch, Born 1991, Parallel Comput. 17:619-632; SB",
    make=_rastrigin,
    bounds=box(-5.12, 5.12),
    minima=origin,
    f_min=zero,
)


def _ackley(d: int, a: float = 20.0, b: float = 0.2, c: float = 2.0 * PI):
    e1 = np.exp(1.0)

    # r = sqrt(sum(x x) / d), m = sum(cos(c x)) / d;  g = k x + (e^m c / d) sin(c x)
    def kernel(x, g, take):
        (h,) = take(x.shape, 1)
        np.multiply(x, x, out=g)
        r = np.sqrt(np.sum(g, axis=-1) / d)
        np.multiply(x, c, out=g)
        np.cos(g, out=g)
        m = np.sum(g, axis=-1) / d
        er, em = np.exp(-b * r), np.exp(m)
        # (a - a e^{-b r}) + (e - e^{m}): exactly 0 at the origin
        f = (a - a * er) + (e1 - em)
        pos = r > 0.0
        # d r / d x_i = x_i / (d r); at r = 0 the cone's subgradient 0 is used
        k = np.where(pos, (a * b) * er / (d * np.where(pos, r, 1.0)), 0.0)
        np.multiply(x, c, out=h)
        np.sin(h, out=h)
        np.multiply(h, (em * (c / d))[..., None], out=h)
        np.multiply(k[..., None], x, out=g)
        np.add(g, h, out=g)
        return f

    return kernel


ACKLEY = ObjectiveSpec(
    name="ackley",
    summary="nearly flat outer region, many local minima, a deep hole at the origin",
    formula="f(x) = -a exp(-b sqrt(sum_i x_i^2 / d)) - exp(sum_i cos(c x_i) / d) + a + e",
    reference="Ackley 1987, A Connectionist Machine for Genetic Hillclimbing; SB (a=20, b=0.2, c=2 pi)",
    make=_ackley,
    bounds=box(-32.768, 32.768),
    minima=origin,
    f_min=zero,
    params=(
        Param("a", 20.0, "depth of the outer exponential"),
        Param("b", 0.2, "decay of the outer exponential", low=0.0, low_open=True),
        Param("c", 2.0 * PI, "frequency of the cosine term"),
    ),
)


def _griewank(d: int):
    sq = np.sqrt(np.arange(1, d + 1, dtype=float))

    # z = x / sq, p = prod(cos z);  f = sum(x x) / 4000 + (1 - p);
    # g = x / 2000 + sin(z) / sq * (left right), left and right the products of cos z_j for j < i
    # and j > i (exclusive prefix and suffix products: no division by cos)
    def kernel(x, g, take):
        z, cz, right = take(x.shape, 3)
        np.divide(x, sq, out=z)
        np.cos(z, out=cz)
        p = np.prod(cz, axis=-1)
        np.multiply(x, x, out=g)
        f = np.sum(g, axis=-1) / 4000.0 + (1.0 - p)
        g[..., 0] = 1.0
        np.cumprod(cz[..., :-1], axis=-1, out=g[..., 1:])
        right[..., -1] = 1.0
        np.cumprod(cz[..., :0:-1], axis=-1, out=right[..., -2::-1])
        np.multiply(g, right, out=g)
        np.sin(z, out=z)
        np.divide(z, sq, out=z)
        np.multiply(z, g, out=z)
        np.divide(x, 2000.0, out=g)
        np.add(g, z, out=g)
        return f

    return kernel


GRIEWANK = ObjectiveSpec(
    name="griewank",
    summary="product of cosines on a wide shallow bowl; many regularly spaced local minima",
    formula="f(x) = 1 + sum_i x_i^2 / 4000 - prod_i cos(x_i / sqrt(i))",
    reference="Griewank 1981, J. Optim. Theory Appl. 34:11-39; SB",
    make=_griewank,
    bounds=box(-600.0, 600.0),
    minima=origin,
    f_min=zero,
)

# Styblinski-Tang: x* solves 4x^3 - 32x + 5 = 0 (the smallest root); f* = d * f1(x*)
ST_X = -2.903534027771177  # -2.90353402777117709511891759550892...
ST_F1 = Decimal("-39.1661657037714154638931697394768653403")


def _styblinski_tang(d: int):
    # x2 = x x;  f = 0.5 sum(x2 x2 - 16 x2 + 5 x);  g = (2 x2) x - 16 x + 2.5
    def kernel(x, g, take):
        block, starts = column_blocks(x, x.shape[-1])
        (h,) = take(x.shape, 1)
        (x2b,) = take(block, 1)
        for lo in starts:
            n = min(block[-1], x.shape[-1] - lo)
            xb, gb, hb, x2 = x[..., lo : lo + n], g[..., lo : lo + n], h[..., lo : lo + n], x2b[..., :n]
            np.multiply(xb, xb, out=x2)
            np.multiply(x2, x2, out=hb)
            np.multiply(x2, 16.0, out=gb)
            np.subtract(hb, gb, out=hb)
            np.multiply(xb, 5.0, out=gb)
            np.add(hb, gb, out=hb)
            np.multiply(x2, 2.0, out=x2)
            np.multiply(x2, xb, out=x2)
            np.multiply(xb, 16.0, out=gb)
            np.subtract(x2, gb, out=gb)
            np.add(gb, 2.5, out=gb)
        return 0.5 * np.sum(h, axis=-1)

    return kernel


STYBLINSKI_TANG = ObjectiveSpec(
    name="styblinski-tang",
    summary="separable quartic with 2^d local minima, the global one at x_i = -2.9035",
    formula="f(x) = 1/2 sum_i (x_i^4 - 16 x_i^2 + 5 x_i)",
    reference="Styblinski & Tang 1990, Neural Networks 3(4):467-483; SB",
    make=_styblinski_tang,
    bounds=box(-5.0, 5.0),
    minima=lambda d, **_: np.full((1, d), ST_X),
    f_min=lambda d, **_: float(ST_F1 * d),
    aliases=("styblinski_tang", "stybtang"),
    f_min_text="-39.16616570377142 d",
    minima_text="x_i = -2.903534027771177 for all i",
)


def _levy(d: int):
    # w = 1 + (x - 1) / 4, wm = w[:-1], um = wm - 1, pm = pi wm + 1, bm = 1 + 10 sin(pm)^2;
    # f = s1 s1 + sum((um um) bm) + ud ud (1 + sd sd) (s1, sd, ud: the first and last w);
    # df/dw: [:-1] = (2 um) bm + ((um um) (10 pi)) sin(2 pm), [0] += .., [-1] += ..;  g = df/dw / 4
    def kernel(x, g, take):
        m = x.shape[-1] - 1
        block, starts = column_blocks(x, m)
        (v,) = take(short(x), 1)
        # flat, so that a block's (..., n) view is contiguous: numpy's sin may round differently
        # on strided arrays
        rows = block[:-1]
        flat = take((int(np.prod(block)),), 4)
        for lo in starts:
            n = min(block[-1], m - lo)
            wm, pm, bm, um = (t[: int(np.prod(rows)) * n].reshape(rows + (n,)) for t in flat)
            head, vv = g[..., lo : lo + n], v[..., lo : lo + n]
            np.subtract(x[..., lo : lo + n], 1.0, out=wm)
            np.divide(wm, 4.0, out=wm)
            np.add(wm, 1.0, out=wm)
            np.multiply(wm, PI, out=pm)
            np.add(pm, 1.0, out=pm)
            np.sin(pm, out=bm)
            np.multiply(bm, bm, out=bm)
            np.multiply(bm, 10.0, out=bm)
            np.add(bm, 1.0, out=bm)
            np.subtract(wm, 1.0, out=um)
            np.multiply(um, um, out=head)
            np.multiply(head, bm, out=vv)
            np.multiply(head, 10.0 * PI, out=head)
            np.multiply(pm, 2.0, out=pm)
            np.sin(pm, out=pm)
            np.multiply(head, pm, out=head)
            np.multiply(um, 2.0, out=um)
            np.multiply(um, bm, out=um)
            np.add(um, head, out=head)
        w1 = 1.0 + (x[..., 0] - 1.0) / 4.0
        wd = 1.0 + (x[..., -1] - 1.0) / 4.0
        s1 = np.sin(PI * w1)
        sd = np.sin(2.0 * PI * wd)
        ud = wd - 1.0
        f = s1 * s1 + np.sum(v, axis=-1) + ud * ud * (1.0 + sd * sd)
        g[..., -1] = 0.0
        g[..., 0] += PI * np.sin(2.0 * PI * w1)
        g[..., -1] += 2.0 * ud * (1.0 + sd * sd) + ud * ud * (2.0 * PI) * np.sin(4.0 * PI * wd)
        np.divide(g, 4.0, out=g)
        return f

    return kernel


LEVY = ObjectiveSpec(
    name="levy",
    summary="multimodal, many local minima, global minimum at x_i = 1",
    formula=(
        "w_i = 1 + (x_i - 1)/4;  f(x) = sin^2(pi w_1) + sum_{i<d} (w_i - 1)^2 [1 + 10 sin^2(pi w_i + 1)]"
        " + (w_d - 1)^2 [1 + sin^2(2 pi w_d)]"
    ),
    reference="Levy & Montalvo 1985, SIAM J. Sci. Stat. Comput. 6(1):15-29; SB",
    make=_levy,
    bounds=box(-10.0, 10.0),
    minima=ones,
    f_min=zero,
    aliases=("lévy",),
    minima_text="x_i = 1 for all i",
)


def _zakharov(d: int):
    half_i = 0.5 * np.arange(1, d + 1, dtype=float)

    # s = sum(half_i x), s2 = s s;  f = sum(x x) + s2 + s2 s2;  g = 2 x + (2 s + 4 s2 s) half_i
    def kernel(x, g, take):
        (h,) = take(x.shape, 1)
        np.multiply(half_i, x, out=g)
        s = np.sum(g, axis=-1)
        s2 = s * s
        np.multiply(x, x, out=g)
        f = np.sum(g, axis=-1) + s2 + s2 * s2
        np.multiply((2.0 * s + 4.0 * s2 * s)[..., None], half_i, out=h)
        np.multiply(x, 2.0, out=g)
        np.add(g, h, out=g)
        return f

    return kernel


ZAKHAROV = ObjectiveSpec(
    name="zakharov",
    summary="plate-shaped unimodal function with a quartic term",
    formula="s = sum_i i x_i / 2;  f(x) = sum_i x_i^2 + s^2 + s^4",
    reference="Zakharov; Rahnamayan, Tizhoosh, Salama 2007; SB",
    make=_zakharov,
    bounds=box(-5.0, 10.0),
    minima=origin,
    f_min=zero,
)

SPECS = (
    SPHERE,
    ELLIPSOID,
    ROSENBROCK,
    RASTRIGIN,
    ACKLEY,
    GRIEWANK,
    STYBLINSKI_TANG,
    LEVY,
    ZAKHAROV,
    BEALE,
    BOOTH,
    MATYAS,
    HIMMELBLAU,
    THREE_HUMP_CAMEL,
    SIX_HUMP_CAMEL,
    GOLDSTEIN_PRICE,
    EASOM,
)
