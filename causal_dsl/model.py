"""The resolved, validated, immutable model of a study.

In: a `syntax.SyntaxFile` (statements with spans). Out: a `Study` whose variables are all
declared, whose arrows form a DAG, whose queries name observed variables and known
estimands, methods and options. Raises `ModelError` with *every* problem found (codes E2xx).

Spans are kept on every node but excluded from equality (``compare=False``), so two studies
that say the same thing in a different layout or order compare equal after `Study.canonical`.
networkx graphs are built from the model on demand (`causal_dsl.graph`), never stored in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import Span

if TYPE_CHECKING:
    import networkx as nx


class VarType(StrEnum):
    BINARY = "binary"
    CONTINUOUS = "continuous"
    COUNT = "count"
    CATEGORICAL = "categorical"
    ORDINAL = "ordinal"


ESTIMANDS: dict[str, str] = {
    "ate": "average treatment effect (over everyone)",
    "att": "average treatment effect on the treated",
    "atc": "average treatment effect on the controls",
}

OptionValue = bool | int | float | str | tuple[str, ...]

# Which options each method takes, the type of the value, and a one-line description. The
# model rejects anything else with a suggestion. A type of `tuple` means a set of variable
# names written `{a, b}`; `"name"` means one variable or column name.
METHOD_OPTIONS: dict[str, dict[str, tuple[type | str, str]]] = {
    "auto": {},
    "ols": {
        "se": (str, "standard errors: HC1 (default), HC0, HC2, HC3, nonrobust or cluster"),
        "cluster": ("name", "column to cluster standard errors on (implies se = \"cluster\")"),
    },
    "matching": {
        "k": (int, "number of matches per unit (default 1)"),
        "caliper": (float, "maximum distance in standard deviations of the logit score"),
        "replace": (bool, "match with replacement (default true)"),
        "exact": (tuple, "variables to match exactly on, e.g. exact = {ward}"),
        "se": (str, "standard errors: abadie-imbens (default) or bootstrap"),
        "bootstrap": (int, "bootstrap replications when se = \"bootstrap\" (default 500)"),
        "bias_adjust": (bool, "regression bias adjustment of the matches (default false)"),
    },
    "did": {
        "cluster": ("name", "column to cluster standard errors on (default: the panel unit)"),
        "event_study": (bool, "estimate leads and lags around adoption (default: when possible)"),
        "group": ("name", "2×2 without a panel: binary variable marking the treated group"),
        "period": ("name", "2×2 without a panel: binary variable marking the later period"),
    },
}

PANEL_OPTIONS: dict[str, str] = {
    "unit": "column that identifies the unit (store, patient, county)",
    "time": "column that identifies the period",
}


@dataclass(frozen=True, slots=True)
class Variable:
    """A declared variable: observed (with a type and a data column) or latent."""

    name: str
    type: VarType | None = None  # None for a latent variable
    label: str | None = None
    column: str | None = None  # the data column when it differs from the name
    levels: tuple[str, ...] = ()
    latent: bool = False
    invariant: bool = False  # latent and constant over time within a unit (licenses DiD)
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def observed(self) -> bool:
        return not self.latent

    @property
    def data_column(self) -> str:
        return self.column or self.name


@dataclass(frozen=True, slots=True)
class Edge:
    """``source -> target`` (directed) or ``source <-> target`` (bidirected: a hidden common
    cause). Bidirected edges are stored with ``source < target`` so that equality ignores
    the direction they were written in."""

    source: str
    target: str
    bidirected: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.source} {'<->' if self.bidirected else '->'} {self.target}"


@dataclass(frozen=True, slots=True)
class Method:
    """How a query is to be estimated: ``auto`` or a named estimator with options."""

    name: str = "auto"
    options: tuple[tuple[str, OptionValue], ...] = ()
    span: Span | None = field(default=None, compare=False, repr=False)

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)

    def __str__(self) -> str:
        if not self.options:
            return self.name
        return f"{self.name}({', '.join(f'{k} = {_show(v)}' for k, v in self.options)})"


@dataclass(frozen=True, slots=True)
class Query:
    """``query main: ate(drug -> severity) [adjusting {...}] [adjust for {...}]
    [never adjust for {...}] [using method(...)]``."""

    name: str
    estimand: str
    treatment: str
    outcome: str
    adjusting: frozenset[str] | None = None  # a set the user proposes, to be checked
    include: frozenset[str] = frozenset()  # `adjust for`: must be in every set returned
    exclude: frozenset[str] = frozenset()  # `never adjust for`: in no set returned
    method: Method = field(default_factory=Method)
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.name}: {self.estimand}({self.treatment} -> {self.outcome})"


@dataclass(frozen=True, slots=True)
class DataBinding:
    """``data "file.csv" [panel(unit = u, time = t)]``; `path` is resolved against the study."""

    source: str  # as written
    path: Path | None  # resolved, None when the study has no location
    unit: str | None = None
    time: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def is_panel(self) -> bool:
        return self.unit is not None and self.time is not None


@dataclass(frozen=True)
class Study:
    """A whole `.causal` file, resolved. Built by `causal_dsl.parse` / `causal_dsl.load`.

    >>> import causal_dsl
    >>> s = causal_dsl.parse('var x: binary\\nvar y: continuous\\nx -> y\\nquery q: ate(x -> y)\\n')
    >>> [v.name for v in s.variables], [str(e) for e in s.edges], [str(q) for q in s.queries]
    (['x', 'y'], ['x -> y'], ['q: ate(x -> y)'])
    """

    title: str | None = None
    data: DataBinding | None = None
    variables: tuple[Variable, ...] = ()
    edges: tuple[Edge, ...] = ()
    queries: tuple[Query, ...] = ()
    path: str | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # --- lookups -------------------------------------------------------------------------
    def variable(self, name: str) -> Variable:
        return self._variables_by_name()[name]

    def _variables_by_name(self) -> Mapping[str, Variable]:
        if "by_name" not in self._cache:
            self._cache["by_name"] = {v.name: v for v in self.variables}
        return self._cache["by_name"]

    def query(self, name: str | None = None) -> Query:
        """The query called `name` (the first one when `name` is None)."""
        if not self.queries:
            raise KeyError("the study has no query")
        if name is None:
            return self.queries[0]
        for q in self.queries:
            if q.name == name:
                return q
        raise KeyError(name)

    @property
    def observed(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.observed)

    @property
    def latents(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.latent)

    @property
    def directed_edges(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if not e.bidirected)

    @property
    def bidirected_edges(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.bidirected)

    def canonical(self) -> Study:
        """The same study with declarations, arrows and queries in a fixed order."""
        return Study(
            title=self.title,
            data=self.data,
            variables=tuple(sorted(self.variables, key=lambda v: v.name)),
            edges=tuple(sorted(self.edges, key=lambda e: (e.bidirected, e.source, e.target))),
            queries=tuple(sorted(self.queries, key=lambda q: q.name)),
            path=self.path,
            source=self.source,
        )

    def same_as(self, other: Study) -> bool:
        """True when both say the same thing, whatever the layout, order or comments."""
        return self.canonical() == other.canonical()

    # --- graph ---------------------------------------------------------------------------
    def dag(self) -> nx.DiGraph:
        """The directed edges as a networkx DiGraph over every variable (a fresh copy)."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(v.name for v in self.variables)
        g.add_edges_from((e.source, e.target) for e in self.directed_edges)
        return g

    def summary(self) -> str:
        r"""The one-screen overview that ``causal check`` prints.

        >>> import causal_dsl
        >>> print(causal_dsl.parse('var x: binary\nvar y: count\nlatent u\nu -> {x, y}\n'
        ...                        'x -> y\nquery q: ate(x -> y)\n').summary())
        study: (untitled)
        variables: 3 (2 observed, 1 latent)
          binary       x
          count        y
          latent       u
        arrows: 3 directed, 0 bidirected
        queries: 1
          q: ate(x -> y)
        data: none bound
        """
        lines = [f"study: {self.title or '(untitled)'}"]
        lines.append(
            f"variables: {len(self.variables)} ({len(self.observed)} observed, "
            f"{len(self.latents)} latent)"
        )
        groups: dict[str, list[str]] = {}
        for v in self.variables:
            kind = ("latent, invariant" if v.invariant else "latent") if v.latent else str(v.type)
            groups.setdefault(kind, []).append(v.name)
        for kind, names in groups.items():
            shown = ", ".join(names[:12]) + (f", … ({len(names) - 12} more)" if len(names) > 12
                                             else "")
            lines.append(f"  {kind:<18} {shown}")
        lines.append(
            f"arrows: {len(self.directed_edges)} directed, {len(self.bidirected_edges)} bidirected"
        )
        lines.append(f"queries: {len(self.queries)}")
        for q in self.queries[:20]:
            extra = f" using {q.method}" if q.method.name != "auto" else ""
            lines.append(f"  {q}{extra}")
        if len(self.queries) > 20:
            lines.append(f"  … ({len(self.queries) - 20} more)")
        if self.data is None:
            lines.append("data: none bound")
        else:
            panel = f" (panel: unit = {self.data.unit}, time = {self.data.time})" \
                if self.data.is_panel else ""
            lines.append(f"data: {self.data.source}{panel}")
        return "\n".join(lines)

    # --- identification (causal_dsl.identify) ---------------------------------------------
    def _graph(self) -> Any:
        if "graph" not in self._cache:
            from .identify import CausalGraph

            self._cache["graph"] = CausalGraph.from_study(self)
        return self._cache["graph"]

    def d_separated(
        self, xs: Iterable[str] | str, ys: Iterable[str] | str, given: Iterable[str] = ()
    ) -> bool:
        """Are `xs` and `ys` d-separated given `given`? (latent variables count as nodes)."""
        return self._graph().d_separated(_names(xs), _names(ys), _names(given))

    def adjustment_sets(
        self, treatment: str, outcome: str, kind: str = "minimal", **kw: Any
    ) -> Any:
        """Valid adjustment sets over observed variables: kind = "minimal" (one),
        "all_minimal", "smallest" or "optimal" (the O-set)."""
        return self._graph().adjustment_sets(treatment, outcome, kind=kind, **kw)

    def backdoor_paths(self, treatment: str, outcome: str, given: Iterable[str] = ()) -> Any:
        """The backdoor paths of treatment -> outcome and what blocks each given `given`."""
        return self._graph().backdoor_paths(treatment, outcome, given)

    def implications(self) -> Any:
        """Testable implications: minimal conditional independencies among observed variables."""
        return self._graph().implications()

    def instruments(self, treatment: str, outcome: str) -> Any:
        return self._graph().instruments(treatment, outcome)

    def identify(self, query: Query | str | None = None) -> Any:
        """The identification result of one query (by name, object, or the first)."""
        from .identify import identify

        q = query if isinstance(query, Query) else self.query(query)
        return identify(self, q)

    # --- estimation (causal_dsl.planner) --------------------------------------------------
    def plan(self, query: Query | str | None = None, **kw: Any) -> Any:
        from .planner import plan

        q = query if isinstance(query, Query) else self.query(query)
        return plan(self, q, **kw)

    def estimate(self, query: Query | str | None = None, **kw: Any) -> Any:
        from .planner import estimate

        q = query if isinstance(query, Query) else self.query(query)
        return estimate(self, q, **kw)

    def run(self, **kw: Any) -> Any:
        """Estimate every query on the bound data."""
        from .planner import run

        return run(self, **kw)

    # --- rendering (causal_dsl.render) ----------------------------------------------------
    def to_dot(self, **kw: Any) -> str:
        from .render import to_dot

        return to_dot(self, **kw)

    def to_mermaid(self, **kw: Any) -> str:
        from .render import to_mermaid

        return to_mermaid(self, **kw)

    def render(self, path: str | Path, **kw: Any) -> Path:
        from .render import render_file

        return render_file(self, path, **kw)

    def _repr_svg_(self) -> str | None:
        from .render import repr_svg

        return repr_svg(self)

    def _repr_markdown_(self) -> str:
        from .render import repr_markdown

        return repr_markdown(self)

    def _repr_html_(self) -> str | None:
        from .render import repr_html

        return repr_html(self)


def _names(xs: Iterable[str] | str) -> frozenset[str]:
    return frozenset([xs]) if isinstance(xs, str) else frozenset(xs)


def _show(value: OptionValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "{" + ", ".join(value) + "}"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
