"""Identification: is a query's effect identified by covariate adjustment, how, and why not.

In: a `Model` and one of its `Query` values (and, to compute it once and pass it down, the
model's `CausalGraph`). Out: `Identification`, the frozen verdict that ``causal identify``
prints and ``--format json`` serialises: the recommended set (`causal_dsl.graph.recommend`),
every minimal set, backdoor paths, obstructions, the check of a proposed ``adjusting`` set,
front door, instruments, and sentences on why. Errors: `GraphError` (codes E301-E310, from
`causal_dsl.graph`) for names not in the graph, a latent treatment or outcome, contradictory
``adjust for`` / ``never adjust for`` sets and sets that may not be adjusted for; with the
study's text attached, so that the diagnostic shows the line and a caret.

The graph algorithms live in `causal_dsl.graph`; this module chooses what to ask and turns the
answers into sentences. Whether unit fixed effects would rescue an unidentified effect is the
planner's question, answered by `fixed_effects_hint`.

>>> import causal_dsl
>>> s = causal_dsl.parse('var a: binary\\nvar t: binary\\nvar y: count\\na -> {t, y}\\n'
...                      't -> y\\nquery q: ate(t -> y)\\n')
>>> r = identify(s, s.query("q"))
>>> sorted(r.adjustment_set), r.recommended
(['a'], 'optimal')
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING, Any

from . import collector, display
from .errors import GraphError
from .graph.adjustment import AdjustmentProblem, problem, recommend
from .graph.core import CausalGraph
from .graph.implications import IMPLICATION_LIMIT
from .graph.instruments import find_instruments, front_door_set
from .graph.paths import backdoor_paths, open_paths
from .graph.selection import selection_obstacle, without_selection
from .graph.values import (
    BackdoorPaths,
    Implication,
    Implications,
    Instrument,
    PathStatus,
    fmt_set,
)

if TYPE_CHECKING:
    from .model import Model, Query

__all__ = [
    "BackdoorPaths",
    "Identification",
    "Implication",
    "Implications",
    "Instrument",
    "PathStatus",
    "ProposedCheck",
    "fixed_effects_hint",
    "identify",
    "identify_report",
]

# Display caps: long answers are cut and the cut is said out loud.
MAX_SETS = 10
MAX_PATHS = 20
MAX_OBSTRUCTIONS = 3
MAX_CAUSES = 4  # reasons given per open path


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class ProposedCheck:
    """The verdict on a set the user proposed (``adjusting {...}``)."""

    adjusting: frozenset[str]
    valid: bool
    problems: tuple[str, ...] = ()  # why it is not valid, one line each
    notes: tuple[str, ...] = ()  # true but not fatal (not minimal, clashes with the query)
    open_paths: tuple[PathStatus, ...] = ()

    def __str__(self) -> str:
        head = f"proposed set {fmt_set(self.adjusting)}: {'valid' if self.valid else 'NOT valid'}"
        return "\n".join([head, *(f"  - {p}" for p in self.problems),
                          *(f"  - note: {n}" for n in self.notes)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "adjusting": sorted(self.adjusting),
            "valid": self.valid,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "open_paths": [p.to_dict() for p in self.open_paths],
        }

    def to_json(self) -> str:
        return _json(self.to_dict())


@dataclass(frozen=True)
class Identification:
    """Whether (and how) a query's effect is identified by covariate adjustment."""

    query: Query
    identifiable: bool
    adjustment_set: frozenset[str] | None  # recommended: the O-set when usable, else smallest
    recommended: str  # "optimal", "smallest" or "" (not identifiable)
    minimal_sets: tuple[frozenset[str], ...]
    minimal_sets_truncated: bool
    smallest: frozenset[str] | None
    optimal: frozenset[str] | None
    optimal_note: str
    backdoor_paths: tuple[PathStatus, ...]  # given the recommended set (or the largest one)
    backdoor_paths_truncated: bool
    obstructions: tuple[PathStatus, ...]  # open paths no observed set can block
    proposed: ProposedCheck | None
    reasons: tuple[str, ...]
    instruments: tuple[Instrument, ...]
    causal_path: bool  # is there a directed path from treatment to outcome?
    assume_observed: frozenset[str] = field(default_factory=frozenset)
    front_door: frozenset[str] | None = None  # mediators satisfying the front-door criterion

    @property
    def treatment(self) -> str:
        return self.query.treatment

    @property
    def outcome(self) -> str:
        return self.query.outcome

    def __str__(self) -> str:
        q = self.query
        lines = [f"query {q}"]
        if self.assume_observed:
            lines.append(f"  assuming adjustable: {fmt_set(self.assume_observed)}")
        lines.append(f"  identifiable by adjustment: {'yes' if self.identifiable else 'no'}")
        if self.adjustment_set is not None:
            what = "the optimal O-set" if self.recommended == "optimal" else "a smallest set"
            shown = fmt_set(self.adjustment_set, 30)
            if not self.adjustment_set:
                shown += " (nothing to adjust for)"
            lines.append(f"  adjust for: {shown}  ({what})")
            if self.smallest is not None and self.smallest != self.adjustment_set:
                lines.append(f"  smallest set: {fmt_set(self.smallest, 30)}")
            more = "+" if self.minimal_sets_truncated else ""
            sets = "; ".join(fmt_set(s, 12) for s in self.minimal_sets)
            if self.minimal_sets_truncated:
                sets += "; ... more"
            lines.append(f"  minimal sets ({len(self.minimal_sets)}{more}): {sets}")
        paths = self.obstructions if not self.identifiable else self.backdoor_paths
        if paths:
            title = ("open paths no observed set can block" if not self.identifiable
                     else "backdoor paths")
            lines.append(f"  {title}:")
            width = max(len(p.short()) for p in paths)
            lines += [f"    {p.short().ljust(width)}  {p.status()}" for p in paths]
            if self.identifiable and self.backdoor_paths_truncated:
                lines.append(f"    ... more backdoor paths not shown (first {len(paths)} listed)")
        elif self.identifiable:
            lines.append("  backdoor paths: none")
        if self.proposed is not None:
            lines += ["  " + line for line in str(self.proposed).splitlines()]
        if self.instruments:
            lines.append("  instruments: " + "; ".join(str(i) for i in self.instruments))
        if self.reasons:
            lines.append("  why:")
            lines += [f"    - {r}" for r in self.reasons]
        return "\n".join(lines)

    def _repr_html_(self) -> str | None:
        """Jupyter's view, drawn by the presenter `causal_dsl.present` registers."""
        return display.show("html", self)

    def to_dict(self) -> dict[str, Any]:
        q = self.query

        def sset(s: frozenset[str] | None) -> list[str] | None:
            return None if s is None else sorted(s)

        return {
            "query": q.name,
            "estimand": q.estimand,
            "treatment": q.treatment,
            "outcome": q.outcome,
            "identifiable": self.identifiable,
            "causal_path": self.causal_path,
            "adjustment_set": sset(self.adjustment_set),
            "recommended": self.recommended or None,
            "smallest": sset(self.smallest),
            "optimal": sset(self.optimal),
            "optimal_note": self.optimal_note,
            "minimal_sets": [sorted(s) for s in self.minimal_sets],
            "minimal_sets_truncated": self.minimal_sets_truncated,
            "backdoor_paths": [p.to_dict() for p in self.backdoor_paths],
            "backdoor_paths_truncated": self.backdoor_paths_truncated,
            "obstructions": [p.to_dict() for p in self.obstructions],
            "proposed": None if self.proposed is None else self.proposed.to_dict(),
            "instruments": [i.to_dict() for i in self.instruments],
            "reasons": list(self.reasons),
            "assume_observed": sorted(self.assume_observed),
            "front_door": None if self.front_door is None else sorted(self.front_door),
        }

    def to_json(self) -> str:
        return _json(self.to_dict())


def _with_source(model: Model, error: GraphError) -> GraphError:
    """The error with the study's text attached (so that it renders with a caret)."""
    if error.sources or model.source is None:
        return error
    sources = {d.span.path: model.source for d in error.diagnostics if d.span}
    return GraphError(error.diagnostics, sources)


def identify(model: Model, query: Query, assume_observed: Iterable[str] = frozenset(), *,
             graph: CausalGraph | None = None) -> Identification:
    """Is the effect asked by `query` identified by covariate adjustment, and how?

    `assume_observed` names latent variables to treat as adjustable (e.g. time-invariant
    latents that unit fixed effects absorb), so a planner can ask "would this be identified
    if ...". `graph` is the model's graph when the caller has it (built from the model when
    None). Raises `GraphError` (pointing at the query) for unknown names, a latent treatment
    or outcome, and impossible `adjust for` / `never adjust for` sets.
    """
    g = graph if graph is not None else CausalGraph.from_model(model)
    try:
        if model.selected:
            return _identify_selected(g, query, frozenset(assume_observed), model.selected)
        return _identify(g, query, frozenset(assume_observed))
    except GraphError as error:
        raised = _with_source(model, error)
        if raised is error:
            raise
        raise raised from None


def fixed_effects_hint(model: Model, query: Query, graph: CausalGraph | None = None
                       ) -> str | None:
    """The sentence for an effect that adjustment cannot identify but absorbing the model's
    time-invariant latent variables (unit fixed effects in a panel, as difference-in-
    differences does) would; None otherwise. The planner's question, asked by the planner and
    by ``causal identify``. Raises `GraphError` as `identify` does.

    >>> import causal_dsl
    >>> s = causal_dsl.parse('var t: binary\\nvar y: count\\nlatent u invariant\\n'
    ...                      'u -> {t, y}\\nt -> y\\nquery q: ate(t -> y)\\n')
    >>> print(fixed_effects_hint(s, s.query("q")))
    Absorbing the time-invariant {u} (unit fixed effects in a panel, as difference-in-differences does) would make the effect identifiable, adjusting for {u}.
    """  # noqa: E501
    invariant = frozenset(v.name for v in model.latents if v.invariant)
    if not invariant:
        return None
    g = graph if graph is not None else CausalGraph.from_model(model)
    ask = (query.treatment, query.outcome, query.include, query.exclude)
    try:
        if recommend(g, *ask, span=query.span).identifiable:
            return None
        helped = recommend(g, *ask, assume_observed=invariant, span=query.span)
    except GraphError as error:
        raised = _with_source(model, error)
        if raised is error:
            raise
        raise raised from None
    if helped.set is None:
        return None
    return (f"Absorbing the time-invariant {fmt_set(invariant)} (unit fixed effects in a "
            f"panel, as difference-in-differences does) would make the effect identifiable, "
            f"adjusting for {fmt_set(helped.set, 30)}.")


def _identify_selected(g: CausalGraph, query: Query, assumed: frozenset[str],
                       selected: frozenset[str]) -> Identification:
    """Identification in data selected on `selected` (`causal_dsl.graph.selection`): the
    ordinary search with S forced into every set, refused when y and S are d-connected in the
    proper back-door graph; S is then taken out of the sets shown (the data conditions on it)."""
    obstacle = selection_obstacle(g, query.treatment, query.outcome, selected, query.exclude,
                                  assumed)
    head = (f"The data is selected on {fmt_set(selected)} (only rows with "
            f"{', '.join(f'{s} = 1' for s in sorted(selected))}): adjustment follows DAGitty's "
            "criterion under selection (the selection nodes are conditioned on in every set).")
    if obstacle is not None:
        base = _identify(g, replace(query, adjusting=None), assumed)
        proposed = None if query.adjusting is None else ProposedCheck(
            query.adjusting, False, (obstacle,))
        return replace(base, query=query, identifiable=False, adjustment_set=None,
                       recommended="", minimal_sets=(), smallest=None, optimal=None,
                       proposed=proposed, front_door=None, instruments=(),
                       reasons=(head, f"Not identifiable: {obstacle}."))
    forced = replace(query, include=query.include | selected,
                     adjusting=None if query.adjusting is None else query.adjusting | selected)
    found = _identify(g, forced, assumed)
    proposed = found.proposed
    if proposed is not None and query.adjusting is not None:
        proposed = replace(proposed, adjusting=query.adjusting - selected)
    return replace(
        found, query=query, adjustment_set=without_selection(found.adjustment_set, selected),
        minimal_sets=tuple(z - selected for z in found.minimal_sets),
        smallest=without_selection(found.smallest, selected),
        optimal=without_selection(found.optimal, selected), proposed=proposed,
        front_door=None, instruments=(), reasons=(head, *found.reasons))


def _identify(g: CausalGraph, query: Query, assumed: frozenset[str]) -> Identification:
    span = query.span
    t_name, y_name = query.treatment, query.outcome
    p = problem(g, t_name, y_name, query.include, query.exclude, assumed, span=span)
    rec = recommend(g, t_name, y_name, query.include, query.exclude, assumed, span=span)
    identifiable = rec.identifiable
    reasons: list[str] = []
    smallest = optimal = None
    optimal_note = ""
    minimal_sets: list[frozenset[str]] = []
    truncated_sets = False
    obstructions: tuple[PathStatus, ...] = ()
    if assumed:
        reasons.append(f"Treating {fmt_set(assumed)} as adjustable (for example, absorbed by "
                       "unit fixed effects).")
    if not p.causal_path:
        reasons.append(f"There is no directed path from {t_name} to {y_name}: under this graph "
                       "the causal effect is zero.")
    if rec.set is not None:
        smallest = p.smallest()
        optimal, optimal_note = rec.optimal.set, rec.optimal.note
        listed = list(islice(p.all_minimal(), MAX_SETS + 1))
        truncated_sets = len(listed) > MAX_SETS
        minimal_sets = sorted(listed[:MAX_SETS], key=lambda z: (len(z), sorted(z)))
        paths = backdoor_paths(g, t_name, y_name, rec.set, limit=MAX_PATHS)
        if rec.set:
            reasons.append(f"Adjusting for {fmt_set(rec.set, 30)} blocks every backdoor path "
                           f"from {t_name} to {y_name}, and the set holds no mediator or other "
                           f"descendant of a causal path.")
        else:
            reasons.append(f"No adjustment is needed: no backdoor path from {t_name} to "
                           f"{y_name} is open.")
        if optimal is None and p.causal_path:
            reasons.append(f"Recommending a smallest valid set because {optimal_note}.")
    else:
        # The largest candidate set fails, so every set fails; its open paths show why.
        largest = p.largest()
        paths = backdoor_paths(g, t_name, y_name, largest, limit=MAX_PATHS)
        obstructions = open_paths(p, largest, limit=MAX_OBSTRUCTIONS)
        reasons.append(f"Not identifiable by covariate adjustment: no set of observed "
                       f"variables blocks every backdoor path from {t_name} to {y_name} "
                       f"without holding a mediator or other descendant of a causal path.")
        reasons += [_explain_obstruction(g, p, path) for path in obstructions]
        if not obstructions:
            reasons.append(f"{t_name} and {y_name} stay d-connected whatever is adjusted for "
                           "(the path search stopped before finding the path).")
    proposed = None
    if query.adjusting is not None:
        proposed = _check_proposed(g, p, query, assumed)
    front_door = None
    if not identifiable and p.causal_path:
        front_door = front_door_set(g, t_name, y_name)
        if front_door is not None:
            reasons.append(f"The front-door criterion holds with {fmt_set(front_door)}: the "
                           f"effect is identified by front-door adjustment through "
                           f"{fmt_set(front_door)} (Pearl 2009), though not by adjusting for "
                           f"covariates.")
    ivs, ivs_complete = find_instruments(g, t_name, y_name, query.exclude, assumed, 5)
    if not identifiable and ivs:
        reasons.append("An instrumental-variable analysis may work instead: "
                       + "; ".join(str(i) for i in ivs) + ".")
    if not ivs_complete:
        reasons.append("The instrument search stopped early on this large graph; more "
                       "instruments may exist.")
    return Identification(
        query=query,
        identifiable=identifiable,
        adjustment_set=rec.set,
        recommended=rec.kind,
        minimal_sets=tuple(minimal_sets),
        minimal_sets_truncated=truncated_sets,
        smallest=smallest,
        optimal=optimal,
        optimal_note=optimal_note,
        backdoor_paths=paths.paths,
        backdoor_paths_truncated=paths.truncated,
        obstructions=obstructions,
        proposed=proposed,
        reasons=tuple(reasons),
        instruments=ivs,
        causal_path=p.causal_path,
        assume_observed=assumed,
        front_door=front_door,
    )


# --- explanations ------------------------------------------------------------------------------
def _explain_obstruction(g: CausalGraph, p: AdjustmentProblem, path: PathStatus) -> str:
    """One sentence on why an open path (given the largest candidate set) cannot be closed.

    Unobserved causes, latent variables and opened colliders come first (cheap to say); then
    forbidden or excluded variables, each with a directed path as evidence (one search each,
    so at most `MAX_CAUSES` reasons are spelled out and the rest are counted)."""
    cheap: list[str] = []
    costly: list[str] = []
    for i in range(1, len(path.nodes) - 1):
        arrow_in, arrow_out = path.arrows[i - 1], path.arrows[i]
        if arrow_in in ("->", "<->") and arrow_out in ("<-", "<->"):
            continue  # a collider: among `opened_at` below
        if g.is_latent(path.nodes[i]):
            cheap.append(f"{path.nodes[i]} is latent (not in the data)")
        else:
            costly.append(path.nodes[i])
    for i, arrow in enumerate(path.arrows):
        if arrow == "<->":
            cheap.append(f"{path.nodes[i]} <-> {path.nodes[i + 1]} is an unobserved common "
                         "cause, which cannot be adjusted for")
    for c, member in path.opened_at:
        if c == member:
            cheap.append(f"{c} is a collider on it, and adjusting for {c} (needed to block "
                         "another path) opens it")
        else:
            cheap.append(f"{c} is a collider on it, and adjusting for its descendant "
                         f"{member} (needed to block another path) opens it")
    causes = list(dict.fromkeys(cheap))
    room = max(0, MAX_CAUSES - len(causes))
    # an observed non-collider the largest set leaves out is forbidden or excluded
    causes += [f"{v} may not be adjusted for: it is {p.forbidden_role(v)}" if p.is_forbidden(v)
               else f"{v} is listed under `never adjust for`" for v in costly[:room]]
    left = max(0, len(causes) - MAX_CAUSES) + len(costly) - min(room, len(costly))
    more = f"; and {left} more" if left else ""
    return f"The path {path.short()} stays open: " + "; ".join(causes[:MAX_CAUSES]) + more + "."


def _check_proposed(g: CausalGraph, p: AdjustmentProblem, query: Query,
                    assumed: frozenset[str]) -> ProposedCheck:
    assert query.adjusting is not None
    z = g.in_order(query.adjusting, "adjusting", query.span)
    t, y = query.treatment, query.outcome
    problems: list[str] = []
    notes: list[str] = []
    for name in z:
        if name in (t, y):
            problems.append(f"{name} is the {'treatment' if name == t else 'outcome'} itself")
        elif p.is_forbidden(name):
            problems.append(f"{name} is {p.forbidden_role(name)}")
        elif g.is_latent(name) and name not in assumed:
            problems.append(f"{name} is latent (not in the data), so it cannot be adjusted for")
        if name in query.exclude:
            notes.append(f"{name} is also listed under `never adjust for`")
    for name in sorted(query.include - query.adjusting):
        notes.append(f"`adjust for` requires {name}, which the proposed set leaves out")
    # Paths are checked given the members that could be adjusted for: a forbidden or latent
    # member is already a problem of its own, and what else is wrong is the useful news.
    rest = [v for v in z if v not in (t, y) and not p.is_forbidden(v)
            and (not g.is_latent(v) or v in assumed)]
    found: tuple[PathStatus, ...] = ()
    if not p.separates(rest):
        found = open_paths(p, rest, limit=MAX_OBSTRUCTIONS)
        for path in found:
            if path.opened_at:
                how = "; ".join(
                    f"conditioning on {m} opens it ({c} is a collider on it)" if c == m
                    else f"conditioning on {m} opens it ({m} is a descendant of the collider "
                    f"{c} on it)" for c, m in path.opened_at)
                problems.append(f"the path {path.short()} is open: {how}")
            else:
                problems.append(f"the path {path.short()} stays open: no member of the set "
                                "blocks it")
        if not found:
            problems.append(f"{t} and {y} stay d-connected given this set (the path search "
                            "stopped before finding the path)")
    valid = not problems
    if valid and len(z) <= 50:
        spare = [v for v in z if p.separates([u for u in z if u != v])]
        if spare:
            notes.append(f"valid but not minimal: {fmt_set(spare)} could each be dropped")
    return ProposedCheck(frozenset(query.adjusting), valid, tuple(problems), tuple(notes),
                         found)


# --- the `causal identify` verb ---------------------------------------------------------------
def identify_report(model: Model, query: str | None = None, as_json: bool = False,
                    implications_shown: int = 50, *, graph: CausalGraph | None = None) -> str:
    """What ``causal identify FILE [--query NAME] [--format json]`` prints: each query's
    verdict (with `fixed_effects_hint` among its reasons), then the model's testable
    implications (long lists are cut, and the cut is reported)."""
    # an unknown name is the model's one error for it (E223), whatever the verb
    queries = [model.query(query)] if query is not None else list(model.queries)
    with collector.frozen():  # the parsed study stays out of the searches' collections
        return _report(model, queries, as_json, implications_shown, graph)


def _report(model: Model, queries: list[Query], as_json: bool, implications_shown: int,
            graph: CausalGraph | None) -> str:
    g = graph if graph is not None else CausalGraph.from_model(model)
    results = []
    for q in queries:
        result = identify(model, q, graph=g)
        hint = None if result.identifiable else fixed_effects_hint(model, q, g)
        results.append(replace(result, reasons=(*result.reasons, hint)) if hint else result)
    implied = g.implications(limit=max(IMPLICATION_LIMIT, implications_shown))
    if as_json:
        return _json({
            "path": model.path,
            "queries": [r.to_dict() for r in results],
            "implications": [i.to_dict() for i in implied],
            "implications_complete": implied.complete,
            "non_adjacent_pairs": implied.pairs,
        })
    blocks = [str(r) for r in results]
    if not queries:
        blocks.append("no queries: add one, e.g. `query main: ate(treatment -> outcome)`")
    shown = implied.items[:implications_shown]
    head = f"testable implications ({len(implied)}{'' if implied.complete else '+'})"
    lines = [head + (":" if shown else ": none (every pair of observed variables is adjacent "
                     "or linked through latent variables)")]
    lines += [f"  {i}" for i in shown]
    cut = len(implied) - len(shown)
    if cut > 0 or not implied.complete:
        lines.append(f"  ... {cut}{'' if implied.complete else '+'} more not shown "
                     f"({implied.pairs} pairs of observed variables are not adjacent)")
    blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
