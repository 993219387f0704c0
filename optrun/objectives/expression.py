"""``objective: {expression: "x0**2 + 10*x1**2"}``: a restricted arithmetic language, evaluated on
numpy arrays and differentiated exactly.

The text is parsed by Python's :mod:`ast` (``mode="eval"``, nothing is ever executed) and every
node is checked against a small grammar:

    expr := number | x<i> | pi | e | expr (+ - * / **) expr | -expr | +expr | f(expr[, expr])

with ``f`` one of :data:`FUNCTIONS` (numpy's elementary functions). Anything else -- attribute
access, subscripts, other names, calls outside the list, keyword arguments, lambdas,
comprehensions, comparisons, strings, statements such as ``import`` -- is refused with
:class:`ExpressionError` naming the construct, before anything is evaluated.

The checked tree is flattened into a tape (a list of operations in evaluation order, constants
folded). ``value_and_grad`` runs the tape forward on the columns ``x[..., i]`` of a ``(..., d)``
array, then backward accumulating adjoints -- reverse-mode differentiation, i.e. the chain rule
applied to the expression graph (Griewank & Walther, *Evaluating Derivatives*, 2nd ed., SIAM
2008, ch. 3): the gradient is exact up to rounding and costs a small constant times one
evaluation, whatever ``d``. Every operation is elementwise, so a batch gives row for row the same
bits as single points.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MAX_LENGTH = 10_000
MAX_NODES = 5_000
LN2, LN10 = float(np.log(2.0)), float(np.log(10.0))

# name -> (numpy function, derivative(s) as functions of the argument(s) a[, b] and the value v)
_D = Callable[..., object]
UNARY: dict[str, tuple[Callable, _D]] = {
    "sin": (np.sin, lambda a, v: np.cos(a)),
    "cos": (np.cos, lambda a, v: -np.sin(a)),
    "tan": (np.tan, lambda a, v: 1.0 + v * v),
    "arcsin": (np.arcsin, lambda a, v: 1.0 / np.sqrt(1.0 - a * a)),
    "arccos": (np.arccos, lambda a, v: -1.0 / np.sqrt(1.0 - a * a)),
    "arctan": (np.arctan, lambda a, v: 1.0 / (1.0 + a * a)),
    "sinh": (np.sinh, lambda a, v: np.cosh(a)),
    "cosh": (np.cosh, lambda a, v: np.sinh(a)),
    "tanh": (np.tanh, lambda a, v: 1.0 - v * v),
    "arcsinh": (np.arcsinh, lambda a, v: 1.0 / np.sqrt(a * a + 1.0)),
    "arccosh": (np.arccosh, lambda a, v: 1.0 / np.sqrt(a * a - 1.0)),
    "arctanh": (np.arctanh, lambda a, v: 1.0 / (1.0 - a * a)),
    "exp": (np.exp, lambda a, v: v),
    "exp2": (np.exp2, lambda a, v: v * LN2),
    "expm1": (np.expm1, lambda a, v: v + 1.0),
    "log": (np.log, lambda a, v: 1.0 / a),
    "log2": (np.log2, lambda a, v: 1.0 / (a * LN2)),
    "log10": (np.log10, lambda a, v: 1.0 / (a * LN10)),
    "log1p": (np.log1p, lambda a, v: 1.0 / (1.0 + a)),
    "sqrt": (np.sqrt, lambda a, v: 0.5 / v),
    "cbrt": (np.cbrt, lambda a, v: 1.0 / (3.0 * v * v)),
    "square": (np.square, lambda a, v: 2.0 * a),
    "abs": (np.abs, lambda a, v: np.sign(a)),  # subgradient 0 at 0
    "sign": (np.sign, lambda a, v: 0.0 * a),
}
BINARY: dict[str, tuple[Callable, _D]] = {
    "arctan2": (np.arctan2, lambda a, b, v: (b / (a * a + b * b), -a / (a * a + b * b))),
    "hypot": (np.hypot, lambda a, b, v: (a / v, b / v)),
}
ALIASES = {
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "atan2": "arctan2",
    "fabs": "abs",
    "absolute": "abs",
}
FUNCTIONS = tuple(UNARY) + tuple(BINARY)
CONSTANTS = {"pi": float(np.pi), "e": float(np.e)}
VAR_RE = re.compile(r"^x(0|[1-9][0-9]{0,8})$")
ALLOWED_TEXT = "numbers, x0..x<d-1>, pi, e, + - * / ** and the functions " + " ".join(FUNCTIONS)

_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.JoinedStr: "f-string",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slice",
    ast.FormattedValue: "f-string",
}
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_BINOP_TEXT = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
}


class ExpressionError(ValueError):
    """The expression is malformed or uses something outside the allowed grammar."""


@dataclass(frozen=True)
class Op:
    """One tape entry: ``kind`` is const/var/add/sub/mul/div/pow/neg/f1/f2."""

    kind: str
    args: tuple[int, ...] = ()
    value: float = 0.0  # const: the number; var: the coordinate index
    name: str = ""  # f1/f2: the function


def _segment(text: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(text, node) or type(node).__name__
    seg = " ".join(seg.split())
    return seg if len(seg) <= 40 else seg[:37] + "..."


def _refuse(text: str, node: ast.AST, what: str) -> ExpressionError:
    """``<what> '<source text of node>' is not allowed (allowed: ...)``."""
    return ExpressionError(f"{what} '{_segment(text, node)}' is not allowed (allowed: {ALLOWED_TEXT})")


def _parse(text: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("must be a non-empty string such as 'x0**2 + 10*x1**2'")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        try:
            stmt = ast.parse(text.strip(), mode="exec").body[0]
        except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
            stmt = None
        if stmt is not None and not isinstance(stmt, ast.Expr):
            kind = {
                ast.Import: "an import statement",
                ast.ImportFrom: "an import statement",
                ast.Assign: "an assignment",
            }.get(type(stmt), f"a statement ({type(stmt).__name__})")
            raise ExpressionError(
                f"{kind} is not allowed; give one arithmetic expression such as 'x0**2 + 10*x1**2'"
            ) from None
        where = f" at column {e.offset}" if e.offset else ""
        raise ExpressionError(f"is not a valid expression: {str(e.msg).split(';')[0]}{where}") from None
    except (ValueError, OverflowError) as e:
        raise ExpressionError(f"is not a valid expression: {str(e).split(';')[0]}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(
            "is nested too deeply to parse; write a Python function instead "
            "(objective: {function: 'module:f'})"
        ) from None


class Expression:
    """A checked expression compiled to a tape; see the module docstring."""

    def __init__(self, text: str):
        self.text = text
        self.tape: list[Op] = []
        self._vars: dict[int, int] = {}  # coordinate -> tape slot
        self.root = self._compile(_parse(text))
        self.variables = tuple(sorted(self._vars))
        self.min_dim = self.variables[-1] + 1 if self.variables else 0

    # ------------------------------------------------------------------ compile

    def _emit(self, op: Op) -> int:
        args = [self.tape[i] for i in op.args]
        if op.kind not in ("const", "var") and all(a.kind == "const" for a in args):
            with np.errstate(all="ignore"):
                v = self._forward(op, [a.value for a in args])
            op = Op("const", value=float(v))
        self.tape.append(op)
        return len(self.tape) - 1

    def _compile(self, tree: ast.expr) -> int:
        text = self.text.strip()
        stack: list[tuple[ast.AST, bool]] = [(tree, False)]
        out: list[int] = []
        count = 0
        while stack:
            node, ready = stack.pop()
            if not ready:
                count += 1
                if count > MAX_NODES:
                    raise ExpressionError(
                        f"has more than {MAX_NODES} terms; write a Python function "
                        "instead (objective: {function: 'module:f'})"
                    )
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(self._children(text, node)))
                continue
            if isinstance(node, ast.Constant):
                out.append(self._emit(Op("const", value=self._number(text, node))))
            elif isinstance(node, ast.Name):
                out.append(self._name(text, node))
            elif isinstance(node, ast.UnaryOp):
                if isinstance(node.op, ast.USub):
                    out.append(self._emit(Op("neg", (out.pop(),))))
            elif isinstance(node, ast.BinOp):
                b, a = out.pop(), out.pop()
                out.append(self._emit(Op(_BINOPS[type(node.op)], (a, b))))
            elif isinstance(node, ast.Call):
                name = ALIASES.get(node.func.id, node.func.id)
                n = len(node.args)
                args = tuple(out[len(out) - n :])
                del out[len(out) - n :]
                out.append(self._emit(Op("f1" if n == 1 else "f2", args, name=name)))
        (root,) = out
        return root

    def _children(self, text: str, node: ast.AST) -> list[ast.AST]:
        """Check one node against the grammar; return its operands."""
        if isinstance(node, (ast.Constant, ast.Name)):
            return []
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise _refuse(
                    text, node, "operator 'not' in" if isinstance(node.op, ast.Not) else "operator '~' in"
                )
            return [node.operand]
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise _refuse(text, node, f"operator '{_BINOP_TEXT.get(type(node.op), '?')}' in")
            return [node.left, node.right]
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                what = _FORBIDDEN.get(type(node.func), "call of a computed value")
                raise _refuse(text, node.func, what)
            fname = node.func.id
            name = ALIASES.get(fname, fname)
            if name not in UNARY and name not in BINARY:
                raise _refuse(text, node, f"function '{fname}' in")
            if node.keywords:
                raise _refuse(text, node, "keyword argument")
            for a in node.args:
                if isinstance(a, ast.Starred):
                    raise _refuse(text, a, "starred argument")
            want = 1 if name in UNARY else 2
            if len(node.args) != want:
                raise ExpressionError(
                    f"'{fname}' takes {want} argument{'s' if want > 1 else ''}, "
                    f"not {len(node.args)}: '{_segment(text, node)}'"
                )
            return list(node.args)
        raise _refuse(text, node, _FORBIDDEN.get(type(node), type(node).__name__.lower()))

    def _number(self, text: str, node: ast.Constant) -> float:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            kind = {str: "string", bytes: "bytes", complex: "complex number"}.get(type(v), "constant")
            if v is None or v is Ellipsis or isinstance(v, bool):
                kind = "constant"
            raise _refuse(text, node, kind)
        try:
            f = float(v)
        except OverflowError:
            raise ExpressionError(f"the number '{_segment(text, node)}' is too large for float64") from None
        if not np.isfinite(f):
            raise ExpressionError(f"the number '{_segment(text, node)}' is too large for float64")
        return f

    def _name(self, text: str, node: ast.Name) -> int:
        if node.id in CONSTANTS:
            return self._emit(Op("const", value=CONSTANTS[node.id]))
        m = VAR_RE.match(node.id)
        if not m:
            raise _refuse(text, node, "name")
        i = int(m.group(1))
        if i not in self._vars:
            self._vars[i] = self._emit(Op("var", value=float(i)))
        return self._vars[i]

    # ------------------------------------------------------------------ evaluate

    @staticmethod
    def _forward(op: Op, a: list):
        k = op.kind
        if k == "add":
            return a[0] + a[1]
        if k == "sub":
            return a[0] - a[1]
        if k == "mul":
            return a[0] * a[1]
        if k == "div":
            return np.divide(a[0], a[1])
        if k == "pow":
            return np.power(a[0], a[1])
        if k == "neg":
            return np.negative(a[0])
        if k == "f1":
            return UNARY[op.name][0](a[0])
        return BINARY[op.name][0](a[0], a[1])

    def value(self, x: np.ndarray) -> np.ndarray:
        return self.value_and_grad(x, gradient=False)[0]

    def value_and_grad(self, x: np.ndarray, gradient: bool = True):
        """``(..., d)`` -> ``((...), (..., d))`` (the gradient is ``None`` with ``gradient=False``)."""
        x = np.asarray(x, dtype=np.float64)
        shape = x.shape[:-1]
        tape = self.tape
        vals: list = [None] * len(tape)
        for i, op in enumerate(tape):
            if op.kind == "const":
                vals[i] = op.value
            elif op.kind == "var":
                vals[i] = x[..., int(op.value)]
            else:
                vals[i] = self._forward(op, [vals[j] for j in op.args])
        f = np.array(np.broadcast_to(vals[self.root], shape), dtype=np.float64)
        if not gradient:
            return f, None
        adj: list = [None] * len(tape)
        adj[self.root] = 1.0
        for i in range(self.root, -1, -1):
            op, w = tape[i], adj[i]
            if w is None or op.kind in ("const", "var"):
                continue
            for j, c in zip(op.args, self._local(op, [vals[j] for j in op.args], vals[i], w)):
                if tape[j].kind != "const":
                    adj[j] = c if adj[j] is None else adj[j] + c
        g = np.zeros(x.shape)
        for coord, slot in self._vars.items():
            if adj[slot] is not None:
                g[..., coord] = adj[slot]
        return f, g

    def _local(self, op: Op, a: list, v, w) -> tuple:
        """Adjoint contributions ``w * d op / d arg`` for each argument of ``op``."""
        k = op.kind
        if k == "add":
            return w, w
        if k == "sub":
            return w, -w
        if k == "mul":
            return w * a[1], w * a[0]
        if k == "div":
            return w / a[1], -w * v / a[1]
        if k == "neg":
            return (-w,)
        if k == "pow":
            base, ex = a
            if self.tape[op.args[1]].kind == "const":
                c = ex
                da = (
                    0.0
                    if c == 0.0
                    else w
                    if c == 1.0
                    else w * 2.0 * base
                    if c == 2.0
                    else w * c * np.power(base, c - 1.0)
                )
                return da, 0.0
            da = w * ex * np.power(base, ex - 1.0)
            db = w * np.where(v == 0.0, 0.0, v * np.log(base))
            return da, db
        if k == "f1":
            return (w * UNARY[op.name][1](a[0], v),)
        da, db = BINARY[op.name][1](a[0], a[1], v)
        return w * da, w * db
