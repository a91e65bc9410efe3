"""Testable implications: the conditional independences a graph implies among observed
variables, and how they differ between two versions of a graph.

In: a `CausalGraph` (two for `implication_changes`). Out: `Implications` (one minimal
``x ⊥ y | Z`` per pair of non-adjacent observed variables, DAGitty's "missing edge" basis), a
single pair's `Implication`, and the implications added and removed between two graphs.
Raises nothing for names in the graph (`pair_implication` answers None for others).

Two rules for which separator a pair gets, because the answers serve two purposes:
`implications` visits pairs in topological order (the first `limit` answers involve the
smallest ancestral sets); `pair_implication`, which ``causal diff`` compares across versions,
decides from the pair's ancestors alone (its upstream end first, else the first by name), so
that an edit elsewhere in the graph never shows up as the same independence with another set.

>>> from causal_dsl.graph import CausalGraph
>>> g = CausalGraph("xmy", [("x", "m"), ("m", "y")])
>>> [str(i) for i in implications(g)]
['x ⊥ y | m']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import causal_dsl.graph.separators as sep

from .values import Implication, Implications

if TYPE_CHECKING:
    from .core import CausalGraph

IMPLICATION_LIMIT = 1000
# Pairs whose ancestors number more than this are searched with the vectorised (numpy/scipy)
# separator searches, which cost one pass over the whole graph whatever the pair.
VECTORISE_ABOVE = 3_000
_FLIP = bytes([1, 0]) + bytes(254)  # bytes.translate table: latent -> 0, observed -> 1


def implications(g: CausalGraph, limit: int | None = IMPLICATION_LIMIT) -> Implications:
    """For each pair of non-adjacent observed variables, ``x ⊥ y | Z`` with Z a minimal set of
    observed variables (pairs that only latent variables could separate imply nothing
    testable). Pairs are visited in topological order, so the first `limit` answers involve
    the smallest ancestral sets; the result says whether it is complete."""
    n, pa, ch = g.n, g._pa, g._ch
    observed = [v for v in g._topo if v < g._n_vars and not g._latent[v]]
    n_vars = g._n_vars
    # every pair joined by an arrow or a bidirected edge, smaller id first (one comprehension:
    # issue 16, this ran once per edge as a loop of calls)
    adjacent = {(q, c) if q < c else (c, q) for c in range(n_vars) for q in pa[c] if q < n_vars}
    adjacent.update((a, b) if a < b else (b, a) for a, b in g._hidden.values())
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
            if ((a, b) if a < b else (b, a)) in adjacent:
                continue
            if limit is not None and len(items) >= limit:
                complete = False
                break
            obs_mask[a] = obs_mask[b] = 0
            found = sep.SeparationProblem.build(pa, ch, n, (a,), (b,), (), obs_mask).minimal()
            obs_mask[a] = obs_mask[b] = 1
            if found is not None:
                x_name, y_name = sorted((g._names[a], g._names[b]))
                items.append(Implication(x_name, y_name, g._name_set(found)))
    items.sort(key=lambda i: (i.x, i.y, sorted(i.given)))
    return Implications(tuple(items), complete, pairs)


# --- one pair at a time (what `causal diff` compares) --------------------------------------
def _adjacent(g: CausalGraph, i: int, j: int) -> bool:
    """Joined by an arrow either way or by a bidirected edge (a shared hidden parent)."""
    if i in g._pa[j] or j in g._pa[i]:
        return True
    return any(h >= g._n_vars and j in g._ch[h] for h in g._pa[i])


def neighbours(g: CausalGraph, name: str) -> list[str]:
    """The variables joined to `name` by an arrow either way or a bidirected edge (empty for
    a name not in the graph)."""
    i = g._index.get(name)
    if i is None:
        return []
    out = []
    for j in (*g._pa[i], *g._ch[i]):
        if j < g._n_vars:
            out.append(g._names[j])
        else:  # a hidden node: its other child is the neighbour
            out += [g._names[k] for k in g._ch[j] if k != i]
    return out


def pair_implication(g: CausalGraph, a: str, b: str) -> tuple[Implication | None, int]:
    """``a ⊥ b | Z`` with Z minimal and observed, or None (adjacent, inseparable, or a
    variable that is not an observed variable of `g`); and the work done (nodes searched)."""
    i, j = g._index.get(a), g._index.get(b)
    if i is None or j is None or g._latent[i] or g._latent[j]:
        return None, 0
    if _adjacent(g, i, j):
        return None, 1
    # Which end the separator is found from matters (FINDMINSEP returns the minimal set
    # nearest to X). The ancestor goes first, as in any topological order; otherwise the
    # name decides. Both rules look only at the pair's ancestors, so a change elsewhere in
    # the graph cannot flip them and show the same independence with another set.
    above_j = sep.closure((j,), g._pa, g.n)
    above_i = sep.closure((i,), g._pa, g.n)
    size_j, size_i = above_j.count(1), above_i.count(1)
    if above_j[i]:
        x, y = i, j
    elif above_i[j]:
        x, y = j, i
    else:
        x, y = (i, j) if a < b else (j, i)
    # The searches cost the size of the pair's ancestral set in Python, or a flat pass over
    # the whole graph vectorised: use the vectorised form only when that is cheaper.
    edges = g._edges()
    vectorised = edges is not None and size_i + size_j > VECTORISE_ABOVE
    if "observed" not in g._cache:
        g._cache["observed"] = g._latent.translate(_FLIP)
    allowed: bytearray = g._cache["observed"]
    allowed[i] = allowed[j] = 0  # the pair itself is never part of its separator
    try:
        search = sep.SeparationProblem.build(g._pa, g._ch, g.n, (x,), (y,), (), allowed,
                                             edges if vectorised else None)
        found = search.minimal()
    finally:
        allowed[i] = allowed[j] = 1
    work = size_i + size_j + (3 * g.n if vectorised else 3 * search.in_a.count(1))
    if found is None:
        return None, work
    first, second = sorted((a, b))
    return Implication(first, second, g._name_set(found)), work


def implication_changes(
    old: CausalGraph,
    new: CausalGraph,
    affected: set[str],
    touched: set[str],
    budget: int,
    direct: Iterable[tuple[str, str]] = (),
) -> tuple[tuple[Implication, ...], tuple[Implication, ...], bool, str | None]:
    """Implications that differ between `old` and `new` (added, removed, complete, note),
    examining pairs with a member in `affected`, nearest to the `touched` variables first,
    until `budget` units of work are spent; the note says how many pairs were compared when
    the budget ran out.

    The `direct` pairs (the two ends of each changed arrow: where an independence appears or
    disappears outright) are examined first and whatever the budget."""
    observed = [n for n in dict.fromkeys([*old.variables, *new.variables])
                if _is_observed(old, n) or _is_observed(new, n)]
    hot = [n for n in observed if n in affected]
    if not hot:
        return (), (), True, None
    added: list[Implication] = []
    removed: list[Implication] = []
    done: set[tuple[str, str]] = set()
    work = 0

    def examine(a: str, b: str) -> None:
        nonlocal work
        done.add((a, b) if a < b else (b, a))
        (before, cost_before), (after, cost_after) = pair_implication(old, a, b), \
            pair_implication(new, a, b)
        work += cost_before + cost_after
        if before != after:
            if before is not None:
                removed.append(before)
            if after is not None:
                added.append(after)

    for a, b in direct:
        if a != b and (min(a, b), max(a, b)) not in done:
            examine(a, b)
    # Then every pair with a member in `affected`, by distance from the change in either
    # graph (breadth-first over both), until the budget is spent.
    distance: dict[str, int] = {n: 0 for n in touched}
    queue = deque(touched)
    while queue:
        u = queue.popleft()
        for w in (*neighbours(old, u), *neighbours(new, u)):
            if w not in distance:
                distance[w] = distance[u] + 1
                queue.append(w)
    far = len(distance) + 1
    order = sorted(observed, key=lambda n: (distance.get(n, far), n))
    total_pairs = _pairs(len(observed)) - _pairs(len(observed) - len(hot))
    seen_hot: list[str] = []
    complete = True
    for k, b in enumerate(order):
        partners: Sequence[str] = order[:k] if b in affected else seen_hot
        for a in partners:
            if (a, b) in done or (b, a) in done:
                continue
            if work >= budget:
                complete = False
                break
            examine(a, b)
        if not complete:
            break
        if b in affected:
            seen_hot.append(b)
    key = lambda i: (i.x, i.y, sorted(i.given))  # noqa: E731
    note = None
    if not complete:
        note = (f"compared the {len(done):,} variable pairs nearest the changes out of "
                f"{total_pairs:,} that the changes could affect; the others were not compared "
                "(the graph is large)")
    return tuple(sorted(added, key=key)), tuple(sorted(removed, key=key)), complete, note


def _is_observed(g: CausalGraph, name: str) -> bool:
    i = g._index.get(name)
    return i is not None and not g._latent[i]


def _pairs(n: int) -> int:
    return n * (n - 1) // 2
