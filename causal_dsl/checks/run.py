"""All the checks of one study: the DAG against the data, then per query sensitivity and
refutations. What ``causal test FILE`` prints.

In: a `Model`, the raw bound `DataFrame`, the model's implications and each query's
adjustment set (computed by the caller from the graph engine, e.g. with `graph_answers`).
Out: `StudyChecks` (frozen, ``to_dict()``, ``str``). Raises `DataError` for
data that does not fit the declarations; a query that cannot be checked is kept with the
reason (`QueryChecks.skipped`).

Per query identified by adjustment, on the rows complete in treatment, outcome and the set:
Cinelli–Hazlett sensitivity of the OLS coefficient (classical SE, benchmarks k = 1, 2, 3 times
each adjusted covariate), the E-value (continuous/count outcome: the SD conversion; binary
outcome and treatment: the risk difference at the untreated risk), the declared latent
variables and ``<->`` edges named with the strength they would need, and the refutations
(regression adjustment as estimator, seeded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..graph import CausalGraph, Implications
from scipy import stats

from ..errors import CausalError
from ..model import Model
from ._design import kind, sample
from .citests import LocalTests, local_tests
from .refute import Refutations, design_frame, placebo_outcomes, refute
from .sensitivity import (
    EValue,
    LatentStrength,
    OLSSensitivity,
    evalue_ols,
    evalue_risk_difference,
    latent_strengths,
    ols_sensitivity,
)


@dataclass(frozen=True, slots=True)
class QueryChecks:
    query: str
    treatment: str
    outcome: str
    adjustment: tuple[str, ...] | None
    sensitivity: OLSSensitivity | None = None
    evalue: EValue | None = None
    latents: tuple[LatentStrength, ...] = ()
    refutations: Refutations | None = None
    skipped: str = ""

    def __str__(self) -> str:
        head = f"query {self.query}: {self.treatment} -> {self.outcome}"
        if self.skipped:
            return f"{head}\n  not checked: {self.skipped}"
        adj = ", ".join(self.adjustment or ()) or "nothing"
        lines = [f"{head} (regression adjustment for {adj})"]
        for block in (self.sensitivity, self.evalue):
            if block is not None:
                lines += ["  " + line for line in str(block).splitlines()]
        if self.latents:
            lines.append("  Declared hidden causes:")
            lines += [f"    {x.sentence(self.treatment, self.outcome)}" for x in self.latents]
        if self.refutations is not None:
            lines += ["  " + line for line in str(self.refutations).splitlines()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "treatment": self.treatment, "outcome": self.outcome,
                "adjustment": None if self.adjustment is None else list(self.adjustment),
                "skipped": self.skipped or None,
                "sensitivity": self.sensitivity.to_dict() if self.sensitivity else None,
                "evalue": self.evalue.to_dict() if self.evalue else None,
                "latents": [x.to_dict() for x in self.latents],
                "refutations": self.refutations.to_dict() if self.refutations else None}


@dataclass(frozen=True, slots=True)
class StudyChecks:
    local: LocalTests
    queries: tuple[QueryChecks, ...]
    alpha: float
    seed: int

    @property
    def ok(self) -> bool:
        """No implication rejected and no refutation failed (the CI gate)."""
        return not self.local.rejected and not any(
            q.refutations.failed for q in self.queries if q.refutations is not None)

    def __str__(self) -> str:
        parts = [str(self.local)]
        parts += [str(q) for q in self.queries]
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "alpha": self.alpha, "seed": self.seed,
                "implications": self.local.to_dict(),
                "queries": [q.to_dict() for q in self.queries]}


def graph_answers(model: Model, graph: CausalGraph | None = None
                  ) -> tuple[Implications, dict[str, frozenset[str] | None]]:
    """The implications and each query's recommended adjustment set, from one graph engine
    (built here when the caller has none to pass down)."""
    from ..graph import CausalGraph
    from ..identify import identify

    g = graph if graph is not None else CausalGraph.from_model(model)
    implications = g.implications()
    sets = {q.name: identify(model, q, graph=g).adjustment_set for q in model.queries}
    return implications, sets


def check_study(model: Model, frame: pd.DataFrame | None, implications: Iterable[Any],
                adjustment: Mapping[str, frozenset[str] | None], *, alpha: float = 0.05,
                seed: int = 0, replications: int = 20, local: LocalTests | None = None,
                no_frame: str = "") -> StudyChecks:
    """Everything `causal test` shows, from plain inputs. `local`: the implication tests when
    the caller ran them already (in a DuckDB or Spark engine, from moments); `frame` None: the
    rows are not in memory, and each query's checks are skipped with the reason `no_frame`."""
    if local is None:
        if frame is None:
            raise ValueError("check_study needs a frame or the local tests")
        local = local_tests(model, frame, implications, alpha=alpha)
    done: dict[tuple[str, str, frozenset[str] | None], str] = {}
    queries = []
    for q in model.queries:
        adj = adjustment.get(q.name)
        if frame is None:
            queries.append(QueryChecks(q.name, q.treatment, q.outcome,
                                       None if adj is None else tuple(sorted(adj)),
                                       skipped=no_frame))
            continue
        key = (q.treatment, q.outcome, adj)
        if key in done:  # the same regression: computed once, shown once
            queries.append(QueryChecks(q.name, q.treatment, q.outcome,
                                       None if adj is None else tuple(sorted(adj)),
                                       skipped=f"same treatment, outcome and adjustment as "
                                       f"query {done[key]} (shown there)"))
            continue
        done[key] = q.name
        queries.append(_query(model, frame, q.name, q.treatment, q.outcome, adj, alpha, seed,
                              replications))
    return StudyChecks(local, tuple(queries), alpha, seed)


def _query(model: Model, frame: pd.DataFrame, name: str, t: str, y: str,
           adj: frozenset[str] | None, alpha: float, seed: int, replications: int
           ) -> QueryChecks:
    if adj is None:
        return QueryChecks(name, t, y, None, skipped="the effect is not identified by "
                           "adjustment, so there is no adjusted estimate to stress")
    covs = sorted(adj)
    if kind(model, t) == "cat" or kind(model, y) == "cat":
        return QueryChecks(name, t, y, tuple(covs), skipped="a categorical treatment or "
                           "outcome has no single coefficient to stress")
    try:
        s = sample(model, frame, [t, y, *covs])
        yv, dv = s.blocks[y][:, 0], s.blocks[t][:, 0]
        width = 2 + sum(s.blocks[c].shape[1] for c in covs)
        if len(yv) <= width + 1:
            return QueryChecks(name, t, y, tuple(covs), skipped=f"{len(yv)} complete row(s) "
                               f"for {width} coefficients: too few to fit the regression the "
                               "checks stress")
        sens = ols_sensitivity(yv, dv, {c: s.blocks[c] for c in covs}, treatment=t,
                               outcome=y, alpha=alpha)
        crit = stats.t.ppf(1 - alpha / 2, sens.dof)
        ev: EValue | None = None
        if kind(model, y) == "bin" and kind(model, t) == "bin":
            base = float(np.mean(yv[dv == 0])) if np.any(dv == 0) else float("nan")
            if 0 < base < 1:
                ev = evalue_risk_difference(sens.estimate, sens.estimate - crit * sens.se,
                                            sens.estimate + crit * sens.se, base)
        elif kind(model, y) == "num":
            ev = evalue_ols(sens.estimate, sens.se, float(np.std(yv, ddof=1)))
        latents = latent_strengths(model, t, y, covs, sensitivity=sens, evalue=ev)
        names = [t, y, *covs]
        frame_num = design_frame(model, frame, names)
        cov_cols = [c for c in frame_num.columns if c not in (t, y)]
        placebo = {v: design_frame(model, frame, [t, v, *covs])
                   for v in placebo_outcomes(model, t, covs, exclude=[y])}
        refs = refute(frame_num, t, y, cov_cols, placebo=placebo, seed=seed,
                      replications=replications, alpha=alpha)
    except CausalError as error:
        return QueryChecks(name, t, y, tuple(covs), skipped=error.diagnostics[0].message)
    return QueryChecks(name, t, y, tuple(covs), sens, ev, latents, refs)
