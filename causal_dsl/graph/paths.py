"""Paths between the treatment and the outcome: which are open given a set, and why.

In: a `CausalGraph` (or an `AdjustmentProblem` for paths in the proper backdoor graph), a
treatment, an outcome and a conditioning set. Out: `PathStatus` values (each path with what
blocks or opens it), `BackdoorPaths`, shortest directed paths, and sentences on why a set is
not a valid adjustment set. Raises `GraphError`: E301 for an unknown name, E308 when the
treatment, the outcome and the conditioning set overlap (and what `problem` raises).

The number of paths can grow exponentially, so every listing is capped (`limit`) and the search
has a budget of node expansions (`PATH_BUDGET`); a cut listing says so (``truncated``).

>>> from causal_dsl.graph import CausalGraph
>>> g = CausalGraph(["a", "t", "y"], [("a", "t"), ("a", "y"), ("t", "y")])
>>> print(backdoor_paths(g, "t", "y", {"a"}))
backdoor paths from t to y given {a}:
  t <- a -> y  blocked by a
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

import causal_dsl.graph.separators as sep

from ..errors import Diagnostic, GraphError
from .adjustment import AdjustmentProblem, problem
from .pathsearch import enumerate_paths
from .values import BackdoorPaths, PathStatus

if TYPE_CHECKING:
    from .core import CausalGraph

PATH_BUDGET = 20_000  # node expansions per path search


def _path_status(g: CausalGraph, nodes: tuple[int, ...], marks: tuple[int, ...],
                 given: bytearray, nearest: list[int]) -> PathStatus:
    """Classify the inner nodes of a path; ``nearest[v]`` is a conditioned node that is v or
    a descendant of v (-1 when there is none: a collider there stays closed)."""
    blocked, closed, opened, unobserved = [], [], [], []
    for i in range(1, len(nodes) - 1):
        v = nodes[i]
        collider = marks[i - 1] == sep.FORWARD and marks[i] == sep.BACKWARD
        if collider:
            if nearest[v] >= 0:
                opened.append((g._names[v], g._names[nearest[v]]))
            else:
                closed.append(g._label(v))
        elif given[v]:
            blocked.append(g._names[v])
        elif g._latent[v]:
            unobserved.append(g._label(v))
    shown: list[str] = [g._names[nodes[0]]]
    arrows: list[str] = []
    i = 1
    while i < len(nodes):
        v = nodes[i]
        if v in g._hidden:  # prev <- U -> next prints as prev <-> next
            arrows.append("<->")
            shown.append(g._names[nodes[i + 1]])
            i += 2
            continue
        arrows.append("->" if marks[i - 1] == sep.FORWARD else "<-")
        shown.append(g._names[v])
        i += 1
    is_open = not blocked and not closed
    return PathStatus(tuple(shown), tuple(arrows), is_open, tuple(blocked), tuple(closed),
                      tuple(opened), tuple(unobserved))


def _nearest_conditioned(n: int, z: list[int], pa: list[list[int]]) -> list[int]:
    """For every node, a member of `z` that is the node or its nearest descendant (-1 for
    nodes that are not ancestors of `z`): one breadth-first search up from z."""
    nearest = [-1] * n
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


def _paths(g: CausalGraph, pa: list[list[int]], ch: list[list[int]], t: int, y: int,
           z: list[int], *, backdoor_only: bool, open_only: bool, limit: int,
           budget: int = PATH_BUDGET, edges: sep.Edges | None = None
           ) -> tuple[list[PathStatus], bool]:
    n = g.n
    given = sep.mask(n, z)
    nearest = _nearest_conditioned(n, z, pa)
    allowed = sep.closure((t, y, *z), pa, n) if open_only else None
    found, truncated = enumerate_paths(
        pa, ch, n, t, y, backdoor_only=backdoor_only, allowed=allowed, given=given,
        open_only=open_only, limit=limit, budget=budget, edges=edges)
    paths = [_path_status(g, nodes, marks, given, nearest) for nodes, marks in found]
    paths.sort(key=lambda p: (len(p.nodes), str(p)))
    return paths, truncated


def backdoor_paths(g: CausalGraph, treatment: str, outcome: str, given: Iterable[str] = (),
                   limit: int = 50) -> BackdoorPaths:
    """The backdoor paths (first edge into the treatment), shortest first, at most `limit`,
    each with what blocks it given the set `given`."""
    t = g._id(treatment, "treatment")
    y = g._id(outcome, "outcome")
    z = g._ids(given, "conditioning set")
    if t == y or t in z or y in z:
        raise GraphError(Diagnostic(
            "E308", "the treatment, the outcome and the conditioning set must be disjoint",
            help="remove the repeated variable"))
    paths, truncated = _paths(g, g._pa, g._ch, t, y, z, backdoor_only=True, open_only=False,
                              limit=limit, edges=g._edges())
    return BackdoorPaths(treatment, outcome, g._name_set(z), tuple(paths), truncated)


def open_paths(p: AdjustmentProblem, given: Iterable[str], limit: int = 3
               ) -> tuple[PathStatus, ...]:
    """Non-causal paths from the treatment to the outcome (paths of the proper backdoor
    graph) that stay open given `given`, shortest first, at most `limit`: what a set that is
    not valid leaves open. Empty also when the search budget ran out before finding one."""
    z = p.graph._ids(given, "conditioning set")
    found, _ = _paths(p.graph, p.pa, p.ch, p.t, p.y, z, backdoor_only=False, open_only=True,
                      limit=limit, edges=p.edges)
    return tuple(found)


def directed_path(g: CausalGraph, source: str, target: str) -> tuple[str, ...] | None:
    """A shortest directed path from `source` to `target` (breadth first, children in the
    order the arrows were written), or None; ``(source,)`` when they are the same.

    >>> from causal_dsl.graph import CausalGraph
    >>> directed_path(CausalGraph("tmy", [("t", "m"), ("m", "y")]), "t", "y")
    ('t', 'm', 'y')
    """
    found = g._directed_path(g._id(source, "path start"), g._id(target, "path end"))
    return tuple(g._names[v] for v in found) if found else None


def adjustment_set_reason(g: CausalGraph, treatment: str, outcome: str,
                          adjusting: Iterable[str]) -> str | None:
    """Why `adjusting` is not a valid adjustment set for ``treatment -> outcome`` (the first
    forbidden member with its directed path, else the shortest path the set leaves open), or
    None when it is valid: None exactly when `is_adjustment_set` holds. Latent members are
    allowed, as there.

    >>> from causal_dsl.graph import CausalGraph
    >>> g = CausalGraph("ctmy", [("c", "t"), ("c", "y"), ("t", "m"), ("m", "y")])
    >>> adjustment_set_reason(g, "t", "y", {"c", "m"})
    'm is a mediator, on the causal path t -> m -> y'
    >>> adjustment_set_reason(g, "t", "y", set())
    'the path t <- c -> y stays open'
    >>> adjustment_set_reason(g, "t", "y", {"c"}) is None
    True
    """
    p = problem(g, treatment, outcome)
    names = g.in_order(adjusting, "adjustment set")
    for name in names:
        if name == outcome or p.is_forbidden(name):
            return f"{name} is {p.forbidden_role(name)}"
    if p.separates(names):
        return None
    found = open_paths(p, names, limit=1)
    if not found:
        return (f"{treatment} and {outcome} stay d-connected given this set (the path search "
                "stopped before finding the path)")
    path = found[0]
    if path.opened_at:
        c, m = path.opened_at[0]
        how = f"{c} is a collider on it" if c == m else (f"{m} is a descendant of the "
                                                          f"collider {c} on it")
        return f"conditioning on {m} opens the path {path.short()} ({how})"
    return f"the path {path.short()} stays open"
