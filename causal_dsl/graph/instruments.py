"""Instrumental variables and the front-door criterion: what identifies an effect when
adjustment cannot.

In: a `CausalGraph`, a treatment and an outcome. Out: `Instrument` values (a variable and the
set it is an instrument given) and the front-door mediator set, or None. Raises what
`causal_dsl.graph.adjustment.problem` raises (unknown names, a latent treatment or outcome).

>>> from causal_dsl.graph import CausalGraph
>>> g = CausalGraph(["z", "u", "t", "y"], [("z", "t"), ("u", "t"), ("u", "y"), ("t", "y")],
...                 latents=["u"])
>>> [str(i) for i in instruments(g, "t", "y")]
['z']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

import causal_dsl.graph.separators as sep

from .adjustment import problem
from .values import Instrument

if TYPE_CHECKING:
    from .core import CausalGraph

# Conditional-instrument checks cost two linear searches each; on large graphs only this many
# units of work (checks times graph size) are spent, nearest candidates first.
INSTRUMENT_WORK = 200_000


def instruments(g: CausalGraph, treatment: str, outcome: str, exclude: Iterable[str] = (),
                assume_observed: Iterable[str] = (), limit: int = 20) -> tuple[Instrument, ...]:
    """Observed (conditional) instruments for ``treatment -> outcome``.

    z is an instrument given W (Henckel et al. 2024's criterion, in the form of van der
    Zander, Textor & Liśkiewicz 2015) when z and W avoid the forbidden nodes, z and the
    treatment are d-connected given W, and z and the outcome are d-separated given W in the
    proper backdoor graph. W is searched among the ancestors of z and the outcome (an
    "ancestral" instrument): a minimal separator of z and the outcome when it works, else the
    separator nearest to the outcome, which works whenever any ancestral W does. If any
    conditional instrument exists, an ancestral one does (van der Zander et al. 2015), so an
    empty answer means there is none; a variable that would need a W outside those ancestors
    (opening a collider below the treatment) is not listed. Unconditional instruments
    (W = ∅) come first. On large graphs only the candidates nearest the treatment are tried
    (`find_instruments` says whether the search was complete).
    """
    return find_instruments(g, treatment, outcome, exclude, assume_observed, limit)[0]


def find_instruments(g: CausalGraph, treatment: str, outcome: str,
                     exclude: Iterable[str] = (), assume_observed: Iterable[str] = (),
                     limit: int = 20) -> tuple[tuple[Instrument, ...], bool]:
    """`instruments`, and whether the search was complete (False when it stopped at `limit`
    or when the work allowed on a large graph ran out)."""
    p = problem(g, treatment, outcome, (), exclude, assume_observed)
    if not p.causal_path:
        return (), True
    n, t, y = g.n, p.t, p.y
    none = bytearray(n)
    full_edges = g._edges()
    if p.edges is None or full_edges is None:
        to_t = sep.dconnected((t,), none, g._pa, g._ch, n)
        to_y = sep.dconnected((y,), none, p.pa, p.ch, n)
        unconditional = {v for v in sep._ones(to_t) if p.allowed[v] and not to_y[v]}
    else:
        found_np = treks(t, full_edges, n) & sep._bools(p.allowed, n) & ~treks(y, p.edges, n)
        unconditional = set(np.flatnonzero(found_np).tolist())
    found: list[Instrument] = []
    size = n + (len(full_edges[0]) if full_edges is not None else sum(map(len, g._ch)))
    checks = max(3, INSTRUMENT_WORK // size)
    complete = True
    allowed = bytearray(p.allowed)
    left = len(unconditional)
    # Every check below searches the ancestors of the outcome (in the backdoor graph) or of
    # the treatment: when those alone are not small, neither is any check's region, and the
    # plain-search attempt is skipped (issue 16: it failed for every candidate).
    small: tuple[bool, bool] | None = None  # (An(y) small, An(t) small), asked once
    # nearest candidates first; stop at `limit`, or when the conditional checks are spent
    # and every unconditional instrument has been met
    for v in _by_distance(g, t):
        if not p.allowed[v]:
            continue
        if len(found) >= limit:
            complete = False
            break
        if v in unconditional:
            found.append(Instrument(g._names[v]))
            left -= 1
            continue
        if checks <= 0:
            complete = False
            if not left:
                break
            continue
        checks -= 1
        if small is None:  # An(y) in the backdoor graph lies inside An(y): small if that is
            small = (full_edges is None or not p.large,
                     full_edges is None or sep.closure_small((t,), g._pa, n) is not None)
        small_y, small_t = small
        allowed[v] = 0  # the instrument is not part of its own conditioning set
        search = sep.SeparationProblem.build(p.pa, p.ch, n, (v,), (y,), (), allowed, p.edges,
                                             small_y)
        allowed[v] = 1
        w_min = search.minimal()
        if w_min is None:
            continue  # nothing observed separates v from the outcome
        # A minimal separator reads best; the nearest one decides (if it fails, all do).
        # The nearest is searched only when the minimal one fails, and checked only when
        # it differs (issue 16: each is a search over the whole graph).
        if _relevant(g, v, t, w_min, full_edges, small_t):
            found.append(Instrument(g._names[v], g._name_set(w_min)))
            continue
        w_near = search.nearest_to_y()
        if w_near is not None and w_near != w_min and _relevant(g, v, t, w_near, full_edges,
                                                                small_t):
            found.append(Instrument(g._names[v], g._name_set(w_near)))
    found.sort(key=lambda i: (len(i.given), i.z))
    return tuple(found[:limit]), complete


def _relevant(g: CausalGraph, v: int, t: int, w: list[int], edges: sep.Edges | None,
              try_small: bool) -> bool:
    """Is the candidate `v` d-connected to the treatment given a non-empty `w`? A parent or
    child of the treatment is, given any set holding neither of them (the edge is a path
    with no inner node): no search (issue 16: the nearest candidates, checked first, are
    often such neighbours; `sep.d_separated` also tries a short open path first)."""
    if not w:
        return False
    if (v in g._pa[t] or v in g._ch[t]) and v not in w and t not in w:
        return True
    return not sep.d_separated((v,), (t,), sep.mask(g.n, w), g._pa, g._ch, g.n, edges,
                               try_small)


def treks(v: int, edges: sep.Edges, n: int) -> np.ndarray:
    """The mask of nodes d-connected to v given nothing, vectorised: a path without a
    collider is a trek ``v <- ... <- a -> ... -> w``, so they are the descendants of v's
    ancestors (two plain closures instead of the Bayes-ball search over twice the nodes)."""
    adj = sep.as_edge_arrays(edges)
    ancestors = adj.adjacency("parents", n).reach((v,))
    found: np.ndarray = adj.adjacency("children", n).reach(np.flatnonzero(ancestors).tolist())
    return found


def _by_distance(g: CausalGraph, t: int) -> Iterator[int]:
    """Variables in order of distance from t in the skeleton (nearest first), lazily."""
    seen = {t}
    queue = deque([t])
    while queue:
        u = queue.popleft()
        for w in (*g._pa[u], *g._ch[u]):
            if w not in seen:
                seen.add(w)
                queue.append(w)
                if w < g._n_vars:
                    yield w


# The complete search works on a networkx copy of the graph: on larger graphs only the natural
# candidate is checked (linear, on the engine's arrays), so `identify` stays fast there.
COMPLETE_FRONT_DOOR_MAX = 2_000


def front_door_set(g: CausalGraph, treatment: str, outcome: str) -> frozenset[str] | None:
    """A set satisfying Pearl's front-door criterion (it intercepts every directed path to the
    outcome, no backdoor path from the treatment to it is open, and the treatment blocks every
    backdoor path from it to the outcome), or None when no set of observed variables does.

    The treatment's observed children on causal paths are tried first (the natural candidate,
    checked in linear time on the engine's arrays); when they fail, the complete polynomial
    search of Jeong, Tian & Bareinboim (`frontdoor_search.front_door_search`) looks further,
    so `identify`, the planner and the networkx functions agree on whether one exists (on
    graphs of up to `COMPLETE_FRONT_DOOR_MAX` nodes; beyond, the natural candidate only)."""
    natural = _natural_front_door(g, treatment, outcome)
    if natural is not None or g.n > COMPLETE_FRONT_DOOR_MAX:
        return natural
    from .frontdoor_search import front_door_search

    found = front_door_search(g.dag(), g.latents, treatment, outcome,
                              bidirected=g.bidirected().edges)
    return found.small or None  # an empty set "intercepts" only when there is no causal path


def _natural_front_door(g: CausalGraph, treatment: str, outcome: str) -> frozenset[str] | None:
    p = problem(g, treatment, outcome)
    t, y, n = p.t, p.y, g.n
    m = [c for c in g._ch[t] if p.cn[c] and c != y]
    if not m or any(g._latent[c] for c in m):
        return None
    # (i) with M removed, no directed path from t reaches y
    blocked = sep.mask(n, m)
    seen, stack = {t}, [t]
    while stack:
        for c in g._ch[stack.pop()]:
            if c == y:
                return None
            if c not in seen and not blocked[c]:
                seen.add(c)
                stack.append(c)
    # (ii) t and M are d-separated once t's outgoing edges are removed
    pa = [[q for q in ps if q != t] for ps in g._pa]
    ch = list(g._ch)
    ch[t] = []
    if not sep.d_separated((t,), m, bytearray(n), pa, ch, n):
        return None
    # (iii) M and y are d-separated given t once M's outgoing edges are removed
    pa = [[q for q in ps if not blocked[q]] for ps in g._pa]
    ch = [[] if blocked[v] else c for v, c in enumerate(g._ch)]
    if not sep.d_separated(m, (y,), sep.mask(n, (t,)), pa, ch, n):
        return None
    return g._name_set(m)
