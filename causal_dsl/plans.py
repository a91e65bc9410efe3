"""The plan: which estimator answers a query, on what, and why (made by `causal_dsl.planner`).

In: what the planner decided. Out: a frozen `Plan` value with ``to_dict()`` (data); its text
comes from `causal_dsl.present` through `causal_dsl.display`. Raises nothing. Kept apart from
`causal_dsl.results` (which re-exports it) so that each reads in one sitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import display
from .model import OptionValue


@dataclass(frozen=True)
class Plan:
    """Which estimator answers a query, with what, and why."""

    query: str
    estimand: str
    treatment: str
    outcome: str
    method: str
    rule: str
    reasons: tuple[str, ...]
    adjustment: tuple[str, ...] = ()
    options: tuple[tuple[str, OptionValue], ...] = ()
    cross_check: str | None = None
    treatment_kind: str = "binary"
    unit: str | None = None  # panel unit column (did)
    time: str | None = None
    cluster: str | None = None  # data column to cluster on
    absorbed: tuple[str, ...] = ()  # invariant latents absorbed by unit effects (did)
    precision: tuple[str, ...] = ()  # covariates of the Lin cross-check (randomised treatment)

    @property
    def naive(self) -> str:
        """The unadjusted contrast every plan reports beside its estimate."""
        if self.treatment_kind == "binary":
            return "difference in means (Welch standard error)"
        return "slope of the outcome on the treatment alone (HC1)"

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)

    def __str__(self) -> str:
        return _shown("text", self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "estimand": self.estimand,
            "treatment": self.treatment,
            "outcome": self.outcome,
            "method": self.method,
            "options": {k: _option_data(v) for k, v in self.options},
            "rule": self.rule,
            "reasons": list(self.reasons),
            "adjustment_set": list(self.adjustment),
            "cross_check": self.cross_check,
            "naive": self.naive,
            "treatment_kind": self.treatment_kind,
            "panel": {"unit": self.unit, "time": self.time} if self.unit else None,
            "cluster": self.cluster,
            "absorbed_by_fixed_effects": list(self.absorbed),
            "precision_covariates": list(self.precision),
        }


def _shown(fmt_: str, value: object) -> str:
    shown = display.show(fmt_, value)
    return shown if shown is not None else repr(value)


def _option_data(value: object) -> object:
    """An option value as JSON data: a set of names as a list, a formula as its text."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)  # a `terms.Formula`: its canonical spelling
