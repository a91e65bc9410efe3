"""Model formulas: the term algebra of a query's score and outcome models, read from the syntax.

In: a `syntax.FormulaNode` (``age + age^2 + educ * re74 + ns(income, 4)`` as written) or a lone
name. Out: a `Formula`, an ordered tuple of distinct `Term`s, each an interaction (a product) of
`Factor`s: `Var` (the variable as coded: a number, or dummies when categorical), `Power`
(``x^k``), `Spline` (a natural cubic spline basis, ``ns(x, df)``) and `Categorical` (``C(x)``).
Nothing is evaluated: the functions a formula may call are a fixed table (`FUNCTIONS`). Raises
nothing itself: `read_formula` reports problems (E225: an unknown function, a bad argument, a
power of a sum) to the `DiagnosticSink` it is given, and `check_design` returns the E514
diagnostics of a formula checked against the adjustment set an estimator was given.

The expansion is R's (Wilkinson–Rogers) for ``+``, ``:``, ``*`` and parentheses:
``(a + b):c`` is ``a:c + b:c``; ``a * b`` is ``a + b + a:b``; a repeated term is kept once;
``a:a`` is ``a``. One departure, on purpose: ``x^2`` is the square of x (R reads it as the
crossing of x with itself, which is x, and needs ``I(x^2)`` for the square — a classic trap).
``(a + b)^2`` is refused rather than guessed. ``poly(x, k)`` is the raw powers x, …, x^k
(R's ``poly(x, k, raw = TRUE)``, cobalt's ``poly``): the same column space as R's orthogonal
default, so the same fit and effect, with coefficients that read as powers.

Terms are frozen dataclasses with spans excluded from equality, so two formulas that say the same
thing compare equal (the semantic diff sees a changed functional form and nothing else).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import Diagnostic, DiagnosticSink, Span, suggest
from .syntax import FormulaNode, Ident

MAX_DEGREE = 10  # x^k and poly(x, k): beyond this the columns are numerically meaningless
MAX_DF = 30  # ns(x, df)

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _name(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else f"`{text}`"


# --- the algebra --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Var:
    """The variable as the data codes it: its value, or dummies when it is categorical."""

    name: str
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return _name(self.name)


@dataclass(frozen=True, slots=True)
class Power:
    """``x^degree`` (degree >= 2)."""

    name: str
    degree: int
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{_name(self.name)}^{self.degree}"


@dataclass(frozen=True, slots=True)
class Spline:
    """``ns(x, df)``: R's natural cubic spline basis, df columns, df − 1 interior knots at
    quantiles of x and boundary knots at its range (`estimators.design_matrix.natural_spline`)."""

    name: str
    df: int
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"ns({_name(self.name)}, {self.df})"


@dataclass(frozen=True, slots=True)
class Categorical:
    """``C(x)``: x as categories, one dummy per level but the first (the reference)."""

    name: str
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"C({_name(self.name)})"


Factor = Var | Power | Spline | Categorical


def _factor_key(f: Factor) -> tuple[str, int, int]:
    kind = {Var: 0, Power: 1, Spline: 2, Categorical: 3}[type(f)]
    return (f.name, kind, getattr(f, "degree", 0) or getattr(f, "df", 0))


@dataclass(frozen=True, slots=True)
class Term:
    """A product of factors: one factor is a main effect, several an interaction (``a:b``).
    Factors are kept in a canonical order, so ``b:a`` and ``a:b`` are the same term."""

    factors: tuple[Factor, ...]
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.name for f in self.factors))

    def __str__(self) -> str:
        return ":".join(str(f) for f in self.factors)


@dataclass(frozen=True, slots=True)
class Formula:
    """The right-hand side of a model: distinct terms in the order first written.

    >>> from causal_dsl.syntax import parse_syntax
    >>> q = parse_syntax("query q: ate(t -> y) using m(f = (a + b):c + a * b + poly(c, 2))")
    >>> node = q.statements[0].clauses[0].options[0].value.value
    >>> str(read_formula(node, DiagnosticSink()))
    'a:c + b:c + a + b + a:b + c + c^2'
    """

    terms: tuple[Term, ...]
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable the formula uses, in order of first use."""
        return tuple(dict.fromkeys(v for t in self.terms for v in t.variables))

    def __str__(self) -> str:
        return " + ".join(str(t) for t in self.terms) if self.terms else "1"

    @classmethod
    def main_effects(cls, names: tuple[str, ...] | list[str]) -> Formula:
        """``a + b + c``: the default model, every variable entered as coded."""
        return cls(tuple(Term((Var(n),)) for n in names))


def _product(a: Term, b: Term) -> Term:
    factors = {_factor_key(f): f for f in (*a.factors, *b.factors)}
    span = a.span.cover(b.span) if a.span and b.span else a.span or b.span
    return Term(tuple(factors[k] for k in sorted(factors)), span)


def _union(*parts: tuple[Term, ...]) -> tuple[Term, ...]:
    seen: dict[tuple[Factor, ...], Term] = {}
    for part in parts:
        for t in part:
            seen.setdefault(t.factors, t)
    return tuple(seen.values())


# --- reading a formula from the syntax tree ---------------------------------------------------
FUNCTIONS: dict[str, str] = {
    "I": "I(x^2), I(x*z): a power or product of variables, as written",
    "poly": "poly(x, k): the raw powers x, x^2, ..., x^k",
    "ns": "ns(x, df): a natural cubic spline with df columns (R's splines::ns)",
    "spline": "spline(x, df): the same as ns(x, df)",
    "C": "C(x): x as categories (a dummy per level but the first)",
}


class _Reader:
    def __init__(self, sink: DiagnosticSink) -> None:
        self.sink = sink
        self.ok = True

    def error(self, message: str, span: Span, help: str) -> tuple[Term, ...]:
        self.ok = False
        self.sink.error("E225", message, span, help=help)
        return ()

    def read(self, node: FormulaNode) -> tuple[Term, ...]:
        op, args = node.op, node.args
        if op == "name":
            ident = args[0]
            assert isinstance(ident, Ident)
            return (Term((Var(ident.text, ident.span),), ident.span),)
        if op == "number":
            return self.error(f"a number ({args[0]}) is not a term", node.span,
                              "a formula adds variables and their transforms; write `x^2` for "
                              "a power (an intercept is always included)")
        if op == "()":
            return self.read(_node(args[0]))
        if op == "+":
            return _union(self.read(_node(args[0])), self.read(_node(args[1])))
        if op in (":", "*"):
            left, right = self.read(_node(args[0])), self.read(_node(args[1]))
            inter = _union(tuple(_product(a, b) for a in left for b in right))
            return _union(left, right, inter) if op == "*" else inter
        if op == "^":
            return self._power(_node(args[0]), _node(args[1]), node.span)
        if op == "call":
            return self._call(node)
        raise ValueError(f"unknown formula node {op!r}")  # pragma: no cover - the grammar's

    def _degree(self, node: FormulaNode, what: str, low: int, high: int) -> int | None:
        text = str(node.args[0]) if node.op == "number" else ""
        if re.fullmatch(r"\+?\d+", text) and low <= int(text) <= high:
            return int(text)
        self.error(f"{what} must be a whole number from {low} to {high}", node.span,
                   f"e.g. {'x^2' if what == 'a power' else 'ns(x, 4)'}")
        return None

    def _power(self, base: FormulaNode, exponent: FormulaNode, span: Span) -> tuple[Term, ...]:
        degree = self._degree(exponent, "a power", 1, MAX_DEGREE)
        if base.op == "()":
            base = _node(base.args[0])
        if base.op != "name":
            return self.error(f"only a variable can be raised to a power, not '{_show(base)}'",
                              span, "write each power and product out, e.g. "
                              "`a + b + a^2 + a:b + b^2` for `(a + b)^2`")
        if degree is None:
            return ()
        ident = base.args[0]
        assert isinstance(ident, Ident)
        factor: Factor = (Var(ident.text, ident.span) if degree == 1
                          else Power(ident.text, degree, span))
        return (Term((factor,), span),)

    def _call(self, node: FormulaNode) -> tuple[Term, ...]:
        fname, *rest = node.args
        assert isinstance(fname, Ident)
        args = [_node(a) for a in rest]
        name = fname.text
        if name not in FUNCTIONS:
            return self.error(f"unknown function '{name}' in a formula", fname.span,
                              suggest(name, FUNCTIONS) or "functions are: "
                              + "; ".join(FUNCTIONS.values()))
        if name == "I":
            if len(args) != 1:
                return self.error("I() takes one argument", node.span, FUNCTIONS["I"])
            return self._monomial(args[0])
        arity = 1 if name == "C" else 2
        if len(args) != arity or args[0].op != "name":
            takes = "a variable" if arity == 1 else "a variable and a whole number"
            return self.error(f"{name}() takes {takes}", node.span, FUNCTIONS[name])
        ident = args[0].args[0]
        assert isinstance(ident, Ident)
        if name == "C":
            return (Term((Categorical(ident.text, node.span),), node.span),)
        if name == "poly":
            k = self._degree(args[1], "a power", 1, MAX_DEGREE)
            if k is None:
                return ()
            powers: list[Factor] = [Var(ident.text, ident.span)]
            powers += [Power(ident.text, j, node.span) for j in range(2, k + 1)]
            return tuple(Term((f,), node.span) for f in powers)
        df = self._degree(args[1], "the degrees of freedom", 1, MAX_DF)
        if df is None:
            return ()
        return (Term((Spline(ident.text, df, node.span),), node.span),)

    def _monomial(self, node: FormulaNode) -> tuple[Term, ...]:
        """Inside I(): a product (``*`` or ``:``) of variables and their powers, multiplied out:
        ``I(x*x)`` is ``x^2``, ``I(x^2*z)`` is ``x^2:z``."""
        degrees: dict[str, int] = {}
        spans: dict[str, Span] = {}
        stack = [node]
        while stack:
            n = stack.pop()
            if n.op == "()":
                stack.append(_node(n.args[0]))
            elif n.op in ("*", ":"):
                stack += [_node(n.args[1]), _node(n.args[0])]
            elif n.op == "name" or (n.op == "^" and _node(n.args[0]).op == "name"):
                ident = (n if n.op == "name" else _node(n.args[0])).args[0]
                assert isinstance(ident, Ident)
                k = 1 if n.op == "name" else self._degree(_node(n.args[1]), "a power", 1,
                                                          MAX_DEGREE)
                if k is None:
                    return ()
                degrees[ident.text] = degrees.get(ident.text, 0) + k
                spans.setdefault(ident.text, n.span)
            else:
                return self.error(f"I() takes a power or product of variables, not "
                                  f"'{_show(n)}'", n.span, FUNCTIONS["I"])
        factors: list[Factor] = []
        for v, k in degrees.items():
            if k > MAX_DEGREE:
                return self.error(f"a power of {k}: at most {MAX_DEGREE}", node.span,
                                  FUNCTIONS["I"])
            factors.append(Var(v, spans[v]) if k == 1 else Power(v, k, spans[v]))
        return (Term(tuple(sorted(factors, key=_factor_key)), node.span),)


def _node(item: FormulaNode | Ident | str) -> FormulaNode:
    assert isinstance(item, FormulaNode)
    return item


def _show(node: FormulaNode) -> str:
    """A node printed back in the language (for messages and `fmt`)."""
    op, args = node.op, node.args
    if op == "name":
        ident = args[0]
        assert isinstance(ident, Ident)
        return f"`{ident.text}`" if ident.quoted or not _PLAIN.fullmatch(ident.text) \
            else ident.text
    if op == "number":
        return str(args[0])
    if op == "()":
        return f"({_show(_node(args[0]))})"
    if op == "call":
        fname = args[0]
        assert isinstance(fname, Ident)
        return f"{fname.text}({', '.join(_show(_node(a)) for a in args[1:])})"
    left, right = _show(_node(args[0])), _show(_node(args[1]))
    return f"{left} + {right}" if op == "+" else f"{left}{op}{right}" if op == "^" \
        else f"{left}{op}{right}" if op == ":" else f"{left} * {right}"


show_node = _show


def read_formula(node: FormulaNode | Ident, sink: DiagnosticSink) -> Formula | None:
    """The `Formula` a node (or a lone name) says, or None after reporting E225 to `sink`."""
    if isinstance(node, Ident):
        return Formula((Term((Var(node.text, node.span),), node.span),), node.span)
    reader = _Reader(sink)
    terms = reader.read(node)
    return Formula(terms, node.span) if reader.ok else None


# --- checks against the adjustment set ----------------------------------------------------------
def check_design(
    formula: Formula, covariates: tuple[str, ...], treatment: str, *, option: str,
    method: str, treatment_allowed: bool, span: Span | None = None,
) -> list[Diagnostic]:
    """E514 for a formula that does not fit the adjustment set an estimator was given: a term on
    a variable outside it (the treatment is allowed where `treatment_allowed`: interactions as
    in Lin's estimator), or a variable of the set that no term uses (it would not be adjusted
    for, though identification needs it). Spans point at the offending term."""
    allowed = set(covariates) | ({treatment} if treatment_allowed else set())
    out: list[Diagnostic] = []
    for term in formula.terms:
        for v in term.variables:
            if v in allowed:
                continue
            why = ("the treatment cannot be in its own score model" if v == treatment else
                   f"'{v}' is not in the adjustment set {{{', '.join(covariates)}}}")
            out.append(Diagnostic(
                "E514", f"{method}({option} = ...): the term '{term}' uses '{v}': {why}",
                term.span or span,
                help=("add it to the set with `adjust for {" + v + "}` if adjusting for it is "
                      "valid, or drop the term") if v != treatment else "drop the term",
            ))
    used = set(formula.variables)
    missing = [c for c in covariates if c not in used]
    if missing:
        out.append(Diagnostic(
            "E514", f"{method}({option} = ...) leaves out {', '.join(map(repr, missing))} of the "
            f"adjustment set {{{', '.join(covariates)}}}: the model would not adjust for "
            f"{'it' if len(missing) == 1 else 'them'}",
            formula.span or span,
            help=f"add `+ {' + '.join(missing)}` to the formula (or its transforms, e.g. "
            f"ns({missing[0]}, 4))",
        ))
    return out
