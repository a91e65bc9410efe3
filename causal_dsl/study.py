"""The `Study` façade: one resolved study and every verb a user calls on it.

In: a `Model` (the data-only result of parsing and resolving). Out: the answers of the later
stages — identification (`causal_dsl.identify`, `causal_dsl.graph`), plans and estimates
(`causal_dsl.planner`), diagrams (`causal_dsl.render`) and displays (`causal_dsl.present`).
This module sits above all of them, the way DoWhy's `CausalModel` sits above its engines; the
model below carries no verbs. Engine imports stay inside the methods so that ``causal check``
imports only lark. Raises what the stages raise (`CausalError` subclasses).

The graph engine is built once per study and kept here (not in the immutable model), so that a
session asking many questions of one study builds it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import Model, Query

if TYPE_CHECKING:
    import networkx as nx

    from .checks import StudyChecks
    from .graph import BackdoorPaths, CausalGraph, Implications, Instrument
    from .identify import Identification
    from .results import Plan, QueryResult, RunResult


@dataclass(frozen=True)
class Study(Model):
    """A whole `.causal` file, resolved, with the verbs of the pipeline.

    Built by `causal_dsl.parse` / `causal_dsl.load`. Equality is the model's: two studies that
    say the same thing in the same order are equal, whatever their layout and comments.

    >>> import causal_dsl
    >>> s = causal_dsl.parse('var x: binary\\nvar y: continuous\\nx -> y\\n'
    ...                      'query q: ate(x -> y)\\n')
    >>> s.identify("q").adjustment_set
    frozenset()
    """

    _engines: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, model: Model) -> Study:
        """The façade over a resolved model (shares its tuples; copies nothing large)."""
        if isinstance(model, Study):
            return model
        return cls(**{f.name: getattr(model, f.name) for f in fields(Model)})

    def _query(self, query: Query | str | None) -> Query:
        return query if isinstance(query, Query) else self.query(query)

    # --- overview -------------------------------------------------------------------------
    def summary(self) -> str:
        """The one-screen overview that ``causal check`` prints (drawn by
        `causal_dsl.present.text.study_text`, whose docstring shows it)."""
        from .present.text import study_text

        return study_text(self)

    def dag(self) -> nx.DiGraph:
        """The study's graph as a networkx DiGraph (a fresh copy): `to_networkx`."""
        return self.to_networkx()

    def to_networkx(self) -> nx.DiGraph:
        """Every variable a node (attributes ``latent``, ``type``, ``label``), the arrows, and
        each ``a <-> b`` a latent parent ``a<->b`` marked ``bidirected=True``: passed to the
        functions of `causal_dsl.graph` it gives the answers of ``causal identify``
        (`causal_dsl.convert.to_networkx`; `causal_dsl.from_networkx` goes back)."""
        from .convert import to_networkx

        return to_networkx(self)

    def to_causal_text(self) -> str:
        """The study as ``.causal`` text in the canonical layout (`causal_dsl.convert`)."""
        from .convert import causal_text

        return causal_text(self)

    def save(self, path: str | Path) -> Path:
        """Write `to_causal_text` to `path` (UTF-8); returns the path written."""
        out = Path(path)
        out.write_text(self.to_causal_text(), encoding="utf-8")
        return out

    # --- identification (causal_dsl.graph, causal_dsl.identify) ---------------------------
    def graph(self) -> CausalGraph:
        """The graph engine over this study, built on first use and kept."""
        if "graph" not in self._engines:
            from .graph import CausalGraph

            self._engines["graph"] = CausalGraph.from_model(self)
        engine: CausalGraph = self._engines["graph"]
        return engine

    def d_separated(
        self, xs: Iterable[str] | str, ys: Iterable[str] | str, given: Iterable[str] = ()
    ) -> bool:
        """Are `xs` and `ys` d-separated given `given`? (latent variables count as nodes)."""
        return self.graph().d_separated(_names(xs), _names(ys), _names(given))

    def adjustment_sets(
        self, treatment: str, outcome: str, kind: str = "minimal", **kw: Any
    ) -> frozenset[str] | Iterator[frozenset[str]] | None:
        """Valid adjustment sets over observed variables: kind = "minimal" (one set),
        "all_minimal" (a lazy iterator), "smallest" or "optimal" (the O-set)."""
        return self.graph().adjustment_sets(treatment, outcome, kind=kind, **kw)

    def backdoor_paths(
        self, treatment: str, outcome: str, given: Iterable[str] = ()
    ) -> BackdoorPaths:
        """The backdoor paths of treatment -> outcome and what blocks each given `given`."""
        return self.graph().backdoor_paths(treatment, outcome, given)

    def implications(self) -> Implications:
        """Testable implications: minimal conditional independencies among observed variables."""
        return self.graph().implications()

    def instruments(self, treatment: str, outcome: str) -> tuple[Instrument, ...]:
        """Observed (conditional) instruments for ``treatment -> outcome``."""
        return self.graph().instruments(treatment, outcome)

    def identify(self, query: Query | str | None = None) -> Identification:
        """The identification result of one query (by name, object, or the first)."""
        from .identify import identify

        _displays()
        return identify(self, self._query(query), graph=self.graph())

    # --- estimation (causal_dsl.planner) --------------------------------------------------
    def plan(self, query: Query | str | None = None, **kw: Any) -> Plan:
        """Which estimator answers the query, and why (reads the data only if needed)."""
        from .planner import plan

        q = self._query(query)
        return plan(self, q, identification=self.identify(q), **kw)

    def estimate(self, query: Query | str | None = None, **kw: Any) -> QueryResult:
        """Plan and estimate one query on the bound data."""
        from .planner import estimate

        q = self._query(query)
        _displays()
        return estimate(self, q, identification=self.identify(q), **kw)

    def run(self, **kw: Any) -> RunResult:
        """Estimate every query on the bound data."""
        from .planner import run

        _displays()
        return run(self, graph=self.graph(), **kw)

    # --- the assumptions on trial (causal_dsl.checks) -----------------------------------
    def test(self, *, alpha: float = 0.05, seed: int = 0, replications: int = 20,
             adjustment: Mapping[str, frozenset[str] | None] | None = None) -> StudyChecks:
        """Test the DAG's implications on the bound data, and each adjusted query's
        sensitivity to unobserved confounding and refutations (``causal test``). `adjustment`:
        each query's adjustment set when the caller has identified them already (a report)."""
        from . import engines
        from .checks import check_study, graph_answers
        from .data import load_data
        from .errors import DataError

        sets: Mapping[str, frozenset[str] | None]
        if adjustment is None:
            implications, sets = graph_answers(self, self.graph())
        else:
            implications, sets = self.implications(), adjustment
        if not engines.wants_engine(self):
            return check_study(self, load_data(self), implications, sets, alpha=alpha,
                               seed=seed, replications=replications)
        # DuckDB / Spark: the implications are tested from moments in the engine; the
        # sensitivity and refutation checks refit on the rows, so they need them in memory
        # (the declared columns, up to engines.MAX_IN_MEMORY_ROWS) or are skipped, saying why.
        from .engines import citests as engine_citests

        listed = list(implications)  # read twice: by the engine's tests and check_study
        local = engine_citests.local_tests(self, listed, alpha=alpha)
        frame, why = None, ""
        try:
            frame = engines.load_frame(self)
        except DataError as error:
            if error.diagnostics[0].code != "E422":
                raise
            why = (f"{error.diagnostics[0].message.split(':')[0]}: the sensitivity and refutation"
                   " checks refit the regression on the rows, which are not loaded")
        return check_study(self, frame, listed, sets, alpha=alpha, seed=seed,
                           replications=replications, local=local, no_frame=why)

    # --- diagrams (causal_dsl.render) -----------------------------------------------------
    def to_dot(self, **kw: Any) -> str:
        """The DAG as Graphviz DOT text."""
        from .render import to_dot

        return to_dot(self, **kw)

    def to_mermaid(self, **kw: Any) -> str:
        """The DAG as a Mermaid flowchart (renders natively on GitHub)."""
        from .render import to_mermaid

        return to_mermaid(self, **kw)

    def render(self, path: str | Path, **kw: Any) -> Path:
        """Draw the DAG to `path` (.svg, .png, .dot or .mmd); returns the path written."""
        from .render import render_file

        return render_file(self, path, **kw)

    # --- Jupyter ----------------------------------------------------------------------------
    def _repr_svg_(self) -> str | None:
        return _display("svg", self)

    def _repr_markdown_(self) -> str | None:
        return _display("markdown", self)

    def _repr_html_(self) -> str | None:
        return _display("html", self)


def from_networkx(
    G: nx.DiGraph, *, bidirected: nx.Graph | Iterable[tuple[Any, Any]] | None = None,
    latent: str = "latent", type: str = "type", label: str = "label",
    default_type: str = "continuous", title: str | None = None, treatment: Any = None,
    outcome: Any = None, estimand: str = "ate",
) -> Study:
    """A study of a networkx graph, to identify, render, lint, format and `save` like a file:
    one variable per node (latent when its `latent` attribute is true, else typed by its
    `type` attribute), its arrows and `bidirected` edges, and with `treatment` and `outcome`
    a query ``effect`` (`causal_dsl.convert.networkx_model`).

    >>> import networkx as nx
    >>> s = from_networkx(nx.DiGraph([("a", "t"), ("a", "y"), ("t", "y")]), treatment="t",
    ...                   outcome="y")
    >>> s.identify().adjustment_set
    frozenset({'a'})
    """
    from .convert import networkx_model

    return Study.of(networkx_model(
        G, bidirected=bidirected, latent=latent, type=type, label=label,
        default_type=default_type, title=title, treatment=treatment, outcome=outcome,
        estimand=estimand))


def _names(xs: Iterable[str] | str) -> frozenset[str]:
    return frozenset([xs]) if isinstance(xs, str) else frozenset(xs)


def _displays() -> None:
    """Register the HTML/Markdown presenters of result values (see `causal_dsl.display`)."""
    from . import present

    present.register()


def _display(fmt: str, value: object) -> str | None:
    from . import display

    _displays()
    return display.show(fmt, value)
