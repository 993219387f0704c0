"""Built-in test functions of a fixed dimension (d = 2), in the conventions of :mod:`.library`
(references there). Each kernel computes the two partial derivatives as numbers per row and writes
them into the columns of the gradient ``g``; it needs no temporaries of size ``d``.
"""

from __future__ import annotations

import numpy as np

from .base import ObjectiveSpec, box, constant, origin, points, zero

PI = np.pi


def _beale(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        b2 = b * b
        b3 = b2 * b
        t1 = 1.5 - a + a * b
        t2 = 2.25 - a + a * b2
        t3 = 2.625 - a + a * b3
        f = t1 * t1 + t2 * t2 + t3 * t3
        ga = 2.0 * (t1 * (b - 1.0) + t2 * (b2 - 1.0) + t3 * (b3 - 1.0))
        gb = 2.0 * a * (t1 + 2.0 * b * t2 + 3.0 * b2 * t3)
        g[..., 0] = ga
        g[..., 1] = gb
        return f

    return kernel


BEALE = ObjectiveSpec(
    name="beale",
    summary="flat regions and sharp ridges near the corners",
    formula="f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    reference="Beale 1958; SB",
    make=_beale,
    bounds=box(-4.5, 4.5),
    minima=points((3.0, 0.5)),
    f_min=zero,
    dims=(2, 2),
)


def _booth(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        p = a + 2.0 * b - 7.0
        q = 2.0 * a + b - 5.0
        g[..., 0] = 2.0 * p + 4.0 * q
        g[..., 1] = 4.0 * p + 2.0 * q
        return p * p + q * q

    return kernel


BOOTH = ObjectiveSpec(
    name="booth",
    summary="a plain quadratic plate",
    formula="f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
    reference="SB; JY no. 24",
    make=_booth,
    bounds=box(-10.0, 10.0),
    minima=points((1.0, 3.0)),
    f_min=zero,
    dims=(2, 2),
)


def _matyas(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        f = 0.26 * (a * a + b * b) - 0.48 * a * b
        g[..., 0] = 0.52 * a - 0.48 * b
        g[..., 1] = 0.52 * b - 0.48 * a
        return f

    return kernel


MATYAS = ObjectiveSpec(
    name="matyas",
    summary="plate-shaped quadratic, nearly flat along the diagonal",
    formula="f(x, y) = 0.26 (x^2 + y^2) - 0.48 x y",
    reference="SB; JY no. 71",
    make=_matyas,
    bounds=box(-10.0, 10.0),
    minima=origin,
    f_min=zero,
    dims=(2, 2),
)


def _himmelblau(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        p = a * a + b - 11.0
        q = a + b * b - 7.0
        g[..., 0] = 4.0 * a * p + 2.0 * q
        g[..., 1] = 2.0 * p + 4.0 * b * q
        return p * p + q * q

    return kernel


HIMMELBLAU = ObjectiveSpec(
    name="himmelblau",
    summary="four global minima of equal value 0",
    formula="f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    reference="Himmelblau 1972, Applied Nonlinear Programming, McGraw-Hill",
    make=_himmelblau,
    bounds=box(-5.0, 5.0),
    minima=points(
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.2831859912861696),
        (3.5844283403304917, -1.8481265269644036),
    ),
    f_min=zero,
    dims=(2, 2),
)


def _three_hump_camel(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        a2 = a * a
        a4 = a2 * a2
        f = 2.0 * a2 - 1.05 * a4 + a4 * a2 / 6.0 + a * b + b * b
        g[..., 0] = 4.0 * a - 4.2 * a2 * a + a4 * a + b
        g[..., 1] = a + 2.0 * b
        return f

    return kernel


THREE_HUMP_CAMEL = ObjectiveSpec(
    name="three-hump-camel",
    summary="three local minima, the global one at the origin",
    formula="f(x, y) = 2x^2 - 1.05x^4 + x^6/6 + xy + y^2",
    reference="Branin 1972; SB",
    make=_three_hump_camel,
    bounds=box(-5.0, 5.0),
    minima=origin,
    f_min=zero,
    dims=(2, 2),
    aliases=("three_hump_camel", "camel3"),
)

SIX_HUMP_X, SIX_HUMP_Y = 0.08984201310031806, -0.7126564030207396
SIX_HUMP_F = -1.0316284534898774


def _six_hump_camel(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        a2, b2 = a * a, b * b
        f = (4.0 - 2.1 * a2 + a2 * a2 / 3.0) * a2 + a * b + (-4.0 + 4.0 * b2) * b2
        ga = 8.0 * a - 8.4 * a2 * a + 2.0 * a2 * a2 * a + b
        gb = a - 8.0 * b + 16.0 * b2 * b
        g[..., 0] = ga
        g[..., 1] = gb
        return f

    return kernel


SIX_HUMP_CAMEL = ObjectiveSpec(
    name="six-hump-camel",
    summary="six local minima, two of them global (symmetric about the origin)",
    formula="f(x, y) = (4 - 2.1x^2 + x^4/3) x^2 + xy + (-4 + 4y^2) y^2",
    reference="Dixon & Szegoe 1978, Towards Global Optimisation 2; SB (x in [-3, 3], y in [-2, 2])",
    make=_six_hump_camel,
    bounds=lambda d: np.array([[-3.0, 3.0], [-2.0, 2.0]]),
    minima=points((SIX_HUMP_X, SIX_HUMP_Y), (-SIX_HUMP_X, -SIX_HUMP_Y)),
    f_min=constant(SIX_HUMP_F),
    dims=(2, 2),
    aliases=("six_hump_camel", "camel6"),
)


def _goldstein_price(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        s = a + b + 1.0
        p = 19.0 - 14.0 * a + 3.0 * a * a - 14.0 * b + 6.0 * a * b + 3.0 * b * b
        t = 2.0 * a - 3.0 * b
        q = 18.0 - 32.0 * a + 12.0 * a * a + 48.0 * b - 36.0 * a * b + 27.0 * b * b
        A = 1.0 + s * s * p
        B = 30.0 + t * t * q
        dA = 2.0 * s * p + s * s * (-14.0 + 6.0 * a + 6.0 * b)  # dA/da = dA/db
        dBa = 4.0 * t * q + t * t * (-32.0 + 24.0 * a - 36.0 * b)
        dBb = -6.0 * t * q + t * t * (48.0 - 36.0 * a + 54.0 * b)
        g[..., 0] = dA * B + A * dBa
        g[..., 1] = dA * B + A * dBb
        return A * B

    return kernel


GOLDSTEIN_PRICE = ObjectiveSpec(
    name="goldstein-price",
    summary="several local minima, values spanning six orders of magnitude",
    formula=(
        "f(x, y) = [1 + (x+y+1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)]"
        " [30 + (2x-3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)]"
    ),
    reference="Goldstein & Price 1971, Math. Comp. 25(115):569-574; SB",
    make=_goldstein_price,
    bounds=box(-2.0, 2.0),
    minima=points((0.0, -1.0)),
    f_min=constant(3.0),
    dims=(2, 2),
    aliases=("goldstein_price",),
)


def _easom(d: int):
    def kernel(x, g, take):
        a, b = x[..., 0], x[..., 1]
        da, db = a - PI, b - PI
        E = np.exp(-(da * da + db * db))
        ca, cb = np.cos(a), np.cos(b)
        f = -(ca * cb) * E
        ga = E * cb * (np.sin(a) + 2.0 * da * ca)
        gb = E * ca * (np.sin(b) + 2.0 * db * cb)
        g[..., 0] = ga
        g[..., 1] = gb
        return f

    return kernel


EASOM = ObjectiveSpec(
    name="easom",
    summary="flat almost everywhere, one narrow hole at (pi, pi)",
    formula="f(x, y) = -cos(x) cos(y) exp(-((x - pi)^2 + (y - pi)^2))",
    reference="Easom 1990, A survey of global optimization techniques (M.Eng. thesis, U. Louisville); SB",
    make=_easom,
    bounds=box(-100.0, 100.0),
    minima=points((PI, PI)),
    f_min=constant(-1.0),
    dims=(2, 2),
)
