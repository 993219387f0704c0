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
gives row for row the same bits as ``S`` single ``(1, d)`` calls.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from ..params import Param
from .base import ObjectiveSpec, box, origin, zero

PI = np.pi


def _ones(d: int, **_) -> np.ndarray:
    return np.ones((1, d))


def _points(*pts: tuple[float, ...]):
    """Fixed minimizers of a fixed-dimension function."""
    arr = np.array(pts, dtype=float)
    return lambda d, **_: arr


def _const(v: float):
    return lambda d, **_: float(v)


# ---------------------------------------------------------------------------------- any d


def _sphere(d: int):
    def value_and_grad(x: np.ndarray):
        # sum of squares; for d = 2 this is x0*x0 + x1*x1, the tutorials' x**2.0 + y**2.0
        return np.vecdot(x, x), np.multiply(x, 2.0)

    return value_and_grad


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

    def value_and_grad(x: np.ndarray):
        wx = w * x
        return np.sum(wx * x, axis=-1), w2 * x

    return value_and_grad


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
    def value_and_grad(x: np.ndarray):
        a, b = x[..., :-1], x[..., 1:]
        t = b - a * a
        u = 1.0 - a
        f = np.sum(100.0 * (t * t) + u * u, axis=-1)
        g = np.zeros(x.shape)
        g[..., :-1] = -400.0 * a * t - 2.0 * u
        g[..., 1:] += 200.0 * t
        return f, g

    return value_and_grad


ROSENBROCK = ObjectiveSpec(
    name="rosenbrock",
    summary="curved narrow valley (the banana function)",
    formula="f(x) = sum_{i=1}^{d-1} [100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2]",
    reference="Rosenbrock 1960, Comput. J. 3(3):175-184; SB (De Jong's domain [-2.048, 2.048])",
    make=_rosenbrock,
    bounds=box(-2.048, 2.048),
    minima=_ones,
    f_min=zero,
    dims=(2, None),
    minima_text="x_i = 1 for all i",
)


def _rastrigin(d: int):
    tau = 2.0 * PI

    def value_and_grad(x: np.ndarray):
        f = 10.0 * d + np.sum(x * x - 10.0 * np.cos(tau * x), axis=-1)
        return f, 2.0 * x + (10.0 * tau) * np.sin(tau * x)

    return value_and_grad


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

    def value_and_grad(x: np.ndarray):
        r = np.sqrt(np.sum(x * x, axis=-1) / d)
        m = np.sum(np.cos(c * x), axis=-1) / d
        er, em = np.exp(-b * r), np.exp(m)
        # (a - a e^{-b r}) + (e - e^{m}): exactly 0 at the origin
        f = (a - a * er) + (e1 - em)
        pos = r > 0.0
        # d r / d x_i = x_i / (d r); at r = 0 the cone's subgradient 0 is used
        k = np.where(pos, (a * b) * er / (d * np.where(pos, r, 1.0)), 0.0)
        g = k[..., None] * x + (em * (c / d))[..., None] * np.sin(c * x)
        return f, g

    return value_and_grad


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

    def value_and_grad(x: np.ndarray):
        z = x / sq
        cz = np.cos(z)
        p = np.prod(cz, axis=-1)
        f = np.sum(x * x, axis=-1) / 4000.0 + (1.0 - p)
        # prod_{j != i} cos(z_j) from exclusive prefix and suffix products (no division by cos)
        left = np.ones(x.shape)
        right = np.ones(x.shape)
        left[..., 1:] = np.cumprod(cz[..., :-1], axis=-1)
        right[..., :-1] = np.cumprod(cz[..., :0:-1], axis=-1)[..., ::-1]
        g = x / 2000.0 + np.sin(z) / sq * (left * right)
        return f, g

    return value_and_grad


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
    def value_and_grad(x: np.ndarray):
        x2 = x * x
        f = 0.5 * np.sum(x2 * x2 - 16.0 * x2 + 5.0 * x, axis=-1)
        return f, 2.0 * x2 * x - 16.0 * x + 2.5

    return value_and_grad


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
    def value_and_grad(x: np.ndarray):
        w = 1.0 + (x - 1.0) / 4.0
        w1, wd = w[..., 0], w[..., -1]
        wm = w[..., :-1]
        s1 = np.sin(PI * w1)
        sm = np.sin(PI * wm + 1.0)
        sd = np.sin(2.0 * PI * wd)
        um, ud = wm - 1.0, wd - 1.0
        f = s1 * s1 + np.sum(um * um * (1.0 + 10.0 * (sm * sm)), axis=-1) + ud * ud * (1.0 + sd * sd)
        gw = np.zeros(x.shape)  # df/dw
        gw[..., :-1] = 2.0 * um * (1.0 + 10.0 * (sm * sm)) + um * um * (10.0 * PI) * np.sin(
            2.0 * (PI * wm + 1.0)
        )
        gw[..., 0] += PI * np.sin(2.0 * PI * w1)
        gw[..., -1] += 2.0 * ud * (1.0 + sd * sd) + ud * ud * (2.0 * PI) * np.sin(4.0 * PI * wd)
        return f, gw / 4.0

    return value_and_grad


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
    minima=_ones,
    f_min=zero,
    aliases=("lévy",),
    minima_text="x_i = 1 for all i",
)


def _zakharov(d: int):
    half_i = 0.5 * np.arange(1, d + 1, dtype=float)

    def value_and_grad(x: np.ndarray):
        s = np.sum(half_i * x, axis=-1)
        s2 = s * s
        f = np.sum(x * x, axis=-1) + s2 + s2 * s2
        return f, 2.0 * x + (2.0 * s + 4.0 * s2 * s)[..., None] * half_i

    return value_and_grad


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

# ---------------------------------------------------------------------------------- d = 2


def _beale(d: int):
    def value_and_grad(x: np.ndarray):
        a, b = x[..., 0], x[..., 1]
        b2 = b * b
        b3 = b2 * b
        t1 = 1.5 - a + a * b
        t2 = 2.25 - a + a * b2
        t3 = 2.625 - a + a * b3
        f = t1 * t1 + t2 * t2 + t3 * t3
        ga = 2.0 * (t1 * (b - 1.0) + t2 * (b2 - 1.0) + t3 * (b3 - 1.0))
        gb = 2.0 * a * (t1 + 2.0 * b * t2 + 3.0 * b2 * t3)
        return f, np.stack([ga, gb], axis=-1)

    return value_and_grad


BEALE = ObjectiveSpec(
    name="beale",
    summary="flat regions and sharp ridges near the corners",
    formula="f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    reference="Beale 1958; SB",
    make=_beale,
    bounds=box(-4.5, 4.5),
    minima=_points((3.0, 0.5)),
    f_min=zero,
    dims=(2, 2),
)


def _booth(d: int):
    def value_and_grad(x: np.ndarray):
        a, b = x[..., 0], x[..., 1]
        p = a + 2.0 * b - 7.0
        q = 2.0 * a + b - 5.0
        return p * p + q * q, np.stack([2.0 * p + 4.0 * q, 4.0 * p + 2.0 * q], axis=-1)

    return value_and_grad


BOOTH = ObjectiveSpec(
    name="booth",
    summary="a plain quadratic plate",
    formula="f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
    reference="SB; JY no. 24",
    make=_booth,
    bounds=box(-10.0, 10.0),
    minima=_points((1.0, 3.0)),
    f_min=zero,
    dims=(2, 2),
)


def _matyas(d: int):
    def value_and_grad(x: np.ndarray):
        a, b = x[..., 0], x[..., 1]
        f = 0.26 * (a * a + b * b) - 0.48 * a * b
        return f, np.stack([0.52 * a - 0.48 * b, 0.52 * b - 0.48 * a], axis=-1)

    return value_and_grad


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
    def value_and_grad(x: np.ndarray):
        a, b = x[..., 0], x[..., 1]
        p = a * a + b - 11.0
        q = a + b * b - 7.0
        return p * p + q * q, np.stack([4.0 * a * p + 2.0 * q, 2.0 * p + 4.0 * b * q], axis=-1)

    return value_and_grad


HIMMELBLAU = ObjectiveSpec(
    name="himmelblau",
    summary="four global minima of equal value 0",
    formula="f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    reference="Himmelblau 1972, Applied Nonlinear Programming, McGraw-Hill",
    make=_himmelblau,
    bounds=box(-5.0, 5.0),
    minima=_points(
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.2831859912861696),
        (3.5844283403304917, -1.8481265269644036),
    ),
    f_min=zero,
    dims=(2, 2),
)


def _three_hump_camel(d: int):
    def value_and_grad(x: np.ndarray):
        a, b = x[..., 0], x[..., 1]
        a2 = a * a
        a4 = a2 * a2
        f = 2.0 * a2 - 1.05 * a4 + a4 * a2 / 6.0 + a * b + b * b
        return f, np.stack([4.0 * a - 4.2 * a2 * a + a4 * a + b, a + 2.0 * b], axis=-1)

    return value_and_grad


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
    def value_and_grad(x: np.ndarray):
        a, b = x[..., 0], x[..., 1]
        a2, b2 = a * a, b * b
        f = (4.0 - 2.1 * a2 + a2 * a2 / 3.0) * a2 + a * b + (-4.0 + 4.0 * b2) * b2
        ga = 8.0 * a - 8.4 * a2 * a + 2.0 * a2 * a2 * a + b
        gb = a - 8.0 * b + 16.0 * b2 * b
        return f, np.stack([ga, gb], axis=-1)

    return value_and_grad


SIX_HUMP_CAMEL = ObjectiveSpec(
    name="six-hump-camel",
    summary="six local minima, two of them global (symmetric about the origin)",
    formula="f(x, y) = (4 - 2.1x^2 + x^4/3) x^2 + xy + (-4 + 4y^2) y^2",
    reference="Dixon & Szegoe 1978, Towards Global Optimisation 2; SB (x in [-3, 3], y in [-2, 2])",
    make=_six_hump_camel,
    bounds=lambda d: np.array([[-3.0, 3.0], [-2.0, 2.0]]),
    minima=_points((SIX_HUMP_X, SIX_HUMP_Y), (-SIX_HUMP_X, -SIX_HUMP_Y)),
    f_min=_const(SIX_HUMP_F),
    dims=(2, 2),
    aliases=("six_hump_camel", "camel6"),
)


def _goldstein_price(d: int):
    def value_and_grad(x: np.ndarray):
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
        return A * B, np.stack([dA * B + A * dBa, dA * B + A * dBb], axis=-1)

    return value_and_grad


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
    minima=_points((0.0, -1.0)),
    f_min=_const(3.0),
    dims=(2, 2),
    aliases=("goldstein_price",),
)


def _easom(d: int):
    def value_and_grad(x: np.ndarray):
        a, b = x[..., 0], x[..., 1]
        da, db = a - PI, b - PI
        E = np.exp(-(da * da + db * db))
        ca, cb = np.cos(a), np.cos(b)
        f = -(ca * cb) * E
        ga = E * cb * (np.sin(a) + 2.0 * da * ca)
        gb = E * ca * (np.sin(b) + 2.0 * db * cb)
        return f, np.stack([ga, gb], axis=-1)

    return value_and_grad


EASOM = ObjectiveSpec(
    name="easom",
    summary="flat almost everywhere, one narrow hole at (pi, pi)",
    formula="f(x, y) = -cos(x) cos(y) exp(-((x - pi)^2 + (y - pi)^2))",
    reference="Easom 1990, A survey of global optimization techniques (M.Eng. thesis, U. Louisville); SB",
    make=_easom,
    bounds=box(-100.0, 100.0),
    minima=_points((PI, PI)),
    f_min=_const(-1.0),
    dims=(2, 2),
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
