"""Linear-time separator algorithms on integer-indexed DAGs (the engine under `identify`).

In: a DAG as two adjacency lists over nodes ``0..n-1`` (``pa[v]`` parents, ``ch[v]`` children),
plus node sets given as lists of ints or ``bytearray`` masks of length ``n``. Out: plain lists of
node ids (separators, paths) or ``bytearray`` masks. No names, no networkx, no exceptions that a
user can cause: `causal_dsl.identify` validates every input and turns answers into messages.

Everything is iterative (explicit stacks, no recursion) so that graphs with 100,000 nodes work.

The algorithms follow van der Zander, Liśkiewicz & Textor (2019), "Separators and adjustment sets
in causal graphs: complete criteria and an algorithmic framework", Artificial Intelligence 270:

* d-separation restricted to ancestors equals vertex separation in the *moral* graph of the
  ancestral set ``A = An(X ∪ Y ∪ I)``. We never build the moral graph: every child ``c`` in ``A``
  gets a virtual "hub" node ``n + c`` adjacent to all parents of ``c``, so a marriage edge
  ``p1 — p2`` becomes the path ``p1 — hub(c) — p2``. Hubs cannot be conditioned on, so the
  separators are unchanged while the graph stays linear in the size of the DAG.
* FINDSEP / FINDMINSEP are two breadth-first searches in that graph.
* Listing every minimal separator uses the "close set" backtracking of Takata (2010), as
  DAGitty does: each state fixes nodes that must lie on the X side or in the separator, each
  explored branch yields an answer, so the delay between answers is polynomial.
* The minimum-size separator is a minimum vertex cut, found with augmenting paths on the
  node-split hub graph (capacity 1 for nodes that may be conditioned on, infinite otherwise;
  in `causal_dsl.graph.mincut`).

On large graphs (`FAST_MIN` nodes or more) the same searches run vectorised: the hub graph is
a compressed adjacency built once per graph (`causal_dsl.graph.arrays`), a search masks the
arcs that leave an expandable node and enter an enterable one (numpy) and hands them to
scipy's breadth-first search. Still linear, but in C, and no search rebuilds a matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from .arrays import (  # noqa: F401  (re-exported: the engine's modules reach them as sep.*)
    Csr,
    EdgeArrays,
    Edges,
    _adjacency,
    _bools,
    _ones,
    as_edge_arrays,
    closure_np,
    edge_arrays,
    mask,
    reach_np,
)
from .mincut import boundary_is_minimum, min_vertex_cut, min_vertex_cut_np

Adj = Sequence[Sequence[int]]
# From this many nodes on, searches run vectorised (numpy + scipy's compiled breadth-first
# search over a filtered arc list) instead of as Python loops. Tests lower it to 0 to check
# that both give the same answers.
FAST_MIN = 5_000
# ... but a search whose region (an ancestral set, a descendant set) holds at most this many
# nodes runs as plain Python on any graph: it touches only that region, where a vectorised
# search costs O(all edges) (issue 16: one query on a sparse 100,000-variable graph touches a
# few hundred nodes). The limit bounds the work wasted when the region turns out large.
SMALL_REGION = 2_000

FORWARD = 1  # the edge points away from the previous node on a path: prev -> next
BACKWARD = 0  # the edge points into the previous node: prev <- next


def closure(seeds: Iterable[int], adj: Adj, n: int) -> bytearray:
    """Everything reachable from `seeds` along `adj` (seeds included): ancestors with ``pa``,
    descendants with ``ch``."""
    seen = bytearray(n)
    stack = []
    for s in seeds:
        if not seen[s]:
            seen[s] = 1
            stack.append(s)
    while stack:
        for w in adj[stack.pop()]:
            if not seen[w]:
                seen[w] = 1
                stack.append(w)
    return seen


def closure_small(seeds: Iterable[int], adj: Adj, n: int) -> bytearray | None:
    """`closure`, or None as soon as it passes ``min(SMALL_REGION, FAST_MIN, n / 16)`` nodes
    (then the caller searches vectorised: on a graph of ``n`` nodes a vectorised search costs
    about as much as a Python walk over ``n / 16`` of them)."""
    limit = min(SMALL_REGION, FAST_MIN, max(n // 16, 64))
    seen = bytearray(n)
    stack = []
    count = 0
    for s in seeds:
        if not seen[s]:
            seen[s] = 1
            stack.append(s)
            count += 1
    if count > limit:
        return None
    while stack:
        for w in adj[stack.pop()]:
            if not seen[w]:
                seen[w] = 1
                count += 1
                if count > limit:
                    return None
                stack.append(w)
    return seen


LazyEdges = Edges | Callable[[], Edges] | None  # the arrays, or how to build them when needed


def _materialise(edges: LazyEdges) -> Edges | None:
    return edges() if callable(edges) else edges


def dconnected(sources: Iterable[int], given: bytearray, pa: Adj, ch: Adj, n: int) -> bytearray:
    """Nodes d-connected to `sources` given the mask `given` (the "reachable" / Bayes-ball
    search of Koller & Friedman, Algorithm 3.1). Linear in the size of the graph.

    A node in `given` is never reported (it is conditioned on); sources are reported.
    """
    # A collider passes the ball only if it is an ancestor of the conditioning set.
    anc = closure(_ones(given), pa, n)
    up = bytearray(n)  # visited arriving from a child (travelling against the arrow)
    down = bytearray(n)  # visited arriving from a parent (travelling along the arrow)
    reach = bytearray(n)
    stack: list[tuple[int, int]] = [(s, 0) for s in sources]
    while stack:
        v, d = stack.pop()
        if d == 0:
            if up[v]:
                continue
            up[v] = 1
        else:
            if down[v]:
                continue
            down[v] = 1
        if not given[v]:
            reach[v] = 1
        if d == 0:
            if not given[v]:
                for p in pa[v]:
                    if not up[p]:
                        stack.append((p, 0))
                for c in ch[v]:
                    if not down[c]:
                        stack.append((c, 1))
        else:
            if not given[v]:
                for c in ch[v]:
                    if not down[c]:
                        stack.append((c, 1))
            if anc[v]:
                for p in pa[v]:
                    if not up[p]:
                        stack.append((p, 0))
    return reach


def d_separated(xs: Iterable[int], ys: Iterable[int], given: bytearray, pa: Adj, ch: Adj,
                n: int, edges: LazyEdges = None, try_small: bool = True) -> bool:
    """Are xs and ys d-separated given the mask `given`? With `edges` (see `edge_arrays`; or
    a function giving them) and at least `FAST_MIN` nodes, the search runs vectorised — unless
    the ancestral set of xs, ys and `given` is small: then separation in its moral graph
    (Lauritzen et al. 1990, the same answer) is searched directly, touching only that set.
    ``try_small=False``: the caller knows that set is not small (skip the attempt)."""
    xs, ys = list(xs), list(ys)
    if edges is not None and n >= FAST_MIN:
        if open_trek(xs, ys, given, pa, ch):
            return False
        anc = closure_small((*xs, *ys, *_ones(given)), pa, n) if try_small else None
        if anc is not None:
            seen, _ = moral_search(pa, ch, n, anc, xs, bytearray(n), given)
            return not any(seen[y] for y in ys)
        full = _materialise(edges)
        assert full is not None
        reach = dconnected_np(xs, given, full, n)
    else:
        reach = dconnected(xs, given, pa, ch, n)
    return not any(reach[y] for y in ys)


# Node visits of the quick search for a path without a collider (`open_trek`).
TREK_STEPS = 256


def open_trek(xs: Iterable[int], ys: Iterable[int], given: bytearray, pa: Adj, ch: Adj
              ) -> bool:
    """Does a path without a collider, none of its inner nodes in `given`, join xs and ys
    (a y in `given` excepted)? Then they are d-connected given it. A Bayes-ball search that
    never passes a collider (so it needs no ancestors of `given`), cut after `TREK_STEPS`
    visits: True proves the connection, False proves nothing. On a large graph
    `d_separated` asks it first (issue 16): a connection near the sources, as for an
    instrument candidate next to the treatment or a set missing one member, is found within
    a few steps instead of a search over the whole graph."""
    sources = set(xs)
    targets = {y for y in ys if not given[y]}
    seen_up, seen_down = set(sources), set()
    stack: list[tuple[int, bool]] = [(x, True) for x in sources]  # arrived against an arrow?
    steps = 0
    while stack and steps < TREK_STEPS:
        u, up = stack.pop()
        steps += 1
        if u in targets:
            return True
        if given[u] and u not in sources:
            continue
        if up:  # from a child (or a source): on to the parents, and to the children
            for q in pa[u]:
                if q not in seen_up:
                    seen_up.add(q)
                    stack.append((q, True))
        for c in ch[u]:  # along the arrows: a collider further on is never passed
            if c not in seen_down:
                seen_down.add(c)
                stack.append((c, False))
    return False


def dconnected_np(sources: Iterable[int], given: bytearray,
                  edges: Edges, n: int) -> bytearray:
    """`dconnected`, vectorised: the Bayes-ball states (node, arrived from a child = 0 /
    from a parent = 1) are searched level by level over the graph's cached adjacency, each
    level a few numpy gathers filtered by the conditioning set and its ancestors."""
    cond = _bools(given, n)
    anc = _bools(closure_np(_ones(given), edges, n, up=True), n)
    ball = _adjacency(edges, "ball", n)
    # an arc leaves a state v (from a child) or n + v -> n + c (from a parent) when v is not
    # conditioned on, and n + v -> p (a collider) when v is an ancestor of `given`: one
    # gather from the table [not conditioned | ancestor] at the arc's key v (+ n at a
    # collider), the keys kept with the graph's arrays
    memo: dict[int, np.ndarray] = as_edge_arrays(edges).__dict__.setdefault("_ball_keys", {})
    key = memo.get(n)
    if key is None:
        collider = (ball.rows >= n) & (ball.indices[:ball.m] < n)
        key = memo[n] = (ball.rows % n + n * collider).astype(np.intp)
    seen = ball.reach(sources, keep=np.concatenate([~cond, anc])[key])
    up, down = seen[:n], seen[n:]
    hit = (up | down) & ~cond
    return bytearray(hit.view(np.uint8).tobytes())


def moral_search(
    pa: Adj,
    ch: Adj,
    n: int,
    in_a: bytearray,
    starts: Iterable[int],
    blocked: bytearray,
    removed: bytearray,
    restrict: bytearray | None = None,
) -> tuple[bytearray, list[int]]:
    """Search the moral graph of the ancestral set `in_a` (with hub nodes ``n + c``).

    Returns the mask (length ``2n``) of nodes reached and the list of `blocked` nodes touched
    (the boundary). Blocked nodes are reached but not expanded; `removed` nodes are never
    entered (they are conditioned on, but their hubs still marry their parents); with
    `restrict`, only nodes whose entry is 1 are entered (starts excepted).
    """
    found = _moral_search(pa, ch, n, in_a, starts, blocked, removed, restrict, -1)
    assert found is not None
    return found


def _moral_search(pa: Adj, ch: Adj, n: int, in_a: bytearray, starts: Iterable[int],
                  blocked: bytearray, removed: bytearray, restrict: bytearray | None,
                  limit: int) -> tuple[bytearray, list[int]] | None:
    """`moral_search`, or None once it has expanded more than `limit` nodes (no limit when
    negative): a caller with a vectorised search at hand then runs that instead."""
    expanded = 0
    seen = bytearray(2 * n)
    boundary: list[int] = []
    stack: list[int] = []
    for s in starts:
        if not seen[s]:
            seen[s] = 1
            stack.append(s)
    push = stack.append
    mark = boundary.append
    while stack:
        u = stack.pop()
        expanded += 1
        if expanded == limit:
            return None
        if u < n:
            for w in pa[u]:
                if not seen[w] and not removed[w] and (restrict is None or restrict[w]):
                    seen[w] = 1
                    if blocked[w]:
                        mark(w)
                    else:
                        push(w)
            for c in ch[u]:
                if not in_a[c]:
                    continue
                if not seen[c] and not removed[c] and (restrict is None or restrict[c]):
                    seen[c] = 1
                    if blocked[c]:
                        mark(c)
                    else:
                        push(c)
                h = n + c
                if not seen[h] and len(pa[c]) > 1 and (restrict is None or restrict[h]):
                    seen[h] = 1
                    push(h)
        else:
            for w in pa[u - n]:
                if not seen[w] and not removed[w] and (restrict is None or restrict[w]):
                    seen[w] = 1
                    if blocked[w]:
                        mark(w)
                    else:
                        push(w)
    return seen, boundary


@dataclass(frozen=True, slots=True)
class _HubArcs:
    """The hub graph of an ancestral set A: the graph's cached hub adjacency (every edge)
    restricted to A and its hubs (an edge into A lies in A, as A is ancestral)."""

    edges: Edges
    in_a: np.ndarray  # A and its hubs, length 2n

    @classmethod
    def build(cls, edges: Edges, in_a: bytearray, n: int) -> _HubArcs:
        a = _bools(in_a, n)
        return cls(edges, np.concatenate([a, a]))

    def arrays(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The arcs ``u -> w`` (both directions of each link) as two arrays."""
        src, dst = self.edges
        keep = self.in_a[dst]
        p, c = src[keep], dst[keep]
        hub = c + n
        return np.concatenate([p, c, p, hub]), np.concatenate([c, p, hub, p])

    def search(self, n: int, starts: Iterable[int], blocked: bytearray, removed: bytearray,
               restrict: bytearray | None) -> tuple[bytearray, list[int]]:
        """`moral_search`, vectorised: the same reached set and boundary."""
        starts = list(starts)
        is_start = np.zeros(2 * n, dtype=bool)
        is_start[starts] = True
        stop = np.concatenate([_bools(blocked, n), np.zeros(n, dtype=bool)])
        expandable = (~stop | is_start) & self.in_a
        enterable = ~np.concatenate([_bools(removed, n), np.zeros(n, dtype=bool)]) & self.in_a
        if restrict is not None:
            enterable &= _bools(restrict, 2 * n)
        seen = _adjacency(self.edges, "hub", n).reach(starts, expandable, enterable)
        boundary = np.flatnonzero(seen & stop & ~is_start).tolist()
        return bytearray(seen.view(np.uint8).tobytes()), boundary


@dataclass(frozen=True, slots=True)
class SeparationProblem:
    """Find Z with ``I ⊆ Z ⊆ R`` d-separating X and Y in the DAG ``(pa, ch)``.

    `allowed` is the mask of R (it must exclude X and Y); `include` is I (a subset of R).
    The ancestral set ``A = An(X ∪ Y ∪ I)`` and the candidate mask ``R ∩ A \\ I`` are computed
    once; every algorithm below shares them.
    """

    pa: Adj
    ch: Adj
    n: int
    xs: tuple[int, ...]
    ys: tuple[int, ...]
    include: tuple[int, ...]
    in_a: bytearray
    cand: bytearray  # R ∩ A minus I: nodes a separator may add
    removed: bytearray  # I
    arcs: _HubArcs | None = None  # set on large graphs: searches run vectorised
    # the two FINDSEP passes, searched once and shared by `exists`, `minimal`, `all_minimal`
    # and `smallest` (issue 16: each used to repeat them)
    _passes: dict[str, tuple[bytearray, list[int]]] = field(
        default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, pa: Adj, ch: Adj, n: int, xs: Iterable[int], ys: Iterable[int],
              include: Iterable[int], allowed: bytearray,
              edges: LazyEdges = None, try_small: bool = True) -> SeparationProblem:
        """`edges` (the arrays of `edge_arrays` for the same graph, or a function giving them)
        switch on the vectorised searches when the graph has at least `FAST_MIN` nodes and the
        ancestral set is not small (`closure_small`; ``try_small=False``: the caller knows it
        is not, and the attempt is skipped)."""
        xs, ys, inc = tuple(xs), tuple(ys), tuple(include)
        removed = mask(n, inc)
        small = closure_small((*xs, *ys, *inc), pa, n) \
            if edges is not None and n >= FAST_MIN and try_small else None
        if edges is not None and n >= FAST_MIN and small is None:
            full = _materialise(edges)
            assert full is not None
            in_a = closure_np((*xs, *ys, *inc), full, n, up=True)
            keep = _bools(in_a, n) & _bools(allowed, n) & ~_bools(removed, n)
            keep[list(xs + ys)] = False
            cand = bytearray(keep.view(np.uint8).tobytes())
            return cls(pa, ch, n, xs, ys, inc, in_a, cand, removed,
                       _HubArcs.build(full, in_a, n))
        in_a = small if small is not None else closure((*xs, *ys, *inc), pa, n)
        cand = bytearray(n)
        for v in _ones(in_a):
            if allowed[v] and not removed[v]:
                cand[v] = 1
        for v in (*xs, *ys):
            cand[v] = 0
        return cls(pa, ch, n, xs, ys, inc, in_a, cand, removed)

    def _search(self, starts: Iterable[int], blocked: bytearray,
                restrict: bytearray | None = None) -> tuple[bytearray, list[int]]:
        if self.arcs is not None:
            return self.arcs.search(self.n, starts, blocked, self.removed, restrict)
        return moral_search(self.pa, self.ch, self.n, self.in_a, starts, blocked,
                            self.removed, restrict)

    def _from_x(self) -> tuple[bytearray, list[int]]:
        """The search from X that stops at the candidates: what it reaches, and the
        candidates it touched (the X-side boundary). Searched once; callers only read it."""
        found = self._passes.get("x")
        if found is None:
            found = self._passes["x"] = self._search_near(self.xs, self.cand)
        return found

    def _search_near(self, starts: Iterable[int], blocked: bytearray
                     ) -> tuple[bytearray, list[int]]:
        """`_search` for a search expected to stop near its starts (X usually meets
        candidates within a few nodes): on a large graph a plain search is tried first and
        the vectorised one, O(all edges), runs only when the plain one spreads past the
        limit (issue 16). Both reach the same nodes (one-parent hubs aside: dead ends) and
        the same boundary, given sorted."""
        if self.arcs is not None:
            limit = min(SMALL_REGION, FAST_MIN, max(self.n // 16, 64)) + 1
            found = _moral_search(self.pa, self.ch, self.n, self.in_a, starts, blocked,
                                  self.removed, None, limit)
            if found is not None:
                return found[0], sorted(found[1])
        return self._search(starts, blocked)

    def _from_y(self) -> tuple[bytearray, list[int]]:
        """The search from Y that stops at the X-side boundary (FINDMINSEP's second pass):
        what it reaches, and the boundary nodes it touched. Searched once; read only."""
        found = self._passes.get("y")
        if found is None:
            _, near_x = self._from_x()
            found = self._passes["y"] = self._search(self.ys, mask(self.n, near_x))
        return found

    # --- FINDSEP / FINDMINSEP ------------------------------------------------------------
    def exists(self) -> bool:
        """Is there any separator? (FINDSEP: ``R ∩ An(X ∪ Y ∪ I)`` is one if any is.)"""
        seen, _ = self._from_x()
        return not any(seen[y] for y in self.ys)

    def maximal(self) -> list[int] | None:
        """FINDSEP's answer ``R ∩ An(X ∪ Y ∪ I)``, or None when no separator exists."""
        return self.largest() if self.exists() else None

    def largest(self) -> list[int]:
        """Every node a separator may use, ``(R ∩ An(X ∪ Y ∪ I)) ∪ I``: it separates X and Y
        exactly when some separator does, so the paths it leaves open show why none does."""
        return sorted(set(_ones(self.cand)) | set(self.include))

    def minimal(self) -> list[int] | None:
        """FINDMINSEP: a separator minimal among those containing I, or None.

        First pass: the candidates reachable from X (the X-side boundary); second pass: of
        those, the ones reachable from Y. Two linear searches.
        """
        if not self.exists():
            return None
        _, near_both = self._from_y()
        return sorted(set(near_both) | set(self.include))

    def nearest_to_y(self) -> list[int] | None:
        """The separator nearest to Y (the candidates reachable from Y), or None.

        van der Zander, Textor & Liśkiewicz (2015) use it for conditional instruments: among
        separators of Y and Z it leaves as much of the graph as possible on Z's side.
        """
        seen, near_y = self._search(self.ys, self.cand)
        if any(seen[x] for x in self.xs):
            return None
        return sorted(set(near_y) | set(self.include))

    # --- listing (Takata-style close sets) -----------------------------------------------
    def all_minimal(self) -> Iterator[list[int]]:
        """Every separator minimal among those containing I, each once, polynomial delay.

        A state is the Y-side component D of the moral graph (a mask), its separator
        ``S = N(D)`` (minimal, and the closest to X that the state allows) and T, the nodes
        already decided to stay in the separator. The children of a state move one node
        ``v_i`` of ``S \\ T`` to the X side and keep ``v_1 .. v_{i-1}`` in the separator, so
        the children partition the remaining answers. A child is kept only when it still has
        an answer (its own S contains T), so every state on the stack yields one: the delay
        between answers is a polynomial number of linear searches.
        """
        include = set(self.include)
        if not self.exists():
            return
        reached, sep = self._from_y()
        side_y = bytearray(reached)  # a copy: the shared pass is only read
        for s in sep:
            side_y[s] = 0
        yield sorted(set(sep) | include)
        stack: list[_ListFrame] = [_ListFrame(side_y, sep, sorted(sep), frozenset())]
        while stack:
            frame = stack[-1]
            if frame.next >= len(frame.moves):
                stack.pop()
                continue
            i = frame.next
            frame.next += 1
            v = frame.moves[i]
            keep = frame.keep | frozenset(frame.moves[:i])
            child = self._move_to_x_side(frame.d_mask, frame.sep, v)
            if child is None:
                continue
            d_mask, new_sep = child
            sep_set = set(new_sep)
            if not keep <= sep_set:
                continue  # a node promised to the separator would be on the X side
            yield sorted(sep_set | include)
            stack.append(_ListFrame(d_mask, new_sep, sorted(sep_set - keep), keep))

    def _move_to_x_side(self, d_mask: bytearray, sep: list[int],
                        v: int) -> tuple[bytearray, list[int]] | None:
        """The state after moving separator node `v` to the X side: the new Y-side component
        and its separator, or None when Y would become adjacent to the X side."""
        n = self.n
        # Nodes of D reachable from v through nodes that cannot be conditioned on must join
        # the X side; the candidates met on the way (B) are the new boundary inside D. The
        # flood usually stays near v, where a vectorised search would cost O(m); it is
        # searched plainly and, when it spreads (issue 16: over a whole ancestral set of
        # forbidden and latent nodes), vectorised instead: the same nodes (hubs of a
        # one-parent child aside, dead ends either way) and boundary.
        limit = -1 if self.arcs is None else min(SMALL_REGION, FAST_MIN, max(n // 16, 64)) + 1
        found = _moral_search(self.pa, self.ch, n, self.in_a, (v,), self.cand, self.removed,
                              d_mask, limit)
        if found is None:
            assert self.arcs is not None
            found = self.arcs.search(n, (v,), self.cand, self.removed, d_mask)
        flood, near_v = found
        if any(flood[y] for y in self.ys):
            return None
        restrict = bytearray(d_mask)
        blocked = bytearray(n)
        for s in sep:
            restrict[s] = 1
            blocked[s] = 1
        for s in near_v:
            blocked[s] = 1
        for u in _ones(flood):
            if u >= n or not blocked[u]:
                restrict[u] = 0
        restrict[v] = 0
        side, new_sep = self._search(self.ys, blocked, restrict)
        for s in new_sep:
            side[s] = 0
        return side, new_sep

    # --- minimum-size separator ----------------------------------------------------------
    def smallest(self) -> list[int] | None:
        """A separator of minimum size among those containing I, or None (a min vertex cut)."""
        if not self.exists():
            return None
        if self.arcs is None:
            cut = min_vertex_cut(self)
        else:
            # the X-side boundary is the answer when disjoint paths show it is a minimum cut
            # (usually: then no flow is run); the minimal separator (inside the boundary) is
            # a cut, so the flow is at most its size
            near_x, bound = self._from_x()[1], len(self._from_y()[1])
            if bound == len(near_x) and boundary_is_minimum(self, near_x):
                cut = near_x
            else:
                cut = min_vertex_cut_np(self, bound)
        return sorted(set(cut) | set(self.include))


@dataclass(slots=True)
class _ListFrame:
    d_mask: bytearray  # the Y-side component D (length 2n, hubs included)
    sep: list[int]  # N(D)
    moves: list[int]  # the separator minus T, in a fixed order
    keep: frozenset[int]  # T
    next: int = 0
