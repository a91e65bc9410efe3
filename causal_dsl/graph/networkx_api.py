"""The graph engine for networkx users: identification as free functions over a ``DiGraph``.

In: a `networkx.DiGraph` (or ``MultiDiGraph``) whose latent nodes carry a true node attribute
(``latent=True`` by default; the `latent` argument names another attribute), optionally the
bidirected edges (unobserved common causes) as an `networkx.Graph` or a list of pairs, and a
treatment, an outcome and options. A latent common parent in the DiGraph itself means the same
as a bidirected edge. Every function also takes a `CausalGraph`, so that many questions about
one large graph pay for the conversion once (`to_causal_graph`). Out: Python sets of nodes
(None when no set exists), booleans, lazy iterators, and the engine's values (`BackdoorPaths`,
`Implications`, `Instrument`, `FrontDoorSearch`). Raises `CausalGraphError` (a
`networkx.NetworkXError` and a `GraphError`) for a cyclic or undirected graph, overlapping sets
and impossible requests, and `CausalNodeNotFound` (also a `networkx.NodeNotFound`) for a node
that is not in the graph; each carries a `Diagnostic` with the engine's code (E301-E311).

The functions follow `networkx.algorithms.d_separation`: the graph first, ``x, y, z`` for
d-separation (a node or a set of nodes), ``included`` / ``restricted`` for the nodes a set must
hold / may use, and None when there is no set. They answer with the engine under
``causal identify``, so a study's ``study.to_networkx()`` gets the same answers as the CLI.

The conversion (`to_causal_graph`) is linear: one pass over the nodes and one over each
adjacency, with no per-edge work beyond an index lookup.

>>> import networkx as nx
>>> G = nx.DiGraph([("age", "drug"), ("age", "recovery"), ("drug", "recovery")])
>>> minimal_adjustment_set(G, "drug", "recovery")
{'age'}
>>> G.add_edges_from([("u", "age"), ("u", "recovery")]); G.nodes["u"]["latent"] = True
>>> minimal_adjustment_set(G, "drug", "recovery"), optimal_adjustment_set(G, "drug", "recovery")
({'age'}, None)
"""

from __future__ import annotations

import gc
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import networkx as nx

import causal_dsl.graph.separators as sep

from ..errors import Diagnostic, GraphError, suggest
from .adjustment import AdjustmentProblem, optimal_set, problem
from .adjustment import is_adjustment_set as _is_adjustment_set
from .core import CausalGraph
from .frontdoor_search import FrontDoorSearch, front_door_search
from .implications import IMPLICATION_LIMIT
from .implications import implications as _implications
from .instruments import instruments as _instruments
from .paths import adjustment_set_reason as _adjustment_set_reason
from .paths import backdoor_paths as _backdoor_paths
from .values import BackdoorPaths, Implications, Instrument

if TYPE_CHECKING:
    from collections.abc import Generator

Graph: TypeAlias = "nx.DiGraph | CausalGraph"
Bidirected: TypeAlias = "nx.Graph | Iterable[tuple[Hashable, Hashable]] | None"
Nodes: TypeAlias = "Hashable | Iterable[Hashable]"


class CausalGraphError(GraphError, nx.NetworkXError):
    """A graph question that cannot be answered: a cycle, an undirected graph, overlapping sets,
    a latent treatment, an impossible ``included``. Both the project's `GraphError` (with its
    diagnostics) and a `networkx.NetworkXError`, so either ``except`` catches it."""


class CausalNodeNotFound(CausalGraphError, nx.NodeNotFound):
    """A node that is not in the graph (E301), also a `networkx.NodeNotFound`."""


class NodeLabel(str):
    """A node that is not a string, inside the engine: it reads as ``str(node)`` in messages
    and paths, and hashes and compares as the node itself (so ``NodeLabel(1) == 1``). The
    engine annotates names as ``str`` and writes them into sentences; the label lets it do so
    for any hashable node. `.node` is the node."""

    node: Any

    def __new__(cls, node: Any) -> NodeLabel:
        label = super().__new__(cls, node)
        label.node = node
        return label

    def __hash__(self) -> int:
        return hash(self.node)

    def __eq__(self, other: object) -> bool:
        return bool(self.node == (other.node if isinstance(other, NodeLabel) else other))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return repr(self.node)


def _plain(found: Iterable[Any]) -> set[Any]:
    """An answer of the engine as a set of the caller's own nodes."""
    return {v.node if isinstance(v, NodeLabel) else v for v in found}


# --- the conversion ------------------------------------------------------------------------
def to_causal_graph(G: Graph, bidirected: Bidirected = None, *, latent: str = "latent"
                    ) -> CausalGraph:
    """The engine's immutable graph of `G` (returned as is when it is one already).

    Nodes keep their identity (any hashable; they are the names in every answer). A node is
    latent when its `latent` attribute is true. Each bidirected edge becomes a hidden latent
    parent of its two ends, as in a ``.causal`` file; a latent node that also has a true
    ``bidirected`` attribute (what `Study.to_networkx` writes for ``a <-> b``) is read back as
    that bidirected edge. Linear in the size of `G`.

    >>> g = to_causal_graph(nx.DiGraph([(1, 2), (2, 3)]))
    >>> g.variables, g.d_separated({1}, {3}, {2})
    ((1, 2, 3), True)
    """
    if isinstance(G, CausalGraph):
        if bidirected is not None:
            raise CausalGraphError(Diagnostic(
                "E311", "bidirected edges were given with a CausalGraph, which has its own",
                help="pass the networkx graph instead, or build the CausalGraph with them"))
        return G
    if not isinstance(G, nx.Graph) or not G.is_directed():
        raise CausalGraphError(Diagnostic(
            "E311", f"expected a directed graph (networkx.DiGraph), got {type(G).__name__}",
            help="a causal graph is directed: build it with networkx.DiGraph"))
    # Hundreds of thousands of small lists and no cycles: the cyclic collector would walk them
    # again and again (as in `causal_dsl.parse`), so it is paused while they are built.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(G, bidirected, latent)
    finally:
        if enabled:
            gc.enable()


def _build(G: nx.DiGraph, bidirected: Bidirected, latent: str) -> CausalGraph:
    pred, succ, attrs = G._pred, G._succ, G._node  # the adjacency dicts (no view objects)
    marked = [v for v, d in attrs.items() if d.get("bidirected") and d.get(latent)]
    pairs = list(bidirected.edges if isinstance(bidirected, nx.Graph) else (bidirected or ()))
    if marked:  # `Study.to_networkx`'s hidden parents: read back as bidirected edges
        pairs = _marked_pairs(G, marked) + pairs
        skip = set(marked)
        names: list[Any] = [v for v in G if v not in skip]
        index = {v: i for i, v in enumerate(names)}
        pa = [[index[p] for p in pred[v] if p not in skip] for v in names]
    else:
        names = list(G)
        index = {v: i for i, v in enumerate(names)}
        pa = [[index[p] for p in pred[v]] for v in names]  # one lookup per arrow, no more
    ch = [[index[c] for c in succ[v]] for v in names]
    flags = bytearray(1 if attrs[v].get(latent) else 0 for v in names)
    if not all(isinstance(v, str) for v in names):
        names = [v if isinstance(v, str) else NodeLabel(v) for v in names]
    hidden: dict[int, tuple[int, int]] = {}
    seen: set[tuple[int, int]] = set()
    n_vars = len(names)
    for a, b in pairs:
        _require(index, (a, b), "bidirected edge")
        if a == b:
            raise CausalGraphError(Diagnostic(
                "E310", f"the bidirected edge {a!r} <-> {b!r} joins a node to itself",
                help="a bidirected edge needs two different nodes"))
        try:  # shown in order, as `CausalGraph` does; by position when nodes do not sort
            first, second = sorted((a, b))  # type: ignore[type-var]
        except TypeError:
            first, second = (a, b) if index[a] < index[b] else (b, a)
        ia, ib = index[first], index[second]
        if (ia, ib) in seen:
            continue
        seen.add((ia, ib))
        h = len(names)
        names.append(f"{first}<->{second}")
        hidden[h] = (ia, ib)
        pa.append([])
        ch.append([ia, ib])
        pa[ia].append(h)
        pa[ib].append(h)
        flags.append(1)
    g: CausalGraph = CausalGraph.__new__(CausalGraph)
    for slot, value in (("_names", names), ("_index", index), ("_pa", pa), ("_ch", ch),
                        ("_latent", flags), ("_hidden", hidden), ("_n_vars", n_vars)):
        object.__setattr__(g, slot, value)
    with _errors():
        object.__setattr__(g, "_topo", g._topological_order())
    object.__setattr__(g, "_cache", {})  # last: from here on the graph is immutable
    if g.n >= sep.FAST_MIN:  # as `CausalGraph.__init__`: the arrays of the vectorised searches
        g._cache["edges"] = sep.edge_arrays(pa, g.n)
    return g


def _marked_pairs(G: nx.DiGraph, marked: list[Any]) -> list[tuple[Any, Any]]:
    """The bidirected edges written as latent nodes marked ``bidirected=True``: each must be a
    parentless node with exactly two children."""
    pairs = []
    for h in marked:
        children = list(G._succ[h])
        if G._pred[h] or len(children) != 2:
            raise CausalGraphError(Diagnostic(
                "E312", f"the node {h!r} is marked bidirected but has "
                f"{len(G._pred[h])} parent(s) and {len(children)} child(ren)",
                help="a bidirected-edge node has no parents and exactly two children; "
                "remove its `bidirected` attribute to make it an ordinary latent node"))
        pairs.append((children[0], children[1]))
    return pairs


# --- d-separation ----------------------------------------------------------------------------
def is_d_separator(G: Graph, x: Nodes, y: Nodes, z: Nodes, *,
                   bidirected: Bidirected = None) -> bool:
    """Are `x` and `y` d-separated by `z` (each a node or a set of nodes)?

    Like `networkx.is_d_separator`, with bidirected edges counted as unobserved common causes
    (m-separation). Latent nodes are nodes like any other here. The sets must be disjoint.

    >>> G = nx.DiGraph([("a", "b"), ("b", "c")])
    >>> is_d_separator(G, "a", "c", "b"), is_d_separator(G, "a", "c", set())
    (True, False)
    >>> is_d_separator(G, "a", "c", "b", bidirected=[("a", "c")])
    False
    """
    g = to_causal_graph(G, bidirected)
    xs, ys, zs = (_node_set(g, v, "d-separation") for v in (x, y, z))
    overlap = (xs & ys) | (xs & zs) | (ys & zs)
    if overlap:
        raise CausalGraphError(Diagnostic(
            "E308", f"the sets are not disjoint: {_show(overlap)} appear(s) twice",
            help="d-separation needs disjoint x, y and z"))
    with _errors():
        return g.d_separated(xs, ys, zs)


# --- adjustment sets -------------------------------------------------------------------------
def minimal_adjustment_set(
    G: Graph, treatment: Hashable, outcome: Hashable, *, included: Iterable[Hashable] | None
    = None, restricted: Iterable[Hashable] | None = None, bidirected: Bidirected = None,
    latent: str = "latent",
) -> set[Any] | None:
    """A minimal valid adjustment set for the effect of `treatment` on `outcome`, or None.

    Valid by the generalized adjustment criterion (no mediator or descendant of one, and every
    non-causal path blocked), made of observed nodes only; `included` nodes are in it and
    every node is from `restricted` (default: all). Minimal among the sets that hold
    `included`, as `networkx.find_minimal_d_separator`: when no directed path leads from the
    treatment to the outcome, the two answer the same question.

    >>> G = nx.DiGraph([("c", "t"), ("c", "y"), ("t", "m"), ("m", "y"), ("u", "c")])
    >>> minimal_adjustment_set(G, "t", "y"), minimal_adjustment_set(G, "t", "y", restricted={"u"})
    ({'c'}, None)
    """
    p = _problem(G, treatment, outcome, included, restricted, bidirected, latent)
    found = p.minimal()
    return None if found is None else _plain(found)


def all_minimal_adjustment_sets(
    G: Graph, treatment: Hashable, outcome: Hashable, *, included: Iterable[Hashable] | None
    = None, restricted: Iterable[Hashable] | None = None, bidirected: Bidirected = None,
    latent: str = "latent",
) -> Iterator[set[Any]]:
    """Every minimal valid adjustment set, lazily (polynomial delay, each set once).

    The arguments are checked now, the sets are found as the iterator is consumed: take the
    first few with `itertools.islice` on graphs that have very many.

    >>> G = nx.DiGraph([("a", "t"), ("a", "b"), ("b", "y"), ("t", "y")])
    >>> sorted(sorted(s) for s in all_minimal_adjustment_sets(G, "t", "y"))
    [['a'], ['b']]
    """
    p = _problem(G, treatment, outcome, included, restricted, bidirected, latent)
    return (_plain(z) for z in p.all_minimal())


def optimal_adjustment_set(
    G: Graph, treatment: Hashable, outcome: Hashable, *, included: Iterable[Hashable] | None
    = None, restricted: Iterable[Hashable] | None = None, bidirected: Bidirected = None,
    latent: str = "latent",
) -> set[Any] | None:
    """The O-set of Henckel, Perković & Maathuis (2022): the valid set with the smallest
    asymptotic variance. None when it cannot be used: no directed path from the treatment to
    the outcome, a latent member (then a smaller valid set may still exist:
    `minimal_adjustment_set`), or a conflict with `included` / `restricted`.

    >>> G = nx.DiGraph([("a", "t"), ("a", "y"), ("t", "y"), ("c", "y")])
    >>> sorted(optimal_adjustment_set(G, "t", "y"))
    ['a', 'c']
    """
    g = to_causal_graph(G, bidirected, latent=latent)
    t, y = _ends(g, treatment, outcome)
    include, exclude = _constraints(g, included, restricted)
    with _errors():
        found = optimal_set(g, t, y, include, exclude).set
    return None if found is None else _plain(found)


def is_adjustment_set(G: Graph, treatment: Hashable, outcome: Hashable, z: Iterable[Hashable],
                      *, bidirected: Bidirected = None, latent: str = "latent") -> bool:
    """Does `z` satisfy the adjustment criterion for ``treatment -> outcome``?

    The graphical question only: latent members are allowed (the other functions never
    return them). `adjustment_set_reason` says why a set fails: the forbidden member with its
    directed path, or the path the set leaves open.

    >>> G = nx.DiGraph([("c", "t"), ("c", "y"), ("t", "m"), ("m", "y")])
    >>> is_adjustment_set(G, "t", "y", {"c"}), is_adjustment_set(G, "t", "y", {"c", "m"})
    (True, False)
    """
    g = to_causal_graph(G, bidirected, latent=latent)
    members = _node_set(g, z, "adjustment set", single=False)
    t, y = _ends(g, treatment, outcome)
    with _errors():
        return _is_adjustment_set(g, t, y, members)


def adjustment_set_reason(G: Graph, treatment: Hashable, outcome: Hashable,
                          z: Iterable[Hashable], *, bidirected: Bidirected = None,
                          latent: str = "latent") -> str | None:
    """Why `z` is not a valid adjustment set, or None when it is (exactly when
    `is_adjustment_set` holds): its first forbidden member with the directed path that makes
    it so, else the shortest non-causal path it leaves open.

    >>> G = nx.DiGraph([("c", "t"), ("c", "y"), ("t", "m"), ("m", "y")])
    >>> adjustment_set_reason(G, "t", "y", {"c", "m"})
    'm is a mediator, on the causal path t -> m -> y'
    >>> adjustment_set_reason(G, "t", "y", set())
    'the path t <- c -> y stays open'
    """
    g = to_causal_graph(G, bidirected, latent=latent)
    members = _node_set(g, z, "adjustment set", single=False)
    t, y = _ends(g, treatment, outcome)
    with _errors():
        return _adjustment_set_reason(g, t, y, members)


# --- paths, implications, instruments, the front door --------------------------------------
def backdoor_paths(G: Graph, treatment: Hashable, outcome: Hashable,
                   z: Iterable[Hashable] = (), limit: int = 50, *,
                   bidirected: Bidirected = None, latent: str = "latent") -> BackdoorPaths:
    """The paths from the treatment to the outcome that start with an arrow into the
    treatment, shortest first, at most `limit`, each with what blocks it given `z`. Iterate
    for `PathStatus` values (``.nodes``, ``.arrows``, ``.open``, ``.blocked_by``).

    >>> G = nx.DiGraph([("a", "t"), ("a", "y"), ("t", "y")])
    >>> print(backdoor_paths(G, "t", "y", {"a"}))
    backdoor paths from t to y given {a}:
      t <- a -> y  blocked by a
    >>> [p.nodes for p in backdoor_paths(G, "t", "y")]
    [('t', 'a', 'y')]
    """
    g = to_causal_graph(G, bidirected, latent=latent)
    given = _node_set(g, z, "conditioning set", single=False)
    t, y = _ends(g, treatment, outcome)
    with _errors():
        return _backdoor_paths(g, t, y, given, limit)


def implications(G: Graph, limit: int | None = IMPLICATION_LIMIT, *,
                 bidirected: Bidirected = None, latent: str = "latent") -> Implications:
    """The testable implications: for each pair of non-adjacent observed nodes that observed
    nodes can separate, ``x ⊥ y | Z`` with Z minimal (DAGitty's basis). At most `limit`
    (None: all; ``.complete`` says whether any were left out). Iterate for `Implication`
    values (``.x``, ``.y``, ``.given``).

    >>> G = nx.DiGraph([("x", "m"), ("m", "y")])
    >>> [(i.x, i.y, set(i.given)) for i in implications(G)]
    [('x', 'y', {'m'})]
    """
    g = to_causal_graph(G, bidirected, latent=latent)
    with _errors():
        return _implications(g, limit)


def instruments(G: Graph, treatment: Hashable, outcome: Hashable,
                exclude: Iterable[Hashable] = (), assume_observed: Iterable[Hashable] = (),
                limit: int = 20, *, bidirected: Bidirected = None, latent: str = "latent"
                ) -> tuple[Instrument, ...]:
    """Observed (conditional) instruments for ``treatment -> outcome``: each an `Instrument`
    (``.z``, and ``.given``, the set to condition on), unconditional ones first; none of
    `exclude`; latent nodes in `assume_observed` count as observed.

    >>> G = nx.DiGraph([("z", "t"), ("u", "t"), ("u", "y"), ("t", "y")])
    >>> G.nodes["u"]["latent"] = True
    >>> [(i.z, set(i.given)) for i in instruments(G, "t", "y")]
    [('z', set())]
    """
    g = to_causal_graph(G, bidirected, latent=latent)
    exc = _node_set(g, exclude, "exclude", single=False)
    assumed = _node_set(g, assume_observed, "assume_observed", single=False)
    t, y = _ends(g, treatment, outcome)
    with _errors():
        return _instruments(g, t, y, exc, assumed, limit)


def front_door_sets(
    G: Graph, treatment: Hashable, outcome: Hashable, *, included: Iterable[Hashable] | None
    = None, restricted: Iterable[Hashable] | None = None, bidirected: Bidirected = None,
    latent: str = "latent",
) -> FrontDoorSearch:
    """Sets satisfying Pearl's front-door criterion, by the complete search of Jeong, Tian &
    Bareinboim (2022): ``.largest`` (every valid set is inside it), ``.small`` (a valid set no
    member of which can be dropped), both None with ``.reason`` when no observed set of
    `restricted` holding `included` works.

    >>> G = nx.DiGraph([("t", "m"), ("m", "y"), ("u", "t"), ("u", "y")])
    >>> G.nodes["u"]["latent"] = True
    >>> found = front_door_sets(G, "t", "y")
    >>> found.small, found.largest
    (frozenset({'m'}), frozenset({'m'}))
    """
    g = to_causal_graph(G, bidirected, latent=latent)
    t, y = _ends(g, treatment, outcome)
    include, exclude = _constraints(g, included, restricted)
    with _errors():
        problem(g, t, y)  # unknown, latent or equal treatment and outcome
    allowed = None if restricted is None else set(g.variables) - set(exclude)
    dag = G if isinstance(G, nx.DiGraph) and not G.is_multigraph() else g.dag()
    pairs = [(g._names[a], g._names[b]) for a, b in g._hidden.values()]
    return front_door_search(dag, g.latents, t, y, include=include,
                             restrict=allowed, bidirected=pairs)


# --- helpers ---------------------------------------------------------------------------------
def _problem(G: Graph, treatment: Hashable, outcome: Hashable,
             included: Iterable[Hashable] | None, restricted: Iterable[Hashable] | None,
             bidirected: Bidirected, latent: str) -> AdjustmentProblem:
    g = to_causal_graph(G, bidirected, latent=latent)
    t, y = _ends(g, treatment, outcome)
    include, exclude = _constraints(g, included, restricted)
    with _errors():
        return problem(g, t, y, include, exclude)


def _constraints(g: CausalGraph, included: Iterable[Hashable] | None,
                 restricted: Iterable[Hashable] | None) -> tuple[list[Any], list[Any]]:
    """`included` and the complement of `restricted` (the engine's include / exclude), checked
    as networkx checks them: every node in the graph, ``included ⊆ restricted``."""
    include = list(_node_set(g, included or (), "included", single=False))
    if restricted is None:
        return include, []
    allowed = _node_set(g, restricted, "restricted", single=False)
    outside = [v for v in include if v not in allowed]
    if outside:
        raise CausalGraphError(Diagnostic(
            "E304", f"the included node(s) {_show(outside)} are not in `restricted`",
            help="`included` must be a subset of `restricted`"))
    return include, [v for v in g.variables if v not in allowed]


def _node_set(g: CausalGraph, nodes: Nodes, role: str, single: bool = True) -> set[Any]:
    """A node or a set of nodes as a set, as networkx reads its arguments (a node first)."""
    try:
        if single and nodes in g._index:
            return {nodes}
    except TypeError:  # unhashable: a set, not a node
        pass
    try:
        out = set(nodes)  # type: ignore[arg-type]
    except TypeError:
        raise CausalNodeNotFound(Diagnostic(
            "E301", f"{nodes!r} ({role}) is neither a node nor a set of nodes of the graph",
            help="pass a node, or a set of nodes")) from None
    _require(g._index, out, role)
    return out


def _ends(g: CausalGraph, treatment: Hashable, outcome: Hashable) -> tuple[str, str]:
    """The treatment and the outcome, checked to be nodes. (The engine annotates names as
    ``str`` but treats them as opaque keys: any hashable node works.)"""
    _require(g._index, (treatment, outcome), "treatment or outcome")
    return cast(str, treatment), cast(str, outcome)


def _require(index: Any, nodes: Iterable[Hashable], role: str) -> None:
    missing = [v for v in nodes if v not in index]
    if not missing:
        return
    v = missing[0]
    close = None
    if isinstance(v, str):
        close = suggest(v, [k for k in index if isinstance(k, str)])
    raise CausalNodeNotFound(Diagnostic(
        "E301", f"the node {v!r} ({role}) is not in the graph",
        help=close or "add it with G.add_node(...), or check its spelling and type"))


def _show(nodes: Iterable[Any]) -> str:
    return ", ".join(sorted(map(repr, nodes)))


_WORDS = (("`never adjust for`", "the nodes outside `restricted`"),
          ("`adjust for`", "`included`"),
          ("declare it with `var` if it was measured", "clear its latent attribute if it was "
           "measured"))


@contextmanager
def _errors() -> Generator[None, None, None]:
    """The engine's `GraphError` as a `CausalGraphError` (E301: `CausalNodeNotFound`), in the
    words of this API (`included`, `restricted`) rather than those of a ``.causal`` query."""
    try:
        yield
    except CausalGraphError:
        raise
    except GraphError as error:
        found = []
        for d in error.diagnostics:
            message, help_ = d.message, d.help or ""
            for old, new in _WORDS:
                message, help_ = message.replace(old, new), help_.replace(old, new)
            found.append(replace(d, message=message, help=help_ or None))
        kind = CausalNodeNotFound if any(d.code == "E301" for d in found) else CausalGraphError
        raise kind(found) from None


__all__ = [
    "CausalGraphError",
    "CausalNodeNotFound",
    "FrontDoorSearch",
    "adjustment_set_reason",
    "all_minimal_adjustment_sets",
    "backdoor_paths",
    "front_door_sets",
    "implications",
    "instruments",
    "is_adjustment_set",
    "is_d_separator",
    "minimal_adjustment_set",
    "optimal_adjustment_set",
    "to_causal_graph",
]
