"""Adjustment sets: the forbidden set, valid sets of every kind, the O-set, and the one policy
that says which set to recommend.

In: a `CausalGraph`, a treatment and an outcome (and optionally sets that must be, or must not
be, adjusted for, and latent variables to treat as observed). Out: frozensets of names, an
`AdjustmentProblem` (the question in node ids, for the other modules of the engine and for
`causal_dsl.identify`), `OptimalSet` and `Recommendation`. Raises `GraphError`: E301 for an
unknown name, E302 for a latent treatment or outcome, E303 when they are the same variable,
E304-E306 for ``adjust for`` / ``never adjust for`` sets that cannot hold, E309 for an unknown
kind of set.

Adjustment follows the generalized adjustment criterion (Shpitser, VanderWeele & Robins 2010;
Perković et al. 2018) in the form of van der Zander, Liśkiewicz & Textor (2019): Z is valid for
``t -> y`` iff no member of Z is forbidden (``forb = De(cn) ∪ {t}``, where ``cn`` are the nodes
other than t on causal paths from t to y) and Z d-separates t and y in the *proper backdoor
graph* (the graph without the first edge of every causal path). Z must be observed.

>>> from causal_dsl.graph import CausalGraph
>>> g = CausalGraph(["a", "t", "m", "y"], [("a", "t"), ("a", "y"), ("t", "m"), ("m", "y")])
>>> sorted(forbidden(g, "t", "y"))
['m', 't', 'y']
>>> r = recommend(g, "t", "y")
>>> sorted(r.set), r.kind
(['a'], 'optimal')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np

import causal_dsl.graph.separators as sep

from ..errors import Diagnostic, GraphError, Span, suggest
from .values import OptimalSet, Recommendation, fmt_set

if TYPE_CHECKING:
    from .core import CausalGraph

ADJUSTMENT_KINDS = ("minimal", "all_minimal", "smallest", "optimal")
_FLIP = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 <-> 1 (latent -> adjustable)
_CACHED_PROBLEMS = 256


@dataclass(frozen=True)
class AdjustmentProblem:
    """Everything about one ``t -> y`` adjustment question, in node ids (built by `problem`).

    The masks have one byte per node of `graph`: `cn` the causal nodes (on a causal path from
    t to y, t excluded), `forb` the forbidden ones (``De(cn) ∪ {t}``), `allowed` the nodes a set
    may hold (observed or assumed so, not forbidden, not excluded, not t or y). `pa` / `ch`
    are the proper backdoor graph. The name-level methods are what callers outside the engine
    use; the separator search is built once, on first use.
    """

    graph: CausalGraph = field(repr=False, compare=False)
    t: int
    y: int
    cn: bytearray
    forb: bytearray
    pa: list[list[int]]
    ch: list[list[int]]
    allowed: bytearray
    include: tuple[int, ...]
    backdoor_edges: tuple[np.ndarray, np.ndarray] | None  # the backdoor graph's arrays, if built
    graph_edges: tuple[np.ndarray, np.ndarray] | None = None  # the graph's (large graphs)
    # An(y) is past `sep.closure_small`'s limit, and so is the ancestral set of any search
    # holding t and y (it contains An(y) even in the backdoor graph): those searches skip
    # the plain attempt, which would fail (issue 16)
    large: bool = False
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The proper backdoor graph as edge arrays on a large graph (None on a small one),
        built on first use: a query whose searches stay in small regions never needs them."""
        if self.backdoor_edges is not None or self.graph_edges is None:
            return self.backdoor_edges
        if "edges" not in self._memo:
            src, dst = self.graph_edges
            cn = np.frombuffer(bytes(self.cn), dtype=np.uint8).astype(bool)
            keep = ~((src == self.t) & cn[dst])
            self._memo["edges"] = sep.as_edge_arrays(self.graph_edges).subset(keep)
        found: tuple[np.ndarray, np.ndarray] = self._memo["edges"]
        return found

    def lazy_edges(self) -> sep.LazyEdges:
        """`edges`, or a function building them, for searches that may not need them."""
        if self.backdoor_edges is not None or self.graph_edges is None:
            return self.backdoor_edges
        return lambda: self.edges  # type: ignore[return-value]

    @property
    def causal_path(self) -> bool:
        """Is there a directed path from the treatment to the outcome?"""
        return bool(self.cn[self.y])

    @property
    def treatment(self) -> str:
        return self.graph._names[self.t]

    @property
    def outcome(self) -> str:
        return self.graph._names[self.y]

    def separation(self) -> sep.SeparationProblem:
        """The separator search of t and y over the allowed nodes (built once)."""
        if "separation" not in self._memo:
            self._memo["separation"] = sep.SeparationProblem.build(
                self.pa, self.ch, self.graph.n, (self.t,), (self.y,), self.include,
                self.allowed, self.lazy_edges(), not self.large)
        found: sep.SeparationProblem = self._memo["separation"]
        return found

    def minimal(self) -> frozenset[str] | None:
        """One valid set, minimal relative to ``adjust for``; None when no valid set exists."""
        if "minimal" not in self._memo:
            found = self.separation().minimal()
            self._memo["minimal"] = None if found is None else self.graph._name_set(found)
        minimal: frozenset[str] | None = self._memo["minimal"]
        return minimal

    def smallest(self) -> frozenset[str] | None:
        """A valid set of minimum size, or None. The minimal set is one when it holds at most
        one variable beyond ``adjust for`` (then ``adjust for`` alone is not valid), which
        saves the minimum-cut search. Computed once per problem (`recommend` and `identify`
        both ask)."""
        if "smallest" not in self._memo:
            minimal = self.minimal()
            include = {self.graph._names[v] for v in self.include}
            if minimal is None or len(minimal - include) <= 1:
                self._memo["smallest"] = minimal
            else:
                self._memo["smallest"] = self.graph._name_set(self.separation().smallest() or [])
        smallest: frozenset[str] | None = self._memo["smallest"]
        return smallest

    def largest(self) -> frozenset[str]:
        """Every allowed ancestor of t, y and ``adjust for``: if it is not valid, no set is."""
        return self.graph._name_set(self.separation().largest())

    def all_minimal(self) -> Iterator[frozenset[str]]:
        """Every minimal valid set, with polynomial delay."""
        return (self.graph._name_set(z) for z in self.separation().all_minimal())

    def is_forbidden(self, name: str) -> bool:
        """May `name` never be adjusted for (the treatment, a mediator, a descendant of one)?"""
        return bool(self.forb[self.graph._id(name, "variable")])

    def separates(self, names: Iterable[str]) -> bool:
        """Does conditioning on `names` block every non-causal path from t to y (d-separation
        in the proper backdoor graph)? Forbidden members are not checked here."""
        z = self.graph._ids(names, "adjustment set")
        return sep.d_separated((self.t,), (self.y,), sep.mask(self.graph.n, z), self.pa,
                               self.ch, self.graph.n, self.lazy_edges(), not self.large)

    def forbidden_role(self, name: str) -> str:
        """What a forbidden variable is, with a directed path as evidence ("a mediator, on the
        causal path t -> m -> y"); callers write "m is ..." or "it is ..." before it."""
        return _forbidden_role(self.graph, self.graph._id(name, "variable"), self.t, self.y,
                               self.cn)


def problem(
    g: CausalGraph,
    treatment: str,
    outcome: str,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    assume_observed: Iterable[str] = (),
    span: Span | None = None,
) -> AdjustmentProblem:
    """The adjustment question ``treatment -> outcome`` checked and in node ids (cached on the
    graph: asking again is free). Errors point at `span` (the query, when there is one)."""
    key = (treatment, outcome, frozenset(include), frozenset(exclude),
           frozenset(assume_observed))
    cached: AdjustmentProblem | None = g._cache.get(("problem", key))
    if cached is not None:
        return cached
    t = g._id(treatment, "treatment", span)
    y = g._id(outcome, "outcome", span)
    if t == y:
        raise GraphError(Diagnostic(
            "E303", f"the treatment and the outcome are both '{treatment}'", span,
            help="a query asks for the effect of one variable on another"))
    assumed = g._ids(assume_observed, "assumed observed", span)
    for v, role in ((t, "treatment"), (y, "outcome")):
        if g._latent[v] and v not in assumed:
            raise GraphError(Diagnostic(
                "E302", f"the {role} '{g._names[v]}' is latent", span,
                help="effects can only be estimated between observed variables"))
    inc = g._ids(include, "adjust for", span)
    exc = g._ids(exclude, "never adjust for", span)
    n, pa, ch = g.n, g._pa, g._ch
    edges = g._edges()
    base: sep.Edges | None = edges
    small, large = _small_sets(t, y, pa, ch, n) if edges is not None else (None, False)
    if edges is None or small is not None:
        if small is None:
            de_t = sep.closure((t,), ch, n)
            an_y = sep.closure((y,), pa, n)
            cn = bytearray(n)
            for v in sep._ones(de_t):
                if an_y[v] and v != t:
                    cn[v] = 1
            forb = sep.closure(sep._ones(cn), ch, n)
        else:  # a large graph, small regions: searched directly (no pass over every edge)
            cn, forb = small
        forb[t] = 1
        allowed = g._latent.translate(_FLIP)
        for v in sep._ones(forb):
            allowed[v] = 0
        edges = None
    else:  # the same sets, vectorised
        src, dst = edges
        cn_np = (sep._bools(sep.closure_np((t,), edges, n, up=False), n)
                 & sep._bools(sep.closure_np((y,), edges, n, up=True), n))
        cn_np[t] = False
        forb_np = sep._bools(sep.closure_np(np.flatnonzero(cn_np).tolist(), edges, n,
                                            up=False), n)
        forb_np[t] = True
        latent_np = np.frombuffer(bytes(g._latent), dtype=np.uint8).astype(bool)
        cn, forb, allowed = (bytearray(m.view(np.uint8).tobytes())
                             for m in (cn_np, forb_np, ~latent_np & ~forb_np))
        # ... and the proper backdoor graph's arrays: drop t -> c for causal nodes c
        keep = ~((src == t) & cn_np[dst])
        edges = sep.as_edge_arrays(edges).subset(keep)
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
        name = g._names[v]
        if v in exc:
            problems.append(Diagnostic(
                "E304", f"'{name}' is both in `adjust for` and in `never adjust for`", span,
                help=f"keep '{name}' in only one of the two sets"))
        elif v in (t, y):
            problems.append(Diagnostic(
                "E306", f"cannot adjust for '{name}': it is the "
                f"{'treatment' if v == t else 'outcome'}", span,
                help=f"remove '{name}' from `adjust for`"))
        elif g._latent[v] and v not in assumed:
            problems.append(Diagnostic(
                "E305", f"cannot adjust for '{name}': it is latent (not in the data)", span,
                help=f"remove '{name}' from `adjust for`, or declare it with `var` if it "
                "was measured"))
        elif forb[v]:
            problems.append(Diagnostic(
                "E306", f"cannot adjust for '{name}': it is {_forbidden_role(g, v, t, y, cn)}",
                span, help=f"remove '{name}' from `adjust for`: adjusting for a "
                "descendant of the treatment on a causal path biases the effect"))
    if problems:
        raise GraphError(problems)
    found = AdjustmentProblem(g, t, y, cn, forb, pbd_pa, pbd_ch, allowed, tuple(inc),
                              edges, base, large)
    if len(g._cache) > _CACHED_PROBLEMS:
        g.forget()
    g._cache[("problem", key)] = found
    return found


def _small_sets(t: int, y: int, pa: sep.Adj, ch: sep.Adj, n: int
                ) -> tuple[tuple[bytearray, bytearray] | None, bool]:
    """The causal nodes and ``De(causal nodes)`` by plain searches when ``An(y)`` and those
    descendants are small (`sep.closure_small`); None when either is not (search vectorised).
    Second: is ``An(y)`` itself not small?"""
    an_y = sep.closure_small((y,), pa, n)
    if an_y is None:
        return None, True
    cn = bytearray(n)  # De(t) ∩ An(y): the search from t stays inside An(y)
    stack = [t]
    while stack:
        for c in ch[stack.pop()]:
            if an_y[c] and not cn[c]:
                cn[c] = 1
                stack.append(c)
    forb = sep.closure_small(sep._ones(cn), ch, n)
    if forb is None:
        return None, False
    return (cn, forb), False


def _forbidden_role(g: CausalGraph, v: int, t: int, y: int, cn: bytearray) -> str:
    if v == t:
        return "the treatment"
    if v == y:
        return "the outcome"
    if cn[v]:
        into = g._directed_path(t, v)
        out = g._directed_path(v, y)
        return ("a mediator, on the causal path "
                + " -> ".join(g._names[u] for u in into + out[1:]))
    path = g._directed_path(y, v)
    if path:
        return "a descendant of the outcome (" + " -> ".join(g._names[u] for u in path) + ")"
    path = g._directed_path(t, v)
    mediator = next((u for u in reversed(path) if cn[u]), t)
    return (f"a descendant of the mediator {g._names[mediator]} ("
            + " -> ".join(g._names[u] for u in path) + ")")


# --- the sets ------------------------------------------------------------------------------
def causal_nodes(g: CausalGraph, treatment: str, outcome: str) -> frozenset[str]:
    """The variables other than the treatment on a directed path to the outcome (the outcome
    included when it is a descendant of the treatment)."""
    p = problem(g, treatment, outcome)
    return g._name_set(v for v in sep._ones(p.cn) if v < g._n_vars)


def forbidden(g: CausalGraph, treatment: str, outcome: str) -> frozenset[str]:
    """Variables no adjustment set may contain: the treatment and the descendants of the
    causal nodes (mediators, the outcome and everything downstream of them)."""
    p = problem(g, treatment, outcome)
    return g._name_set(v for v in sep._ones(p.forb) if v < g._n_vars)


def is_adjustment_set(g: CausalGraph, treatment: str, outcome: str,
                      adjusting: Iterable[str]) -> bool:
    """Does `adjusting` satisfy the adjustment criterion? Latent members are allowed here: this
    answers the graphical question only (`causal_dsl.graph.paths.adjustment_set_reason` says
    why a set fails)."""
    p = problem(g, treatment, outcome)
    z = g._ids(adjusting, "adjustment set")
    if any(p.forb[v] or v == p.y for v in z):
        return False
    return sep.d_separated((p.t,), (p.y,), sep.mask(g.n, z), p.pa, p.ch, g.n, p.lazy_edges(),
                           not p.large)


def adjustment_sets(
    g: CausalGraph,
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
    `limit`); ``"smallest"``: a set of minimum size (a minimum vertex cut), or None;
    ``"optimal"``: the O-set, or None when it cannot be used (see `optimal_set` for why).
    "Minimal" is relative to `include`: no proper subset containing `include` is valid.
    The answer's type depends on `kind`; `AdjustmentProblem`'s methods are typed.
    """
    if kind not in ADJUSTMENT_KINDS:
        raise GraphError(Diagnostic(
            "E309", f"unknown kind of adjustment set '{kind}'",
            help=suggest(kind, ADJUSTMENT_KINDS) or f"use one of: {', '.join(ADJUSTMENT_KINDS)}"))
    if kind == "optimal":
        return optimal_set(g, treatment, outcome, include, exclude, assume_observed).set
    p = problem(g, treatment, outcome, include, exclude, assume_observed)
    if kind == "minimal":
        return p.minimal()
    if kind == "smallest":
        found = p.separation().smallest()
        return None if found is None else g._name_set(found)
    sets = p.all_minimal()
    return sets if limit is None else islice(sets, limit)


def optimal_set(
    g: CausalGraph,
    treatment: str,
    outcome: str,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    assume_observed: Iterable[str] = (),
    span: Span | None = None,
) -> OptimalSet:
    """The O-set ``pa(cn) \\ forb`` (Henckel, Perković & Maathuis 2022): among valid sets it
    gives the smallest asymptotic variance. In a DAG without latent variables it is valid
    whenever any set is; with latent variables it is returned only when it is observed and
    valid. It must also respect `include` and `exclude`."""
    p = problem(g, treatment, outcome, include, exclude, assume_observed, span)
    t_name, y_name = g._names[p.t], g._names[p.y]
    if not p.causal_path:
        return OptimalSet(None, f"there is no directed path from {t_name} to {y_name}, "
                          "so the O-set is not defined")
    edges = g._edges()
    if edges is None:
        o = sorted({q for c in sep._ones(p.cn) for q in g._pa[c] if not p.forb[q]})
    else:  # the same parents, vectorised over the graph's edge arrays
        src, dst = edges
        o = np.unique(src[sep._bools(p.cn, g.n)[dst] & ~sep._bools(p.forb, g.n)[src]]).tolist()
    shown = fmt_set((g._label(v) for v in o), 12)
    hidden = [v for v in o if not p.allowed[v] and g._latent[v] and v not in p.include]
    if hidden:
        some = ", ".join(g._describe_latent(v) for v in hidden[:3])
        if len(hidden) > 3:
            some += f" and {len(hidden) - 3} more latent variables"
        return OptimalSet(None, f"the O-set {shown} contains {some}, which cannot be "
                          "adjusted for")
    excluded = [v for v in o if not p.allowed[v] and v not in p.include]
    if excluded:
        return OptimalSet(None, f"the O-set {shown} contains "
                          f"{fmt_set((g._names[v] for v in excluded), 12)}, "
                          "listed under `never adjust for`")
    missing = [v for v in p.include if v not in o]
    if missing:
        return OptimalSet(None, f"the O-set {shown} leaves out "
                          f"{fmt_set((g._names[v] for v in missing), 12)} from `adjust for`")
    if not sep.d_separated((p.t,), (p.y,), sep.mask(g.n, o), p.pa, p.ch, g.n,
                           p.lazy_edges(), not p.large):
        return OptimalSet(None, f"the O-set {shown} is not a valid adjustment set here "
                          "(latent variables leave a backdoor path open)")
    return OptimalSet(g._name_set(o), f"{shown} is the O-set: the valid adjustment set with "
                      "the smallest asymptotic variance (Henckel, Perković & Maathuis 2022)")


def recommend(
    g: CausalGraph,
    treatment: str,
    outcome: str,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    assume_observed: Iterable[str] = (),
    span: Span | None = None,
) -> Recommendation:
    """The set to adjust for: the O-set when it is observed and valid, else a smallest valid
    set; no set when none is valid. The one policy of the package: ``causal identify``,
    ``causal lint`` and ``causal diff`` all recommend what this returns.

    The O-set is returned only when it is valid, so when it is usable it settles the question
    in one search; the minimal-set search runs only when it is not.

    >>> from causal_dsl.graph import CausalGraph
    >>> g = CausalGraph(["u", "a", "t", "y"], [("u", "t"), ("u", "a"), ("a", "y"), ("t", "y")],
    ...                 latents=["u"])
    >>> r = recommend(g, "t", "y")
    >>> sorted(r.set), r.kind
    (['a'], 'optimal')
    """
    opt = optimal_set(g, treatment, outcome, include, exclude, assume_observed, span)
    if opt.set is not None:
        return Recommendation(opt.set, "optimal", opt)
    smallest = problem(g, treatment, outcome, include, exclude, assume_observed,
                       span).smallest()
    return Recommendation(smallest, "smallest" if smallest is not None else "", opt)
