"""Listing the paths between two nodes, shortest first, with what blocks each (for the
explanations of `causal_dsl.graph.paths`).

In: parent and child lists over node ids (as `causal_dsl.graph.separators` takes them), two
nodes and a conditioning mask. Out: the paths as node and edge-mark tuples, and whether the
listing was cut at its limit. Raises nothing. Split from `separators` so that each module reads
in one sitting; it uses that module's masks and closures.
"""

from __future__ import annotations

from collections import deque

from .arrays import Edges, _bools, distances_np
from .separators import BACKWARD, FAST_MIN, FORWARD, Adj, _ones, closure


def _distances(pa: Adj, ch: Adj, n: int, x: int, y: int, allowed: bytearray | None
               ) -> list[int]:
    """Breadth-first distances to y in the skeleton, never through x (and only through
    `allowed` nodes when given); -1 where no such path leads."""
    dist = [-1] * n
    dist[y] = 0
    queue = deque([y])
    while queue:
        u = queue.popleft()
        for w in (*pa[u], *ch[u]):
            if dist[w] < 0 and w != x and (allowed is None or allowed[w]):
                dist[w] = dist[u] + 1
                queue.append(w)
    return dist


def enumerate_paths(
    pa: Adj,
    ch: Adj,
    n: int,
    x: int,
    y: int,
    *,
    backdoor_only: bool,
    allowed: bytearray | None = None,
    given: bytearray | None = None,
    open_only: bool = False,
    limit: int = 50,
    budget: int = 200_000,
    edges: Edges | None = None,
) -> tuple[list[tuple[tuple[int, ...], tuple[int, ...]]], bool]:
    """Simple paths from x to y, shortest first, as ``(nodes, marks)`` pairs.

    ``marks[i]`` is `FORWARD` when ``nodes[i] -> nodes[i+1]`` and `BACKWARD` otherwise. With
    `backdoor_only` the first edge must point into x. With `open_only`, only paths that are
    open given the mask `given` (non-colliders outside it, colliders ancestors of it) are
    returned, and blocked prefixes are pruned. The number of paths can be exponential, so the
    search is iterative deepening with a distance bound, stops after `limit` paths or `budget`
    node expansions, and says whether it stopped early (second value). `edges` (the arrays
    of the same graph, see `causal_dsl.graph.arrays`) make the distance search vectorised on
    a large graph: it covers the whole graph, where the listing itself stays near the paths.
    """
    anc = bytearray(n)
    cond = given if given is not None else bytearray(n)
    if open_only:
        anc = closure(_ones(cond), pa, n)
    # distance to y in the skeleton (never through x): an admissible bound for pruning
    if edges is not None and n >= FAST_MIN:  # the same distances, vectorised
        enterable = _bools(allowed, n)
        enterable[x] = False
        dist = distances_np(edges, n, y, enterable)
    else:
        dist = _distances(pa, ch, n, x, y, allowed)

    def steps(v: int) -> list[tuple[int, int]]:
        return [(q, BACKWARD) for q in pa[v]] + [(c, FORWARD) for c in ch[v]]

    first = [(q, BACKWARD) for q in pa[x]] if backdoor_only else steps(x)
    reachable = [dist[w] for w, _ in first if dist[w] >= 0]
    if not reachable:
        return [], False
    found: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    expansions = 0
    length = min(reachable) + 1
    while length <= n:
        bound_hit = False
        path: list[int] = [x]
        marks: list[int] = []
        on = bytearray(n)
        on[x] = 1
        stack = [iter(first)]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                if len(path) > 1:
                    on[path.pop()] = 0
                    marks.pop()
                continue
            w, m = step
            if on[w] or dist[w] < 0 or (allowed is not None and not allowed[w]):
                continue
            if len(marks) + 1 + dist[w] > length:
                bound_hit = True
                continue
            if open_only and len(path) > 1:
                v = path[-1]
                if marks[-1] == FORWARD and m == BACKWARD:  # v is a collider
                    if not anc[v]:
                        continue
                elif cond[v]:
                    continue
            expansions += 1
            if expansions > budget:
                return found, True
            if w == y:
                if len(marks) + 1 == length:
                    found.append(((*path, y), (*marks, m)))
                    if len(found) > limit:
                        return found[:limit], True
                continue
            path.append(w)
            marks.append(m)
            on[w] = 1
            stack.append(iter(steps(w)))
        if not bound_hit:
            break
        length += 1
    return found, False
