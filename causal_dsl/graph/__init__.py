"""The graph engine: a study's causal graph and what it implies.

In: a `Model` (`CausalGraph.from_model`) or plain lists of variables and edges. Out: names,
frozensets of names and the frozen values of `values`. Raises `GraphError` (E301-E310) for
names not in the graph, latent treatments or outcomes, impossible ``adjust for`` /
``never adjust for`` sets and cycles. Imports nothing from a later stage of the pipeline.

The modules, bottom first: `separators` (linear-time algorithms on integer node ids, no
names), `values` (the answers), `adjustment` (forbidden set, valid sets, the O-set and the
one `recommend` policy), `paths` (path listings and why a set fails), `implications`
(testable implications, and their changes between two graphs), `instruments` (instruments and
the front door), `frontdoor_search` (the complete front-door search), `core` (the
`CausalGraph` class: building, views, d-separation, and the other modules' functions as
methods), and `networkx_api` (the same answers for a `networkx.DiGraph`). The functions take the
graph as their first argument, networkx-style.

The names exported here are those of `networkx_api` where both exist (`is_adjustment_set`,
`adjustment_set_reason`, `backdoor_paths`, `implications`, `instruments`): they take a
`networkx.DiGraph` or a `CausalGraph`, and on a `CausalGraph` answer exactly as the engine's
own functions (which the other stages import from the submodules).

>>> g = CausalGraph(["a", "t", "y"], [("a", "t"), ("a", "y"), ("t", "y")])
>>> recommend(g, "t", "y").set
frozenset({'a'})
>>> import networkx as nx
>>> from causal_dsl.graph import minimal_adjustment_set  # loaded on first use, with networkx
>>> minimal_adjustment_set(nx.DiGraph([("a", "t"), ("a", "y"), ("t", "y")]), "t", "y")
{'a'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .adjustment import (
    ADJUSTMENT_KINDS,
    AdjustmentProblem,
    adjustment_sets,
    causal_nodes,
    forbidden,
    optimal_set,
    problem,
    recommend,
)
from .core import CausalGraph
from .implications import (
    IMPLICATION_LIMIT,
    implication_changes,
    neighbours,
    pair_implication,
)
from .instruments import find_instruments, front_door_set
from .paths import directed_path, open_paths
from .values import (
    BackdoorPaths,
    Implication,
    Implications,
    Instrument,
    OptimalSet,
    PathStatus,
    Recommendation,
    fmt_set,
)

# The networkx entry points and the front-door search work on networkx graphs: they are
# loaded on first use (PEP 562), so that importing the engine does not import networkx.
_LAZY = {
    "CausalGraphError": "networkx_api",
    "CausalNodeNotFound": "networkx_api",
    "adjustment_set_reason": "networkx_api",
    "all_minimal_adjustment_sets": "networkx_api",
    "backdoor_paths": "networkx_api",
    "front_door_sets": "networkx_api",
    "implications": "networkx_api",
    "instruments": "networkx_api",
    "is_adjustment_set": "networkx_api",
    "is_d_separator": "networkx_api",
    "minimal_adjustment_set": "networkx_api",
    "optimal_adjustment_set": "networkx_api",
    "to_causal_graph": "networkx_api",
    "FrontDoorSearch": "frontdoor_search",
    "front_door_search": "frontdoor_search",
    "is_front_door_set": "frontdoor_search",
}

if TYPE_CHECKING:
    from .frontdoor_search import FrontDoorSearch, front_door_search, is_front_door_set
    from .networkx_api import (
        CausalGraphError,
        CausalNodeNotFound,
        adjustment_set_reason,
        all_minimal_adjustment_sets,
        backdoor_paths,
        front_door_sets,
        implications,
        instruments,
        is_adjustment_set,
        is_d_separator,
        minimal_adjustment_set,
        optimal_adjustment_set,
        to_causal_graph,
    )


# Two of those names are also submodules (`graph.implications`, `graph.instruments`), which the
# imports above bound as attributes: unbind them, so that the package-level names are the
# networkx functions (the other stages import from the submodules themselves).
for _shadowed in ("implications", "instruments"):
    globals().pop(_shadowed, None)


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ADJUSTMENT_KINDS",
    "IMPLICATION_LIMIT",
    "AdjustmentProblem",
    "BackdoorPaths",
    "CausalGraph",
    "CausalGraphError",
    "CausalNodeNotFound",
    "FrontDoorSearch",
    "Implication",
    "Implications",
    "Instrument",
    "OptimalSet",
    "PathStatus",
    "Recommendation",
    "adjustment_set_reason",
    "adjustment_sets",
    "all_minimal_adjustment_sets",
    "backdoor_paths",
    "causal_nodes",
    "directed_path",
    "find_instruments",
    "fmt_set",
    "forbidden",
    "front_door_search",
    "front_door_set",
    "front_door_sets",
    "implication_changes",
    "implications",
    "instruments",
    "is_adjustment_set",
    "is_d_separator",
    "is_front_door_set",
    "minimal_adjustment_set",
    "neighbours",
    "open_paths",
    "optimal_adjustment_set",
    "optimal_set",
    "pair_implication",
    "problem",
    "recommend",
    "to_causal_graph",
]
