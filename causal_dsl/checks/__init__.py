"""Putting the assumptions on trial: the DAG against the data, sensitivity to unobserved
confounding, and refutations.

In: plain inputs — a `Model`, the raw bound `DataFrame`, the model's implications, adjustment
sets, fitted numbers or matched pairs. Out: frozen result values with ``to_dict()`` and a
plain-text ``str``. Raises `DataError` (E4xx) for data that does not fit its declarations and
`EstimationError` (E520) for inputs that cannot give a finite answer. See docs/assumptions.md.

* `local_tests` — each testable implication on the data (`LocalTests`), as DAGitty's
  ``localTests``;
* `ols_sensitivity`, `ols_sensitivity_from_t`, `robustness_value`, `partial_r2`,
  `benchmark_bound` — Cinelli & Hazlett (2020), as R ``sensemakr``;
* `evalue_rr`, `evalue_ols`, `evalue_or`, `evalue_risk_difference` — VanderWeele & Ding (2017);
* `rosenbaum_bounds` — Wilcoxon signed-rank bounds for matched pairs, as R ``rbounds``;
* `latent_strengths` — the declared latent variables and ``<->`` edges, named;
* `refute`, `placebo_outcomes`, `ols_effect`, `design_frame` — DoWhy-style refutations;
* `fitted_robustness`, `matched_pairs` — the E-value, robustness value and Rosenbaum bounds
  of an estimate already fitted (``causal run``);
* `implications_on_data`, `implications_on_data_of` — which implications the data rejects
  before and after a change
  (``causal diff --data``);
* `check_study`, `graph_answers` — all of it for one study (``causal test``).

The names load their module on first use (PEP 562), so that the planner's hook into `fitted`
does not import the statistics of the other checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .citests import (
        LocalTest,
        LocalTests,
        holm,
        local_tests,
    )
    from .compare import (
        ImplicationChange,
        ImplicationChanges,
        implications_on_data,
        implications_on_data_of,
    )
    from .fitted import (
        FittedRobustness,
        fitted_robustness,
        matched_pairs,
    )
    from .refute import (
        Estimator,
        Refutation,
        Refutations,
        design_frame,
        ols_effect,
        placebo_outcomes,
        refute,
    )
    from .rosenbaum import (
        RosenbaumBounds,
        rosenbaum_bounds,
    )
    from .run import (
        QueryChecks,
        StudyChecks,
        check_study,
        graph_answers,
    )
    from .sensitivity import (
        Benchmark,
        EValue,
        LatentStrength,
        OLSSensitivity,
        benchmark_bound,
        evalue,
        evalue_ols,
        evalue_or,
        evalue_risk_difference,
        evalue_rr,
        latent_strengths,
        ols_sensitivity,
        ols_sensitivity_from_t,
        partial_r2,
        robustness_value,
    )

_WHERE: dict[str, str] = {
    "LocalTest": "citests",
    "LocalTests": "citests",
    "holm": "citests",
    "local_tests": "citests",
    "Estimator": "refute",
    "Refutation": "refute",
    "Refutations": "refute",
    "design_frame": "refute",
    "ols_effect": "refute",
    "placebo_outcomes": "refute",
    "refute": "refute",
    "RosenbaumBounds": "rosenbaum",
    "rosenbaum_bounds": "rosenbaum",
    "QueryChecks": "run",
    "StudyChecks": "run",
    "check_study": "run",
    "graph_answers": "run",
    "FittedRobustness": "fitted",
    "fitted_robustness": "fitted",
    "matched_pairs": "fitted",
    "ImplicationChange": "compare",
    "ImplicationChanges": "compare",
    "implications_on_data": "compare",
    "implications_on_data_of": "compare",
    "Benchmark": "sensitivity",
    "EValue": "sensitivity",
    "LatentStrength": "sensitivity",
    "OLSSensitivity": "sensitivity",
    "benchmark_bound": "sensitivity",
    "evalue": "sensitivity",
    "evalue_ols": "sensitivity",
    "evalue_or": "sensitivity",
    "evalue_risk_difference": "sensitivity",
    "evalue_rr": "sensitivity",
    "latent_strengths": "sensitivity",
    "ols_sensitivity": "sensitivity",
    "ols_sensitivity_from_t": "sensitivity",
    "partial_r2": "sensitivity",
    "robustness_value": "sensitivity",
}
__all__ = [
    "Benchmark",
    "EValue",
    "Estimator",
    "FittedRobustness",
    "ImplicationChange",
    "ImplicationChanges",
    "LatentStrength",
    "LocalTest",
    "LocalTests",
    "OLSSensitivity",
    "QueryChecks",
    "Refutation",
    "Refutations",
    "RosenbaumBounds",
    "StudyChecks",
    "benchmark_bound",
    "check_study",
    "design_frame",
    "evalue",
    "evalue_ols",
    "evalue_or",
    "evalue_risk_difference",
    "evalue_rr",
    "fitted_robustness",
    "graph_answers",
    "holm",
    "implications_on_data",
    "implications_on_data_of",
    "latent_strengths",
    "local_tests",
    "matched_pairs",
    "ols_effect",
    "ols_sensitivity",
    "ols_sensitivity_from_t",
    "partial_r2",
    "placebo_outcomes",
    "refute",
    "robustness_value",
    "rosenbaum_bounds",
]


# `refute` is also the name of a submodule: bind the function now (the module is light), so
# that importing the submodule later cannot shadow it
from .refute import refute  # noqa: E402


def __getattr__(name: str) -> Any:
    """Load the module defining `name` on first use (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'causal_dsl.checks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
