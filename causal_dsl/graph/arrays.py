"""Edge arrays and compressed adjacencies: the vectorised searches of the graph engine.

In: a DAG's edges as two numpy arrays (parents, children) or any arc list. Out: `EdgeArrays`
(the two arrays, plus compressed adjacencies built once on first use and kept with them) and
boolean reachability masks (`Csr.reach`, `reach_np`, `closure_np`). Raises nothing a user can
cause. `causal_dsl.graph.separators` runs its searches on these on large graphs; a
`CausalGraph` builds its `EdgeArrays` once, so no search rebuilds a sparse matrix from an edge
list (issue 16: that rebuild was most of a query's time). scipy's compiled breadth-first search
walks the adjacency; a search only filters the cached arrays with numpy masks. A graph with a
few edges removed (a query's proper backdoor graph, `EdgeArrays.subset`) shares its parent's
layout, the removed arcs pointing at a dead end, so deriving it costs one copy of the heads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

Edges = tuple[np.ndarray, np.ndarray]
Adj = Sequence[Sequence[int]]


def mask(n: int, nodes: Iterable[int]) -> bytearray:
    """A ``bytearray`` of length ``n`` with 1 at each node in `nodes`."""
    out = bytearray(n)
    for v in nodes:
        out[v] = 1
    return out


def _ones(m: bytearray) -> Iterator[int]:
    """Indices of the nonzero entries of a mask (fast path through bytes.find)."""
    i = m.find(1)
    while i != -1:
        yield i
        i = m.find(1, i + 1)


def reach_np(n_nodes: int, heads: np.ndarray, tails: np.ndarray,
             starts: Iterable[int]) -> np.ndarray:
    """Boolean mask of the nodes reachable from `starts` along the arcs ``heads -> tails``
    (starts included). For one-off arc lists; `EdgeArrays` keeps the adjacency of a graph
    searched many times."""
    return Csr.build(heads, tails, n_nodes, len(heads)).reach(starts)


@dataclass(frozen=True, slots=True)
class Csr:
    """Arcs as a compressed adjacency, sorted by tail, in the form scipy's breadth-first
    search takes without converting it (int32 indices, float64 weights): built once per
    graph, so a search only filters it with numpy masks and never rebuilds a sparse matrix
    from an edge list (issue 16: that rebuild was most of a query's time).

    A graph with some edges removed (`subset`) keeps every arc of its parent, the removed
    ones pointing at the dead end ``n_nodes + 1`` (a node without arcs that no answer
    includes): a copy of the heads and a few writes instead of a filtered rebuild. Code that
    reads the heads (``indices[:m]``) must therefore ignore heads ``>= n_nodes``."""

    n_nodes: int
    indptr: np.ndarray  # int32, length n_nodes + 3 (room for a virtual source and a dead end)
    indices: np.ndarray  # int32: the head of each arc, then room for the virtual source's
    rows: np.ndarray  # int32: the tail of each arc
    ones: np.ndarray  # float64 weights, one per arc (and room for the virtual source's)
    position: np.ndarray  # intp: the arc of block b's copy of edge e is position[b * m_edges + e]
    m_edges: int
    gap: np.ndarray  # int32: dead end minus head, per arc (0 for a dead arc): see `reach`

    @classmethod
    def build(cls, tails: np.ndarray, heads: np.ndarray, n_nodes: int, m_edges: int) -> Csr:
        """The arcs ``tails -> heads``: blocks of `m_edges` arcs, one arc per edge each."""
        order = np.argsort(tails, kind="stable")
        m = len(tails)
        indptr = np.zeros(n_nodes + 3, dtype=np.int32)
        np.cumsum(np.bincount(tails, minlength=n_nodes), out=indptr[1:n_nodes + 1])
        indices = np.empty(m + n_nodes, dtype=np.int32)
        indices[:m] = heads[order]
        position = np.empty(m, dtype=np.intp)
        position[order] = np.arange(m, dtype=np.intp)
        gap = (n_nodes + 1 - indices[:m]).astype(np.int32)
        return cls(n_nodes, indptr, indices, tails[order].astype(np.int32),
                   np.ones(m + n_nodes), position, max(m_edges, 1), gap)

    def subset(self, keep_edge: np.ndarray) -> Csr:
        """The arcs of the edges `keep_edge` marks (a mask over this graph's edges): the
        others are sent to the dead end. O(arcs) for one copy, plus the removed arcs."""
        dead = np.flatnonzero(~keep_edge)
        indices, gap = self.indices.copy(), self.gap.copy()
        if len(dead):
            blocks = np.arange(len(self.rows) // self.m_edges, dtype=np.intp) * self.m_edges
            arcs = self.position[(blocks[:, None] + dead[None, :]).ravel()]
            indices[arcs] = self.n_nodes + 1
            gap[arcs] = 0
        return Csr(self.n_nodes, self.indptr, indices, self.rows, self.ones, self.position,
                   self.m_edges, gap)

    @property
    def m(self) -> int:
        return len(self.rows)

    def reach(self, starts: Iterable[int], expandable: np.ndarray | None = None,
              enterable: np.ndarray | None = None, keep: np.ndarray | None = None
              ) -> np.ndarray:
        """Nodes reachable from `starts` (always included) along the arcs ``u -> w`` whose
        ``u`` is `expandable` and ``w`` `enterable` (None: all), or the arcs `keep` marks."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import breadth_first_order

        n, m = self.n_nodes, self.m
        heads = self.indices[:m]
        first = np.fromiter(starts, dtype=np.int64).astype(np.int32)
        if len(first) > n:  # repeated starts are harmless, but must fit the spare room
            first = np.unique(first)
        entered: np.ndarray | None = None
        drop: np.ndarray | None = None  # the arcs left out
        if keep is None and (expandable is not None or enterable is not None):
            # Filtered per node, not per arc (one gather instead of two): a node that may not
            # be entered is still reached but never expanded, and is dropped afterwards. A
            # node is then reached exactly when a path of kept arcs leads to it.
            if enterable is not None:
                entered = enterable.copy()
                entered[first] = True
            if expandable is None:
                assert entered is not None
                expand = entered
            else:
                expand = expandable if entered is None else expandable & entered
            drop = (~expand).take(self.rows)
        else:
            if expandable is not None:
                out_of = expandable.take(self.rows)
                keep = out_of if keep is None else keep & out_of
            if enterable is not None:
                # a dead arc's head is past the mask (clipped: the arc stays dead anyway)
                into = enterable.take(heads, mode="clip")
                keep = into if keep is None else keep & into
            if keep is not None:
                drop = ~keep
        # node n: a virtual source with an arc to every start; node n + 1: a dead end that
        # the arcs left out point to instead (cheaper than removing them)
        indptr = self.indptr
        indptr[n + 1] = indptr[n + 2] = m + len(first)
        if drop is None:  # the cached arrays, with the source's arcs in their spare room
            indices = self.indices[:m + len(first)]
        else:  # head + (dead end - head) where the arc is dropped: two passes, no mask index
            indices = np.empty(m + len(first), dtype=np.int32)
            np.multiply(self.gap, drop, out=indices[:m])
            indices[:m] += heads
        indices[m:] = first
        graph = csr_matrix((self.ones[:len(indices)], indices, indptr), shape=(n + 2, n + 2))
        order = breadth_first_order(graph, n, directed=True, return_predecessors=False)
        out = np.zeros(n + 2, dtype=bool)
        out[order] = True
        return out[:n] if entered is None else out[:n] & entered

    def tree(self, start: int, enterable: np.ndarray) -> np.ndarray:
        """The breadth-first tree from `start` over the nodes `enterable` marks: the
        predecessor of each node reached (-1 for `start` and for a node not reached), so a
        path to any reached node is read back from it. A node not enterable may be reached
        but is never expanded; its predecessor is then reported (callers ask only about
        enterable nodes)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import breadth_first_order

        n, m = self.n_nodes, self.m
        expand = enterable.copy()
        expand[start] = True
        indices = np.empty(m, dtype=np.int32)  # head + (dead end - head) out of a node not
        np.multiply(self.gap, (~expand).take(self.rows), out=indices)  # expanded
        indices += self.indices[:m]
        indptr = self.indptr
        indptr[n + 1] = indptr[n + 2] = m
        graph = csr_matrix((self.ones[:m], indices, indptr), shape=(n + 2, n + 2))
        _, pred = breadth_first_order(graph, start, directed=True, return_predecessors=True)
        return np.where(pred[:n] < 0, -1, pred[:n])


class EdgeArrays(tuple[np.ndarray, np.ndarray]):
    """All edges of a DAG as two arrays ``(src, dst)``, parents and children, plus the
    compressed adjacencies the vectorised searches walk, each built once on first use (the
    arrays live as long as their `CausalGraph` or query, so every search reuses them)."""

    def __new__(cls, src: np.ndarray, dst: np.ndarray) -> EdgeArrays:
        return super().__new__(cls, (src, dst))

    def subset(self, keep: np.ndarray) -> EdgeArrays:
        """The edges `keep` marks (a graph with some edges removed, such as a proper backdoor
        graph): its adjacencies are derived from this one's (`Csr.subset`) instead of
        rebuilt."""
        src, dst = self
        out = EdgeArrays(src[keep], dst[keep])
        if "_parent" in self.__dict__:  # a subset of a subset: one mask over the root's edges
            root, root_keep = self.__dict__["_parent"]
            keep_root = root_keep.copy()
            keep_root[root_keep] = keep
            out.__dict__["_parent"] = (root, keep_root)
        else:
            out.__dict__["_parent"] = (self, keep)
        return out

    def adjacency(self, kind: str, n: int) -> Csr:
        """``"children"``, ``"parents"``, ``"skeleton"`` (both; over ``n`` nodes), ``"hub"`` (the
        hub graph of every edge, over ``2n`` nodes: ``p - c`` and ``p - hub(c)`` both ways) or
        ``"ball"``
        (the Bayes-ball states of `dconnected_np`, over ``2n`` nodes)."""
        cache: dict[tuple[str, int], Csr] = self.__dict__.setdefault("_adjacency", {})
        key = (kind, n)
        if key not in cache and "_parent" in self.__dict__:
            parent, keep = self.__dict__["_parent"]
            cache[key] = parent.adjacency(kind, n).subset(keep)
        if key not in cache:
            src, dst = self
            m = len(src)
            if kind == "children":
                cache[key] = Csr.build(src, dst, n, m)
            elif kind == "parents":
                cache[key] = Csr.build(dst, src, n, m)
            elif kind == "skeleton":
                cache[key] = Csr.build(np.concatenate([src, dst]), np.concatenate([dst, src]),
                                       n, m)
            elif kind == "hub":
                hub = dst + n
                cache[key] = Csr.build(np.concatenate([src, dst, src, hub]),
                                       np.concatenate([dst, src, hub, src]), 2 * n, m)
            else:  # state v: arrived from a child; state n + v: arrived from a parent
                cache[key] = Csr.build(np.concatenate([dst, src, n + src, n + dst]),
                                       np.concatenate([src, n + dst, n + dst, src]), 2 * n, m)
        return cache[key]


def as_edge_arrays(edges: Edges) -> EdgeArrays:
    """`edges` itself when it is an `EdgeArrays` (keeping its cached adjacencies)."""
    return edges if isinstance(edges, EdgeArrays) else EdgeArrays(*edges)


def _adjacency(edges: Edges, kind: str, n: int) -> Csr:
    """The cached adjacency of `edges` when it is an `EdgeArrays`, else built now."""
    return as_edge_arrays(edges).adjacency(kind, n)


def edge_arrays(pa: Adj, n: int) -> EdgeArrays:
    """All edges as two arrays, parents and children (built once per graph)."""
    sizes = np.fromiter((len(p) for p in pa), dtype=np.int64, count=n)
    src = np.fromiter((q for p in pa for q in p), dtype=np.int64, count=int(sizes.sum()))
    dst = np.repeat(np.arange(n, dtype=np.int64), sizes)
    return EdgeArrays(src, dst)


def closure_np(seeds: Iterable[int], edges: Edges, n: int, up: bool) -> bytearray:
    """`closure` on edge arrays: ancestors (``up``) or descendants of the seeds."""
    seen = _adjacency(edges, "parents" if up else "children", n).reach(seeds)
    return bytearray(seen.view(np.uint8).tobytes())


def distances_np(edges: Edges, n: int, source: int, enterable: np.ndarray) -> list[int]:
    """Breadth-first distances from `source` in the skeleton of `edges` (edges taken either
    way), entering only the nodes `enterable` marks (the source always): -1 where none leads.
    scipy's Dijkstra with unit weights, which gives the levels of a breadth-first search."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    adj = _adjacency(edges, "skeleton", n)
    m = adj.m
    entered = enterable.copy()
    entered[source] = True
    indices = np.empty(m, dtype=np.int32)  # a node not entered is never left:
    np.multiply(adj.gap, (~entered).take(adj.rows), out=indices)  # its arcs go to the dead end
    indices += adj.indices[:m]
    indptr = adj.indptr
    indptr[n + 1] = indptr[n + 2] = m
    graph = csr_matrix((adj.ones[:m], indices, indptr), shape=(n + 2, n + 2))
    dist = dijkstra(graph, directed=True, indices=source, unweighted=True)[:n]
    reached = np.isfinite(dist) & entered
    return np.where(reached, dist, -1).astype(np.int64).tolist()


def _bools(m: bytearray | None, size: int) -> np.ndarray:
    if m is None:
        return np.ones(size, dtype=bool)
    return np.frombuffer(bytes(m), dtype=np.uint8).astype(bool)
