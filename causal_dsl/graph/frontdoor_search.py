"""Search for a front-door adjustment set, and say why there is none.

In: a DAG as a networkx ``DiGraph`` over every variable (latent ones included), the set of
latent variables, optionally bidirected edges (each is read as a latent common parent), a
treatment x, an outcome y, variables that must be in the set (`include`) and those allowed in it
(`restrict`, default: every observed variable). Out: a `FrontDoorSearch` — the largest valid set,
a small valid subset of it, whether the natural candidate (x's children on causal paths) works,
and, when no set exists, the reason in words. Raises ``ValueError`` for names not in the graph
(the caller validates names against the model first).

A set Z satisfies Pearl's front-door criterion for (x, y) when (i) Z intercepts every directed
path from x to y, (ii) no back-door path from x to Z is open (x ⊥ Z in the graph without x's
outgoing arrows), and (iii) x blocks every back-door path from Z to y (Z ⊥ y | x in the graph
without Z's outgoing arrows).

The search is that of Jeong, Tian & Bareinboim (2022, "Finding and listing front-door adjustment
sets", NeurIPS), in polynomial time: (ii) is a property of each variable alone, so keep the
allowed variables that pass it; (iii) only gets easier as Z grows (more arrows are cut), so the
largest subset satisfying it is the greatest fixed point of "drop every member still d-connected
to y given x", each round one reachability pass (O(V + E)), at most |Z| rounds; (i) only gets
easier as Z grows, so a front-door set exists if and only if that largest set intercepts every
causal path. A smaller set is then found by dropping members one at a time while the rest stays
valid (no single member of the result can be dropped; not necessarily the smallest).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx


@dataclass(frozen=True)
class FrontDoorSearch:
    """The outcome of a front-door search for ``x -> y``."""

    treatment: str
    outcome: str
    largest: frozenset[str] | None  # the largest valid set (None: no valid set exists)
    small: frozenset[str] | None  # a valid subset from which no member can be dropped
    natural_valid: bool  # do x's children on causal paths satisfy the criterion?
    reason: str  # why no set exists ("" when one does)

    @property
    def found(self) -> bool:
        return self.largest is not None

    def __str__(self) -> str:
        if self.small is None:
            return f"no front-door set for {self.treatment} -> {self.outcome}: {self.reason}"
        s = "{" + ", ".join(sorted(map(str, self.small))) + "}"
        return f"front-door set for {self.treatment} -> {self.outcome}: {s}"


def _mixed(dag: nx.DiGraph, bidirected: Iterable[tuple[str, str]]) -> tuple[nx.DiGraph, set[str]]:
    g = dag.copy()
    extra: set[str] = set()
    for a, b in bidirected:
        u = f"<{a}<->{b}>"
        g.add_edges_from([(u, a), (u, b)])
        extra.add(u)
    return g, extra


def d_connected_to(dag: nx.DiGraph, source: str, given: Iterable[str],
                   cut_out: Iterable[str] = ()) -> set[str]:
    """Every node d-connected to `source` given `given` (the reachable set of the Bayes-ball
    algorithm, Koller & Friedman 2009, Alg. 3.1), in the graph where the outgoing arrows of
    `cut_out` are removed. The source itself is not included."""
    z = set(given)
    cut = set(cut_out)

    def parents(v: str) -> Iterable[str]:
        return (p for p in dag.predecessors(v) if p not in cut)

    def children(v: str) -> Iterable[str]:
        return () if v in cut else dag.successors(v)

    # ancestors of the conditioning set (a collider is open when it or a descendant is in z)
    anc = set(z)
    stack = list(z)
    while stack:
        for p in parents(stack.pop()):
            if p not in anc:
                anc.add(p)
                stack.append(p)
    # states: (node, arrived from a child = "up", from a parent = "down")
    seen: set[tuple[str, bool]] = set()
    out: set[str] = set()
    queue = deque([(source, True)])
    while queue:
        v, up = queue.popleft()
        if (v, up) in seen:
            continue
        seen.add((v, up))
        if v not in z and v != source:
            out.add(v)
        if up and v not in z:
            queue.extend((p, True) for p in parents(v))
            queue.extend((c, False) for c in children(v))
        elif not up:
            if v not in z:
                queue.extend((c, False) for c in children(v))
            if v in anc:
                queue.extend((p, True) for p in parents(v))
    return out


def _intercepts(dag: nx.DiGraph, x: str, y: str, z: set[str]) -> list[str] | None:
    """None when every directed path x → y meets z, else a shortest path avoiding z."""
    prev: dict[str, str | None] = {x: None}
    queue = deque([x])
    while queue:
        v = queue.popleft()
        for c in dag.successors(v):
            if c in prev or c in z:
                continue
            prev[c] = v
            if c == y:
                path = [y]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            queue.append(c)
    return None


def is_front_door_set(dag: nx.DiGraph, x: str, y: str, z: Iterable[str]) -> bool:
    """Pearl's three conditions for `z` (no latent check: the caller passes observed names).

    >>> g = nx.DiGraph([("x", "m"), ("m", "y"), ("u", "x"), ("u", "y")])
    >>> is_front_door_set(g, "x", "y", {"m"}), is_front_door_set(g, "x", "y", set())
    (True, False)
    """
    zs = set(z)
    if x in zs or y in zs or _intercepts(dag, x, y, zs) is not None:
        return False
    if zs & d_connected_to(dag, x, (), cut_out=[x]):
        return False
    return not (d_connected_to(dag, y, [x], cut_out=zs) & zs)


def front_door_search(
    dag: nx.DiGraph,
    latent: Iterable[str],
    x: str,
    y: str,
    *,
    include: Iterable[str] = (),
    restrict: Iterable[str] | None = None,
    bidirected: Iterable[tuple[str, str]] = (),
) -> FrontDoorSearch:
    """Find a front-door set for ``x -> y`` among the allowed observed variables.

    >>> g = nx.DiGraph([("x", "l"), ("l", "m"), ("m", "y"), ("u", "x"), ("u", "y")])
    >>> r = front_door_search(g, {"u", "l"}, "x", "y")   # x's only child is latent
    >>> sorted(r.small), r.natural_valid
    (['m'], False)
    >>> print(front_door_search(nx.DiGraph([("x", "y"), ("u", "x"), ("u", "y")]), {"u"}, "x", "y"))
    no front-door set for x -> y: the arrow x -> y reaches the outcome directly, so no set can \
intercept it
    """
    g, hidden = _mixed(dag, bidirected)
    for v in (x, y, *include, *(restrict or ())):
        if v not in g:
            raise ValueError(f"{v!r} is not a node of the graph")
    lat = set(latent) | hidden
    allowed = set(g) - lat - {x, y} if restrict is None else set(restrict) - lat - {x, y}
    must = set(include)
    # the natural candidate: x's observed children that lie on a causal path to y
    to_y = nx.ancestors(g, y)
    natural = {c for c in g.successors(x) if c in to_y}
    natural_ok = bool(natural) and not (natural & lat) and is_front_door_set(g, x, y, natural)
    # (ii): per variable
    confounded_with_x = d_connected_to(g, x, (), cut_out=[x])
    excluded: dict[str, str] = {v: "an open back-door path from the treatment reaches it"
                                for v in allowed & confounded_with_x}
    z = allowed - confounded_with_x
    # (iii): greatest fixed point
    while True:
        bad = d_connected_to(g, y, [x], cut_out=z) & z
        if not bad:
            break
        for v in bad:
            excluded[v] = "a back-door path from it to the outcome stays open given the treatment"
        z -= bad
    if not must <= z:
        miss = sorted(must - z, key=str)
        why = "; ".join(f"{v}: {excluded.get(v, 'not allowed (latent or restricted)')}"
                        for v in miss)
        shown = ", ".join(map(str, miss))
        return FrontDoorSearch(x, y, None, None, natural_ok, f"the required {shown} cannot be "
                               f"in a front-door set ({why})")
    path = _intercepts(g, x, y, z)
    if path is not None:
        return FrontDoorSearch(x, y, None, None, natural_ok, _no_set_reason(path, lat, excluded))
    small = set(z)
    changed = True
    while changed:
        changed = False
        for v in sorted(small - must, key=lambda v: (-_depth(g, x, v), v)):
            if is_front_door_set(g, x, y, small - {v}):
                small.discard(v)
                changed = True
    return FrontDoorSearch(x, y, frozenset(z), frozenset(small), natural_ok, "")


def _depth(g: nx.DiGraph, x: str, v: str) -> int:
    """Distance from x (far members are dropped first, so the set stays near the treatment's
    children, the usual front-door mediators)."""
    try:
        return int(nx.shortest_path_length(g, x, v))
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return 10**9


def _no_set_reason(path: list[str], lat: set[str], excluded: dict[str, str]) -> str:
    arrows = " -> ".join(map(str, path))
    inner = path[1:-1]
    if not inner:
        return (f"the arrow {arrows} reaches the outcome directly, so no set can intercept it")
    why = "; ".join(f"{v} is latent" if v in lat else
                    f"{v}: {excluded.get(v, 'not allowed (restricted)')}" for v in inner)
    return f"the causal path {arrows} cannot be intercepted by a valid set ({why})"
