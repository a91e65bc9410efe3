"""The planner: choose an estimator for each query, say why, and run it on the bound data.

In: a `Study`, a `Query`, optionally a DataFrame (else the bound file is read), a method override
and a seed. Out: a `Plan` (which estimator, on which adjustment set, the rule that fired and the
reasons in plain sentences) and, from `estimate` / `run`, a `QueryResult` / `RunResult`.

Rules, in order (docs/estimation.md has the long form):

1. ``--method`` / ``using`` wins, but its assumptions are checked: ``ols`` and ``matching`` need a
   valid adjustment set of observed variables (back-door identification); ``matching`` needs a
   binary treatment and something to match on; ``did`` needs panel data (or a 2×2 design) in which
   the treatment switches on, and any latent confounder must be declared ``invariant``.
2. ``auto`` with back-door identification: binary treatment → matching (OLS as cross-check);
   an empty adjustment set → OLS (the difference in means); continuous, count or ordinal
   treatment → OLS.
3. ``auto`` without it, when assuming the ``invariant`` latents observed would identify the effect
   and the data is a panel in which the treatment switches on → difference-in-differences (unit
   fixed effects absorb what does not change over time).
4. Otherwise refuse, naming the open path, or the latent that is not invariant.

Raises `PlanError` (E501 not identifiable, E502 matching on a non-binary treatment or without
covariates, E503 DiD without panel or 2×2 data, E504 a time-varying latent confounder blocks
DiD, E505 the treatment never switches on, E506 unsupported variable types, E507 unknown method,
E509 unknown query, E513 an invalid `adjusting` set) and lets `DataError` / `EstimationError`
from the data and estimators through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from .data import check_data, load_data, prepare, require_rows, require_varying
from .errors import CausalError, DataError, Diagnostic, PlanError
from .estimators import DESCRIPTIONS, ESTIMATORS
from .estimators.common import Design, naive_contrast, numeric
from .model import METHOD_OPTIONS, Method, OptionValue, Query, Study, VarType
from .results import Check, QueryResult, RunResult, agreement_check

if TYPE_CHECKING:
    from .results import EstimatorResult

METHODS = ("auto", *ESTIMATORS)
DEFAULT_SEED = 0


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

    @property
    def naive(self) -> str:
        """The unadjusted contrast every plan reports beside its estimate."""
        if self.treatment_kind == "binary":
            return "difference in means (Welch standard error)"
        return "slope of the outcome on the treatment alone (HC1)"

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)

    def __str__(self) -> str:
        head = (f"plan for {self.query}: {self.estimand}({self.treatment} -> {self.outcome}) "
                f"by {self.method}")
        if self.options:
            head += "(" + ", ".join(f"{k} = {v}" for k, v in self.options) + ")"
        lines = [head, f"  rule: {self.rule}"]
        adj = "{" + ", ".join(self.adjustment) + "}"
        lines.append(f"  adjustment set: {adj}")
        if self.cross_check:
            lines.append(f"  cross-check: {self.cross_check}")
        lines.append(f"  naive contrast: {self.naive}")
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "estimand": self.estimand,
            "treatment": self.treatment,
            "outcome": self.outcome,
            "method": self.method,
            "options": {k: list(v) if isinstance(v, tuple) else v for k, v in self.options},
            "rule": self.rule,
            "reasons": list(self.reasons),
            "adjustment_set": list(self.adjustment),
            "cross_check": self.cross_check,
            "naive": self.naive,
            "treatment_kind": self.treatment_kind,
            "panel": {"unit": self.unit, "time": self.time} if self.unit else None,
            "cluster": self.cluster,
            "absorbed_by_fixed_effects": list(self.absorbed),
        }


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _set(names: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(names)) + "}"


def _identify(study: Study, query: Query, assume: frozenset[str] = frozenset()) -> Any:
    from .identify import identify

    if assume:
        return identify(study, query, assume_observed=assume)
    return identify(study, query)


def _open_path(ident: Any) -> str:
    """The sentences of the identification result that name the open path(s)."""
    reasons = [str(r) for r in getattr(ident, "reasons", ()) if r]
    paths = [r for r in reasons if r.startswith("The path")]
    if paths:
        return " ".join(paths)
    return " ".join(reasons) if reasons else ("no set of observed variables blocks every "
                                              "back-door path")


def _sources(study: Study) -> dict[str | None, str]:
    return {study.path: study.source} if study.source is not None else {}


def _error(study: Study, code: str, message: str, query: Query, help: str,
           notes: tuple[str, ...] = ()) -> PlanError:
    span = query.method.span or query.span
    return PlanError(Diagnostic(code, message, span, help=help, notes=notes), _sources(study))


def _kind(study: Study, name: str) -> VarType | None:
    return study.variable(name).type


def _column(study: Study, name: str) -> str:
    """A variable's data column, or the name itself when it is a raw column."""
    try:
        var = study.variable(name)
    except KeyError:
        return name
    return var.data_column


def switches_on(study: Study, frame: pd.DataFrame, treatment: str) -> tuple[int, int]:
    """(units whose treatment goes from 0 to 1 over time, units in the panel)."""
    from .estimators.did import treatment_pattern

    assert study.data is not None and study.data.unit and study.data.time
    prep = prepare(study, frame, [treatment], [study.data.unit, study.data.time])
    if len(prep) == 0:
        return 0, 0
    pat = treatment_pattern(prep.extra[study.data.unit].to_numpy(),
                            prep.extra[study.data.time].to_numpy(),
                            numeric(prep.frame, treatment))
    return pat.switchers, pat.n_units


# --------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------
def plan(
    study: Study, query: Query, *, method: str | None = None, data: pd.DataFrame | None = None
) -> Plan:
    """Choose the estimator for `query` (see the module docstring for the rules)."""
    p = _plan(study, query, method=method, data=data)
    panel = study.data is not None and study.data.is_panel
    if panel and p.method == "ols" and p.cluster is None and p.option("se") in (None,
                                                                                  "cluster"):
        # rows of one unit share its unobserved traits: they are not independent draws
        assert study.data is not None and study.data.unit is not None
        unit = study.data.unit
        return replace(p, cluster=unit, reasons=(*p.reasons, (
            f"The data is a panel: standard errors are clustered by {unit}, because rows of "
            "one unit are not independent.")))
    return p


def _plan(
    study: Study, query: Query, *, method: str | None = None, data: pd.DataFrame | None = None
) -> Plan:
    t_var, y_var = study.variable(query.treatment), study.variable(query.outcome)
    t_kind, y_kind = t_var.type, y_var.type
    if y_kind is VarType.CATEGORICAL:
        raise _error(study, "E506", f"the outcome '{query.outcome}' is categorical; the "
                     "estimators here need a numeric or binary outcome", query,
                     "recode it as binary (one level against the rest) or declare it ordinal")
    if t_kind is VarType.CATEGORICAL:
        raise _error(study, "E506", f"the treatment '{query.treatment}' is categorical with "
                     f"{len(t_var.levels) or 'several'} levels; only binary, continuous, count "
                     "or ordinal treatments are supported", query,
                     "compare two levels at a time: make a binary variable for one level "
                     "against a reference")
    chosen = method or query.method.name
    overridden = bool(method) and method != query.method.name
    if overridden:
        # the command line overrides `using`: its options do not apply, and messages point at
        # the query rather than at a `using` clause that is not in force
        query = replace(query, method=Method(chosen))
    if chosen not in METHODS:
        raise _error(study, "E507", f"unknown method '{chosen}'", query,
                     "methods are: " + ", ".join(METHODS))
    source = f"--method {chosen}" if overridden else f"using {chosen}"
    options = query.method.options if query.method.name == chosen else ()
    kind_text = t_kind.value if t_kind else "latent"
    ident = _identify(study, query)
    adj = tuple(sorted(ident.adjustment_set)) if ident.identifiable else ()
    proposed = getattr(ident, "proposed", None)
    if proposed is not None and chosen != "did":
        if not proposed.valid:
            raise _error(study, "E513", f"the proposed set `adjusting {_set(proposed.adjusting)}`"
                         f" is not a valid adjustment set for {query.treatment} -> "
                         f"{query.outcome}: " + "; ".join(proposed.problems), query,
                         (f"adjust for {_set(adj)} instead (remove `adjusting` to let the "
                          "planner choose)") if ident.identifiable else
                         "no set of observed variables is valid here", notes=proposed.notes)
        # the user's own set, checked valid, is what they asked to adjust for
        adj = tuple(sorted(proposed.adjusting))
    base: dict[str, Any] = dict(query=query.name, estimand=query.estimand,
                                treatment=query.treatment, outcome=query.outcome,
                                treatment_kind=kind_text)
    binary = t_kind is VarType.BINARY
    if ident.identifiable:
        blocks = (f"{_set(adj)} blocks every back-door path from {query.treatment} to "
                  f"{query.outcome}" if adj else
                  f"no back-door path from {query.treatment} to {query.outcome} needs blocking")
    if chosen == "auto":
        if ident.identifiable:
            if binary and adj:
                return Plan(
                    **base, method="matching", rule="back-door + binary treatment → matching",
                    reasons=(
                        f"{query.treatment} is binary and {blocks}: nearest-neighbour matching "
                        f"on the propensity score estimated from {_set(adj)}, targeting the "
                        f"{query.estimand.upper()}.",
                        "OLS on the same set runs as a cross-check; the naive contrast shows how "
                        "much the adjustment matters.",
                    ),
                    adjustment=adj, cross_check="ols",
                )
            why = (f"{query.treatment} is {kind_text} and {blocks}: least squares of "
                   f"{query.outcome} on {query.treatment}" + (f" and {_set(adj)}" if adj else ""))
            if binary:
                why += ", which is the difference in means"
                rule = "back-door, nothing to adjust for → OLS (difference in means)"
            else:
                rule = f"back-door + {kind_text} treatment → OLS"
                why += ("; matching needs a binary treatment" if t_kind else "")
            return Plan(**base, method="ols", rule=rule, reasons=(why + ".",), adjustment=adj)
        return _plan_did_or_refuse(study, query, ident, base, data, auto=True)
    if chosen in ("ols", "matching"):
        if not ident.identifiable:
            did_note = _did_hint(study, query)
            raise _error(study, "E501", f"{chosen} needs a valid adjustment set of observed "
                         f"variables, and {query.treatment} -> {query.outcome} has none: "
                         + _open_path(ident), query,
                         did_note or "measure a variable on the open path, or declare why the "
                         "confounder is harmless")
        if chosen == "matching":
            if not binary:
                raise _error(study, "E502", f"matching needs a binary treatment; "
                             f"'{query.treatment}' is {kind_text}", query,
                             "use ols (an effect per unit of the treatment), or dichotomise the "
                             "treatment into a binary variable")
            if not adj:
                raise _error(study, "E502", "matching needs at least one covariate to match on, "
                             f"and the adjustment set for {query.treatment} -> {query.outcome} "
                             "is empty", query,
                             "with nothing to adjust for the difference in means is unbiased: "
                             "use ols")
            # the resolver stores `exact` as a tuple of names
            exact = tuple(cast("tuple[str, ...]", dict(options).get("exact", ()) or ()))
            outside = [e for e in exact if e not in adj]
            if outside:
                raise _error(study, "E502", f"exact = {_set(outside)}: not in the adjustment set "
                             f"{_set(adj)}", query,
                             f"add `adjust for {_set(outside)}` to the query if adjusting for it "
                             "is valid, or drop it from exact")
        reasons = [f"{source}: {DESCRIPTIONS[chosen]}; {blocks}."]
        cross = None
        if binary and adj:
            cross = "ols" if chosen == "matching" else "matching"
            reasons.append(f"{cross} on the same set runs as a cross-check.")
        cluster = dict(options).get("cluster")
        return Plan(**base, method=chosen, rule=f"{source} (assumptions checked)",
                    reasons=tuple(reasons), adjustment=adj, options=options, cross_check=cross,
                    cluster=_column(study, str(cluster)) if cluster else None)
    # chosen == "did"
    return _plan_did_or_refuse(study, query, ident, base, data, auto=False, options=options,
                               source=source)


def _did_hint(study: Study, query: Query) -> str | None:
    invariant = frozenset(v.name for v in study.latents if v.invariant)
    if invariant and _identify(study, query, invariant).identifiable:
        return (f"the confounding runs through {_set(invariant)}, declared invariant: with panel "
                "data, `using did` removes it")
    return None


def _plan_did_or_refuse(
    study: Study, query: Query, ident: Any, base: dict[str, Any], data: pd.DataFrame | None,
    *, auto: bool, options: tuple[tuple[str, OptionValue], ...] = (), source: str = "auto",
) -> Plan:
    invariant = frozenset(v.name for v in study.latents if v.invariant)
    varying = frozenset(v.name for v in study.latents if not v.invariant)
    opts = dict(options)
    two_by_two = opts.get("group") is not None or opts.get("period") is not None
    if ident.identifiable:
        covs: tuple[str, ...] = tuple(sorted(ident.adjustment_set))
        graph_reason = (f"{_set(covs) if covs else 'The empty set'} already blocks every "
                        "back-door path, so the fixed effects are not needed for identification")
        absorbed: tuple[str, ...] = ()
    else:
        with_inv = _identify(study, query, invariant) if invariant else None
        if with_inv is not None and with_inv.identifiable:
            used = invariant & with_inv.adjustment_set
            absorbed = tuple(sorted(used or invariant))
            covs = tuple(sorted(with_inv.adjustment_set - invariant))
            graph_reason = (f"No set of observed variables blocks every back-door path. "
                            f"{_open_path(ident)} But the confounding runs through "
                            f"{_set(absorbed)}, declared invariant (constant within a unit), "
                            "so unit fixed effects remove it")
        else:
            all_latent = invariant | varying
            with_all = _identify(study, query, all_latent) if all_latent else None
            if varying and with_all is not None and with_all.identifiable:
                blockers = sorted(varying)
                msg = (f"{query.treatment} -> {query.outcome} is not identifiable: the latent "
                       f"{_set(blockers)} confounds it and is not declared invariant — a "
                       "time-varying confounder; difference-in-differences would split the "
                       "credit between it and the treatment (like a hospital that upgrades its "
                       "equipment the year it starts a drug trial)")
                raise _error(study, "E504", msg, query,
                             "measure it, or if it truly never changes within a unit declare it "
                             f"`latent {blockers[0]} invariant`",
                             notes=(_open_path(ident),))
            raise _error(study, "E501", f"{query.treatment} -> {query.outcome} is not identifiable"
                         f" by adjustment: {_open_path(ident)}", query,
                         "measure a variable on the open path (and declare it), or rethink the "
                         "design; no estimator here can remove that confounding")
    if base["treatment_kind"] != "binary":
        raise _error(study, "E502" if not auto else "E501",
                     f"difference-in-differences here needs a binary treatment; "
                     f"'{query.treatment}' is {base['treatment_kind']}"
                     + ("" if not auto else f" (and no adjustment set exists: "
                        f"{_open_path(ident)})"), query,
                     "make the treatment binary (on/off), or measure the confounder")
    panel = study.data is not None and study.data.is_panel
    if not panel and not two_by_two:
        hint = ("bind panel data: `data \"f.csv\" panel(unit = u, time = t)`, or for repeated "
                "cross-sections `using did(group = g, period = p)`")
        if auto:
            raise _error(study, "E503", f"{query.treatment} -> {query.outcome} is not "
                         f"identifiable by adjustment ({_open_path(ident)}); difference-in-"
                         "differences could remove the invariant confounder, but the data is "
                         "not a panel", query, hint)
        raise _error(study, "E503", "difference-in-differences needs panel data (unit and time) "
                     "or a 2×2 design", query, hint)
    data_reason = ""
    unit = time = None
    if panel and not two_by_two:
        assert study.data is not None
        unit, time = study.data.unit, study.data.time
        frame = data if data is not None else load_data(study)
        on, n_units = switches_on(study, frame, query.treatment)
        if on == 0:
            raise _error(study, "E505", f"the treatment '{query.treatment}' never switches on "
                         f"within a unit of the panel ({n_units} units)", query,
                         "difference-in-differences needs units observed before and after they "
                         "start treatment")
        data_reason = (f"the data is a panel ({unit} × {time}) in which {query.treatment} switches "
                       f"on for {on} of {n_units} units")
    elif two_by_two:
        data_reason = (f"a 2×2 design: {opts.get('group')} × {opts.get('period')} in repeated "
                       "cross-sections")
    cluster = opts.get("cluster")
    reasons = (
        f"{graph_reason}.",
        f"{data_reason[0].upper()}{data_reason[1:]}: difference-in-differences with "
        f"{unit or 'group'} and {time or 'period'} fixed effects, estimating the effect on the "
        "units that switched on (ATT).",
    )
    rule = ("latent confounding is time-invariant + panel where the treatment switches on → DiD"
            if auto else f"{source} (assumptions checked)")
    return Plan(**base, method="did", rule=rule, reasons=reasons, adjustment=covs,
                options=options, unit=unit, time=time,
                cluster=_column(study, str(cluster)) if cluster else None, absorbed=absorbed)


# --------------------------------------------------------------------------------------------
# estimation
# --------------------------------------------------------------------------------------------
def _design(study: Study, p: Plan, query: Query, seed: int | None) -> Design:
    opts = dict(p.options)
    return Design(
        treatment=p.treatment, outcome=p.outcome, estimand=p.estimand, covariates=p.adjustment,
        options=opts, treatment_kind=p.treatment_kind,
        cluster=p.cluster if p.method != "did" else (p.cluster or p.unit), unit=p.unit,
        time=p.time, seed=seed, span=query.method.span or query.span,
    )


def estimate(
    study: Study,
    query: Query,
    *,
    data: pd.DataFrame | None = None,
    method: str | None = None,
    seed: int | None = None,
    checked: bool = False,
) -> QueryResult:
    """Plan and run one query on the bound data (or on `data`)."""
    frame = data if data is not None else load_data(study)
    if not checked:
        check_data(study, frame)
    seed = DEFAULT_SEED if seed is None else seed
    p = plan(study, query, method=method, data=frame)
    names = [p.treatment, p.outcome, *p.adjustment]
    names += [e for e in (p.option("exact") or ()) if e not in names]
    for key in ("group", "period"):
        if p.option(key):
            names.append(str(p.option(key)))
    panel_unit = study.data.unit if study.data is not None and study.data.is_panel else None
    cross_cluster = panel_unit if p.cross_check == "ols" else None
    extra = list(dict.fromkeys(c for c in (p.unit, p.time, p.cluster, cross_cluster) if c))
    source = str(study.data.path or study.data.source) if study.data else "<DataFrame>"
    prepared = prepare(study, frame, names, extra, source=source)
    span = query.span
    require_rows(prepared, max(4, len(p.adjustment) + 3), f"query '{query.name}'", span)
    require_varying(prepared, p.treatment, span)
    design = _design(study, p, query, seed)
    checks: list[Check] = []
    if p.method == "matching" and study.data is not None and study.data.is_panel:
        checks.append(Check("warning", "the data is a panel but matching treats every row as "
                            "an independent unit: its standard error ignores that rows of one "
                            f"{study.data.unit} are alike (the OLS cross-check clusters)"))
    if p.treatment_kind == "binary":
        counts = prepared.frame[p.treatment].value_counts()
        if counts.min() < 2:
            raise DataError(Diagnostic(
                "E412",
                f"too few rows in one treatment arm for query '{query.name}': "
                + ", ".join(f"{p.treatment} = {int(v)}: {int(c)} row(s)" for v, c in
                            counts.items()),
                span,
                help="each arm needs at least two complete rows to be compared",
            ), _sources(study))
    result = ESTIMATORS[p.method](prepared.frame, design, prepared.extra)
    y = numeric(prepared.frame, p.outcome)
    d = numeric(prepared.frame, p.treatment)
    naive = naive_contrast(y, d, binary=p.treatment_kind == "binary",
                           label="naive " + ("difference in means" if p.treatment_kind ==
                                             "binary" else "slope"))
    cross: EstimatorResult | None = None
    agreement = None
    if p.cross_check:
        cdesign = replace(design, options={}, cluster=cross_cluster or design.cluster)
        try:
            cross = ESTIMATORS[p.cross_check](prepared.frame, cdesign, prepared.extra)
            agreement = agreement_check(result, cross)
        except CausalError as err:
            checks.append(Check("warning", f"cross-check by {p.cross_check} could not run: "
                                + "; ".join(dg.message for dg in err.diagnostics)))
    if np.isfinite(naive.effect) and np.isfinite(result.estimate.effect):
        shift = result.estimate.effect - naive.effect
        flip = np.sign(naive.effect) != np.sign(result.estimate.effect) and not (
            naive.ci_low <= 0 <= naive.ci_high)
        checks.append(Check(
            "note",
            f"the estimate differs from the naive contrast ({naive.effect:.4g}) by "
            f"{shift:+.4g}" + (" — the sign changed: the confounding was strong" if flip
                               else ""),
        ))
    return QueryResult(query=query.name, plan=p, sample=prepared.report, result=result,
                       naive=naive, cross_check=cross, agreement=agreement, seed=seed,
                       checks=tuple(checks))


def run(
    study: Study,
    *,
    data: pd.DataFrame | None = None,
    method: str | None = None,
    seed: int | None = None,
    queries: Iterable[str] | None = None,
    keep_going: bool = False,
) -> RunResult:
    """Estimate every query (or those named in `queries`) on the bound data, read once.

    The first query that cannot be planned or estimated raises, unless `keep_going`: then its
    diagnostics are kept in `RunResult.failures` and the other queries still run. Problems with
    the data file itself (missing columns, bad values) always raise.
    """
    wanted = list(queries) if queries is not None else [q.name for q in study.queries]
    if not study.queries:
        raise PlanError(Diagnostic("E509", "the study has no query to run", None,
                                   help="add a line such as `query main: ate(x -> y)`"),
                        _sources(study))
    chosen = []
    for name in wanted:
        try:
            chosen.append(study.query(name))
        except KeyError:
            from .errors import suggest

            raise PlanError(Diagnostic(
                "E509", f"no query named '{name}'", None,
                help=suggest(name, [q.name for q in study.queries])
                or "queries are: " + ", ".join(q.name for q in study.queries),
            ), _sources(study)) from None
    frame = data if data is not None else load_data(study)
    check_data(study, frame)
    results: list[QueryResult] = []
    failures: list[tuple[str, tuple[Diagnostic, ...]]] = []
    for q in chosen:
        try:
            results.append(estimate(study, q, data=frame, method=method, seed=seed,
                                    checked=True))
        except CausalError as err:
            if not keep_going:
                raise
            failures.append((q.name, err.diagnostics))
    source = str(study.data.path or study.data.source) if study.data else "<DataFrame>"
    return RunResult(study.title, source, tuple(results), tuple(failures))


__all__ = ["METHODS", "METHOD_OPTIONS", "Plan", "estimate", "plan", "run"]
