"""The planner's design rules: randomised trials, back-door sets without overlap (DiD read from
the graph), difference-in-differences on panels and 2×2 designs, and the refusals that say what
else would work — with the helpers the planner shares with them.

In: a `Model`, a `Query`, its `Identification`, the plan's common fields and (where a rule reads
it) the data: a DataFrame, or for engine-bound data an `engines.planning.EngineData` whose
facts (adoption pattern, layout of the adjustment set, cells' support) are SQL aggregates, the
same values as the in-memory functions (`adoption_of`, `layout_of`, `support_of`).
Out: a `Plan`. Raises `PlanError` (E501, E502, E503, E504, E505, E508, E513) and `DataError`
E413 (a valid back-door set without overlap and no DiD design), as `causal_dsl.planner`
documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

import pandas as pd

from . import designs
from .data import load_data, prepare
from .engines import wants_engine
from .engines.planning import Adoption, EngineData
from .errors import DataError, Diagnostic, PlanError
from .estimators import ESTIMATORS
from .estimators.common import numeric
from .estimators.stratification import Support, stratification_support
from .graph import CausalGraph
from .identify import Identification, fixed_effects_hint, identify
from .model import Model, OptionValue, Query
from .results import Plan


def names_text(names: Iterable[str]) -> str:
    return "{" + ", ".join(sorted(names)) + "}"


def identification_of(model: Model, query: Query, assume: frozenset[str] = frozenset(),
                      graph: CausalGraph | None = None) -> Identification:
    """The identification of `query`: asked only when the caller did not pass one, and for the
    question DiD rests on — would the effect be identified if the invariant latents were
    observed (absorbed by unit fixed effects)?"""
    return identify(model, query, assume, graph=graph)


def open_path(ident: Identification) -> str:
    """The sentences of the identification result that name the open path(s), in plain words."""
    paths = [r for r in ident.reasons if r.startswith("The path")]
    if paths:
        return " ".join(paths)
    return " ".join(ident.reasons) or "no set of observed variables blocks every back-door path"


def alternatives(ident: Identification) -> list[str]:
    """What else the graph offers when adjustment fails (identify found these)."""
    out = []
    if ident.instruments:
        first = ident.instruments[0]
        how = ("`using iv(instrument = " + first.z + ")` estimates it by two-stage least squares"
               + (f", adjusting for {names_text(first.given)}" if first.given else "")
               if "iv" in ESTIMATORS else "an instrumental-variable analysis would identify it")
        out.append("the graph has an instrument (" + "; ".join(str(i) for i in
                   ident.instruments) + "): " + how)
    if ident.front_door is not None:
        fd = names_text(ident.front_door)
        how = (f"`using frontdoor(mediators = {fd})` estimates it" if "frontdoor" in ESTIMATORS
               else "front-door adjustment would identify it")
        out.append(f"the front-door criterion holds with {fd}: {how}")
    return out


def sources_of(model: Model) -> dict[str | None, str]:
    return {model.path: model.source} if model.source is not None else {}


def plan_error(model: Model, code: str, message: str, query: Query, help: str,
           notes: tuple[str, ...] = ()) -> PlanError:
    span = query.method.span or query.span
    return PlanError(Diagnostic(code, message, span, help=help, notes=notes), sources_of(model))


def data_column(model: Model, name: str) -> str:
    """A variable's data column, or the name itself when it is a raw column."""
    try:
        var = model.variable(name)
    except KeyError:
        return name
    return var.data_column


def is_panel(model: Model) -> bool:
    return model.data is not None and model.data.is_panel


# the rows, or engine-bound data whose facts the rules ask the engine for (in SQL)
PlanData: TypeAlias = pd.DataFrame | EngineData


def frame_of(model: Model, data: PlanData | None) -> PlanData | None:
    """The data, when there is any to read (a plan without bound data skips the data rules);
    engine-bound data (`engines.wants_engine`) is not loaded: the rules ask the engine."""
    if data is not None:
        return data
    if model.data is not None and wants_engine(model):
        return EngineData(model)
    return load_data(model) if model.data is not None and model.data.path is not None else None


def adoption_of(model: Model, data: PlanData, treatment: str) -> Adoption:
    """Units, switchers, switch-offs and adoption cohorts of the treatment on the panel."""
    from .estimators.did import treatment_pattern

    if isinstance(data, EngineData):
        return data.adoption(treatment)
    assert model.data is not None and model.data.unit and model.data.time
    prep = prepare(model, data, [treatment], [model.data.unit, model.data.time])
    if len(prep) == 0:
        return Adoption(0, 0, 0, 0)
    pat = treatment_pattern(prep.extra[model.data.unit].to_numpy(),
                            prep.extra[model.data.time].to_numpy(),
                            numeric(prep.frame, treatment))
    return Adoption(pat.n_units, pat.switchers, pat.switch_off, pat.cohorts)


def switches_on(model: Model, data: PlanData, treatment: str) -> tuple[int, int]:
    """(units whose treatment goes from 0 to 1 over time, units in the panel)."""
    if isinstance(data, EngineData):  # one GROUP BY, without the cohorts' window function
        return data.switches(treatment)
    a = adoption_of(model, data, treatment)
    return a.switchers, a.n_units


def layout_of(model: Model, data: PlanData, treatment: str, adjustment: Iterable[str]
              ) -> designs.Layout:
    """`designs.layout` on the rows, or its SQL counterpart in the engine (the same fields)."""
    if isinstance(data, EngineData):
        f = data.layout(treatment, sorted(adjustment))
        return designs.Layout(f.unit_level, f.period_level, f.varying, f.determined_by, f.cells,
                              f.pair)
    return designs.layout(model, data, treatment, adjustment)


def support_of(model: Model, data: PlanData, treatment: str, adj: tuple[str, ...]
               ) -> Support | None:
    """Can exact stratification answer it (every adjustment variable discrete, both arms in
    every cell)? Asked on the rows the estimator would use."""
    kinds = {a: k for a in adj if (k := model.variable(a).type) is not None}
    if len(kinds) < len(adj) or any(k not in designs.DISCRETE for k in kinds.values()):
        return None
    if isinstance(data, EngineData):
        return data.support(treatment, adj)
    prep = prepare(model, data, [treatment, *adj])
    return stratification_support(prep.frame, treatment, adj, kinds)


def plan_randomised(
    model: Model, query: Query, base: dict[str, Any], proposed: bool, adj: tuple[str, ...]
) -> Plan:
    """Rule 2: nothing points into the treatment, so the arms are comparable as they are."""
    t, y = query.treatment, query.outcome
    covs = adj if proposed else designs.precision_covariates(model, query)
    reasons = [
        f"Nothing in the graph points into {t}: it is randomised (or set from outside the "
        f"graph), so no back-door path from {t} to {y} exists and the difference in means is "
        f"an unbiased estimate of the {query.estimand.upper()}. Least squares of {y} on {t} "
        "alone gives exactly that difference; HC2 standard errors equal Neyman's conservative "
        "variance for a randomised experiment.",
    ]
    if covs:
        reasons.append(
            f"{names_text(covs)} {'are' if len(covs) > 1 else 'is'} "
            + ("the set the query proposes" if proposed else f"the other causes of {y}")
            + f", which {t} cannot affect: Lin's (2013) regression, {y} on {t}, the centred "
            f"covariates and their interactions with {t} (HC2 errors), runs beside it for "
            "precision. Matching is not used: it would discard information the randomisation "
            "already balances.")
    return Plan(**base, method="ols",
                rule="randomised treatment → difference in means"
                     + (" (Lin-adjusted OLS for precision)" if covs else ""),
                reasons=tuple(reasons), options=(("se", "HC2"),),
                cross_check="lin" if covs else None, precision=covs)


def plan_no_overlap(
    model: Model, query: Query, ident: Identification, base: dict[str, Any],
    frame: PlanData, lay: designs.Layout, blocks: str,
) -> Plan:
    """Rule 3: the back-door set is valid but leaves no overlap; DiD if the design allows."""
    t, y = query.treatment, query.outcome
    det = names_text(lay.determined_by)
    panel = is_panel(model)
    if panel:
        parts = [f"{names_text(lay.unit_level)} (constant within units)" if lay.unit_level else "",
                 f"{names_text(lay.period_level)} (constant within periods)" if lay.period_level
                 else ""]
        what = " and ".join(p for p in parts if p)
    else:
        what = det
    fail = (f"{blocks[0].upper()}{blocks[1:]}, but adjustment fails for lack of overlap: {t} is "
            f"a deterministic function of {what}; every one of its {lay.cells} cells in the "
            f"data is all treated or all untreated, so no like-for-like comparison exists "
            "(matching would find no match)")
    trends = ("Identification rests instead on parallel trends: without the treatment, the "
              f"treated and the comparison units' {y} would have changed alike over time")
    if panel and lay.unit_level and lay.period_level:
        assert model.data is not None
        on, n_units = switches_on(model, frame, t)
        if on:
            return did_plan(model, query, base, f"{fail}. {trends}", lay.varying,
                             absorbed=lay.absorbed, unit=model.data.unit, time=model.data.time,
                             data_reason=f"the data is a panel ({model.data.unit} × "
                             f"{model.data.time}) in which {t} switches on for {on} of "
                             f"{n_units} units; the unit and period fixed effects absorb "
                             f"{names_text(lay.absorbed)}",
                             rule="back-door set without overlap (treatment set by unit and "
                                  "period) + panel → DiD (parallel trends)")
    if lay.pair is not None and not panel:
        g, p = lay.pair
        return did_plan(model, query, base, f"{fail}. {trends}",
                         tuple(v for v in lay.varying if v not in lay.pair),
                         options=(("group", g), ("period", p)),
                         data_reason=f"a 2×2 design, {t} = {g} × {p}: {g} is taken as the "
                         f"group and {p} as the period (the estimate is the same either way), "
                         "both entering as the group and period terms",
                         rule="back-door set without overlap (treatment = group × period) → "
                              "2×2 DiD (parallel trends)")
    help = ("the data is a panel: if the treatment is set by unit- and period-level variables "
            "and switches on within units, `using did` compares changes over time instead"
            if panel else "no estimator can compare like with like here: measure what "
            "else drives the treatment, or restrict the question to where both arms occur")
    raise DataError(Diagnostic("E413", fail, query.method.span or query.span, help=help,
                               notes=tuple(alternatives(ident))), sources_of(model))


def did_plan(
    model: Model, query: Query, base: dict[str, Any], graph_reason: str,
    covs: tuple[str, ...], *, data_reason: str, rule: str, absorbed: tuple[str, ...] = (),
    unit: str | None = None, time: str | None = None,
    options: tuple[tuple[str, OptionValue], ...] = (), cluster: str | None = None,
) -> Plan:
    reasons = [
        f"{graph_reason}.",
        f"{data_reason[0].upper()}{data_reason[1:]}: difference-in-differences with "
        f"{unit or 'group'} and {time or 'period'} fixed effects, estimating the effect on the "
        "units that switched on (ATT)" + (f", controlling for {names_text(covs)}" if covs else "")
        + ".",
    ]
    if query.estimand != "att":
        reasons.append(f"The query asks for the {query.estimand.upper()}; difference-in-"
                       "differences identifies only the effect on the treated (ATT), and the "
                       "result is labelled ATT.")
    return Plan(**base, method="did", rule=rule, reasons=tuple(reasons), adjustment=covs,
                options=options, unit=unit, time=time, cluster=cluster, absorbed=absorbed)


def did_hint(model: Model, query: Query) -> str | None:
    """On panel data: would unit fixed effects (DiD) remove the confounding? (identify's own
    sentence, so that `causal identify` and the refusal say the same thing)"""
    hint = fixed_effects_hint(model, query)
    return f"{hint} With the panel, `using did` does that." if hint else None


def plan_did(
    model: Model, query: Query, ident: Identification, base: dict[str, Any],
    data: PlanData | None, *, auto: bool, options: tuple[tuple[str, OptionValue], ...] = (),
    source: str = "auto",
) -> Plan:
    """Rule 1 for `using did`, and rule 5 (or the refusal) for `auto` without identification."""
    invariant = frozenset(v.name for v in model.latents if v.invariant)
    varying = frozenset(v.name for v in model.latents if not v.invariant)
    opts = dict(options)
    two_by_two = opts.get("group") is not None or opts.get("period") is not None
    panel = is_panel(model)
    t = query.treatment
    absorbed: tuple[str, ...] = ()
    if ident.identifiable:
        covs: tuple[str, ...] = tuple(sorted(ident.adjustment_set or ()))
        graph_reason = (f"{names_text(covs) if covs else 'The empty set'} already blocks every "
                        "back-door path, so the fixed effects are not needed for identification"
                        + (" (though they absorb what is constant within units or periods)"
                           if covs else ""))
    else:
        with_inv = identification_of(model, query, invariant) if invariant else None
        if with_inv is not None and with_inv.identifiable and (panel or two_by_two or not auto):
            used = invariant & (with_inv.adjustment_set or frozenset())
            absorbed = tuple(sorted(used or invariant))
            covs = tuple(sorted((with_inv.adjustment_set or frozenset()) - invariant))
            graph_reason = (f"No set of observed variables blocks every back-door path. "
                            f"{open_path(ident)} But the confounding runs through "
                            f"{names_text(absorbed)}, declared invariant (constant within a unit), "
                            "so unit fixed effects remove it")
        else:
            refuse(model, query, ident, invariant | varying, varying, panel)
    if base["treatment_kind"] != "binary":
        raise plan_error(model, "E502" if not auto else "E501",
                     f"difference-in-differences here needs a binary treatment; "
                     f"'{t}' is {base['treatment_kind']}"
                     + ("" if not auto else f" (and no adjustment set exists: "
                        f"{open_path(ident)})"), query,
                     "make the treatment binary (on/off), or measure the confounder")
    if ident.proposed is not None:
        covs = did_controls(model, query, ident.proposed.adjusting)
    if not panel and not two_by_two:
        raise plan_error(model, "E503", "difference-in-differences needs panel data (unit and "
                         "time) "
                     "or a 2×2 design", query,
                     "bind panel data: `data \"f.csv\" panel(unit = u, time = t)`, or for "
                     "repeated cross-sections `using did(group = g, period = p)`")
    cluster = opts.get("cluster")
    clus = data_column(model, str(cluster)) if cluster else None
    rule = ("latent confounding is time-invariant + panel where the treatment switches on → DiD"
            if auto else f"{source} (assumptions checked)")
    if two_by_two:
        g, p = opts.get("group"), opts.get("period")
        for key in ("weight", "sd"):
            name = opts.get(key)
            if name is not None and not observed(model, str(name)):
                raise plan_error(model, "E508", f"did({key} = {name}): '{name}' is not a declared "
                             "variable", query, f"declare it, e.g. `var {name}: "
                             + ("count`" if key == "weight" else "continuous`"))
        same = [c for c in covs if c in (g, p, t)]
        covs = tuple(c for c in covs if c not in same)
        reason = f"a 2×2 design: {g} × {p}" + (
            f" ({names_text(same)} already enter as the group and period terms)" if same else "")
        return did_plan(model, query, base, graph_reason, covs, data_reason=reason, rule=rule,
                         absorbed=absorbed, options=options, cluster=clus)
    assert model.data is not None
    unit, time = model.data.unit, model.data.time
    frame = frame_of(model, data)
    if frame is None:
        frame = load_data(model)  # E401 / E402: the panel rules need the data
    on, n_units = switches_on(model, frame, t)
    if on == 0:
        raise plan_error(model, "E505", f"the treatment '{t}' never switches on within a unit of "
                     f"the panel ({n_units} units)", query,
                     "difference-in-differences needs units observed before and after they "
                     "start treatment")
    data_reason = (f"the data is a panel ({unit} × {time}) in which {t} switches on for {on} of "
                   f"{n_units} units")
    if covs:
        lay = layout_of(model, frame, t, covs)
        if lay.absorbed:
            data_reason += (f"; the fixed effects absorb {names_text(lay.absorbed)} (constant "
                            "within "
                            "units or periods), which are not adjusted for again")
            absorbed = tuple(sorted({*absorbed, *lay.absorbed}))
            covs = lay.varying
    return did_plan(model, query, base, graph_reason, covs, data_reason=data_reason, rule=rule,
                     absorbed=absorbed, unit=unit, time=time, options=options, cluster=clus)


def observed(model: Model, name: str) -> bool:
    try:
        return model.variable(name).type is not None
    except KeyError:
        return False


def did_controls(model: Model, query: Query, proposed: frozenset[str]) -> tuple[str, ...]:
    """`adjusting {..}` under `using did`: time-varying controls, unless one is affected by the
    treatment (a 'bad control' that would take part of the effect away)."""
    down = designs.descendants(model, query.treatment)
    bad = sorted(proposed & down)
    if bad:
        raise plan_error(model, "E513", f"under difference-in-differences the set `adjusting "
                     f"{names_text(proposed)}` cannot be used: {names_text(bad)} "
                     f"{'is' if len(bad) == 1 else 'are'} affected by {query.treatment}, so "
                     "controlling for it would remove part of the effect", query,
                     f"drop {names_text(bad)} from `adjusting`; controls under DiD must not be "
                     "caused by the treatment")
    latent = sorted(v for v in proposed if not observed(model, v))
    if latent:
        raise plan_error(model, "E513", f"`adjusting {names_text(proposed)}`: "
                         f"{names_text(latent)} is latent "
                     "and cannot be a control", query, "only observed variables can be "
                     "controls; declare a latent `invariant` for the unit effects to absorb it")
    return tuple(sorted(proposed))


def refuse(model: Model, query: Query, ident: Identification, latents: frozenset[str],
            varying: frozenset[str], panel: bool) -> None:
    """Not identifiable by adjustment, and no DiD design: say why and what else could work."""
    t, y = query.treatment, query.outcome
    others = alternatives(ident)
    with_all = identification_of(model, query, latents) if latents else None
    if panel and varying and with_all is not None and with_all.identifiable:
        blockers = sorted(varying)
        msg = (f"{t} -> {y} is not identifiable: the latent {names_text(blockers)} confounds it "
               "and "
               "is not declared invariant — a time-varying confounder; difference-in-"
               "differences would split the credit between it and the treatment (like a "
               "hospital that upgrades its equipment the year it starts a drug trial)")
        raise plan_error(model, "E504", msg, query,
                     "; ".join(["measure it, or if it truly never changes within a unit declare "
                                f"it `latent {blockers[0]} invariant`", *others]),
                     notes=(open_path(ident),))
    raise plan_error(model, "E501", f"{t} -> {y} is not identifiable by adjustment: "
                 f"{open_path(ident)}", query,
                 "; ".join(others) if others else "measure a variable on the open path (and "
                 "declare it), or rethink the design; no estimator here can remove that "
                 "confounding")
