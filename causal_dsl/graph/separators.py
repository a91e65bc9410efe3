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
  node-split hub graph (capacity 1 for nodes that may be conditioned on, infinite otherwise).

On large graphs (`FAST_MIN` nodes or more) the same searches run vectorised: the hub graph is
a compressed adjacency built once per graph (`causal_dsl.graph.arrays`), a search masks the
arcs that leave an expandable node and enter an enterable one (numpy) and hands them to
scipy's breadth-first search. Still linear, but in C, and no search rebuilds a matrix.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import (  # noqa: F401  (re-exported: the engine's modules reach them as sep.*)
    Csr,
    EdgeArrays,
    Edges,
    _adjacency,
    _bools,
    as_edge_arrays,
    closure_np,
    edge_arrays,
    reach_np,
)

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


def mask(n: int, nodes: Iterable[int]) -> bytearray:
    """A ``bytearray`` of length ``n`` with 1 at each node in `nodes`."""
    out = bytearray(n)
    for v in nodes:
        out[v] = 1
    return out


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
                n: int, edges: LazyEdges = None) -> bool:
    """Are xs and ys d-separated given the mask `given`? With `edges` (see `edge_arrays`; or
    a function giving them) and at least `FAST_MIN` nodes, the search runs vectorised — unless
    the ancestral set of xs, ys and `given` is small: then separation in its moral graph
    (Lauritzen et al. 1990, the same answer) is searched directly, touching only that set."""
    xs, ys = list(xs), list(ys)
    if edges is not None and n >= FAST_MIN:
        anc = closure_small((*xs, *ys, *_ones(given)), pa, n)
        if anc is not None:
            seen, _ = moral_search(pa, ch, n, anc, xs, bytearray(n), given)
            return not any(seen[y] for y in ys)
        full = _materialise(edges)
        assert full is not None
        reach = dconnected_np(xs, given, full, n)
    else:
        reach = dconnected(xs, given, pa, ch, n)
    return not any(reach[y] for y in ys)


def dconnected_np(sources: Iterable[int], given: bytearray,
                  edges: Edges, n: int) -> bytearray:
    """`dconnected`, vectorised: the Bayes-ball states (node, arrived from a child = 0 /
    from a parent = 1) are searched level by level over the graph's cached adjacency, each
    level a few numpy gathers filtered by the conditioning set and its ancestors."""
    cond = _bools(given, n)
    anc = _bools(closure_np(_ones(given), edges, n, up=True), n)
    ball = _adjacency(edges, "ball", n)
    # an arc leaves a state v (from a child) or n + v -> n + c (from a parent) when v is not
    # conditioned on, and n + v -> p (a collider) when v is an ancestor of `given`
    node, collider = ball.rows % n, (ball.rows >= n) & (ball.indices[:ball.m] < n)
    seen = ball.reach(sources, keep=np.where(collider, anc[node], ~cond[node]))
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

    @classmethod
    def build(cls, pa: Adj, ch: Adj, n: int, xs: Iterable[int], ys: Iterable[int],
              include: Iterable[int], allowed: bytearray,
              edges: LazyEdges = None) -> SeparationProblem:
        """`edges` (the arrays of `edge_arrays` for the same graph, or a function giving them)
        switch on the vectorised searches when the graph has at least `FAST_MIN` nodes and the
        ancestral set is not small (`closure_small`)."""
        xs, ys, inc = tuple(xs), tuple(ys), tuple(include)
        removed = mask(n, inc)
        small = closure_small((*xs, *ys, *inc), pa, n) \
            if edges is not None and n >= FAST_MIN else None
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

    # --- FINDSEP / FINDMINSEP ------------------------------------------------------------
    def exists(self) -> bool:
        """Is there any separator? (FINDSEP: ``R ∩ An(X ∪ Y ∪ I)`` is one if any is.)"""
        seen, _ = self._search(self.xs, self.cand)
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
        seen, near_x = self._search(self.xs, self.cand)
        if any(seen[y] for y in self.ys):
            return None
        _, near_both = self._search(self.ys, mask(self.n, near_x))
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
        seen, near_x = self._search(self.xs, self.cand)
        if any(seen[y] for y in self.ys):
            return
        side_y, sep = self._search(self.ys, mask(self.n, near_x))
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
        # the X side; the candidates met on the way (B) are the new boundary inside D.
        # (always the plain search: the flood stays near v, a vectorised search costs O(m))
        flood, near_v = moral_search(self.pa, self.ch, n, self.in_a, (v,), self.cand,
                                     self.removed, d_mask)
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
        cut = _min_vertex_cut(self) if self.arcs is None else _min_vertex_cut_np(self)
        return sorted(set(cut) | set(self.include))


@dataclass(slots=True)
class _ListFrame:
    d_mask: bytearray  # the Y-side component D (length 2n, hubs included)
    sep: list[int]  # N(D)
    moves: list[int]  # the separator minus T, in a fixed order
    keep: frozenset[int]  # T
    next: int = 0


def _ones(m: bytearray) -> Iterator[int]:
    """Indices of the nonzero entries of a mask (fast path through bytes.find)."""
    i = m.find(1)
    while i != -1:
        yield i
        i = m.find(1, i + 1)


def _hub_adjacency(p: SeparationProblem) -> list[list[int]]:
    """The moral graph of ``A`` minus I with hub nodes, as explicit lists (length ``2n``)."""
    n, pa, ch, in_a, removed = p.n, p.pa, p.ch, p.in_a, p.removed
    adj: list[list[int]] = [[] for _ in range(2 * n)]
    for u in _ones(in_a):
        if not removed[u]:
            row = adj[u]
            row.extend(w for w in pa[u] if not removed[w])
            for c in ch[u]:
                if in_a[c]:
                    if not removed[c]:
                        row.append(c)
                    if len(pa[c]) > 1:
                        row.append(n + c)
        if len(pa[u]) > 1:
            adj[n + u] = [w for w in pa[u] if not removed[w]]
    return adj


def _min_vertex_cut(p: SeparationProblem) -> list[int]:
    """Minimum set of candidate nodes separating X from Y in the moral graph (minus I).

    Max-flow with node splitting: node u becomes ``u_in -> u_out`` with capacity 1 when u is
    a candidate and unbounded otherwise; every moral edge is unbounded both ways. States are
    ``2u`` (u_in) and ``2u + 1`` (u_out). Each augmenting path is one breadth-first search, and
    the flow is at most the size of the answer, so this costs O(|answer| · (n + m)).
    """
    n, cand = p.n, p.cand
    adj = _hub_adjacency(p)
    through = [0] * (2 * n)  # flow on u_in -> u_out
    inflow: list[dict[int, int] | None] = [None] * (2 * n)  # inflow[w][u]: flow u_out -> w_in
    is_y = mask(2 * n, p.ys)
    sources = [2 * x + 1 for x in p.xs]

    def search() -> tuple[list[int], int]:
        prev = [-1] * (4 * n)
        queue = deque(sources)
        for s in sources:
            prev[s] = s
        while queue:
            s = queue.popleft()
            u = s >> 1
            if s & 1:  # u_out: along any moral edge, or back through u's own split arc
                for w in adj[u]:
                    t = 2 * w
                    if prev[t] < 0:
                        prev[t] = s
                        if is_y[w]:
                            return prev, t
                        queue.append(t)
                if through[u] > 0 and prev[2 * u] < 0:
                    prev[2 * u] = s
                    queue.append(2 * u)
            else:  # u_in: through u if it has room, or back along an edge carrying flow in
                if (u >= n or not cand[u] or through[u] == 0) and prev[s + 1] < 0:
                    prev[s + 1] = s
                    queue.append(s + 1)
                flows = inflow[u]
                if flows:
                    for w, f in flows.items():
                        t = 2 * w + 1
                        if f > 0 and prev[t] < 0:
                            prev[t] = s
                            queue.append(t)
        return prev, -1

    while True:
        prev, end = search()
        if end < 0:
            break
        s = end
        while prev[s] != s:
            r = prev[s]
            u, w = r >> 1, s >> 1
            if u == w:
                through[u] += 1 if s & 1 else -1
            elif r & 1:  # u_out -> w_in: more flow on the edge u -> w
                row = inflow[w]
                if row is None:
                    row = inflow[w] = {}
                row[u] = row.get(u, 0) + 1
            else:  # u_in -> w_out: cancel flow previously sent w_out -> u_in
                row = inflow[u]
                assert row is not None
                row[w] -= 1
            s = r
    reached = prev
    return [u for u in _ones(cand) if reached[2 * u] >= 0 and reached[2 * u + 1] < 0]


def _min_vertex_cut_np(p: SeparationProblem) -> list[int]:
    """`_min_vertex_cut`, with scipy's maximum flow (Dinic) on the node-split hub graph.

    Node u of the hub graph (hubs included, ``2n`` nodes) becomes ``u`` (in) and ``N + u``
    (out), ``N = 2n``; a virtual source feeds the outs of X and the ins of Y feed a virtual
    sink. The minimum cut is read off the residual graph: candidates whose in-node the
    source still reaches but whose out-node it does not.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    assert p.arcs is not None
    n, big = p.n, 2 * p.n
    unbounded = np.int32(1 << 24)  # more than any cut; sums of duplicates still fit int32
    removed = np.concatenate([_bools(p.removed, n), np.zeros(n, dtype=bool)])
    arc_u, arc_w = p.arcs.arrays(n)
    ok = ~removed[arc_u] & ~removed[arc_w]
    cand = np.concatenate([_bools(p.cand, n), np.zeros(n, dtype=bool)])
    nodes = np.arange(big, dtype=np.int64)
    source, sink = 2 * big, 2 * big + 1
    xs, ys = np.asarray(p.xs, dtype=np.int64), np.asarray(p.ys, dtype=np.int64)
    rows = np.concatenate([nodes, big + arc_u[ok], np.full(len(xs), source), ys])
    cols = np.concatenate([big + nodes, arc_w[ok], big + xs, np.full(len(ys), sink)])
    caps = np.concatenate([np.where(cand, 1, unbounded).astype(np.int32),
                           np.full(int(ok.sum()) + len(xs) + len(ys), unbounded, np.int32)])
    graph = csr_matrix((caps, (rows, cols)), shape=(2 * big + 2, 2 * big + 2))
    graph.sum_duplicates()
    flow = maximum_flow(graph, source, sink).flow
    residual = (graph - flow).tocoo()  # capacity left on each arc, and on each reverse arc
    left = residual.data > 0
    reached = reach_np(2 * big + 2, residual.row[left].astype(np.int64),
                       residual.col[left].astype(np.int64), (source,))
    cut = cand & reached[:big] & ~reached[big:2 * big]
    return np.flatnonzero(cut[:n]).tolist()
