"""Experiment of issue 15 (item 5): a rule's arithmetic written once, for both backends.

The rule is a plain function of its operands (AdaGrad's tutorial variant and torch's Adam, default
settings, scalar hyperparameters): numba compiles it per element inside a kernel loop, numpy
applies the same function to whole arrays. Both give optrun's kernels' bits (checked below), but
on the numpy path every operator allocates a d-sized temporary where optrun's numpy kernels work
in place in preallocated buffers. Prints the numpy step time (update + ``x += step``) of both,
interleaved, medians. Not adopted (see CONTRIBUTING.md's "how to add an optimizer" and the issue
note): at d >= 1e5 the written-once rule is 2-5x slower on numpy.

    python benchmarks/bench_rule_once.py [rounds]     # needs numba
"""

import sys

import numpy as np
from bench_util import interleaved, median, time_loop
from numba import njit

from optrun.optimizers import get_algorithm
from optrun.optimizers import transforms as T

sqrt = np.sqrt  # the numpy path; the numba path compiles the same function (np.sqrt works in both)


def adagrad_rule(g, v, a, e):
    v = v + g * g
    return v, -((a / (e + sqrt(v))) * g)


def adam_torch_rule(g, m, v, c, small, b2, o2, nss, bc, e):
    d = (g - m) * c
    m = m + d if small else g + d
    v = v * b2 + (g * o2) * g
    return m, v, (m * nss) / (sqrt(v) / bc + e)


rule_ag = njit(inline="always")(adagrad_rule)
rule_ad = njit(inline="always")(adam_torch_rule)


@njit(error_model="numpy")
def ag_kernel(g, x, v, a, e):
    for j in range(g.shape[0]):
        vj, st = rule_ag(g[j], v[j], a, e)
        v[j] = vj
        x[j] = x[j] + st


def numpy_once_adagrad(alpha, eps):
    def init(x):
        return [np.zeros_like(x)]

    def step(g, s, x, t):
        s[0], st = adagrad_rule(g, s[0], alpha, eps)
        np.add(x, st, out=x)
        return st

    return init, step


def numpy_once_adam(alpha, beta1, beta2, eps):
    w = 1.0 - beta1
    small = abs(w) < 0.5
    c = w if small else w - 1.0

    def init(x):
        return [np.zeros_like(x), np.zeros_like(x)]

    def step(g, s, x, t):
        nss = -(alpha / T.bias_correction(beta1, t))
        bc = T.power(T.bias_correction(beta2, t), 0.5)
        s[0], s[1], st = adam_torch_rule(g, s[0], s[1], c, small, beta2, 1.0 - beta2, nss, bc, eps)
        np.add(x, st, out=x)
        return st

    return init, step


def optrun_kernel(algo, variant, **p):
    v = get_algorithm(algo).variant(variant)
    params = {q.name: q.default for q in v.params}
    params.update(p)
    opt = v.build(**params)

    def step(g, s, x, t):
        st, _ = opt.update(g, s, x, t)
        np.add(x, st, out=x)
        return st

    return opt.init, step, params


def check_bits(d=1000, steps=50):
    rng = np.random.default_rng(0)
    for name, (i1, s1, p), (i2, s2) in [
        ("adagrad/tutorial", optrun_kernel("adagrad", "tutorial"), numpy_once_adagrad(0.1, 1e-8)),
        ("adam/torch", optrun_kernel("adam", "torch"), numpy_once_adam(1e-3, 0.9, 0.999, 1e-8)),
    ]:
        if name.startswith("adagrad"):
            assert p["alpha"] == 0.1 and p["eps"] == 1e-8, p
        x1 = rng.normal(size=(1, d))
        x2 = x1.copy()
        st1 = i1(x1)
        st2 = i2(x2)
        for t in range(1, steps + 1):
            g = 2 * x1 + 0.1
            s1(g, st1, x1, t)
            s2(g.copy(), st2, x2, t)
        print(f"{name}: bits equal numpy kernel: {x1.tobytes() == x2.tobytes()}")
    # numba per element from the same rule
    x = rng.normal(size=d)
    v = np.zeros(d)
    xr = x.copy()
    i, s, _ = optrun_kernel("adagrad", "tutorial")
    st = i(xr[None])
    for t in range(1, 20):
        g = 2 * x + 0.1
        ag_kernel(g, x, v, 0.1, 1e-8)
        s(g[None], st, xr[None], t)
    print("adagrad numba-from-rule equals numpy kernel:", x.tobytes() == xr.tobytes())


def bench(rounds):
    rows = []
    for d in (10**3, 10**5, 10**6):
        n = max(3, int(2e6 // d))
        for name, a, b in [
            ("adagrad/tutorial", optrun_kernel("adagrad", "tutorial"), numpy_once_adagrad(0.1, 1e-8)),
            ("adam/torch", optrun_kernel("adam", "torch"), numpy_once_adam(1e-3, 0.9, 0.999, 1e-8)),
        ]:
            fns = {}
            for label, (init, step) in (("kernel", a[:2]), ("rule-once", b)):
                x = np.random.default_rng(1).normal(size=(1, d)) * 1e-3
                s = init(x)
                g = np.full((1, d), 1e-3)

                def body(k, step=step, s=s, x=x, g=g):
                    for t in range(1, k + 1):
                        step(g, s, x, t % 100 + 1)

                fns[label] = lambda body=body, n=n: time_loop(body, n)
            r = interleaved(fns, rounds)
            k, o = median(r["kernel"]), median(r["rule-once"])
            rows.append((name, d, k, o, median([b / a for a, b in zip(r["kernel"], r["rule-once"])])))
            print(
                f"{name:18s} d={d:>8d} kernel {k * 1e6:9.1f} us  rule-once {o * 1e6:9.1f} us  ratio {rows[-1][-1]:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    check_bits()
    bench(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
