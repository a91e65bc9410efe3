"""The option and formula half of the resolver: ``using method(key = value, ...)``,
``panel(...)`` and ``weights(...)`` options, and the variables of model formulas.

In: syntax `Option`s and `UsingClause`s, handed over by `causal_dsl.resolve._Resolver` (which
inherits `OptionReader`). Out: typed option values and `Method`s. Raises nothing: problems go to
the resolver's `DiagnosticSink` (E209 unknown method, E210 unknown or repeated option, E211 a
value of the wrong kind, E225/E226 model formulas).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from . import terms
from .errors import DiagnosticSink, suggest
from .model import METHOD_OPTIONS, PANEL_OPTIONS, Method, OptionValue, Variable, VarType
from .syntax import FormulaNode, Ident, Option, QueryStmt, UsingClause, Value


class OptionReader:
    """Reads options against a schema; needs the resolver's sink, variables and `_known`."""

    sink: DiagnosticSink
    variables: dict[str, Variable]
    _known: Callable[[Ident], bool]

    def _check_formulas(
        self, s: QueryStmt, method: Method, adjusting: frozenset[str] | None
    ) -> bool:
        """E226 for a formula's variable that cannot be in the model: undeclared or latent, the
        outcome, the treatment in a score model, or outside a proposed `adjusting` set. (Checks
        against a set the graph chooses wait for the estimator: `terms.check_design`.)"""
        ok = True
        treatment, outcome = s.treatment.text, s.outcome.text
        for key, value in method.options:
            if not isinstance(value, terms.Formula):
                continue
            in_score = METHOD_OPTIONS[method.name][key][0] == "score formula"
            for term in value.terms:
                for factor in term.factors:
                    v, span = factor.name, factor.span or term.span
                    problem = None
                    if v not in self.variables:
                        self._known(Ident(v, span or s.span))
                        ok = False
                        continue
                    variable = self.variables[v]
                    if variable.latent:
                        problem = f"'{v}' is latent: a model can only use observed variables"
                    elif v == outcome:
                        problem = f"'{v}' is the outcome: it cannot explain itself"
                    elif v == treatment and in_score:
                        problem = f"'{v}' is the treatment: the score model predicts it"
                    elif v != treatment and adjusting is not None and v not in adjusting:
                        problem = (f"'{v}' is not in the proposed set adjusting "
                                   f"{{{', '.join(sorted(adjusting))}}}")
                    elif (isinstance(factor, terms.Power | terms.Spline)
                          and variable.type in (VarType.BINARY, VarType.CATEGORICAL)):
                        problem = (f"'{v}' is {variable.type.value}: {factor} makes no sense "
                                   "for a variable that is not a number")
                    if problem is not None:
                        ok = False
                        self.sink.error("E226", f"the term '{term}' of {key} = ...: {problem}",
                                        span, help=_formula_help(v, treatment, in_score))
        return ok

    def _method(self, clause: UsingClause) -> Method | None:
        name = clause.method.text.lower()
        if name not in METHOD_OPTIONS:
            self.sink.error(
                "E209", f"unknown method '{name}'", clause.method.span,
                help=suggest(name, METHOD_OPTIONS) or "methods are: " + ", ".join(METHOD_OPTIONS),
            )
            return None
        schema = {k: v[1] for k, v in METHOD_OPTIONS[name].items()}
        values = self._options(clause.options or (), schema, name)
        return Method(name, tuple(values.items()), clause.span)

    def _options(
        self, options: Iterable[Option], allowed: dict[str, str], owner: str
    ) -> dict[str, OptionValue]:
        values: dict[str, OptionValue] = {}
        for option in options:
            key = option.key.text
            if key not in allowed:
                listing = ", ".join(allowed) if allowed else "none"
                self.sink.error(
                    "E210", f"'{owner}' has no option '{key}'", option.key.span,
                    help=suggest(key, allowed) or f"options of '{owner}': {listing}",
                )
                continue
            if key in values:
                self.sink.error("E210", f"option '{key}' is given twice", option.key.span,
                                help=f"keep one '{key} = ...'")
                continue
            value = self._option_value(owner, key, option.value)
            if value is not None:
                values[key] = value
        return values

    def _option_value(self, owner: str, key: str, value: Value) -> OptionValue | None:
        expected = METHOD_OPTIONS.get(owner, {}).get(key, ("name", ""))[0]
        raw = value.value
        if expected in ("formula", "score formula"):
            if value.kind in ("formula", "name"):
                node = raw if isinstance(raw, FormulaNode) else Ident(str(raw), value.span)
                return terms.read_formula(node, self.sink)
            self._bad_value(owner, key, value, "a model formula, e.g. age + age^2 + educ:re74")
            return None
        if value.kind == "formula":
            self._bad_value(owner, key, value, _EXPECTED_WORDS.get(expected, "one value"))
            return None
        if expected is bool:
            if value.kind == "name" and raw in ("true", "false"):
                return raw == "true"
            self._bad_value(owner, key, value, "true or false")
            return None
        if expected is int:
            if value.kind == "number" and isinstance(raw, int) and raw >= 0:
                return raw
            self._bad_value(owner, key, value, "a whole number")
            return None
        if expected is float:
            if value.kind == "number" and raw >= 0:
                return float(raw)
            self._bad_value(owner, key, value, "a non-negative number")
            return None
        if expected is tuple:
            if value.kind == "set":
                names = [i for i in raw if self._known(i)]
                return tuple(i.text for i in names)
            if value.kind == "name":
                return (raw,)
            self._bad_value(owner, key, value, "a set of variables, e.g. {a, b}")
            return None
        if value.kind in ("string", "name"):
            return str(raw)
        self._bad_value(owner, key, value, "a name or a \"string\"")
        return None

    def _bad_value(self, owner: str, key: str, value: Value, expected: str) -> None:
        # The option's own description says what it means and its default: the best hint.
        described = METHOD_OPTIONS.get(owner, {}).get(key, (None, PANEL_OPTIONS.get(key)))[1]
        self.sink.error("E211", f"option '{key}' takes {expected}", value.span,
                        help=f"{key}: {described}" if described else None)
        return None


_EXPECTED_WORDS: dict[type | str, str] = {
    bool: "true or false", int: "a whole number", float: "a non-negative number",
    tuple: "a set of variables, e.g. {a, b}", str: "a name or a \"string\"",
    "name": "a name",
}


def _formula_help(variable: str, treatment: str, in_score: bool) -> str:
    if variable == treatment and in_score:
        return "drop the term: the score is the probability of the treatment given the others"
    return ("a formula's terms are functions of the adjustment set (and, in an outcome model, "
            "interactions with the treatment); drop the term, or adjust for the variable if "
            "that is valid")
