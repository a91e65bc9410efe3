"""The resolved, validated, immutable model of a study.

In: a `syntax.SyntaxFile` (statements with spans). Out: a `Model` whose variables are all
declared, whose arrows form a DAG, whose queries name observed variables and known
estimands, methods and options. Raises `ModelError` with *every* problem found (codes E2xx).

Spans are kept on every node but excluded from equality (``compare=False``), so two studies
that say the same thing in a different layout or order compare equal after `Model.canonical`.
networkx graphs are built from the model on demand (`causal_dsl.graph`), never stored in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from .errors import Diagnostic, ModelError, Span, suggest

if TYPE_CHECKING:
    from .conditions import Derived  # value types only: the model never imports a later stage
    from .terms import Formula


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

OptionValue: TypeAlias = "bool | int | float | str | tuple[str, ...] | Formula"

# Which options each method takes, the type of the value, and a one-line description. The
# model rejects anything else with a suggestion. A type of `tuple` means a set of variable
# names written `{a, b}`; `"name"` means one variable or column name; `"formula"` a model
# formula (`causal_dsl.terms.Formula`), `"score formula"` one whose terms may not use the treatment.
METHOD_OPTIONS: dict[str, dict[str, tuple[type | str, str]]] = {
    "auto": {},
    "ols": {
        "se": (str, "standard errors: HC1 (default), HC0, HC2, HC3, nonrobust or cluster"),
        "cluster": ("name", "column to cluster standard errors on (implies se = \"cluster\")"),
        "outcome": ("formula", "the outcome model's terms after the treatment, e.g. age + age^2 "
                    "+ treat:age (default: the adjustment set as coded)"),
    },
    "matching": {
        "k": (int, "number of matches per unit (default 1)"),
        "ties": (str, "units tied at the k-th distance: all (default, averaged), first or random"),
        "distance": (str, "scale matched on: ps (the propensity score, default) or logit"),
        "caliper": (float, "maximum distance in standard deviations of the distance scale"),
        "replace": (bool, "match with replacement (default true)"),
        "exact": (tuple, "variables to match exactly on, e.g. exact = {ward}"),
        "se": (str, "standard errors: abadie-imbens (default) or bootstrap"),
        "bootstrap": (int, "bootstrap replications when se = \"bootstrap\" (default 500)"),
        "bias_adjust": (bool, "regression bias adjustment of the matches (default: true when a "
                        "covariate is continuous)"),
        "score": ("score formula", "the propensity score model's terms, e.g. age + age^2 + "
                  "educ:re74 + ns(income, 4) (default: the adjustment set as coded)"),
    },
    "stratification": {},
    "iv": {
        "instrument": (tuple, "the excluded instrument(s): a name or a set {z1, z2} (default: "
                       "those the graph finds)"),
        "se": (str, "standard errors: HC1 (default), HC0, nonrobust or cluster"),
        "cluster": ("name", "column to cluster standard errors on (implies se = \"cluster\")"),
    },
    "frontdoor": {
        "mediators": (tuple, "the front-door set: a name or a set {m1, m2} (default: the one "
                      "the graph finds)"),
        "model": (str, "auto (default), linear (product of coefficients) or plugin (discrete "
                  "mediators, binary treatment)"),
        "se": (str, "standard errors: delta (default) or bootstrap"),
        "bootstrap": (int, "bootstrap replications when se = \"bootstrap\" (default 500)"),
    },
    "did": {
        "cluster": ("name", "column to cluster standard errors on (default: the panel unit)"),
        "event_study": (bool, "estimate leads and lags around adoption (default: when possible)"),
        "group": ("name", "2×2 without a panel: binary variable marking the treated group"),
        "period": ("name", "2×2 without a panel: binary variable marking the later period"),
        "weight": ("name", "2×2 table of cell means: variable counting the units in each row"),
        "sd": ("name", "2×2 table of cell means: variable with each row's standard deviation"),
        "control": (str, "staggered adoption: comparison units, \"never\" (never treated, "
                    "default) or \"notyet\" (not yet treated)"),
        "aggregation": (str, "staggered adoption: overall ATT reported, \"simple\" (default), "
                        "\"group\" or \"dynamic\" (as did::aggte)"),
        "bootstrap": (int, "staggered adoption: multiplier-bootstrap draws for the standard "
                      "errors (default 0: analytic influence function)"),
    },
}

# ``data "f.csv" weights(w, kind = ...)``: what a row's weight means (Stata's aweight, fweight
# and pweight). docs/language.md, "Weights", says what each does to the estimate and the SE.
WEIGHT_KINDS: dict[str, str] = {
    "analytic": "inverse-variance weights (Stata aweight, statsmodels WLS weights): a row "
    "averages w observations; the estimate is weighted least squares, n is the rows",
    "frequency": "replication counts (Stata fweight, statsmodels freq_weights): a row stands "
    "for w identical observations; n is the sum of the weights",
    "survey": "sampling weights, the inverse probability of being sampled (Stata pweight): "
    "the estimate is for the population; standard errors are always robust (sandwich)",
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
    selected: bool = False  # `selected s`: the data holds only rows with s = 1 (no column)
    derived: Derived | None = None  # built from the panel (`when ...`, `from first_treated`)

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
    weights: str | None = None  # the column of row weights
    weight_kind: str | None = None  # a key of WEIGHT_KINDS
    # ``data duckdb("w.duckdb", table = "t")`` / ``data spark(table = "db.t")``: the engine that
    # reads the data (None: a file, read by pandas or, when large, DuckDB) and the table or view
    engine: str | None = None
    table: str | None = None

    @property
    def is_panel(self) -> bool:
        return self.unit is not None and self.time is not None


@dataclass(frozen=True)
class Model:
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
    # `layout x = (0.1, 0.5)`: (name, x, y) for drawings; presentation, so not compared
    layout: tuple[tuple[str, float, float], ...] = field(default=(), compare=False)
    # A lookup table only (name -> Variable); engines are built by the `Study` façade, never here.
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # --- lookups -------------------------------------------------------------------------
    def variable(self, name: str) -> Variable:
        return self._variables_by_name()[name]

    def _variables_by_name(self) -> Mapping[str, Variable]:
        if "by_name" not in self._cache:
            self._cache["by_name"] = {v.name: v for v in self.variables}
        return self._cache["by_name"]

    def query(self, name: str | None = None) -> Query:
        """The query called `name` (the first one when `name` is None).

        Every verb asks here, so an unknown name is one error everywhere: `ModelError` E223,
        with a suggestion.

        >>> Model().query("main")
        Traceback (most recent call last):
        ...
        causal_dsl.errors.ModelError: error[E223]: no query named 'main': the study has no query
        ...
        """
        names = [q.name for q in self.queries]
        if not self.queries:
            raise ModelError(Diagnostic(
                "E223", "the study has no query" if name is None else
                f"no query named '{name}': the study has no query",
                help="add one, e.g. `query main: ate(treatment -> outcome)`"))
        if name is None:
            return self.queries[0]
        for q in self.queries:
            if q.name == name:
                return q
        raise ModelError(Diagnostic(
            "E223", f"no query named '{name}'",
            help=suggest(name, names) or f"the queries are: {', '.join(names)}"))

    @property
    def observed(self) -> tuple[Variable, ...]:
        """Observed variables that are data columns (a selection node is none)."""
        return tuple(v for v in self.variables if v.observed and not v.selected)

    @property
    def selected(self) -> frozenset[str]:
        """The selection nodes (`selected s`): every row of the data has s = 1."""
        return frozenset(v.name for v in self.variables if v.selected)

    @property
    def latents(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.latent)

    @property
    def directed_edges(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if not e.bidirected)

    @property
    def bidirected_edges(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.bidirected)

    def canonical(self) -> Model:
        """The same study with declarations, arrows and queries in a fixed order."""
        return type(self)(
            title=self.title,
            data=self.data,
            variables=tuple(sorted(self.variables, key=lambda v: v.name)),
            edges=tuple(sorted(self.edges, key=lambda e: (e.bidirected, e.source, e.target))),
            queries=tuple(sorted(self.queries, key=lambda q: q.name)),
            path=self.path,
            source=self.source,
            layout=self.layout,
        )

    def same_as(self, other: Model) -> bool:
        """True when both say the same thing, whatever the layout, order or comments."""
        return self.canonical() == other.canonical()


def _show(value: OptionValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "{" + ", ".join(value) + "}"
    if not isinstance(value, int | float):  # a model formula prints itself
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
