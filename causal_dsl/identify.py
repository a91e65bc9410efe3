"""The graph engine: d-separation, adjustment sets, backdoor paths, testable implications,
instruments, and the identification verdict for a query.

In: a `Study` (its variables, arrows and bidirected edges) or plain node/edge lists, and a
`Query`. Out: `CausalGraph` answers as frozensets of names and small frozen dataclasses, and
`Identification`, the frozen result that ``causal identify`` prints and ``--json`` serialises.
Errors: `GraphError` (codes E301-E310) for names not in the graph, a latent treatment or outcome,
contradictory ``adjust for`` / ``never adjust for`` sets, sets that may not be adjusted for, and
cycles. The algorithms themselves (all linear time or polynomial delay) live in
`causal_dsl.separators`; this module maps names to node ids and answers to sentences.

A bidirected edge ``a <-> b`` is modelled as a fresh latent parent of ``a`` and ``b`` (its name
is never shown: paths through it print as ``a <-> b``).

Adjustment follows the generalized adjustment criterion (Shpitser, VanderWeele & Robins 2010;
Perković et al. 2018) in the form of van der Zander, Liśkiewicz & Textor (2019): Z is valid for
``t -> y`` iff no member of Z is forbidden (``forb = De(cn) ∪ {t}``, where ``cn`` are the nodes
other than t on causal paths from t to y) and Z d-separates t and y in the *proper backdoor
graph* (the graph without the first edge of every causal path). Z must be observed.

>>> g = CausalGraph(["a", "t", "y"], [("a", "t"), ("a", "y"), ("t", "y")])
>>> sorted(g.adjustment_sets("t", "y"))
['a']
>>> g.d_separated({"t"}, {"y"}, {"a"})
False
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np

from . import separators as sep
from .errors import Diagnostic, GraphError, Span, suggest

if TYPE_CHECKING:
    import networkx as nx

    from .model import Query, Study

ADJUSTMENT_KINDS = ("minimal", "all_minimal", "smallest", "optimal")
_FLIP = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 <-> 1 (latent -> adjustable)
# Display caps: long answers are cut and the cut is said out loud.
MAX_SETS = 10
MAX_PATHS = 20
MAX_OBSTRUCTIONS = 3
MAX_CAUSES = 4  # reasons given per open path
SHOWN_PATH_NODES = 14  # longer paths print as "a <- b ... (k more) ... -> y"
IMPLICATION_LIMIT = 1000
PATH_BUDGET = 20_000  # node expansions per path search
# Conditional-instrument checks cost two linear searches each; on large graphs only this many
# units of work (checks times graph size) are spent, nearest candidates first.
INSTRUMENT_WORK = 200_000


def _fmt_set(names: Iterable[str], cap: int | None = None) -> str:
    """``{a, b, c}``; with `cap`, at most that many names and then ``... (+N more)``."""
    items = sorted(names)
    if cap is not None and len(items) > cap:
        return "{" + ", ".join(items[:cap]) + f", ... (+{len(items) - cap} more)" + "}"
    return "{" + ", ".join(items) + "}"


# --- small frozen results --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PathStatus:
    """One path from the treatment to the outcome and whether a conditioning set blocks it.

    `arrows[i]` joins ``nodes[i]`` and ``nodes[i+1]``: ``"->"``, ``"<-"`` or ``"<->"`` (an
    unobserved common cause). `blocked_by`: conditioned non-colliders; `closed_at`: colliders
    neither conditioned on nor ancestors of the set; `opened_at`: ``(collider, member)`` pairs,
    a collider opened because `member` (the collider or a descendant of it) is conditioned on;
    `unobserved`: latent non-colliders (and ``a <-> b`` links) that nothing can block.
    """

    nodes: tuple[str, ...]
    arrows: tuple[str, ...]
    open: bool
    blocked_by: tuple[str, ...] = ()
    closed_at: tuple[str, ...] = ()
    opened_at: tuple[tuple[str, str], ...] = ()
    unobserved: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.nodes[0]]
        for arrow, node in zip(self.arrows, self.nodes[1:], strict=True):
            parts.append(f"{arrow} {node}")
        return " ".join(parts)

    def short(self, max_nodes: int = SHOWN_PATH_NODES) -> str:
        """Like `str`, but a path of more than `max_nodes` variables shows its two ends and
        how many variables were left out in between."""
        if len(self.nodes) <= max_nodes:
            return str(self)
        head, tail = max_nodes // 2, max_nodes - max_nodes // 2 - 1
        left = [self.nodes[0]] + [f"{a} {v}" for a, v in zip(self.arrows[: head - 1],
                                                             self.nodes[1:head], strict=True)]
        right = [f"{a} {v}" for a, v in zip(self.arrows[-tail:], self.nodes[-tail:],
                                            strict=True)]
        cut = len(self.nodes) - head - tail
        return " ".join([*left, f"{self.arrows[head - 1]} ... ({cut} more) ...", *right])

    def status(self) -> str:
        """``open``, ``blocked by age``, ``blocked at collider m`` (plain words)."""
        opened = "".join(
            f"; {c} opened by conditioning on {m}" if c == m
            else f"; collider {c} opened by conditioning on its descendant {m}"
            for c, m in self.opened_at
        )
        if self.open:
            return "open" + opened
        words = []
        if self.blocked_by:
            words.append(f"blocked by {', '.join(self.blocked_by)}")
        if self.closed_at:
            words.append(f"blocked at collider {', '.join(self.closed_at)}")
        return "; ".join(words) + opened

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self),
            "nodes": list(self.nodes),
            "arrows": list(self.arrows),
            "open": self.open,
            "blocked_by": list(self.blocked_by),
            "closed_at": list(self.closed_at),
            "opened_at": [list(p) for p in self.opened_at],
            "unobserved": list(self.unobserved),
        }


@dataclass(frozen=True, slots=True)
class BackdoorPaths:
    """The backdoor paths of ``treatment -> outcome`` (shortest first, capped) given a set."""

    treatment: str
    outcome: str
    given: frozenset[str]
    paths: tuple[PathStatus, ...]
    truncated: bool  # more paths exist than were listed (or the search budget ran out)

    def __iter__(self) -> Iterator[PathStatus]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def open(self) -> tuple[PathStatus, ...]:
        return tuple(p for p in self.paths if p.open)

    def __str__(self) -> str:
        head = f"backdoor paths from {self.treatment} to {self.outcome}"
        if self.given:
            head += f" given {_fmt_set(self.given)}"
        if not self.paths:
            return head + ": none"
        lines = [head + ":"]
        width = max(len(p.short()) for p in self.paths)
        lines += [f"  {p.short().ljust(width)}  {p.status()}" for p in self.paths]
        if self.truncated:
            lines.append(f"  ... more paths not shown (first {len(self.paths)} listed)")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Implication:
    """A conditional independence the graph implies: ``x ⊥ y | given``."""

    x: str
    y: str
    given: frozenset[str] = frozenset()

    def __str__(self) -> str:
        if not self.given:
            return f"{self.x} ⊥ {self.y}"
        return f"{self.x} ⊥ {self.y} | {', '.join(sorted(self.given))}"

    def to_json(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "given": sorted(self.given), "text": str(self)}


@dataclass(frozen=True, slots=True)
class Implications:
    """One minimal implication per pair of non-adjacent observed variables (DAGitty's
    "missing edge" basis). `complete` is False when the list was cut at `limit`;
    `pairs` counts the non-adjacent observed pairs; pairs joined only through latent
    variables imply nothing testable and are skipped."""

    items: tuple[Implication, ...]
    complete: bool
    pairs: int

    def __iter__(self) -> Iterator[Implication]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Implication:
        return self.items[i]

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.items)


@dataclass(frozen=True, slots=True)
class Instrument:
    """``z`` is an instrument for ``treatment -> outcome`` when conditioning on `given`."""

    z: str
    given: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.z if not self.given else f"{self.z} given {_fmt_set(self.given, 12)}"

    def to_json(self) -> dict[str, Any]:
        return {"instrument": self.z, "given": sorted(self.given)}


@dataclass(frozen=True, slots=True)
class OptimalSet:
    """The O-set of Henckel, Perković & Maathuis (2022) when it can be used, else why not."""

    set: frozenset[str] | None
    note: str


@dataclass(frozen=True, slots=True)
class ProposedCheck:
    """The verdict on a set the user proposed (``adjusting {...}``)."""

    adjusting: frozenset[str]
    valid: bool
    problems: tuple[str, ...] = ()  # why it is not valid, one line each
    notes: tuple[str, ...] = ()  # true but not fatal (not minimal, clashes with the query)
    open_paths: tuple[PathStatus, ...] = ()

    def __str__(self) -> str:
        head = f"proposed set {_fmt_set(self.adjusting)}: {'valid' if self.valid else 'NOT valid'}"
        return "\n".join([head, *(f"  - {p}" for p in self.problems),
                          *(f"  - note: {n}" for n in self.notes)])

    def to_json(self) -> dict[str, Any]:
        return {
            "adjusting": sorted(self.adjusting),
            "valid": self.valid,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "open_paths": [p.to_json() for p in self.open_paths],
        }


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
            lines.append(f"  assuming adjustable: {_fmt_set(self.assume_observed)}")
        lines.append(f"  identifiable by adjustment: {'yes' if self.identifiable else 'no'}")
        if self.adjustment_set is not None:
            what = "the optimal O-set" if self.recommended == "optimal" else "a smallest set"
            shown = _fmt_set(self.adjustment_set, 30)
            if not self.adjustment_set:
                shown += " (nothing to adjust for)"
            lines.append(f"  adjust for: {shown}  ({what})")
            if self.smallest is not None and self.smallest != self.adjustment_set:
                lines.append(f"  smallest set: {_fmt_set(self.smallest, 30)}")
            more = "+" if self.minimal_sets_truncated else ""
            sets = "; ".join(_fmt_set(s, 12) for s in self.minimal_sets)
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

    def _repr_html_(self) -> str:
        """Jupyter's view (escaped HTML, from causal_dsl.report)."""
        from .report import identification_html

        return identification_html(self, heading=True)

    def to_json(self) -> dict[str, Any]:
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
            "backdoor_paths": [p.to_json() for p in self.backdoor_paths],
            "backdoor_paths_truncated": self.backdoor_paths_truncated,
            "obstructions": [p.to_json() for p in self.obstructions],
            "proposed": None if self.proposed is None else self.proposed.to_json(),
            "instruments": [i.to_json() for i in self.instruments],
            "reasons": list(self.reasons),
            "assume_observed": sorted(self.assume_observed),
            "front_door": None if self.front_door is None else sorted(self.front_door),
        }


# --- the graph -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Problem:
    """Everything about one ``t -> y`` adjustment question, in node ids."""

    t: int
    y: int
    cn: bytearray  # causal nodes: on a causal path from t to y, t excluded
    forb: bytearray  # De(cn) ∪ {t}
    pa: list[list[int]]  # the proper backdoor graph
    ch: list[list[int]]
    allowed: bytearray  # R: observed (or assumed), not forbidden, not excluded, not t or y
    include: tuple[int, ...]
    edges: tuple[np.ndarray, np.ndarray] | None  # the backdoor graph's arrays (large graphs)

    @property
    def causal_path(self) -> bool:
        return bool(self.cn[self.y])


class CausalGraph:
    """The causal graph of a study: directed edges, bidirected edges and latent variables.

    Immutable once built. `dag` and `bidirected` give networkx views (built on demand); the
    algorithms work on integer adjacency lists so that they stay linear on large graphs.
    """

    __slots__ = ("_cache", "_ch", "_hidden", "_index", "_latent", "_n_vars", "_names", "_pa",
                 "_topo")

    def __init__(
        self,
        nodes: Iterable[str],
        directed: Iterable[tuple[str, str]],
        bidirected: Iterable[tuple[str, str]] = (),
        latents: Iterable[str] = (),
    ) -> None:
        directed = list(directed)
        bidirected = list(bidirected)
        names = list(dict.fromkeys(nodes))
        index = {name: i for i, name in enumerate(names)}
        for a, b in (*directed, *bidirected):
            for v in (a, b):
                if v not in index:
                    index[v] = len(names)
                    names.append(v)
        n_vars = len(names)
        pa: list[list[int]] = [[] for _ in range(n_vars)]
        ch: list[list[int]] = [[] for _ in range(n_vars)]
        seen_edges: set[tuple[int, int]] = set()
        for a, b in directed:
            ia, ib = index[a], index[b]
            if (ia, ib) in seen_edges:
                continue
            seen_edges.add((ia, ib))
            pa[ib].append(ia)
            ch[ia].append(ib)
        latent = bytearray(n_vars)
        for v in latents:
            latent[index[v]] = 1
        hidden: dict[int, tuple[int, int]] = {}
        seen_pairs: set[tuple[int, int]] = set()
        for a, b in bidirected:
            ia, ib = (index[v] for v in sorted((a, b)))  # shown in alphabetical order
            if ia == ib:
                raise GraphError(Diagnostic(
                    "E310", f"'{a} <-> {a}' joins a variable to itself",
                    help="a bidirected edge needs two different variables"))
            if (ia, ib) in seen_pairs:
                continue
            seen_pairs.add((ia, ib))
            h = len(names)
            names.append(f"{names[ia]}<->{names[ib]}")
            hidden[h] = (ia, ib)
            pa.append([])
            ch.append([ia, ib])
            pa[ia].append(h)
            pa[ib].append(h)
            latent.append(1)
        self._names = names
        self._index = index
        self._pa = pa
        self._ch = ch
        self._latent = latent
        self._hidden = hidden
        self._n_vars = n_vars
        self._topo = self._topological_order()
        self._cache: dict[Any, Any] = {}
        if self.n >= sep.FAST_MIN:  # arrays for the vectorised searches, built once
            self._cache["edges"] = sep.edge_arrays(pa, self.n)

    @classmethod
    def from_study(cls, study: Study) -> CausalGraph:
        return cls(
            (v.name for v in study.variables),
            ((e.source, e.target) for e in study.directed_edges),
            ((e.source, e.target) for e in study.bidirected_edges),
            (v.name for v in study.latents),
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_cache"):
            raise AttributeError("CausalGraph is immutable")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        edges = sum(len(c) for c in self._ch[: self._n_vars])
        return (f"CausalGraph({self._n_vars} variables, {edges} arrows, "
                f"{len(self._hidden)} bidirected)")

    # --- views ---------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of nodes, including one hidden node per bidirected edge."""
        return len(self._names)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self._names[: self._n_vars])

    @property
    def latents(self) -> frozenset[str]:
        return frozenset(self._names[v] for v in range(self._n_vars) if self._latent[v])

    @property
    def observed(self) -> frozenset[str]:
        return frozenset(self._names[v] for v in range(self._n_vars) if not self._latent[v])

    @property
    def dag(self) -> nx.DiGraph:
        """The directed edges as a networkx DiGraph over every variable (latent included)."""
        if "dag" not in self._cache:
            import networkx as nx

            g = nx.DiGraph()
            g.add_nodes_from(self.variables)
            g.add_edges_from((self._names[p], self._names[c])
                             for c in range(self._n_vars) for p in self._pa[c]
                             if p < self._n_vars)
            self._cache["dag"] = g
        return self._cache["dag"].copy()

    @property
    def bidirected(self) -> nx.Graph:
        """The bidirected edges (unobserved common causes) as an undirected networkx Graph."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(self.variables)
        g.add_edges_from((self._names[a], self._names[b]) for a, b in self._hidden.values())
        return g

    def latent_projection_dag(self) -> nx.DiGraph:
        """A DAG with every bidirected edge replaced by an explicit latent parent (named
        ``a<->b``): d-separation in it equals m-separation in the mixed graph."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self._names)
        g.add_edges_from((self._names[p], self._names[c])
                         for c in range(self.n) for p in self._pa[c])
        return g

    # --- names <-> ids -------------------------------------------------------------------
    def _id(self, name: str, role: str, span: Span | None = None) -> int:
        i = self._index.get(name)
        if i is None:
            raise GraphError(Diagnostic(
                "E301", f"unknown variable '{name}' ({role})", span,
                help=suggest(name, self.variables) or "declare it with `var` or `latent`"))
        return i

    def _ids(self, names: Iterable[str] | str, role: str, span: Span | None = None) -> list[int]:
        if isinstance(names, str):
            names = [names]
        return sorted({self._id(v, role, span) for v in names})

    def _name_set(self, ids: Iterable[int]) -> frozenset[str]:
        return frozenset(self._names[i] for i in ids)

    def _label(self, v: int) -> str:
        if v in self._hidden:
            a, b = self._hidden[v]
            return f"{self._names[a]} <-> {self._names[b]}"
        return self._names[v]

    def _topological_order(self) -> list[int]:
        n = len(self._names)
        indeg = [len(p) for p in self._pa]
        order = [v for v in range(n) if indeg[v] == 0]
        for v in order:  # the list grows while we walk it (Kahn's algorithm)
            for c in self._ch[v]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    order.append(c)
        if len(order) < n:
            left = {v for v in range(n) if indeg[v] > 0}
            raise GraphError(Diagnostic(
                "E310", "the arrows form a cycle through "
                + ", ".join(sorted(self._names[v] for v in left if v < self._n_vars)),
                help="a causal graph must be acyclic: remove or reverse one arrow"))
        return order

    # --- d-separation --------------------------------------------------------------------
    def d_separated(self, xs: Iterable[str] | str, ys: Iterable[str] | str,
                    given: Iterable[str] | str = ()) -> bool:
        """Are `xs` and `ys` d-separated given `given`? Latent variables may appear anywhere;
        a bidirected edge counts as an unobserved common cause. The sets must be disjoint."""
        x, y, z = (self._ids(xs, "d-separation"), self._ids(ys, "d-separation"),
                   self._ids(given, "d-separation"))
        overlap = (set(x) & set(y)) | (set(x) & set(z)) | (set(y) & set(z))
        if overlap:
            raise GraphError(Diagnostic(
                "E308", f"d-separation needs disjoint sets; {_fmt_set(self._name_set(overlap))}"
                " appears twice", help="remove the repeated variable from one of the sets"))
        return sep.d_separated(x, y, sep.mask(self.n, z), self._pa, self._ch, self.n,
                               self._edges())

    # --- the adjustment problem ----------------------------------------------------------
    def _problem(
        self,
        treatment: str,
        outcome: str,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        assume_observed: Iterable[str] = (),
        span: Span | None = None,
    ) -> _Problem:
        key = (treatment, outcome, frozenset(include), frozenset(exclude),
               frozenset(assume_observed))
        cached = self._cache.get(("problem", key))
        if cached is not None:
            return cached
        t = self._id(treatment, "treatment", span)
        y = self._id(outcome, "outcome", span)
        if t == y:
            raise GraphError(Diagnostic(
                "E303", f"the treatment and the outcome are both '{treatment}'", span,
                help="a query asks for the effect of one variable on another"))
        assumed = self._ids(assume_observed, "assumed observed", span)
        for v, role in ((t, "treatment"), (y, "outcome")):
            if self._latent[v] and v not in assumed:
                raise GraphError(Diagnostic(
                    "E302", f"the {role} '{self._names[v]}' is latent", span,
                    help="effects can only be estimated between observed variables"))
        inc = self._ids(include, "adjust for", span)
        exc = self._ids(exclude, "never adjust for", span)
        n, pa, ch = self.n, self._pa, self._ch
        edges = self._edges()
        if edges is None:
            de_t = sep.closure((t,), ch, n)
            an_y = sep.closure((y,), pa, n)
            cn = bytearray(n)
            for v in sep._ones(de_t):
                if an_y[v] and v != t:
                    cn[v] = 1
            forb = sep.closure(sep._ones(cn), ch, n)
            forb[t] = 1
            allowed = self._latent.translate(_FLIP)
            for v in sep._ones(forb):
                allowed[v] = 0
        else:  # the same sets, vectorised
            src, dst = edges
            cn_np = sep.reach_np(n, src, dst, (t,)) & sep.reach_np(n, dst, src, (y,))
            cn_np[t] = False
            forb_np = sep.reach_np(n, src, dst, np.flatnonzero(cn_np).tolist())
            forb_np[t] = True
            latent_np = np.frombuffer(bytes(self._latent), dtype=np.uint8).astype(bool)
            cn, forb, allowed = (bytearray(m.view(np.uint8).tobytes())
                                 for m in (cn_np, forb_np, ~latent_np & ~forb_np))
            # ... and the proper backdoor graph's arrays: drop t -> c for causal nodes c
            keep = ~((src == t) & cn_np[dst])
            edges = (src[keep], dst[keep])
        # the proper backdoor graph: drop t -> c for every causal node c
        pbd_pa, pbd_ch = list(pa), list(ch)
        pbd_ch[t] = [c for c in ch[t] if not cn[c]]
        for c in ch[t]:
            if cn[c]:
                pbd_pa[c] = [p for p in pa[c] if p != t]
        for v in assumed:
            allowed[v] = 0 if forb[v] else 1
        for v in exc:
            allowed[v] = 0
        allowed[t] = allowed[y] = 0
        problems = []
        for v in inc:
            name = self._names[v]
            if v in exc:
                problems.append(Diagnostic(
                    "E304", f"'{name}' is both in `adjust for` and in `never adjust for`", span,
                    help=f"keep '{name}' in only one of the two sets"))
            elif v in (t, y):
                problems.append(Diagnostic(
                    "E306", f"cannot adjust for '{name}': it is the "
                    f"{'treatment' if v == t else 'outcome'}", span,
                    help=f"remove '{name}' from `adjust for`"))
            elif self._latent[v] and v not in assumed:
                problems.append(Diagnostic(
                    "E305", f"cannot adjust for '{name}': it is latent (not in the data)", span,
                    help=f"remove '{name}' from `adjust for`, or declare it with `var` if it "
                    "was measured"))
            elif forb[v]:
                problems.append(Diagnostic(
                    "E306", f"cannot adjust for '{name}': it is "
                    f"{self._forbidden_role(v, t, y, cn)}",
                    span, help=f"remove '{name}' from `adjust for`: adjusting for a "
                    "descendant of the treatment on a causal path biases the effect"))
        if problems:
            raise GraphError(problems)
        problem = _Problem(t, y, cn, forb, pbd_pa, pbd_ch, allowed, tuple(inc), edges)
        if len(self._cache) > 256:
            self._forget()
        self._cache[("problem", key)] = problem
        return problem

    def _separation(self, p: _Problem) -> sep.SeparationProblem:
        return sep.SeparationProblem.build(p.pa, p.ch, self.n, (p.t,), (p.y,), p.include,
                                           p.allowed, p.edges)

    def _edges(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Edge arrays for the vectorised searches, on graphs large enough to need them."""
        if self.n < sep.FAST_MIN:
            return None
        if "edges" not in self._cache:  # FAST_MIN was lowered after construction (tests)
            self._cache["edges"] = sep.edge_arrays(self._pa, self.n)
        return self._cache["edges"]

    def _forget(self) -> None:
        """Drop cached answers (keeps the graph's own arrays): for benchmarks."""
        for key in [k for k in self._cache if k != "edges"]:
            del self._cache[key]

    def causal_nodes(self, treatment: str, outcome: str) -> frozenset[str]:
        """The variables other than the treatment on a directed path to the outcome
        (the outcome included when it is a descendant of the treatment)."""
        p = self._problem(treatment, outcome)
        return self._name_set(v for v in sep._ones(p.cn) if v < self._n_vars)

    def forbidden(self, treatment: str, outcome: str) -> frozenset[str]:
        """Variables no adjustment set may contain: the treatment and the descendants of the
        causal nodes (mediators, the outcome and everything downstream of them)."""
        p = self._problem(treatment, outcome)
        return self._name_set(v for v in sep._ones(p.forb) if v < self._n_vars)

    def is_adjustment_set(self, treatment: str, outcome: str, adjusting: Iterable[str]) -> bool:
        """Does `adjusting` satisfy the adjustment criterion (latent members are allowed here:
        this answers the graphical question only)?"""
        p = self._problem(treatment, outcome)
        z = self._ids(adjusting, "adjustment set")
        if any(p.forb[v] or v == p.y for v in z):
            return False
        return sep.d_separated((p.t,), (p.y,), sep.mask(self.n, z), p.pa, p.ch, self.n, p.edges)

    def adjustment_sets(
        self,
        treatment: str,
        outcome: str,
        kind: str = "minimal",
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        limit: int | None = None,
        assume_observed: Iterable[str] = (),
    ) -> Any:
        """Valid adjustment sets over observed variables (``include ⊆ Z``, ``Z ∩ exclude = ∅``).

        kind = ``"minimal"``: one minimal set, or None when no valid set exists;
        ``"all_minimal"``: an iterator over every minimal set (polynomial delay; at most
        `limit`); ``"smallest"``: a set of minimum size, or None; ``"optimal"``: the O-set,
        or None when it cannot be used (see `optimal_set` for why).
        "Minimal" is relative to `include`: no proper subset containing `include` is valid.
        """
        if kind not in ADJUSTMENT_KINDS:
            raise GraphError(Diagnostic(
                "E309", f"unknown kind of adjustment set '{kind}'",
                help=suggest(kind, ADJUSTMENT_KINDS)
                or f"use one of: {', '.join(ADJUSTMENT_KINDS)}"))
        if kind == "optimal":
            return self.optimal_set(treatment, outcome, include, exclude, assume_observed).set
        p = self._problem(treatment, outcome, include, exclude, assume_observed)
        s = self._separation(p)
        if kind == "minimal":
            found = s.minimal()
            return None if found is None else self._name_set(found)
        if kind == "smallest":
            found = s.smallest()
            return None if found is None else self._name_set(found)
        sets = (self._name_set(z) for z in s.all_minimal())
        return sets if limit is None else islice(sets, limit)

    def optimal_set(
        self,
        treatment: str,
        outcome: str,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        assume_observed: Iterable[str] = (),
    ) -> OptimalSet:
        """The O-set ``pa(cn) \\ forb`` (Henckel, Perković & Maathuis 2022): among valid sets it
        gives the smallest asymptotic variance. In a DAG without latent variables it is valid
        whenever any set is; with latent variables it is returned only when it is observed
        and valid. It must also respect `include` and `exclude`."""
        p = self._problem(treatment, outcome, include, exclude, assume_observed)
        t_name, y_name = self._names[p.t], self._names[p.y]
        if not p.causal_path:
            return OptimalSet(None, f"there is no directed path from {t_name} to {y_name}, "
                              "so the O-set is not defined")
        o = sorted({q for c in sep._ones(p.cn) for q in self._pa[c] if not p.forb[q]})
        shown = _fmt_set((self._label(v) for v in o), 12)
        hidden = [v for v in o if not p.allowed[v] and self._latent[v]
                  and v not in p.include]
        if hidden:
            some = ", ".join(self._describe_latent(v) for v in hidden[:3])
            if len(hidden) > 3:
                some += f" and {len(hidden) - 3} more latent variables"
            return OptimalSet(None, f"the O-set {shown} contains {some}, which cannot be "
                              "adjusted for")
        excluded = [v for v in o if not p.allowed[v] and v not in p.include]
        if excluded:
            return OptimalSet(None, f"the O-set {shown} contains "
                              f"{_fmt_set((self._names[v] for v in excluded), 12)}, "
                              "listed under `never adjust for`")
        missing = [v for v in p.include if v not in o]
        if missing:
            return OptimalSet(None, f"the O-set {shown} leaves out "
                              f"{_fmt_set((self._names[v] for v in missing), 12)} from "
                              "`adjust for`")
        if not sep.d_separated((p.t,), (p.y,), sep.mask(self.n, o), p.pa, p.ch, self.n,
                               p.edges):
            return OptimalSet(None, f"the O-set {shown} is not a valid adjustment set here "
                              "(latent variables leave a backdoor path open)")
        return OptimalSet(self._name_set(o), f"{shown} is the O-set: the valid adjustment set "
                          "with the smallest asymptotic variance (Henckel, Perković & "
                          "Maathuis 2022)")

    def _describe_latent(self, v: int) -> str:
        if v in self._hidden:
            a, b = self._hidden[v]
            return f"the unobserved common cause of {self._names[a]} and {self._names[b]}"
        return f"the latent variable {self._names[v]}"

    # --- paths ---------------------------------------------------------------------------
    def _path_status(self, nodes: tuple[int, ...], marks: tuple[int, ...], given: bytearray,
                     nearest: list[int]) -> PathStatus:
        """Classify the inner nodes of a path; ``nearest[v]`` is a conditioned node that is v
        or a descendant of v (-1 when there is none: a collider there stays closed)."""
        blocked, closed, opened, unobserved = [], [], [], []
        for i in range(1, len(nodes) - 1):
            v = nodes[i]
            collider = marks[i - 1] == sep.FORWARD and marks[i] == sep.BACKWARD
            if collider:
                if nearest[v] >= 0:
                    opened.append((self._names[v], self._names[nearest[v]]))
                else:
                    closed.append(self._label(v))
            elif given[v]:
                blocked.append(self._names[v])
            elif self._latent[v]:
                unobserved.append(self._label(v))
        shown: list[str] = [self._names[nodes[0]]]
        arrows: list[str] = []
        i = 1
        while i < len(nodes):
            v = nodes[i]
            if v in self._hidden:  # prev <- U -> next prints as prev <-> next
                arrows.append("<->")
                shown.append(self._names[nodes[i + 1]])
                i += 2
                continue
            arrows.append("->" if marks[i - 1] == sep.FORWARD else "<-")
            shown.append(self._names[v])
            i += 1
        is_open = not blocked and not closed
        return PathStatus(tuple(shown), tuple(arrows), is_open, tuple(blocked), tuple(closed),
                          tuple(opened), tuple(unobserved))

    def _nearest_conditioned(self, z: list[int], pa: list[list[int]]) -> list[int]:
        """For every node, a member of `z` that is the node or its nearest descendant
        (-1 for nodes that are not ancestors of `z`): one breadth-first search up from z."""
        nearest = [-1] * self.n
        queue = deque(z)
        for v in z:
            nearest[v] = v
        while queue:
            u = queue.popleft()
            for q in pa[u]:
                if nearest[q] < 0:
                    nearest[q] = nearest[u]
                    queue.append(q)
        return nearest

    def _paths(self, pa: list[list[int]], ch: list[list[int]], t: int, y: int, z: list[int], *,
               backdoor_only: bool, open_only: bool, limit: int,
               budget: int = PATH_BUDGET) -> tuple[list[PathStatus], bool]:
        n = self.n
        given = sep.mask(n, z)
        nearest = self._nearest_conditioned(z, pa)
        allowed = sep.closure((t, y, *z), pa, n) if open_only else None
        found, truncated = sep.enumerate_paths(
            pa, ch, n, t, y, backdoor_only=backdoor_only, allowed=allowed, given=given,
            open_only=open_only, limit=limit, budget=budget)
        paths = [self._path_status(nodes, marks, given, nearest) for nodes, marks in found]
        paths.sort(key=lambda p: (len(p.nodes), str(p)))
        return paths, truncated

    def backdoor_paths(self, treatment: str, outcome: str, given: Iterable[str] = (),
                       limit: int = 50) -> BackdoorPaths:
        """The backdoor paths (first edge into the treatment), shortest first, at most
        `limit`, each with what blocks it given the set `given`."""
        t = self._id(treatment, "treatment")
        y = self._id(outcome, "outcome")
        z = self._ids(given, "conditioning set")
        if t == y or t in z or y in z:
            raise GraphError(Diagnostic(
                "E308", "the treatment, the outcome and the conditioning set must be disjoint",
                help="remove the repeated variable"))
        paths, truncated = self._paths(self._pa, self._ch, t, y, z, backdoor_only=True,
                                       open_only=False, limit=limit)
        return BackdoorPaths(treatment, outcome, self._name_set(z), tuple(paths), truncated)

    def _forbidden_role(self, v: int, t: int, y: int, cn: bytearray) -> str:
        """What a forbidden node is ("a mediator, on the causal path t -> m -> y"), with a
        directed path as evidence; callers write "m is ..." or "it is ..." before it."""
        if v == t:
            return "the treatment"
        if v == y:
            return "the outcome"
        if cn[v]:
            into = self._directed_path(t, v)
            out = self._directed_path(v, y)
            return ("a mediator, on the causal path "
                    + " -> ".join(self._names[u] for u in into + out[1:]))
        path = self._directed_path(y, v)
        if path:
            return ("a descendant of the outcome ("
                    + " -> ".join(self._names[u] for u in path) + ")")
        path = self._directed_path(t, v)
        mediator = next((u for u in reversed(path) if cn[u]), t)
        return (f"a descendant of the mediator {self._names[mediator]} ("
                + " -> ".join(self._names[u] for u in path) + ")")

    def _directed_path(self, a: int, b: int) -> list[int]:
        """A shortest directed path from a to b (empty when there is none)."""
        prev = {a: a}
        queue = deque([a])
        while queue:
            u = queue.popleft()
            if u == b:
                out = [b]
                while out[-1] != a:
                    out.append(prev[out[-1]])
                return out[::-1]
            for c in self._ch[u]:
                if c not in prev:
                    prev[c] = u
                    queue.append(c)
        return []

    # --- testable implications -----------------------------------------------------------
    def implications(self, limit: int | None = IMPLICATION_LIMIT) -> Implications:
        """For each pair of non-adjacent observed variables, ``x ⊥ y | Z`` with Z a minimal
        set of observed variables (pairs that only latent variables could separate imply
        nothing testable). Pairs are visited in topological order, so the first `limit`
        answers involve the smallest ancestral sets; the result says whether it is complete."""
        n, pa, ch = self.n, self._pa, self._ch
        observed = [v for v in self._topo if v < self._n_vars and not self._latent[v]]
        adjacent: set[tuple[int, int]] = set()
        for c in range(self._n_vars):
            for q in pa[c]:
                if q < self._n_vars:
                    adjacent.add((min(q, c), max(q, c)))
        for a, b in self._hidden.values():
            adjacent.add((min(a, b), max(a, b)))
        obs_mask = sep.mask(n, observed)
        adjacent_observed = sum(1 for a, b in adjacent if obs_mask[a] and obs_mask[b])
        pairs = len(observed) * (len(observed) - 1) // 2 - adjacent_observed
        items: list[Implication] = []
        complete = True
        for j, b in enumerate(observed):
            if limit is not None and len(items) >= limit:
                complete = False
                break
            for a in observed[:j]:
                if (min(a, b), max(a, b)) in adjacent:
                    continue
                if limit is not None and len(items) >= limit:
                    complete = False
                    break
                obs_mask[a] = obs_mask[b] = 0
                found = sep.SeparationProblem.build(pa, ch, n, (a,), (b,), (), obs_mask).minimal()
                obs_mask[a] = obs_mask[b] = 1
                if found is not None:
                    x_name, y_name = sorted((self._names[a], self._names[b]))
                    items.append(Implication(x_name, y_name, self._name_set(found)))
        items.sort(key=lambda i: (i.x, i.y, sorted(i.given)))
        return Implications(tuple(items), complete, pairs)

    # --- instruments ---------------------------------------------------------------------
    def instruments(self, treatment: str, outcome: str, exclude: Iterable[str] = (),
                    assume_observed: Iterable[str] = (), limit: int = 20) -> tuple[Instrument, ...]:
        """Observed (conditional) instruments for ``treatment -> outcome``.

        z is an instrument given W (Henckel et al. 2024's criterion, in the form of van der
        Zander, Textor & Liśkiewicz 2015) when z and W avoid the forbidden nodes, z and the
        treatment are d-connected given W, and z and the outcome are d-separated given W in
        the proper backdoor graph. W is searched among the ancestors of z and the outcome
        (an "ancestral" instrument): a minimal separator of z and the outcome when it works,
        else the separator nearest to the outcome, which works whenever any ancestral W does.
        If any conditional instrument exists, an ancestral one does (van der Zander et al.
        2015), so an empty answer means there is none; a variable that would need a W outside
        those ancestors (opening a collider below the treatment) is not listed.
        Unconditional instruments (W = ∅) come first. On large graphs only the candidates
        nearest the treatment are tried.
        """
        return self._instruments(treatment, outcome, exclude, assume_observed, limit)[0]

    def _instruments(self, treatment: str, outcome: str, exclude: Iterable[str],
                     assume_observed: Iterable[str], limit: int
                     ) -> tuple[tuple[Instrument, ...], bool]:
        p = self._problem(treatment, outcome, (), exclude, assume_observed)
        if not p.causal_path:
            return (), True
        n, t, y = self.n, p.t, p.y
        none = bytearray(n)
        if p.edges is None:
            to_t = sep.dconnected((t,), none, self._pa, self._ch, n)
            to_y = sep.dconnected((y,), none, p.pa, p.ch, n)
        else:
            to_t = sep.dconnected_np((t,), none, self._edges(), n)  # type: ignore[arg-type]
            to_y = sep.dconnected_np((y,), none, p.edges, n)
        unconditional = {v for v in sep._ones(to_t) if p.allowed[v] and not to_y[v]}
        found: list[Instrument] = []
        size = n + sum(len(c) for c in self._ch)
        checks = max(3, INSTRUMENT_WORK // size)
        complete = True
        allowed = bytearray(p.allowed)
        left = len(unconditional)
        # nearest candidates first; stop at `limit`, or when the conditional checks are spent
        # and every unconditional instrument has been met
        for v in self._by_distance(t):
            if not p.allowed[v]:
                continue
            if len(found) >= limit:
                complete = False
                break
            if v in unconditional:
                found.append(Instrument(self._names[v]))
                left -= 1
                continue
            if checks <= 0:
                complete = False
                if not left:
                    break
                continue
            checks -= 1
            allowed[v] = 0  # the instrument is not part of its own conditioning set
            problem = sep.SeparationProblem.build(p.pa, p.ch, n, (v,), (y,), (), allowed,
                                                  p.edges)
            allowed[v] = 1
            w_min = problem.minimal()
            if w_min is None:
                continue  # nothing observed separates v from the outcome
            # A minimal separator reads best; the nearest one decides (if it fails, all do).
            for w in (w_min, problem.nearest_to_y()):
                if w and not sep.d_separated((v,), (t,), sep.mask(n, w), self._pa, self._ch, n,
                                             self._edges()):
                    found.append(Instrument(self._names[v], self._name_set(w)))
                    break
        found.sort(key=lambda i: (len(i.given), i.z))
        return tuple(found[:limit]), complete

    def _by_distance(self, t: int) -> Iterator[int]:
        """Variables in order of distance from t in the skeleton (nearest first), lazily."""
        seen = {t}
        queue = deque([t])
        while queue:
            u = queue.popleft()
            for w in (*self._pa[u], *self._ch[u]):
                if w not in seen:
                    seen.add(w)
                    queue.append(w)
                    if w < self._n_vars:
                        yield w

    # --- front door ----------------------------------------------------------------------
    def front_door_set(self, treatment: str, outcome: str) -> frozenset[str] | None:
        """The treatment's observed children on causal paths, when they satisfy Pearl's
        front-door criterion (they intercept every directed path to the outcome, no backdoor
        path from the treatment to them is open, and the treatment blocks every backdoor path
        from them to the outcome); else None. A sufficient check for one natural candidate,
        not a search over all sets."""
        p = self._problem(treatment, outcome)
        t, y, n = p.t, p.y, self.n
        m = [c for c in self._ch[t] if p.cn[c] and c != y]
        if not m or any(self._latent[c] for c in m):
            return None
        # (i) with M removed, no directed path from t reaches y
        blocked = sep.mask(n, m)
        seen, stack = {t}, [t]
        while stack:
            for c in self._ch[stack.pop()]:
                if c == y:
                    return None
                if c not in seen and not blocked[c]:
                    seen.add(c)
                    stack.append(c)
        # (ii) t and M are d-separated once t's outgoing edges are removed
        pa = [[q for q in ps if q != t] for ps in self._pa]
        ch = list(self._ch)
        ch[t] = []
        if not sep.d_separated((t,), m, bytearray(n), pa, ch, n):
            return None
        # (iii) M and y are d-separated given t once M's outgoing edges are removed
        pa = [[q for q in ps if not blocked[q]] for ps in self._pa]
        ch = [[] if blocked[v] else c for v, c in enumerate(self._ch)]
        if not sep.d_separated(m, (y,), sep.mask(n, (t,)), pa, ch, n):
            return None
        return self._name_set(m)

    # --- identification ------------------------------------------------------------------
    def identify(self, query: Query, assume_observed: Iterable[str] = frozenset()
                 ) -> Identification:
        """See `identify`."""
        return _identify(self, query, frozenset(assume_observed))


def identify(study: Study, query: Query, assume_observed: Iterable[str] = frozenset()
             ) -> Identification:
    """Is the effect asked by `query` identified by covariate adjustment, and how?

    `assume_observed` names latent variables to treat as adjustable (e.g. time-invariant
    latents that unit fixed effects absorb), so a planner can ask "would this be identified
    if ...". Raises `GraphError` (pointing at the query) for unknown names, a latent
    treatment or outcome, and impossible `adjust for` / `never adjust for` sets.
    """
    try:
        result = study._graph().identify(query, assume_observed)
        invariant = frozenset(v.name for v in study.latents if v.invariant) - frozenset(
            assume_observed)
        if not result.identifiable and invariant:
            # the planner's question, asked here too: would unit fixed effects be enough?
            helped = study._graph().identify(query, frozenset(assume_observed) | invariant)
            if helped.identifiable:
                hint = (f"Absorbing the time-invariant {_fmt_set(invariant)} (unit fixed "
                        f"effects in a panel, as difference-in-differences does) would make "
                        f"the effect identifiable, adjusting for "
                        f"{_fmt_set(helped.adjustment_set or (), 30)}.")
                result = replace(result, reasons=(*result.reasons, hint))
        return result
    except GraphError as error:
        if error.sources or study.source is None:
            raise
        # attach the study's text so that the diagnostic shows the line and a caret
        sources = {d.span.path: study.source for d in error.diagnostics if d.span}
        raise GraphError(error.diagnostics, sources) from None


def _identify(g: CausalGraph, query: Query, assumed: frozenset[str]) -> Identification:
    span = query.span
    p = g._problem(query.treatment, query.outcome, query.include, query.exclude, assumed,
                   span=span)
    t_name, y_name = query.treatment, query.outcome
    s = g._separation(p)
    minimal = s.minimal()
    identifiable = minimal is not None
    reasons: list[str] = []
    smallest = optimal = recommended_set = None
    optimal_note = ""
    recommended = ""
    minimal_sets: list[frozenset[str]] = []
    truncated_sets = False
    if assumed:
        reasons.append(f"Treating {_fmt_set(assumed)} as adjustable (for example, absorbed by "
                       "unit fixed effects).")
    if not p.causal_path:
        reasons.append(f"There is no directed path from {t_name} to {y_name}: under this graph "
                       "the causal effect is zero.")
    if identifiable:
        assert minimal is not None  # identifiable is `minimal is not None`
        # an I-minimal set with at most one variable beyond I is also a smallest one
        few = len(set(minimal) - set(p.include)) <= 1
        smallest = g._name_set(minimal if few else (s.smallest() or []))
        opt = g.optimal_set(t_name, y_name, query.include, query.exclude, assumed)
        optimal, optimal_note = opt.set, opt.note
        recommended_set = optimal if optimal is not None else smallest
        recommended = "optimal" if optimal is not None else "smallest"
        listed = [g._name_set(z) for z in islice(s.all_minimal(), MAX_SETS + 1)]
        truncated_sets = len(listed) > MAX_SETS
        minimal_sets = sorted(listed[:MAX_SETS], key=lambda z: (len(z), sorted(z)))
        given = sorted(g._ids(recommended_set, "adjustment set"))
        paths, paths_cut = g._paths(g._pa, g._ch, p.t, p.y, given, backdoor_only=True,
                                    open_only=False, limit=MAX_PATHS)
        obstructions: list[PathStatus] = []
        if recommended_set:
            reasons.append(f"Adjusting for {_fmt_set(recommended_set, 30)} blocks every "
                           f"backdoor path from {t_name} to {y_name}, and the set holds no "
                           f"mediator or other descendant of a causal path.")
        else:
            reasons.append(f"No adjustment is needed: no backdoor path from {t_name} to "
                           f"{y_name} is open.")
        if optimal is None and p.causal_path:
            reasons.append(f"Recommending a smallest valid set because {optimal_note}.")
    else:
        # The largest candidate set fails, so every set fails; its open paths show why.
        largest = s.largest()
        paths, paths_cut = g._paths(g._pa, g._ch, p.t, p.y, largest, backdoor_only=True,
                                    open_only=False, limit=MAX_PATHS)
        obstructions, _ = g._paths(p.pa, p.ch, p.t, p.y, largest, backdoor_only=False,
                                   open_only=True, limit=MAX_OBSTRUCTIONS)
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
        front_door = g.front_door_set(t_name, y_name)
        if front_door is not None:
            reasons.append(f"The front-door criterion holds with {_fmt_set(front_door)}: the "
                           f"effect is identified by front-door adjustment through "
                           f"{_fmt_set(front_door)} (Pearl 2009), though not by adjusting for "
                           f"covariates.")
    ivs, ivs_complete = g._instruments(t_name, y_name, query.exclude, assumed, 5)
    if not identifiable and ivs:
        reasons.append("An instrumental-variable analysis may work instead: "
                       + "; ".join(str(i) for i in ivs) + ".")
    if not ivs_complete:
        reasons.append("The instrument search stopped early on this large graph; more "
                       "instruments may exist.")
    return Identification(
        query=query,
        identifiable=identifiable,
        adjustment_set=recommended_set,
        recommended=recommended,
        minimal_sets=tuple(minimal_sets),
        minimal_sets_truncated=truncated_sets,
        smallest=smallest,
        optimal=optimal,
        optimal_note=optimal_note,
        backdoor_paths=tuple(paths),
        backdoor_paths_truncated=paths_cut,
        obstructions=tuple(obstructions),
        proposed=proposed,
        reasons=tuple(reasons),
        instruments=ivs,
        causal_path=p.causal_path,
        assume_observed=assumed,
        front_door=front_door,
    )


def _why_not_adjustable(g: CausalGraph, p: _Problem, v: int) -> str:
    name = g._names[v]
    if v in g._hidden:
        a, b = g._hidden[v]
        return (f"{g._names[a]} <-> {g._names[b]} is an unobserved common cause, which "
                "cannot be adjusted for")
    if g._latent[v]:
        return f"{name} is latent (not in the data)"
    if p.forb[v]:
        return f"{name} may not be adjusted for: it is {g._forbidden_role(v, p.t, p.y, p.cn)}"
    return f"{name} is listed under `never adjust for`"


def _explain_obstruction(g: CausalGraph, p: _Problem, path: PathStatus) -> str:
    """One sentence on why an open path (given the largest candidate set) cannot be closed.

    Unobserved causes, latent variables and opened colliders come first (cheap to say); then
    forbidden or excluded variables, each with a directed path as evidence (one search each,
    so at most `MAX_CAUSES` reasons are spelled out and the rest are counted)."""
    cheap: list[str] = []
    costly: list[int] = []
    for i in range(1, len(path.nodes) - 1):
        arrow_in, arrow_out = path.arrows[i - 1], path.arrows[i]
        if arrow_in in ("->", "<->") and arrow_out in ("<-", "<->"):
            continue  # a collider: among `opened_at` below
        v = g._index[path.nodes[i]]
        if g._latent[v]:
            cheap.append(f"{path.nodes[i]} is latent (not in the data)")
        else:
            costly.append(v)
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
    causes += [_why_not_adjustable(g, p, v) for v in costly[:room]]
    left = max(0, len(causes) - MAX_CAUSES) + len(costly) - min(room, len(costly))
    more = f"; and {left} more" if left else ""
    return f"The path {path.short()} stays open: " + "; ".join(causes[:MAX_CAUSES]) + more + "."


def _check_proposed(g: CausalGraph, p: _Problem, query: Query,
                    assumed: frozenset[str]) -> ProposedCheck:
    assert query.adjusting is not None
    z = g._ids(query.adjusting, "adjusting", query.span)
    problems: list[str] = []
    notes: list[str] = []
    assumed_ids = {g._index[a] for a in assumed}
    for v in z:
        name = g._names[v]
        if v in (p.t, p.y):
            problems.append(f"{name} is the {'treatment' if v == p.t else 'outcome'} itself")
        elif p.forb[v]:
            problems.append(f"{name} is {g._forbidden_role(v, p.t, p.y, p.cn)}")
        elif g._latent[v] and v not in assumed_ids:
            problems.append(f"{name} is latent (not in the data), so it cannot be adjusted for")
        if name in query.exclude:
            notes.append(f"{name} is also listed under `never adjust for`")
    for name in sorted(query.include - query.adjusting):
        notes.append(f"`adjust for` requires {name}, which the proposed set leaves out")
    # Paths are checked given the members that could be adjusted for: a forbidden or latent
    # member is already a problem of its own, and what else is wrong is the useful news.
    rest = [v for v in z if v not in (p.t, p.y) and not p.forb[v]
            and (not g._latent[v] or v in assumed_ids)]
    given = sep.mask(g.n, rest)
    separated = sep.d_separated((p.t,), (p.y,), given, p.pa, p.ch, g.n, p.edges)
    open_paths: list[PathStatus] = []
    if not separated:
        open_paths, _ = g._paths(p.pa, p.ch, p.t, p.y, rest, backdoor_only=False,
                                 open_only=True, limit=MAX_OBSTRUCTIONS)
        for path in open_paths:
            if path.opened_at:
                how = "; ".join(
                    f"conditioning on {m} opens it ({c} is a collider on it)" if c == m
                    else f"conditioning on {m} opens it ({m} is a descendant of the collider "
                    f"{c} on it)" for c, m in path.opened_at)
                problems.append(f"the path {path.short()} is open: {how}")
            else:
                problems.append(f"the path {path.short()} stays open: no member of the set "
                                "blocks it")
        if not open_paths:
            problems.append(f"{query.treatment} and {query.outcome} stay d-connected given "
                            "this set (the path search stopped before finding the path)")
    valid = not problems
    if valid and len(z) <= 50:
        spare = [g._names[v] for v in z
                 if sep.d_separated((p.t,), (p.y,), sep.mask(g.n, [u for u in z if u != v]),
                                    p.pa, p.ch, g.n, p.edges)]
        if spare:
            notes.append(f"valid but not minimal: {_fmt_set(spare)} could each be dropped")
    return ProposedCheck(frozenset(query.adjusting), valid, tuple(problems), tuple(notes),
                         tuple(open_paths))


# --- the `causal identify` verb ---------------------------------------------------------------
def identify_report(study: Study, query: str | None = None, as_json: bool = False,
                    implications_shown: int = 50) -> str:
    """What ``causal identify FILE [--query NAME] [--json]`` prints: each query's verdict,
    then the model's testable implications (long lists are cut, and the cut is reported)."""
    if query is not None:
        names = [q.name for q in study.queries]
        if query not in names:
            raise GraphError(Diagnostic(
                "E301", f"no query named '{query}'",
                help=suggest(query, names) or (f"the queries are: {', '.join(names)}"
                                               if names else "the study has no query")))
        queries = [study.query(query)]
    else:
        queries = list(study.queries)
    results = [identify(study, q) for q in queries]
    implied = study._graph().implications(limit=max(IMPLICATION_LIMIT, implications_shown))
    if as_json:
        return json.dumps({
            "path": study.path,
            "queries": [r.to_json() for r in results],
            "implications": [i.to_json() for i in implied],
            "implications_complete": implied.complete,
            "non_adjacent_pairs": implied.pairs,
        }, indent=2, ensure_ascii=False)
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
