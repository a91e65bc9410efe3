"""The planner: choose an estimator for each query, say why, and run it on the bound data.

In: a `Model`, a `Query`, the query's `Identification` (computed once by `causal_dsl.identify`
and passed down; computed here only when not given), optionally a DataFrame (else the bound file
is read), a method override and a seed. Out: a `Plan` (which estimator, on which adjustment set,
the rule that fired and the reasons in plain sentences) and, from `estimate` / `run`, a
`QueryResult` / `RunResult` that keep the identification they rest on.

Rules, in order (docs/estimation.md, "The planner's rules", has each with an example):

1. ``--method`` / ``using`` wins, but its assumptions are checked: ``ols`` and ``matching`` need a
   valid adjustment set of observed variables; ``matching`` needs a binary treatment and
   something to match on; ``did`` needs panel data (or a 2×2 design) in which the treatment
   switches on, any latent confounder declared ``invariant``; its ``adjusting {..}`` set is used
   as time-varying controls unless a variable in it is affected by the treatment (refused).
2. ``auto``, randomised treatment (no arrow into it): the difference in means, with Lin's (2013)
   interacted OLS on the outcome's other causes as a precision cross-check.
3. ``auto``, back-door set without overlap: when the treatment is a deterministic function of
   unit-level and period-level variables (every cell all treated or all untreated) adjustment
   fails; on a panel where the treatment switches on, or in a 2×2 design (treatment = group ×
   period), identification rests on parallel trends → difference-in-differences, the fixed
   effects absorbing those variables.
4. ``auto``, back-door: binary treatment → matching (OLS as cross-check); continuous, count or
   ordinal treatment, or nothing to adjust for → OLS.
5. ``auto`` without back-door identification, when the ``invariant`` latents observed would
   identify the effect and the data is a panel in which the treatment switches on → DiD.
6. Otherwise refuse, naming the open path in plain words, and what else could work (an
   instrument, a front-door set, DiD — the last only when the data is a panel).

Raises `PlanError` (E501 not identifiable, E502 matching on a non-binary treatment or without
covariates, E503 DiD without panel or 2×2 data, E504 a time-varying latent confounder blocks
DiD, E505 the treatment never switches on, E506 unsupported variable types, E507 unknown method,
E508 a 2×2 weight/sd that is not a variable, E513 an invalid `adjusting` set), `ModelError` E223
(no such query), `DataError` E413 (adjustment without overlap, and no DiD design), and lets
`DataError` / `EstimationError` from the data and estimators through (E413 from matching gains a
DiD hint when the data is a panel).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from . import designs, engines
from .data import check_data, load_data, prepare, require_rows, require_varying
from .errors import CausalError, DataError, Diagnostic, PlanError
from .estimators import DESCRIPTIONS, ESTIMATORS
from .estimators import lin as lin_estimator
from .estimators.cells import is_cell_table, naive_from_cells
from .estimators.common import Design, naive_contrast, numeric
from .estimators.guard import guarded
from .identify import Identification
from .model import METHOD_OPTIONS, Method, Model, OptionValue, Query, VarType
from .plan_rules import (
    PlanData,
    adoption_of,
    alternatives,
    data_column,
    did_hint,
    frame_of,
    identification_of,
    is_panel,
    layout_of,
    names_text,
    open_path,
    plan_did,
    plan_error,
    plan_no_overlap,
    plan_randomised,
    sources_of,
    support_of,
)
from .results import Check, Plan, QueryResult, RunResult, agreement_check

if TYPE_CHECKING:
    from .graph import CausalGraph
    from .results import EstimatorResult

METHODS = ("auto", *ESTIMATORS)
DEFAULT_SEED = 0
# Rows of the subsample a matching cross-check of OLS runs on (issue 16: proportionate checks):
# at 20,000 rows its interval is still informative, and it costs a fraction of the OLS fit.
CROSS_CHECK_ROWS = 20_000
# estimators the planner runs beside the chosen one (not selectable with `using`)
COMPANIONS = {**ESTIMATORS, "lin": guarded("lin", lin_estimator.estimate)}


# --------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------
def plan(
    model: Model, query: Query, *, method: str | None = None, data: PlanData | None = None,
    identification: Identification | None = None,
) -> Plan:
    """Choose the estimator for `query` (see the module docstring for the rules).

    >>> import causal_dsl
    >>> s = causal_dsl.parse("var t: binary\\nvar y: continuous\\nvar x: continuous\\n"
    ...                      "t -> y\\nx -> y\\nquery q: ate(t -> y)\\n")
    >>> p = plan(s, s.query("q"))
    >>> p.method, p.cross_check, p.precision
    ('ols', 'lin', ('x',))
    """
    ident = identification if identification is not None else identification_of(model, query)
    p = _plan(model, query, ident, method=method, data=data)
    if is_panel(model) and p.method == "ols" and p.cluster is None and p.option("se") in (
            None, "cluster"):
        # rows of one unit share its unobserved traits: they are not independent draws
        assert model.data is not None and model.data.unit is not None
        unit = model.data.unit
        return replace(p, cluster=unit, reasons=(*p.reasons, (
            f"The data is a panel: standard errors are clustered by {unit}, because rows of "
            "one unit are not independent.")))
    return p


def _plan(
    model: Model, query: Query, ident: Identification, *, method: str | None,
    data: PlanData | None,
) -> Plan:
    t_var, y_var = model.variable(query.treatment), model.variable(query.outcome)
    t_kind, y_kind = t_var.type, y_var.type
    if y_kind is VarType.CATEGORICAL:
        raise plan_error(model, "E506", f"the outcome '{query.outcome}' is categorical; the "
                     "estimators here need a numeric or binary outcome", query,
                     "recode it as binary (one level against the rest) or declare it ordinal")
    if t_kind is VarType.CATEGORICAL:
        raise plan_error(model, "E506", f"the treatment '{query.treatment}' is categorical with "
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
        raise plan_error(model, "E507", f"unknown method '{chosen}'", query,
                     "methods are: " + ", ".join(METHODS))
    source = f"--method {chosen}" if overridden else f"using {chosen}"
    options = query.method.options if query.method.name == chosen else ()
    kind_text = t_kind.value if t_kind else "latent"
    adj = tuple(sorted(ident.adjustment_set or ())) if ident.identifiable else ()
    proposed = ident.proposed
    if proposed is not None and chosen != "did":
        if not proposed.valid:
            raise plan_error(model, "E513", "the proposed set `adjusting "
                         f"{names_text(proposed.adjusting)}` is not a valid adjustment set "
                         f"for {query.treatment} -> "
                         f"{query.outcome}: " + "; ".join(proposed.problems), query,
                         (f"adjust for {names_text(adj)} instead (remove `adjusting` to let the "
                          "planner choose)") if ident.identifiable else
                         "no set of observed variables is valid here", notes=proposed.notes)
        # the user's own set, checked valid, is what they asked to adjust for
        adj = tuple(sorted(proposed.adjusting))
    base: dict[str, Any] = dict(query=query.name, estimand=query.estimand,
                                treatment=query.treatment, outcome=query.outcome,
                                treatment_kind=kind_text)
    binary = t_kind is VarType.BINARY
    blocks = ""
    if ident.identifiable:
        blocks = (f"{names_text(adj)} blocks every back-door path from {query.treatment} to "
                  f"{query.outcome}" if adj else
                  f"no back-door path from {query.treatment} to {query.outcome} needs blocking")
    if chosen in ("did", "callaway_santanna"):
        p = plan_did(model, query, ident, base, data, auto=False, options=options,
                     source=source)
        return replace(p, method=chosen, cross_check="did") if chosen != "did" else p
    if chosen in ("iv", "frontdoor"):
        return _plan_graph_method(model, query, ident, base, chosen, source, options)
    if chosen != "auto":
        return _plan_chosen(model, query, ident, base, chosen, source, options, adj, blocks)
    if not ident.identifiable:
        try:
            return staggered(model, plan_did(model, query, ident, base, data, auto=True), data)
        except PlanError:
            # no panel design either: the rule order goes on to an instrument, then the
            # front door (issue 13), before refusing with the DiD rule's reasons
            fallback = _plan_without_adjustment(model, query, ident, base)
            if fallback is None:
                raise
            return fallback
    if binary and designs.randomised(model, query.treatment):
        return plan_randomised(model, query, base, proposed is not None, adj)
    frame = frame_of(model, data) if binary and adj else None
    if frame is not None:
        lay = layout_of(model, frame, query.treatment, adj)
        if lay.no_overlap:
            return staggered(model, plan_no_overlap(model, query, ident, base, frame, lay,
                                                    blocks), frame)
        support = support_of(model, frame, query.treatment, adj)
        if support is not None and support.complete:
            return Plan(
                **base, method="stratification",
                rule="back-door + discrete adjustment set, both arms in every cell → exact "
                     "stratification",
                reasons=(f"{query.treatment} is binary and {blocks}: {support.reason}, so "
                         f"the {query.estimand.upper()} is a weighted average of within-cell "
                         "differences in means, with no model for the treatment or outcome.",
                         "OLS on the same set runs as a cross-check."),
                adjustment=adj, cross_check="ols")
    if binary and adj:
        return Plan(
            **base, method="matching", rule="back-door + binary treatment → matching",
            reasons=(
                f"{query.treatment} is binary and {blocks}: nearest-neighbour matching "
                f"on the propensity score estimated from {names_text(adj)}, targeting the "
                f"{query.estimand.upper()}.",
                "OLS on the same set runs as a cross-check; the naive contrast shows how "
                "much the adjustment matters.",
            ),
            adjustment=adj, cross_check="ols",
        )
    why = (f"{query.treatment} is {kind_text} and {blocks}: least squares of "
           f"{query.outcome} on {query.treatment}" + (f" and {names_text(adj)}" if adj else ""))
    if binary:
        why += ", which is the difference in means"
        rule = "back-door, nothing to adjust for → OLS (difference in means)"
    else:
        rule = f"back-door + {kind_text} treatment → OLS"
        why += ("; matching needs a binary treatment" if t_kind else "")
    return Plan(**base, method="ols", rule=rule, reasons=(why + ".",), adjustment=adj)


def staggered(model: Model, p: Plan, data: PlanData | None) -> Plan:
    """Under `auto`, a panel DiD whose units adopt at different periods is answered by
    Callaway & Sant'Anna (static TWFE, which then also uses already-treated units as controls,
    runs beside it with its Goodman-Bacon decomposition)."""
    if p.method != "did" or p.unit is None or p.time is None:
        return p
    frame = frame_of(model, data)
    if frame is None:
        return p
    pat = adoption_of(model, frame, p.treatment)
    if pat.cohorts < 2 or pat.switch_off:
        return p
    if p.adjustment:
        return replace(p, reasons=(*p.reasons, (
            f"Adoption is staggered ({pat.cohorts} adoption periods), but the time-varying "
            f"controls {names_text(p.adjustment)} need two-way fixed effects: Callaway & "
            "Sant'Anna here is unconditional. Its TWFE estimate can be biased when effects "
            "change over exposure (see the warning).")))
    return replace(
        p, method="callaway_santanna", cross_check="did",
        rule=p.rule + "; staggered adoption → Callaway & Sant'Anna (TWFE as comparison)",
        reasons=(*p.reasons, (
            f"Units adopt in {pat.cohorts} different periods: static two-way fixed effects would "
            "also compare the newly treated with units treated earlier, which is biased when "
            f"effects grow over exposure. {DESCRIPTIONS['callaway_santanna']}, never-treated "
            "units as the comparison; TWFE runs beside it, with the Goodman-Bacon share of "
            "such 'forbidden' comparisons.")))


def _plan_without_adjustment(
    model: Model, query: Query, ident: Identification, base: dict[str, Any],
) -> Plan | None:
    """`auto` when adjustment fails and no DiD design applies: IV when the graph has an
    instrument, else front-door when the criterion holds, else None (the caller refuses)."""
    if ident.instruments:
        chosen, rule = "iv", "no adjustment set, no DiD design, an instrument → IV (2SLS)"
    elif ident.front_door is not None:
        chosen, rule = "frontdoor", "no adjustment set, no DiD design, front-door set → front-door"
    else:
        return None
    p = _plan_graph_method(model, query, ident, base, chosen, "auto", ())
    why = (f"No set of observed variables blocks every back-door path: {open_path(ident)}"
           + (" The data is not a panel, so difference-in-differences does not apply."
              if not is_panel(model) else ""))
    return replace(p, rule=rule, reasons=(why, *p.reasons))


def _plan_graph_method(
    model: Model, query: Query, ident: Identification, base: dict[str, Any], chosen: str,
    source: str, options: tuple[tuple[str, OptionValue], ...],
) -> Plan:
    """`using iv` / `using frontdoor`: the instrument or mediators the query names, else the
    ones identify found in the graph (refused when there are none)."""
    opts = dict(options)
    t, y = query.treatment, query.outcome
    if chosen == "iv":
        given = opts.get("instrument")
        if given:
            inst = tuple(cast("tuple[str, ...]", given))
            found = [i for i in ident.instruments if i.z in inst]
            adj = tuple(sorted(found[0].given)) if found else ()
            why = f"the instrument {names_text(inst)} named in the query"
        elif ident.instruments:
            first = ident.instruments[0]
            found = [first]
            inst, adj = (first.z,), tuple(sorted(first.given))
            why = f"the graph's instrument {first}"
        else:
            raise plan_error(model, "E501", f"iv needs an instrument, and the graph has none for "
                             f"{t} -> {y}", query, "name one with `using iv(instrument = z)` "
                             "if the graph omits it, or draw its arrows")
        # the query's own `adjust for` enters as exogenous covariates too (never dropped)
        adj = tuple(sorted(set(adj) | set(query.include)))
        extra = (("instrument", inst),) if not given else ()
        reasons = [f"{source}: {DESCRIPTIONS['iv']}, with {why}"
                   + (f", adjusting for {names_text(adj)}" if adj else "") + "."]
        if given and not found:
            reasons.append(f"Warning: the graph does not make {names_text(inst)} an instrument "
                           f"for {t} -> {y} (`causal identify` lists the ones it does): the "
                           "exclusion restriction or the independence the estimate needs is "
                           "not what the DAG says.")
        reasons += _instrument_assumptions(model, inst, t, y, adj)
        checked = "checked in" if found or not given else "not implied by"
        return Plan(**base, method="iv", rule=f"{source} (instrument {checked} the graph)",
                    reasons=tuple(reasons), adjustment=adj, options=(*options, *extra))
    given = opts.get("mediators")
    if given:
        med = tuple(cast("tuple[str, ...]", given))
    elif ident.front_door is not None:
        med = tuple(sorted(ident.front_door))
    else:
        raise plan_error(model, "E501", f"frontdoor needs mediators that satisfy the front-door "
                         f"criterion, and the graph has none for {t} -> {y}", query,
                         "name them with `using frontdoor(mediators = {m})`")
    extra = (("mediators", med),) if not given else ()
    return Plan(**base, method="frontdoor", rule=f"{source} (front-door set checked)",
                reasons=(f"{source}: {DESCRIPTIONS['frontdoor']} {names_text(med)}.",),
                options=(*options, *extra))


# Naming the missing arrows an IV design rests on tries each absent arrow (quadratic in the
# variables, a d-separation test each): fine for the graphs people draw, skipped beyond this.
ASSUMPTION_ARROWS_MAX_VARIABLES = 60


def _instrument_assumptions(model: Model, instruments: Iterable[str], t: str, y: str,
                            given: Iterable[str]) -> list[str]:
    """The arrows whose absence the exclusion restriction and the instrument's independence
    rest on, in words (so that a reviewer sees which missing arrow carries the design)."""
    if len(model.variables) > ASSUMPTION_ARROWS_MAX_VARIABLES:
        return [f"The exclusion restriction and independence rest on arrows absent from the "
                f"graph; with {len(model.variables)} variables they are not listed one by one."]
    import networkx as nx

    from .estimators.iv import instrument_arrows

    dag = nx.DiGraph()
    dag.add_nodes_from(v.name for v in model.variables)
    dag.add_edges_from((e.source, e.target) for e in model.directed_edges)
    latents = {v.name for v in model.latents}
    bidirected = [(e.source, e.target) for e in model.bidirected_edges]
    out: list[str] = []
    for z in instruments:
        if z in dag:
            out += instrument_arrows(dag, latents, z, t, y, tuple(given), bidirected).sentences(z)
    return out


def _plan_chosen(
    model: Model, query: Query, ident: Identification, base: dict[str, Any], chosen: str,
    source: str, options: tuple[tuple[str, OptionValue], ...], adj: tuple[str, ...],
    blocks: str,
) -> Plan:
    """`using ols` / `matching` / `stratification`: the method asked for, its assumptions
    checked."""
    binary = base["treatment_kind"] == "binary"
    if not ident.identifiable:
        hint = [did_hint(model, query)] if is_panel(model) else []
        raise plan_error(model, "E501", f"{chosen} needs a valid adjustment set of observed "
                     f"variables, and {query.treatment} -> {query.outcome} has none: "
                     + open_path(ident), query,
                     "; ".join([h for h in hint if h] + alternatives(ident))
                     or "measure a variable on the open path, or declare why the confounder "
                     "is harmless")
    if chosen in ("matching", "stratification"):
        if not binary:
            raise plan_error(model, "E502", f"{chosen} needs a binary treatment; "
                         f"'{query.treatment}' is {base['treatment_kind']}", query,
                         "use ols (an effect per unit of the treatment), or dichotomise the "
                         "treatment into a binary variable")
        if not adj:
            raise plan_error(model, "E502", f"{chosen} needs at least one covariate, "
                         f"and the adjustment set for {query.treatment} -> {query.outcome} "
                         "is empty", query,
                         "with nothing to adjust for the difference in means is unbiased: "
                         "use ols")
        # the resolver stores `exact` as a tuple of names
        exact = tuple(cast("tuple[str, ...]", dict(options).get("exact", ()) or ()))
        outside = [e for e in exact if e not in adj]
        if outside:
            raise plan_error(model, "E502", f"exact = {names_text(outside)}: not in the "
                         f"adjustment set {names_text(adj)}", query,
                         f"add `adjust for {names_text(outside)}` to the query if adjusting for it "
                         "is valid, or drop it from exact")
    reasons = [f"{source}: {DESCRIPTIONS[chosen]}; {blocks}."]
    cross = None
    if binary and adj:
        cross = "ols" if chosen != "ols" else "matching"
        reasons.append(f"{cross} on the same set runs as a cross-check.")
    cluster = dict(options).get("cluster")
    return Plan(**base, method=chosen, rule=f"{source} (assumptions checked)",
                reasons=tuple(reasons), adjustment=adj, options=options, cross_check=cross,
                cluster=data_column(model, str(cluster)) if cluster else None)


def _design(study: Model, p: Plan, query: Query, seed: int | None) -> Design:
    opts = dict(p.options)
    return Design(
        treatment=p.treatment, outcome=p.outcome, estimand=p.estimand, covariates=p.adjustment,
        options=opts, treatment_kind=p.treatment_kind,
        cluster=p.cluster if p.method != "did" else (p.cluster or p.unit), unit=p.unit,
        time=p.time, seed=seed, span=query.method.span or query.span,
    )


def estimate(
    study: Model,
    query: Query,
    *,
    identification: Identification | None = None,
    data: pd.DataFrame | None = None,
    method: str | None = None,
    seed: int | None = None,
    checked: bool = False,
    cross_check_rows: int | None = CROSS_CHECK_ROWS,
    coded: dict[str, pd.Series] | None = None,
) -> QueryResult:
    """Plan and run one query on the bound data (or on `data`), on the given identification.

    A matching cross-check (of OLS) runs on a seeded subsample of `cross_check_rows` rows when
    the sample is larger; None runs it on every row (see `_cross_check`). `coded`: the columns
    `check_data` already coded from `data` (`run` checks once for every query)."""
    if data is None and engines.wants_engine(study):  # DuckDB / Spark: causal_dsl.engines
        seed = DEFAULT_SEED if seed is None else seed
        ident = identification if identification is not None else identification_of(study, query)
        # the DiD rules ask the engine (plan_rules.frame_of: engines.planning.EngineData)
        p = plan(study, query, method=method, identification=ident)
        pushed = engines.estimate(study, query, p, _design(study, p, query, seed), ident, seed=seed)
        if pushed is not None:
            return pushed
        data, checked = engines.load_frame(study), False  # not pushed down: needed columns only
    frame = data if data is not None else load_data(study)
    if coded is None and not checked:
        coded = check_data(study, frame)  # coded once: prepare reuses it
    seed = DEFAULT_SEED if seed is None else seed
    ident = identification if identification is not None else identification_of(study, query)
    p = plan(study, query, method=method, data=frame, identification=ident)
    names = [p.treatment, p.outcome, *p.adjustment, *p.precision]
    for key in ("exact", "instrument", "mediators"):  # sets of variables
        names += [e for e in (p.option(key) or ()) if e not in names]
    for key in ("group", "period", "weight", "sd"):
        if p.option(key):
            names.append(str(p.option(key)))
    panel_unit = study.data.unit if study.data is not None and study.data.is_panel else None
    cross_cluster = panel_unit if p.cross_check == "ols" else None
    extra = list(dict.fromkeys(c for c in (p.unit, p.time, p.cluster, cross_cluster) if c))
    # as written in the study (relative to it): shared output never shows this machine's paths
    source = study.data.source if study.data else "<DataFrame>"
    prepared = prepare(study, frame, names, extra, source=source, coded=coded)
    span = query.span
    require_rows(prepared, max(4, len(p.adjustment) + 3), f"query '{query.name}'", span)
    require_varying(prepared, p.treatment, span)
    design = _design(study, p, query, seed)
    if prepared.weights is not None and study.data is not None:  # `data ... weights(...)`
        design = replace(design, weights=prepared.weights, weight_kind=study.data.weight_kind)
    checks: list[Check] = []
    if p.method == "matching" and study.data is not None and study.data.is_panel:
        checks.append(Check("warning", "the data is a panel but matching treats every row as "
                            "an independent unit: its standard error ignores that rows of one "
                            f"{study.data.unit} are alike (the OLS cross-check clusters)"))
    two_by_two = p.method == "did" and p.option("group") is not None
    if p.treatment_kind == "binary" and not two_by_two:  # a 2×2 table has one treated cell
        counts = prepared.frame[p.treatment].value_counts()
        if counts.min() < 2:
            raise DataError(Diagnostic(
                "E412",
                f"too few rows in one treatment arm for query '{query.name}': "
                + ", ".join(f"{p.treatment} = {int(v)}: {int(c)} row(s)" for v, c in
                            counts.items()),
                span,
                help="each arm needs at least two complete rows to be compared",
            ), sources_of(study))
    try:
        result = ESTIMATORS[p.method](prepared.frame, design, prepared.extra)
    except DataError as err:
        raise _with_did_hint(study, err) from None
    y = numeric(prepared.frame, p.outcome)
    d = numeric(prepared.frame, p.treatment)
    if two_by_two and is_cell_table(design, numeric(prepared.frame, str(p.option("group"))),
                                    numeric(prepared.frame, str(p.option("period")))):
        naive = naive_from_cells(prepared.frame, design, y, d)
    else:
        naive = naive_contrast(y, d, binary=p.treatment_kind == "binary",
                               label="naive " + ("difference in means" if p.treatment_kind ==
                                                 "binary" else "slope"))
    cross: EstimatorResult | None = None
    agreement = None
    if p.cross_check:
        cdesign = replace(design, options={}, cluster=cross_cluster or design.cluster,
                          covariates=p.precision or design.covariates)
        try:
            cross, what = _cross_check(p.cross_check, prepared.frame, cdesign, prepared.extra,
                                       seed, cross_check_rows)
            agreement = agreement_check(result, cross)
            if what:
                checks.append(Check("note", what))
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
    from .checks.fitted import fitted_robustness  # E-value, RV, Rosenbaum: from this fit

    return QueryResult(query=query.name, plan=p, sample=prepared.report, result=result,
                       naive=naive, cross_check=cross, agreement=agreement, seed=seed,
                       checks=tuple(checks), identification=ident,
                       robustness=fitted_robustness(study, p, result, y, d))


def _cross_check(method: str, frame: pd.DataFrame, design: Design,
                 extra: pd.DataFrame | None, seed: int, rows: int | None
                 ) -> tuple[EstimatorResult, str]:
    """Run the cross-check in proportion to what it is for: the reader's trust in the planned
    estimate, not a second full analysis. A regression (OLS, Lin) is cheap and runs on every
    row; matching, the costly one, runs on a seeded random subsample of `rows` rows when the
    sample is larger (all rows when `rows` is None). Returns the result and a sentence saying
    what was run when it was not the whole sample, for the output ("" otherwise: the output
    already says which estimator cross-checked, on the same rows)."""
    n = len(frame)
    if method != "matching" or rows is None or n <= rows:
        r = COMPANIONS[method](frame, design, extra)
        return r, ""
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(n, size=rows, replace=False))
    sub = frame.iloc[keep]
    sub_extra = extra.iloc[keep] if extra is not None and len(extra) == n else extra
    r = COMPANIONS[method](sub, design, sub_extra)
    what = (f"cross-check: {method} on a random subsample of {rows:,} of the {n:,} rows (seed "
            f"{seed}), as a check of the planned estimate rather than a second full analysis; "
            "its interval is wider than on every row (Python: cross_check_rows=None runs it "
            "on all rows)")
    return replace(r, description=f"{r.description}; on a random subsample of {rows:,} of "
                   f"{n:,} rows (seed {seed})"), what


def _with_did_hint(model: Model, err: DataError) -> DataError:
    """E413 (no overlap) on panel data: say that comparing changes over time may work."""
    if not is_panel(model) or not any(d.code == "E413" for d in err.diagnostics):
        return err
    hint = ("the data is a panel: if the treatment is set by unit- and period-level variables, "
            "`using did` compares changes over time instead")
    diags = [replace(d, help=f"{d.help}; {hint}" if d.help else hint) if d.code == "E413" else d
             for d in err.diagnostics]
    return DataError(diags, err.sources or sources_of(model))


def run(
    study: Model,
    *,
    graph: CausalGraph | None = None,
    data: pd.DataFrame | None = None,
    method: str | None = None,
    seed: int | None = None,
    queries: Iterable[str] | None = None,
    keep_going: bool = False,
    cross_check_rows: int | None = CROSS_CHECK_ROWS,
) -> RunResult:
    """Estimate every query (or those named in `queries`) on the bound data, read once.

    The first query that cannot be planned or estimated raises, unless `keep_going`: then its
    diagnostics are kept in `RunResult.failures` and the other queries still run. Problems with
    the data file itself (missing columns, bad values) always raise.
    """
    wanted = list(queries) if queries is not None else [q.name for q in study.queries]
    if not study.queries:
        study.query()  # the model's one error for it: E223, the study has no query
    chosen = [study.query(name) for name in wanted]  # E223 with "did you mean"
    engine = data is None and engines.wants_engine(study)  # checked in the engine, per query
    frame = data if data is not None or engine else load_data(study)
    coded = check_data(study, frame) if frame is not None else None  # once, for every query
    results: list[QueryResult] = []
    failures: list[tuple[str, tuple[Diagnostic, ...]]] = []
    for q in chosen:
        try:
            ident = identification_of(study, q, graph=graph)
            results.append(estimate(study, q, identification=ident, data=frame, method=method,
                                    seed=seed, checked=frame is not None, coded=coded,
                                    cross_check_rows=cross_check_rows))
        except CausalError as err:
            if not keep_going:
                raise
            failures.append((q.name, err.diagnostics))
    # as written in the study (relative to it): shared output never shows this machine's paths
    source = study.data.source if study.data else "<DataFrame>"
    return RunResult(study.title, source, tuple(results), tuple(failures))


__all__ = ["METHODS", "METHOD_OPTIONS", "Plan", "estimate", "plan", "run"]
