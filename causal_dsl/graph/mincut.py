"""Minimum-size separators: a minimum vertex cut in the moral graph of an ancestral set.

In: a `causal_dsl.graph.separators.SeparationProblem` (the DAG, X, Y, the ancestral set A, the
candidates and I). Out: the candidate nodes of a minimum cut separating X from Y in the moral
graph of A minus I, as a sorted list of node ids. Raises nothing a user can cause. Split from
`separators` so that each module reads in one sitting: `SeparationProblem.smallest` calls
`min_vertex_cut` on small graphs (augmenting paths in Python) and `min_vertex_cut_np` on large
ones (scipy's maximum flow). Both return the cut nearest to X, the same set.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from .arrays import _adjacency, _bools, _ones, mask

if TYPE_CHECKING:
    from .separators import SeparationProblem


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


def min_vertex_cut(p: SeparationProblem) -> list[int]:
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


def boundary_is_minimum(p: SeparationProblem, boundary: list[int]) -> bool:
    """Is `boundary` (the candidates that the search from X stopping at candidates touches,
    a separator when any exists) a minimum cut? Shown by a certificate: one path from X to Y
    through each boundary node, no two sharing a candidate (non-candidates cannot be cut, so
    paths may share them). That many such paths mean that no cut is smaller. False when the
    greedy search for them (each path a breadth-first search around the candidates the
    others use) gets stuck, which proves nothing: the caller then runs the maximum flow.

    When it holds, the boundary is exactly the cut `min_vertex_cut_np` returns, the one
    nearest to X: the nodes the search from X expanded are not candidates, so every finite
    cut leaves them (and the boundary's in-nodes) on the source side, and the boundary's cut
    leaves nothing else there. The searches cost |boundary| compiled breadth-first searches
    instead of a flow network's setup and augmentations (issue 16)."""
    assert p.arcs is not None
    n = p.n
    hub = _adjacency(p.arcs.edges, "hub", n)
    removed = _bools(p.removed, n)
    enterable = p.arcs.in_a & ~np.concatenate([removed, np.zeros(n, dtype=bool)])
    cand = _bools(p.cand, n)
    enterable[boundary] = False  # each path holds one boundary node: its own
    for b in boundary:
        enterable[b] = True
        pred = hub.tree(b, enterable)
        end = next((y for y in p.ys if pred[y] >= 0), -1)
        if end < 0:
            return False
        enterable[b] = False
        v = int(pred[end])
        while v != b:
            if v < n and cand[v]:
                enterable[v] = False  # a candidate on this path: the others avoid it
            v = int(pred[v])
    return True


# With a cut known to be at most this small (the minimal separator's size bounds it), the flow
# is found by Edmonds-Karp: one compiled breadth-first search per unit of flow, cheaper than
# Dinic's phases for a handful of units (issue 16); beyond, Dinic.
AUGMENTING_MAX = 32


def min_vertex_cut_np(p: SeparationProblem, bound: int | None = None) -> list[int]:
    """`min_vertex_cut`, with scipy's maximum flow on the node-split hub graph: Dinic, or
    Edmonds-Karp when `bound` (an upper bound on the cut's size, such as a separator's size)
    is at most `AUGMENTING_MAX`.

    Node u of the hub graph (hubs included, ``2n`` nodes) becomes ``u`` (in) and ``N + u``
    (out), ``N = 2n``; a virtual source feeds the outs of X and the ins of Y feed a virtual
    sink. The minimum cut is read off the residual graph: candidates whose in-node the
    source still reaches but whose out-node it does not. That source side is the same for
    every maximum flow, so neither the order of the arcs nor dead ends change the answer; the
    split graph of the region (A minus I, hubs of two or more parents) is laid out directly
    as a compressed matrix from the graph's cached hub adjacency (already sorted by tail),
    with no sort and no edge list (issue 16).
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, maximum_flow

    assert p.arcs is not None
    n, big = p.n, 2 * p.n
    unbounded = np.int32(1 << 24)  # more than any cut; sums of duplicates still fit int32
    hub = _adjacency(p.arcs.edges, "hub", n)
    m = hub.m
    # an arc of the hub graph of A minus I: both ends in A (hubs with their child) and not in I
    valid = p.arcs.in_a & ~np.concatenate([_bools(p.removed, n), np.zeros(n, dtype=bool)])
    valid[n:] &= np.bincount(p.arcs.edges[1], minlength=n) > 1  # a one-parent hub: dead end
    heads = hub.indices[:m]
    # an arc of a removed edge points past the graph (`Csr.subset`): never kept
    keep = valid[hub.rows] & valid.take(heads, mode="clip") & (heads < big)
    kept = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    # the flow runs on the region only (the moral graph of A minus I), renumbered 0..k-1 in
    # the graph's order: the arcs kept stay grouped by tail
    nodes = np.flatnonzero(valid)
    k = len(nodes)
    out_counts = np.diff(kept[hub.indptr[:big + 1]])[nodes]
    renumber = np.full(big, -1, dtype=np.int64)
    renumber[nodes] = np.arange(k)
    cand = np.concatenate([_bools(p.cand, n), np.zeros(n, dtype=bool)])[nodes]
    xs = np.unique(renumber[list(p.xs)])
    is_y = np.zeros(k, dtype=bool)
    is_y[renumber[list(p.ys)]] = True
    assert xs.min() >= 0 and is_y.any()
    source, sink = 2 * k, 2 * k + 1
    # rows: the ins (u -> k + u, and y -> sink), the outs (the kept hub arcs), the source
    counts = np.concatenate([1 + is_y, out_counts, [len(xs)], [0]])
    indptr = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    y_at = np.flatnonzero(is_y) + 1
    in_heads = np.insert(np.arange(k, dtype=np.int64) + k, y_at, sink)
    in_caps = np.insert(np.where(cand, 1, unbounded).astype(np.int32), y_at, unbounded)
    indices = np.concatenate([in_heads, renumber[heads[keep]], k + xs]).astype(np.int32)
    caps = np.concatenate([in_caps, np.full(int(out_counts.sum()) + len(xs), unbounded,
                                            np.int32)])
    size = 2 * k + 2
    graph = csr_matrix((caps, indices, indptr), shape=(size, size))
    method = "edmonds_karp" if bound is not None and bound <= AUGMENTING_MAX else "dinic"
    flow = maximum_flow(graph, source, sink, method=method).flow
    residual = graph - flow  # capacity left on each arc, and on each reverse arc
    residual.data = (residual.data > 0).astype(np.float64)
    residual.eliminate_zeros()
    reached = np.zeros(size, dtype=bool)
    reached[breadth_first_order(residual, source, directed=True,
                                return_predecessors=False)] = True
    cut = nodes[cand & reached[:k] & ~reached[k:2 * k]]
    return cut[cut < n].tolist()
