"""The causal graph: building it, node ids, networkx views and d-separation.

In: a `Model` (`CausalGraph.from_model`) or plain lists of variables, arrows, bidirected edges
and latent variables. Out: an immutable `CausalGraph` whose answers are names, frozensets of
names and the frozen values of `causal_dsl.graph.values`. Raises `GraphError`: E310 for a cycle
or a bidirected edge from a variable to itself, E301 for a name not in the graph, E308 for
d-separation sets that overlap.

A bidirected edge ``a <-> b`` is modelled as a fresh latent parent of ``a`` and ``b`` (its name
is never shown: paths through it print as ``a <-> b``). Nodes are integers: the variables
first, in declaration order, then one hidden node per bidirected edge. The algorithms work on
the integer adjacency lists (`causal_dsl.graph.separators`) so that they stay linear on large
graphs; only the modules of this package read those lists.

The methods for adjustment, paths, implications and instruments are thin wrappers over the
free functions of `causal_dsl.graph.adjustment`, `.paths`, `.implications` and `.instruments`
(which take the graph as their first argument, networkx-style).

>>> g = CausalGraph(["a", "t", "y"], [("a", "t"), ("a", "y"), ("t", "y")])
>>> sorted(g.adjustment_sets("t", "y"))
['a']
>>> g.d_separated({"t"}, {"y"}, {"a"})
False
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import chain
from typing import TYPE_CHECKING, Any

import causal_dsl.graph.separators as sep

from ..errors import Diagnostic, GraphError, Span, suggest
from .adjustment import (
    adjustment_sets,
    causal_nodes,
    forbidden,
    is_adjustment_set,
    optimal_set,
)
from .implications import IMPLICATION_LIMIT, implications
from .instruments import front_door_set, instruments
from .paths import backdoor_paths
from .values import BackdoorPaths, Implications, Instrument, OptimalSet, fmt_set

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np

    from ..model import Model


class CausalGraph:
    """The causal graph of a study: directed edges, bidirected edges and latent variables.

    Immutable once built. `dag`, `bidirected` and `latent_projection_dag` give networkx views
    (built on demand).
    """

    __slots__ = ("_cache", "_ch", "_hidden", "_index", "_latent", "_n_vars", "_names", "_pa",
                 "_topo")

    def __init__(
        self,
        nodes: Iterable[str],
        directed: Iterable[tuple[str, str]],
        bidirected: Iterable[tuple[str, str]] = (),
        latents: Iterable[str] = (),
    ) -> None:
        directed = list(directed)
        bidirected = list(bidirected)
        names = list(dict.fromkeys(nodes))
        index = {name: i for i, name in enumerate(names)}
        # names only the edges mention join in order of appearance (the common case, none,
        # is settled by one set difference: issue 16, this build is part of every answer)
        if not set(chain.from_iterable((*directed, *bidirected))) <= index.keys():
            for a, b in (*directed, *bidirected):
                for v in (a, b):
                    if v not in index:
                        index[v] = len(names)
                        names.append(v)
        n_vars = len(names)
        pa: list[list[int]] = [[] for _ in range(n_vars)]
        ch: list[list[int]] = [[] for _ in range(n_vars)]
        at = index.__getitem__
        # repeated arrows count once, in the order first given
        for ia, ib in dict.fromkeys(zip(map(at, (a for a, _ in directed)),
                                        map(at, (b for _, b in directed)), strict=True)):
            pa[ib].append(ia)
            ch[ia].append(ib)
        latent = bytearray(n_vars)
        for v in latents:
            latent[index[v]] = 1
        hidden: dict[int, tuple[int, int]] = {}
        seen_pairs: set[tuple[int, int]] = set()
        for a, b in bidirected:
            ia, ib = (index[v] for v in sorted((a, b)))  # shown in alphabetical order
            if ia == ib:
                raise GraphError(Diagnostic(
                    "E310", f"'{a} <-> {a}' joins a variable to itself",
                    help="a bidirected edge needs two different variables"))
            if (ia, ib) in seen_pairs:
                continue
            seen_pairs.add((ia, ib))
            h = len(names)
            names.append(f"{names[ia]}<->{names[ib]}")
            hidden[h] = (ia, ib)
            pa.append([])
            ch.append([ia, ib])
            pa[ia].append(h)
            pa[ib].append(h)
            latent.append(1)
        self._names = names
        self._index = index
        self._pa = pa
        self._ch = ch
        self._latent = latent
        self._hidden = hidden
        self._n_vars = n_vars
        self._topo = self._topological_order()
        self._cache: dict[Any, Any] = {}
        if self.n >= sep.FAST_MIN:  # arrays for the vectorised searches, built once
            self._cache["edges"] = sep.edge_arrays(pa, self.n)

    @classmethod
    def from_model(cls, model: Model) -> CausalGraph:
        """The graph of a resolved study (its variables, arrows, bidirected edges, latents)."""
        return cls(
            (v.name for v in model.variables),
            ((e.source, e.target) for e in model.directed_edges),
            ((e.source, e.target) for e in model.bidirected_edges),
            (v.name for v in model.latents),
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_cache"):
            raise AttributeError("CausalGraph is immutable")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        edges = sum(len(c) for c in self._ch[: self._n_vars])
        return (f"CausalGraph({self._n_vars} variables, {edges} arrows, "
                f"{len(self._hidden)} bidirected)")

    def __contains__(self, name: object) -> bool:
        """Is `name` a variable of the graph (``name in g``, as in networkx)?"""
        return isinstance(name, str) and name in self._index

    # --- views ---------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of nodes, including one hidden node per bidirected edge."""
        return len(self._names)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self._names[: self._n_vars])

    @property
    def latents(self) -> frozenset[str]:
        return frozenset(self._names[v] for v in range(self._n_vars) if self._latent[v])

    @property
    def observed(self) -> frozenset[str]:
        return frozenset(self._names[v] for v in range(self._n_vars) if not self._latent[v])

    def is_latent(self, name: str) -> bool:
        """Is the variable `name` latent (not in the data)? E301 for an unknown name."""
        return bool(self._latent[self._id(name, "variable")])

    def children(self, name: str) -> tuple[str, ...]:
        """The variables `name` has an arrow into, in the order the arrows were given."""
        return tuple(self._names[c] for c in self._ch[self._id(name, "variable")])

    def parents(self, name: str) -> tuple[str, ...]:
        """The variables with an arrow into `name` (bidirected edges are not parents)."""
        return tuple(self._names[p] for p in self._pa[self._id(name, "variable")]
                     if p < self._n_vars)

    def descendants(self, names: Iterable[str] | str) -> frozenset[str]:
        """The named variables and every variable a directed path from them reaches."""
        reach = sep.closure(self._ids(names, "descendants"), self._ch, self.n)
        return self._name_set(v for v in sep._ones(reach) if v < self._n_vars)

    def ancestors(self, names: Iterable[str] | str) -> frozenset[str]:
        """The named variables and every variable with a directed path into them."""
        reach = sep.closure(self._ids(names, "ancestors"), self._pa, self.n)
        return self._name_set(v for v in sep._ones(reach) if v < self._n_vars)

    def in_order(self, names: Iterable[str], role: str = "variable",
                 span: Span | None = None) -> tuple[str, ...]:
        """`names` without repeats, in declaration order; E301 (pointing at `span`, naming
        the `role`) for a name that is not in the graph."""
        return tuple(self._names[v] for v in self._ids(names, role, span))

    def dag(self) -> nx.DiGraph:
        """The directed edges as a networkx DiGraph over every variable (latent included)."""
        if "dag" not in self._cache:
            import networkx as nx

            g = nx.DiGraph()
            g.add_nodes_from(self.variables)
            g.add_edges_from((self._names[p], self._names[c])
                             for c in range(self._n_vars) for p in self._pa[c]
                             if p < self._n_vars)
            self._cache["dag"] = g
        return self._cache["dag"].copy()

    def bidirected(self) -> nx.Graph:
        """The bidirected edges (unobserved common causes) as an undirected networkx Graph."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(self.variables)
        g.add_edges_from((self._names[a], self._names[b]) for a, b in self._hidden.values())
        return g

    def latent_projection_dag(self) -> nx.DiGraph:
        """A DAG with every bidirected edge replaced by an explicit latent parent (named
        ``a<->b``): d-separation in it equals m-separation in the mixed graph."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self._names)
        g.add_edges_from((self._names[p], self._names[c])
                         for c in range(self.n) for p in self._pa[c])
        return g

    # --- names <-> ids (for the modules of this package) ---------------------------------
    def _id(self, name: str, role: str, span: Span | None = None) -> int:
        i = self._index.get(name)
        if i is None:
            raise GraphError(Diagnostic(
                "E301", f"unknown variable '{name}' ({role})", span,
                help=suggest(name, self.variables) or "declare it with `var` or `latent`"))
        return i

    def _ids(self, names: Iterable[str] | str, role: str, span: Span | None = None) -> list[int]:
        if isinstance(names, str):
            names = [names]
        return sorted({self._id(v, role, span) for v in names})

    def _name_set(self, ids: Iterable[int]) -> frozenset[str]:
        return frozenset(self._names[i] for i in ids)

    def _label(self, v: int) -> str:
        if v in self._hidden:
            a, b = self._hidden[v]
            return f"{self._names[a]} <-> {self._names[b]}"
        return self._names[v]

    def _describe_latent(self, v: int) -> str:
        if v in self._hidden:
            a, b = self._hidden[v]
            return f"the unobserved common cause of {self._names[a]} and {self._names[b]}"
        return f"the latent variable {self._names[v]}"

    def _topological_order(self) -> list[int]:
        n = len(self._names)
        indeg = [len(p) for p in self._pa]
        order = [v for v in range(n) if indeg[v] == 0]
        for v in order:  # the list grows while we walk it (Kahn's algorithm)
            for c in self._ch[v]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    order.append(c)
        if len(order) < n:
            left = {v for v in range(n) if indeg[v] > 0}
            raise GraphError(Diagnostic(
                "E310", "the arrows form a cycle through "
                + ", ".join(sorted(self._names[v] for v in left if v < self._n_vars)),
                help="a causal graph must be acyclic: remove or reverse one arrow"))
        return order

    def _directed_path(self, a: int, b: int) -> list[int]:
        """A shortest directed path from a to b (empty when there is none)."""
        prev = {a: a}
        queue = deque([a])
        while queue:
            u = queue.popleft()
            if u == b:
                out = [b]
                while out[-1] != a:
                    out.append(prev[out[-1]])
                return out[::-1]
            for c in self._ch[u]:
                if c not in prev:
                    prev[c] = u
                    queue.append(c)
        return []

    def _edges(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Edge arrays for the vectorised searches, on graphs large enough to need them."""
        if self.n < sep.FAST_MIN:
            return None
        if "edges" not in self._cache:  # FAST_MIN was lowered after construction (tests)
            self._cache["edges"] = sep.edge_arrays(self._pa, self.n)
        edges: tuple[np.ndarray, np.ndarray] = self._cache["edges"]
        return edges

    @property
    def vectorised(self) -> bool:
        """Do the searches on this graph run vectorised (numpy/scipy)? See `sep.FAST_MIN`."""
        return self._edges() is not None

    def forget(self) -> None:
        """Drop cached answers (keeps the graph's own arrays): benchmarks time cold answers."""
        for key in [k for k in self._cache if k != "edges"]:
            del self._cache[key]

    # --- d-separation --------------------------------------------------------------------
    def d_separated(self, xs: Iterable[str] | str, ys: Iterable[str] | str,
                    given: Iterable[str] | str = ()) -> bool:
        """Are `xs` and `ys` d-separated given `given`? Latent variables may appear anywhere;
        a bidirected edge counts as an unobserved common cause. The sets must be disjoint."""
        x, y, z = (self._ids(xs, "d-separation"), self._ids(ys, "d-separation"),
                   self._ids(given, "d-separation"))
        overlap = (set(x) & set(y)) | (set(x) & set(z)) | (set(y) & set(z))
        if overlap:
            raise GraphError(Diagnostic(
                "E308", f"d-separation needs disjoint sets; {fmt_set(self._name_set(overlap))}"
                " appears twice", help="remove the repeated variable from one of the sets"))
        return sep.d_separated(x, y, sep.mask(self.n, z), self._pa, self._ch, self.n,
                               self._edges())

    # --- the other modules' functions as methods -----------------------------------------
    def adjustment_sets(self, treatment: str, outcome: str, kind: str = "minimal",
                        include: Iterable[str] = (), exclude: Iterable[str] = (),
                        limit: int | None = None, assume_observed: Iterable[str] = ()) -> Any:
        """See `causal_dsl.graph.adjustment.adjustment_sets`."""
        return adjustment_sets(self, treatment, outcome, kind, include, exclude, limit,
                               assume_observed)

    def optimal_set(self, treatment: str, outcome: str, include: Iterable[str] = (),
                    exclude: Iterable[str] = (), assume_observed: Iterable[str] = ()
                    ) -> OptimalSet:
        """See `causal_dsl.graph.adjustment.optimal_set`."""
        return optimal_set(self, treatment, outcome, include, exclude, assume_observed)

    def is_adjustment_set(self, treatment: str, outcome: str, adjusting: Iterable[str]) -> bool:
        """See `causal_dsl.graph.adjustment.is_adjustment_set`."""
        return is_adjustment_set(self, treatment, outcome, adjusting)

    def causal_nodes(self, treatment: str, outcome: str) -> frozenset[str]:
        """See `causal_dsl.graph.adjustment.causal_nodes`."""
        return causal_nodes(self, treatment, outcome)

    def forbidden(self, treatment: str, outcome: str) -> frozenset[str]:
        """See `causal_dsl.graph.adjustment.forbidden`."""
        return forbidden(self, treatment, outcome)

    def backdoor_paths(self, treatment: str, outcome: str, given: Iterable[str] = (),
                       limit: int = 50) -> BackdoorPaths:
        """See `causal_dsl.graph.paths.backdoor_paths`."""
        return backdoor_paths(self, treatment, outcome, given, limit)

    def implications(self, limit: int | None = IMPLICATION_LIMIT) -> Implications:
        """See `causal_dsl.graph.implications.implications`."""
        return implications(self, limit)

    def instruments(self, treatment: str, outcome: str, exclude: Iterable[str] = (),
                    assume_observed: Iterable[str] = (), limit: int = 20
                    ) -> tuple[Instrument, ...]:
        """See `causal_dsl.graph.instruments.instruments`."""
        return instruments(self, treatment, outcome, exclude, assume_observed, limit)

    def front_door_set(self, treatment: str, outcome: str) -> frozenset[str] | None:
        """See `causal_dsl.graph.instruments.front_door_set`."""
        return front_door_set(self, treatment, outcome)
