"""What a diagram shows: the chosen query's roles (treatment, outcome, the marked adjustment
set) and the backdoor paths it colours, drawn from the query's identification.

In: a `Study`, a query (or its name) and a highlight mode, and the `Identification` when the
caller has it (it is then not computed again). Out: `Roles`. Raises `RenderError` E605 for an
unknown highlight; an unknown query is the model's `ModelError` E223; `GraphError` from
identification propagates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import CausalError, Diagnostic, RenderError
from ..model import Model, Query
from .highlights import DagittyMarks, dagitty_marks, edge_key

if TYPE_CHECKING:
    from ..identify import Identification, PathStatus
    from ..study import Study

Highlight = Literal["adjustment", "paths", "dagitty", "none"]
HIGHLIGHTS: tuple[str, ...] = ("adjustment", "paths", "dagitty", "none")

# Colours chosen to stay distinguishable for the common colour-vision deficiencies (blue/orange,
# not red/green), with role also carried by shape, fill or border so print in grey still works.
COLOURS: Mapping[str, str] = {
    "treatment_fill": "#cfe2ff",
    "treatment_line": "#1f4e9e",
    "outcome_fill": "#ffe0b8",
    "outcome_line": "#a34f00",
    "adjust_fill": "#e6f4ea",
    "adjust_line": "#2e7d32",
    "latent_line": "#666666",
    "edge": "#444444",
    "open_path": "#d62728",
    "blocked_path": "#f0a030",
    "invariant_fill": "#e8e8e8",
}

# DAGitty's own palette (its default stylesheet, jslib/gui and gui/js/styles/original.js):
# exposure yellow-green, outcome blue, ancestors of both red, causal paths green and biasing
# paths its red-purple (ColorBrewer PiYG's ends, which stay apart for red-green deficiencies).
DAGITTY: Mapping[str, str] = {
    "exposure": "#bed403",
    "outcome": "#00a2e0",
    "exposure_ancestor": "#bed403",
    "outcome_ancestor": "#00a2e0",
    "confounder": "#ff7777",
    "other": "#aaaaaa",
    "adjusted": "#ffffff",
    "latent_fill": "#eeeeee",
    "latent_line": "#aaaaaa",
    "causal_path": "#4dac26",
    "biasing_path": "#d01c8b",
}


@dataclass(frozen=True, slots=True)
class DiagramPath:
    """One backdoor path as the diagram colours it: its nodes in order, and for each step
    whether it is bidirected; `open_given_set` says whether the adjustment set leaves it open."""

    nodes: tuple[str, ...]
    bidirected: tuple[bool, ...]
    open_given_set: bool

    def steps(self) -> Iterable[tuple[str, str, bool]]:
        """The edges of the path as ``(a, b, bidirected)`` in the order walked."""
        for i, bi in enumerate(self.bidirected):
            yield self.nodes[i], self.nodes[i + 1], bi


@dataclass(frozen=True, slots=True)
class Roles:
    """Everything about the chosen query that changes how a node or an edge is drawn."""

    query: Query | None = None
    treatment: str | None = None
    outcome: str | None = None
    adjustment: frozenset[str] = frozenset()
    identifiable: bool | None = None  # None when identification did not run
    paths: tuple[DiagramPath, ...] = ()
    highlight: str = "adjustment"
    dagitty: DagittyMarks | None = None  # with highlight="dagitty"

    def edge_colour(self, a: str, b: str, bidirected: bool) -> str | None:
        """The path colour of an edge (open beats blocked; DAGitty's biasing beats causal, as
        its stylesheet's order does), or None when on no coloured path."""
        if self.dagitty is not None:
            key = edge_key(a, b, bidirected)
            if key in self.dagitty.biasing:
                return DAGITTY["biasing_path"]
            return DAGITTY["causal_path"] if key in self.dagitty.causal else None
        colour = None
        for p in self.paths:
            for x, y, bi in p.steps():
                if bi == bidirected and {x, y} == {a, b}:
                    if p.open_given_set:
                        return COLOURS["open_path"]
                    colour = COLOURS["blocked_path"]
        return colour

    def node_colour(self, name: str) -> str | None:
        """The path colour of a node on a coloured path (open beats blocked), or None for the
        treatment, the outcome, members of the adjustment set and nodes on no coloured path."""
        if name in (self.treatment, self.outcome) or name in self.adjustment:
            return None  # the path is blocked (or carried) here: the role style says more
        colour = None
        for p in self.paths:
            if name in p.nodes:
                if p.open_given_set:
                    return COLOURS["open_path"]
                colour = COLOURS["blocked_path"]
        return colour


def pick_query(study: Model, query: str | Query | None) -> Query | None:
    """The query a diagram is about: the one named, or the first; None when the study has
    none and none is named. An unknown name is the model's one error for it (E223)."""
    if isinstance(query, Query):
        return query
    if query is None and not study.queries:
        return None
    return study.query(query)


def identification_of(
    study: Study, query: Query, identification: Identification | None = None
) -> Identification:
    """The identification a diagram is drawn from: `identification` when the caller has it
    (a report, a run), else the study's own (computed here, once)."""
    return identification if identification is not None else study.identify(query)


def diagram_roles(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    identification: Identification | None = None,
) -> Roles:
    """Work out treatment, outcome, adjustment set and coloured paths for one query; the
    identification is computed only when not given and the highlight needs it."""
    if highlight not in HIGHLIGHTS:
        raise RenderError(
            Diagnostic("E605", f"unknown highlight '{highlight}'",
                       help="use one of: " + ", ".join(HIGHLIGHTS))
        )
    q = pick_query(study, query)
    if q is None:
        return Roles(highlight=highlight)
    if highlight == "none" and identification is None:
        return Roles(query=q, treatment=q.treatment, outcome=q.outcome, highlight=highlight)
    if highlight == "dagitty":
        # DAGitty's view: the adjusted nodes are the query's own proposed set (DAGitty's
        # [adjusted]); without one nothing is adjusted and red shows what confounds.
        adjusted = frozenset(q.adjusting or ())
        ident_ok = identification.identifiable if identification is not None else None
        return Roles(query=q, treatment=q.treatment, outcome=q.outcome, adjustment=adjusted,
                     identifiable=ident_ok, highlight=highlight,
                     dagitty=dagitty_marks(study, q.treatment, q.outcome, adjusted))
    ident = identification_of(study, q, identification)
    adjustment = marked_set(q, ident)
    paths = coloured_paths(study, q, ident, adjustment) if highlight == "paths" else ()
    return Roles(
        query=q,
        treatment=q.treatment,
        outcome=q.outcome,
        adjustment=adjustment if highlight != "none" else frozenset(),
        identifiable=ident.identifiable,
        paths=paths,
        highlight=highlight,
    )


def marked_set(query: Query, ident: Identification) -> frozenset[str]:
    """The set drawn with a double border: the query's own `adjusting` set when it proposes one
    (that is what the user asked to be checked), else the recommended set (empty if none)."""
    if query.adjusting is not None:
        return frozenset(query.adjusting)
    return frozenset(ident.adjustment_set or ())


def coloured_paths(
    study: Study, query: Query, ident: Identification, adjustment: frozenset[str]
) -> tuple[DiagramPath, ...]:
    """The paths ``highlight="paths"`` colours, as computed by the graph engine.

    Red: backdoor paths the marked set leaves open (or opens at a collider); when the effect
    is not identifiable and the query proposes no set, the engine's obstructions instead (open
    paths no observed set can block). Orange: the other backdoor paths that are open when
    nothing is adjusted for — the confounding the set removes (or could remove). Paths closed
    at a collider either way are not confounding and stay uncoloured.
    """
    t, y = query.treatment, query.outcome
    try:
        unadjusted = study.backdoor_paths(t, y)
        adjusted = study.backdoor_paths(t, y, adjustment) if adjustment else unadjusted
    except CausalError:
        # A proposed set the engine rejects as a conditioning set (it holds the treatment or
        # the outcome): the query's own diagnostics say so; draw the unadjusted paths.
        unadjusted = adjusted = study.backdoor_paths(t, y)
    seen: dict[str, DiagramPath] = {}

    def add(p: PathStatus, still_open: bool) -> None:
        key = str(p)
        if key in seen and (seen[key].open_given_set or not still_open):
            return
        seen[key] = DiagramPath(tuple(p.nodes), tuple(a == "<->" for a in p.arrows), still_open)

    if not ident.identifiable and query.adjusting is None:
        # Nothing is marked: red is what no set can block, orange what some set could.
        for p in ident.obstructions:
            add(p, True)
    else:
        for p in adjusted:
            if p.open:
                add(p, True)
    for p in unadjusted:
        if p.open:
            add(p, False)
    return tuple(seen.values())
