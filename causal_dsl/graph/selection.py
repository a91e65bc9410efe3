"""Adjustment when the data is conditioned on selection nodes (``selected s``, DAGitty's
``[selected]``).

In: a `CausalGraph`, a treatment, an outcome and the selection nodes S. Out: `selection_obstacle`
— None when adjustment under selection can work, else the sentence that says why it cannot;
`without_selection` — a set with S taken out (S is conditioned on by the data itself, so no
estimator adjusts for it). Raises `GraphError` as `adjustment.problem` does.

The criterion is DAGitty's (``GraphAnalyzer.isAdjustmentSet`` / ``listMsasTotalEffect`` in
dagitty's jslib, after Bareinboim, Tian & Pearl 2014 and van der Zander et al. 2019): Z is valid
for the effect of t on y in data selected on S iff (1) no member of Z is forbidden (a mediator
or a descendant of one, or t), (2) Z ∪ S d-separates t and y in the proper back-door graph, and
(3) y is d-separated from S in the proper back-door graph, given nothing. (3) does not depend on
Z: when it fails no set exists (DAGitty then lists none), and when it holds the sets are the
ordinary ones with S forced in (`adjust for`), S then removed from what is shown.

>>> from causal_dsl.graph import CausalGraph
>>> g = CausalGraph(["t", "y", "s"], [("t", "y"), ("y", "s")])
>>> print(selection_obstacle(g, "t", "y", frozenset({"s"})))
the data is selected on {s}, which is d-connected to y (y -> s) even in the graph without the treatment's causal arrows, so no adjustment set removes the selection bias (DAGitty's criterion)
>>> selection_obstacle(CausalGraph(["t", "y", "s"], [("t", "y"), ("t", "s")]), "t", "y",
...                    frozenset({"s"})) is None
True
"""  # noqa: E501

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import pairwise
from typing import TYPE_CHECKING

import causal_dsl.graph.separators as sep

from .adjustment import problem
from .values import fmt_set

if TYPE_CHECKING:
    from .core import CausalGraph


def selection_obstacle(g: CausalGraph, treatment: str, outcome: str, selected: frozenset[str],
                       exclude: Iterable[str] = (), assume_observed: Iterable[str] = ()
                       ) -> str | None:
    """Why condition (3) fails (y and S d-connected in the proper back-door graph), or None."""
    if not selected:
        return None
    p = problem(g, treatment, outcome, (), exclude, assume_observed)
    s_ids = g._ids(sorted(selected), "selected")
    if sep.d_separated((p.y,), s_ids, sep.mask(g.n, ()), p.pa, p.ch, g.n, p.edges):
        return None
    path = _trek(p.pa, p.ch, p.y, set(s_ids), g._names)
    shown = f" ({path})" if path else ""
    return (f"the data is selected on {fmt_set(selected)}, which is d-connected to {outcome}"
            f"{shown} even in the graph without the treatment's causal arrows, so no adjustment "
            "set removes the selection bias (DAGitty's criterion)")


def without_selection(z: frozenset[str] | None, selected: frozenset[str]
                      ) -> frozenset[str] | None:
    return None if z is None else z - selected


def _trek(pa: list[list[int]], ch: list[list[int]], y: int, targets: set[int],
          names: list[str]) -> str | None:
    """One open path from y to a selection node given nothing: a trek (up, then down), found by
    breadth-first search over (node, going-down) states. Printed with its arrows."""
    start = (y, False)
    prev: dict[tuple[int, bool], tuple[int, bool] | None] = {start: None}
    queue = deque([start])
    while queue:
        v, down = queue.popleft()
        if v in targets and v != y:
            steps = []
            state: tuple[int, bool] | None = (v, down)
            while state is not None:
                steps.append(state)
                state = prev[state]
            steps.reverse()
            text = names[steps[0][0]]
            for _, (b, b_down) in pairwise(steps):
                text += f" -> {names[b]}" if b_down else f" <- {names[b]}"
            return text
        moves = [(c, True) for c in ch[v]]
        if not down:
            moves += [(q, False) for q in pa[v]]
        for m in moves:
            if m not in prev:
                prev[m] = (v, down)
                queue.append(m)
    return None
