"""DAGitty's highlighting of a diagram: causal paths, biasing paths and ancestor shading.

In: a `Model`, a treatment (DAGitty's exposure), an outcome and the adjusted set. Out:
`DagittyMarks` — the edges on causal paths, the edges on biasing paths, and the ancestry class
of each variable. Raises nothing (the names come from a resolved model).

The conventions are those of DAGitty's jslib (``jslib/gui/GraphGUI_View.js`` and
``jslib/graph/GraphTransformer.js``), read from its source:

- a **causal** edge lies on a directed path from the exposure to the outcome that passes through
  no adjusted variable (``causalFlowGraph``: descendants of the exposure intersected with the
  ancestors of the outcome, with adjusted variables blocking the traversal);
- a **biasing** edge lies on an open non-causal path between exposure and outcome given the
  adjusted variables (``activeBiasGraph``). DAGitty computes that set with a polynomial
  algorithm; here the simple paths are walked depth-first, pruned as soon as a prefix is
  blocked, within a budget of `PATH_BUDGET` steps; when the budget runs out the marks say so
  (`complete` is False) and the legend shows it;
- variables are shaded by ancestry in the proper back-door graph (the exposure's first edges on
  causal paths removed): ancestor of the exposure, of the outcome, or of both (DAGitty's
  "confounder" red); exposure, outcome, adjusted and latent variables keep their own style.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..model import Model

PATH_BUDGET = 200_000  # steps of the depth-first walk over simple paths
EdgeKey = tuple[str, str, bool]  # (source, target, bidirected); bidirected pairs are sorted


def edge_key(a: str, b: str, bidirected: bool) -> EdgeKey:
    """The one key of an edge: ``(a, b, False)`` for ``a -> b``, sorted names for ``<->``."""
    if bidirected and b < a:
        a, b = b, a
    return (a, b, bidirected)


@dataclass(frozen=True, slots=True)
class DagittyMarks:
    """What DAGitty's view colours, for one exposure/outcome pair and adjusted set."""

    causal: frozenset[EdgeKey] = frozenset()
    biasing: frozenset[EdgeKey] = frozenset()
    # name -> "confounder" | "exposure_ancestor" | "outcome_ancestor" | "other"
    ancestry: Mapping[str, str] = field(default_factory=dict)
    complete: bool = True  # False when the path walk ran out of budget


def _reach(start: Iterable[str], step: Mapping[str, list[str]], blocked: frozenset[str]
           ) -> set[str]:
    seen = set(start)
    todo = list(seen)
    while todo:
        v = todo.pop()
        for w in step.get(v, ()):
            if w not in seen and w not in blocked:
                seen.add(w)
                todo.append(w)
    return seen


def dagitty_marks(model: Model, exposure: str, outcome: str,
                  adjusted: Iterable[str] = (), *, budget: int = PATH_BUDGET) -> DagittyMarks:
    """DAGitty's causal and biasing edges and ancestor classes for `exposure` -> `outcome`.

    >>> import causal_dsl
    >>> m = causal_dsl.parse("var x: binary\\nvar y: binary\\nvar c: binary\\n"
    ...                      "c -> x\\nc -> y\\nx -> y\\n")
    >>> marks = dagitty_marks(m, "x", "y")
    >>> sorted(marks.causal), sorted(marks.biasing), marks.ancestry["c"]
    ([('x', 'y', False)], [('c', 'x', False), ('c', 'y', False)], 'confounder')
    >>> dagitty_marks(m, "x", "y", {"c"}).biasing
    frozenset()
    """
    z = frozenset(adjusted) - {exposure, outcome}
    children: dict[str, list[str]] = {}
    parents: dict[str, list[str]] = {}
    # neighbours for the path walk: (next, arrowhead at here, arrowhead at next, forward)
    adjacent: dict[str, list[tuple[str, bool, bool, bool, EdgeKey]]] = {}
    for e in model.edges:
        key = edge_key(e.source, e.target, e.bidirected)
        if e.bidirected:
            adjacent.setdefault(e.source, []).append((e.target, True, True, False, key))
            adjacent.setdefault(e.target, []).append((e.source, True, True, False, key))
            continue
        children.setdefault(e.source, []).append(e.target)
        parents.setdefault(e.target, []).append(e.source)
        adjacent.setdefault(e.source, []).append((e.target, False, True, True, key))
        adjacent.setdefault(e.target, []).append((e.source, True, False, False, key))

    # causal edges: on a directed exposure -> outcome path avoiding the adjusted set
    flow = _reach([exposure], children, z) & _reach([outcome], parents, z)
    causal = frozenset(
        edge_key(e.source, e.target, False) for e in model.edges
        if not e.bidirected and e.source in flow and e.target in flow
    )

    # ancestry in the proper back-door graph
    on_causal = (_reach([exposure], children, frozenset())
                 & _reach([outcome], parents, frozenset())) - {exposure}
    bd_parents = {v: [p for p in ps if not (p == exposure and v in on_causal)]
                  for v, ps in parents.items()}
    an_x = _reach([exposure], bd_parents, frozenset())
    an_y = _reach([outcome], bd_parents, frozenset())
    ancestry: dict[str, str] = {}
    for v in model.variables:
        n = v.name
        ancestry[n] = ("confounder" if n in an_x and n in an_y else
                       "exposure_ancestor" if n in an_x else
                       "outcome_ancestor" if n in an_y else "other")

    # biasing edges: open non-causal simple paths, walked depth-first
    an_z = _reach(z, parents, frozenset())
    biasing: set[EdgeKey] = set()
    steps = 0
    complete = True
    path_keys: list[EdgeKey] = []
    on_path = {exposure}

    def walk(here: str, head_in: bool, forward: bool) -> None:
        nonlocal steps, complete
        for nxt, head_here, head_next, fwd, key in adjacent.get(here, ()):
            if nxt in on_path or not complete:
                continue
            steps += 1
            if steps > budget:
                complete = False
                return
            if here != exposure:
                collider = head_in and head_here
                if (collider and here not in an_z) or (not collider and here in z):
                    continue
            still_forward = forward and fwd
            path_keys.append(key)
            if nxt == outcome:
                if not still_forward:
                    biasing.update(path_keys)
            else:
                on_path.add(nxt)
                walk(nxt, head_next, still_forward)
                on_path.discard(nxt)
            path_keys.pop()

    walk(exposure, False, True)
    return DagittyMarks(causal, frozenset(biasing), ancestry, complete)
