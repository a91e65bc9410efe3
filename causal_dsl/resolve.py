"""Syntax tree → model: resolve names, expand arrows, check everything, build a `Model`.

In: a `SyntaxFile`. Out: a validated, immutable `Model`. Raises `ModelError` carrying *every*
problem found (codes E2xx): unknown variables (with a suggestion), duplicate declarations,
self-loops, duplicate arrows, arrows both ways, cycles (printed as ``a -> b -> c -> a``), queries on
latent variables, unknown types, estimands, methods and options, and a data file that does not
exist (checked only when the study has a location on disk). Type, estimand and method names are
read case-insensitively (``ATE``, ``OLS``). A binary variable may name its two codes,
``binary("F", "M")`` or ``binary(control = "ctl", treated = "trt")``: the first (or the
``control``) is 0 (E215 otherwise). A model formula (``using matching(score = age + age^2)``) is
read into `causal_dsl.terms` (E225) and its variables checked (E226: declared, observed, not the
outcome, not the treatment of a score, and inside a proposed `adjusting` set). Weights need a
kind (E228); a derived treatment (``when ...``, ``from first_treated = ...``) is binary and
takes no column (E227); a selection node is neither treatment nor outcome nor kept out (E229);
a layout position names a declared variable once, with finite numbers (E230). Options and
formulas are read by `causal_dsl.resolve_options`.
"""

from __future__ import annotations

import math
from pathlib import Path

from .conditions import read_derivation
from .errors import DiagnosticSink, ModelError, Span, suggest, visible
from .model import (
    ESTIMANDS,
    PANEL_OPTIONS,
    WEIGHT_KINDS,
    DataBinding,
    Edge,
    Method,
    Model,
    OptionValue,
    Query,
    Variable,
    VarType,
)
from .resolve_engine import is_special, resolve_source
from .resolve_options import OptionReader
from .syntax import (
    ArrowStmt,
    DataStmt,
    Ident,
    LatentStmt,
    LayoutStmt,
    QueryStmt,
    SelectedStmt,
    SetClause,
    StudyStmt,
    SyntaxFile,
    UsingClause,
    VarStmt,
    WeightsClause,
)

TYPES_WITH_LEVELS = (VarType.CATEGORICAL, VarType.ORDINAL)
BINARY_KEYS = ("control", "treated")  # binary(control = "ctl", treated = "trt"): 0 and 1


def resolve(tree: SyntaxFile, check_files: bool = True, *,
            assumed: frozenset[str] = frozenset()) -> Model:
    """Build the `Model` for a syntax tree, or raise `ModelError` listing every problem.

    `assumed` names may be declared on lines that did not parse (`causal_dsl.recover`): an
    unknown name among them is not reported (E201), so that one broken line does not cascade.

    >>> from causal_dsl.syntax import parse_syntax
    >>> resolve(parse_syntax("var x: binary\\nx -> y\\n", "s.causal"))
    Traceback (most recent call last):
    ...
    causal_dsl.errors.ModelError: s.causal:2:6: error[E201]: unknown variable 'y'
    ...
    """
    return _Resolver(tree, check_files, assumed).run()


class _Resolver(OptionReader):
    def __init__(self, tree: SyntaxFile, check_files: bool,
                 assumed: frozenset[str] = frozenset()) -> None:
        self.tree = tree
        self.check_files = check_files
        self.assumed = assumed
        self.sink = DiagnosticSink()
        self.variables: dict[str, Variable] = {}

    def run(self) -> Model:
        statements = self.tree.statements
        title = self._title([s for s in statements if isinstance(s, StudyStmt)])
        data = self._data([s for s in statements if isinstance(s, DataStmt)])
        for s in statements:
            variable = self._declaration(s)
            if variable is not None:
                self._declare(variable, s.name)  # type: ignore[union-attr]
        self._check_derived(data)
        self._check_columns()
        self._check_visible(title, next((s.span for s in statements
                                         if isinstance(s, StudyStmt)), None))
        edges = self._edges([s for s in statements if isinstance(s, ArrowStmt)])
        queries = self._queries([s for s in statements if isinstance(s, QueryStmt)])
        layout = self._layout([s for s in statements if isinstance(s, LayoutStmt)])
        self.sink.raise_if_errors(ModelError, {self.tree.path: self.tree.text})
        return Model(
            title=title,
            data=data,
            variables=tuple(self.variables.values()),
            edges=edges,
            queries=queries,
            path=self.tree.path,
            source=self.tree.text,
            layout=layout,
        )

    def _declaration(self, s: object) -> Variable | None:
        """The variable a `var`, `latent` or `selected` line declares (None for other lines)."""
        if isinstance(s, VarStmt):
            return self._variable(s)
        if isinstance(s, LatentStmt):
            return Variable(s.name.text, None, s.label, latent=True, invariant=s.invariant,
                            span=s.name.span)
        if isinstance(s, SelectedStmt):
            return Variable(s.name.text, VarType.BINARY, s.label, selected=True,
                            span=s.name.span)
        return None

    def _check_visible(self, title: str | None, title_span: Span | None) -> None:
        """Names, labels, levels, columns and the title must be printable: a control character
        would reach a terminal raw, or make SVG invalid XML (E224)."""
        def bad(text: str | None) -> bool:
            # C0 controls other than tab, newline and CR (the language's own escapes) are
            # not allowed in XML at all; the rest are escaped wherever text is shown
            return text is not None and not text.isprintable() and any(
                ord(c) < 0x20 and c not in "\t\n\r" for c in text)

        help_text = "remove the control character (\\n, \\t and \\r are allowed in labels)"
        if bad(title):
            self.sink.error("E224", "the title contains a control character", title_span,
                            help=help_text)
        for v in self.variables.values():
            texts = [("name", v.name), ("label", v.label), ("column", v.column),
                     *(("level", str(level)) for level in v.levels)]
            for what, text in texts:
                if bad(text):
                    self.sink.error("E224", f"the {what} of '{visible(v.name)}' contains a "
                                    "control character", v.span, help=help_text)

    # --- header --------------------------------------------------------------------------
    def _title(self, studies: list[StudyStmt]) -> str | None:
        for extra in studies[1:]:
            self.sink.error("E217", "a second 'study' statement", extra.span,
                            notes=(f"the title is already set on line {studies[0].span.line}",),
                            help="keep one 'study' line")
        return studies[0].title if studies else None

    def _data(self, datas: list[DataStmt]) -> DataBinding | None:
        for extra in datas[1:]:
            self.sink.error("E217", "a second 'data' statement", extra.span,
                            notes=(f"the data is already bound on line {datas[0].span.line}",),
                            help="a study binds one dataset; keep one 'data' line")
        if not datas:
            return None
        stmt = datas[0]
        resolved: Path | None = None
        # a glob, a folder or an engine binding (issue 19): `causal_dsl.resolve_engine`
        special = "\0" not in stmt.source and is_special(stmt, self.tree.path)
        engine = table = None
        if "\0" in stmt.source:
            self.sink.error("E212", "the data path contains a NUL character", stmt.source_span,
                            help="write the file's path without control characters")
        elif special:
            bound = resolve_source(stmt, self.tree.path, self.sink, self.check_files)
            resolved, engine, table = bound.path, bound.engine, bound.table
        elif self.tree.path is not None:
            try:
                resolved = (Path(self.tree.path).parent / stmt.source).resolve()
                exists = resolved.exists()
            except (OSError, RuntimeError) as error:  # a symlink loop, a name too long
                exists, resolved = False, None
                self.sink.error("E212", f"data file '{stmt.source}' cannot be resolved: "
                                f"{getattr(error, 'strerror', None) or error}", stmt.source_span,
                                help="fix the path (or the symbolic links it goes through)")
            if self.check_files and resolved is not None and not exists:
                self.sink.error(
                    "E212", f"data file '{stmt.source}' does not exist", stmt.source_span,
                    notes=(f"looked for {resolved}",),
                    help="the path is relative to the .causal file; fix it or create the file",
                )
        suffix = Path(stmt.source).suffix.lower()
        if not special and suffix not in (".csv", ".parquet", ".pq", ".tsv"):
            self.sink.error(
                "E213", f"unsupported data format '{suffix or stmt.source}'", stmt.source_span,
                help="bind a .csv, .tsv or .parquet file",
            )
        unit = time = None
        if stmt.panel is not None:
            values = self._options(stmt.panel, PANEL_OPTIONS, "panel")
            unit = values.get("unit")
            time = values.get("time")
            for key in ("unit", "time"):
                if key not in values:
                    self.sink.error(
                        "E218", f"panel binding without '{key}'", stmt.span,
                        help="write panel(unit = <unit column>, time = <period column>)",
                    )
        weights, kind = self._weights(stmt.weights) if stmt.weights else (None, None)
        return DataBinding(stmt.source, resolved, _as_name(unit), _as_name(time), stmt.span,
                           weights, kind, engine, table)

    def _weights(self, clause: WeightsClause) -> tuple[str | None, str | None]:
        """``weights(popwt, kind = "analytic")``: the kind must be stated (E228), since the
        three kinds give the same estimate but different standard errors."""
        kinds = ", ".join(f'"{k}"' for k in WEIGHT_KINDS)
        values = self._options(clause.options, {"kind": "what the weights mean: " + kinds},
                               "weights")
        kind = values.get("kind")
        if kind is None:
            self.sink.error("E228", f"weights '{clause.column.text}' without a kind",
                            clause.span, help=f'add kind = ..., one of {kinds}: the standard '
                            "errors depend on it (docs/language.md, \"Weights\")")
            return clause.column.text, None
        if str(kind).lower() not in WEIGHT_KINDS:
            self.sink.error("E228", f"unknown kind of weights '{kind}'", clause.options[-1].span,
                            help=suggest(str(kind), WEIGHT_KINDS) or f"kinds are: {kinds}")
            return clause.column.text, None
        return clause.column.text, str(kind).lower()

    def _layout(self, statements: list[LayoutStmt]) -> tuple[tuple[str, float, float], ...]:
        """Positions for drawings: of declared variables, once each, finite (E230)."""
        seen: dict[str, LayoutStmt] = {}
        for s in statements:
            if not self._known(s.name):
                continue
            if s.name.text in seen:
                self.sink.error("E230", f"'{s.name.text}' has two layout positions", s.span,
                                notes=(f"first placed on line {seen[s.name.text].span.line}",),
                                help="keep one `layout` line per variable")
            elif not (math.isfinite(s.x) and math.isfinite(s.y)):
                self.sink.error("E230", f"the position of '{s.name.text}' is not finite",
                                s.span, help="write two ordinary numbers, e.g. (0.1, 0.5)")
            else:
                seen[s.name.text] = s
        return tuple((name, s.x, s.y) for name, s in seen.items())

    # --- declarations ----------------------------------------------------------------------
    def _variable(self, s: VarStmt) -> Variable:
        try:
            vtype: VarType | None = VarType(s.type_name.text.lower())
        except ValueError:
            vtype = None
            self.sink.error(
                "E214", f"unknown variable type '{s.type_name.text}'", s.type_name.span,
                help=suggest(s.type_name.text, [t.value for t in VarType])
                or "types are: " + ", ".join(t.value for t in VarType),
            )
        levels: tuple[str, ...] = ()
        if s.levels is not None and vtype is VarType.BINARY:
            levels = self._binary_levels(s)
        elif s.levels is not None:
            for value in s.levels:
                if value.kind == "keyed":
                    self.sink.error("E215", f"a {vtype.value if vtype else 'variable'}'s levels "
                                    "are listed, not named", value.span,
                                    help="write the levels in order, e.g. (\"low\", \"high\"); "
                                    "only binary(control = ..., treated = ...) names them")
            if vtype is not None and vtype not in TYPES_WITH_LEVELS:
                self.sink.error(
                    "E215", f"a {vtype.value} variable takes no levels", s.levels[0].span
                    if s.levels else s.span,
                    help="only categorical and ordinal variables list their levels",
                )
            levels = tuple(str(v.value) for v in s.levels)
            seen: set[str] = set()
            for value in s.levels:
                if str(value.value) in seen:
                    self.sink.error("E215", f"level '{value.value}' is listed twice", value.span,
                                    help="remove the repeated level")
                seen.add(str(value.value))
        derived = None
        if s.derivation is not None:
            derived = read_derivation(s.derivation, self.sink)
            problem = None
            if vtype is not None and vtype is not VarType.BINARY:
                problem = f"a derived variable is binary, not {vtype.value}"
            elif s.column is not None or s.levels is not None:
                problem = "a derived variable is built, not read: it takes no column or levels"
            if problem is not None:
                derived = None
                self.sink.error("E227", f"'{s.name.text}': {problem}", s.derivation.span,
                                help="write e.g. var treated: binary when year >= 2011 and "
                                "state == \"CA\"")
        return Variable(s.name.text, vtype, s.label, s.column, levels, span=s.name.span,
                        derived=derived)

    def _check_derived(self, data: DataBinding | None) -> None:
        """`from first_treated` reads the unit's first treated period against the panel's
        time: it needs a panel (E227)."""
        for v in self.variables.values():
            if v.derived is not None and v.derived.first_treated is not None and (
                    data is None or not data.is_panel):
                self.sink.error("E227", f"'{v.name}' is derived from first_treated, which "
                                "needs a panel", v.derived.span or v.span,
                                help="bind the data with panel(unit = ..., time = ...)")

    def _binary_levels(self, s: VarStmt) -> tuple[str, ...]:
        """The two codes of a binary column, the one read as 0 first."""
        assert s.levels is not None
        values = s.levels
        span = values[0].span.cover(values[-1].span) if values else s.span
        example = 'binary("F", "M") (the first is 0) or binary(control = "ctl", treated = "trt")'
        keyed = [v for v in values if v.kind == "keyed"]
        if keyed and len(keyed) != len(values):
            self.sink.error("E215", "binary levels are either all named or all listed", span,
                            help=example)
            return ()
        if len(values) != 2:
            self.sink.error("E215", f"a binary variable takes two levels, not {len(values)}",
                            span, help=example)
            return ()
        if keyed:
            by_key: dict[str, str] = {}
            for v in keyed:
                key, level = v.value
                if key.text not in BINARY_KEYS:
                    self.sink.error("E215", f"unknown binary level name '{key.text}'", key.span,
                                    help=suggest(key.text, BINARY_KEYS)
                                    or "name them control (read as 0) and treated (read as 1)")
                    return ()
                if key.text in by_key:
                    self.sink.error("E215", f"'{key.text}' is named twice", key.span,
                                    help="name one level control and the other treated")
                    return ()
                by_key[key.text] = str(level.value)
            levels = (by_key["control"], by_key["treated"])
        else:
            levels = (str(values[0].value), str(values[1].value))
        if levels[0] == levels[1]:
            self.sink.error("E215", f"level '{levels[0]}' is listed twice", values[1].span,
                            help="a binary variable's two codes differ")
            return ()
        return levels

    def _declare(self, variable: Variable, ident: Ident) -> None:
        first = self.variables.get(variable.name)
        if first is not None:
            where = first.span.line if first.span else "?"
            self.sink.error(
                "E202", f"variable '{variable.name}' is declared twice", ident.span,
                notes=(f"first declared on line {where}",),
                help="remove one of the declarations",
            )
            return
        self.variables[variable.name] = variable

    def _check_columns(self) -> None:
        by_column: dict[str, Variable] = {}
        for variable in self.variables.values():
            if variable.latent:
                continue
            other = by_column.get(variable.data_column)
            if other is not None:
                self.sink.error(
                    "E221", f"variables '{other.name}' and '{variable.name}' both read column "
                    f"'{variable.data_column}'", variable.span,
                    help="give each variable its own column with 'as \"column\"'",
                )
            by_column[variable.data_column] = variable

    def _known(self, ident: Ident) -> bool:
        if ident.text in self.variables:
            return True
        if ident.text in self.assumed:  # perhaps declared on a line that does not parse
            return False
        self.sink.error(
            "E201", f"unknown variable '{ident.text}'", ident.span,
            help=suggest(ident.text, self.variables)
            or f"declare it first: var {_display(ident.text)}: continuous (or latent "
            f"{_display(ident.text)})",
        )
        return False

    # --- arrows ----------------------------------------------------------------------------
    def _edges(self, statements: list[ArrowStmt]) -> tuple[Edge, ...]:
        directed: dict[tuple[str, str], Edge] = {}
        bidirected: dict[tuple[str, str], Edge] = {}
        variables = self.variables
        for s in statements:
            # `in variables` first: `_known` (which reports the unknown) only for the rare miss.
            known = {
                ident.text
                for term in s.terms
                for ident in term.names
                if ident.text in variables or self._known(ident)
            }
            for i, op in enumerate(s.ops):
                left, right = s.terms[i], s.terms[i + 1]
                # With one operator the pair's span is the statement's: no need to rebuild it.
                span = s.span if len(s.ops) == 1 else left.span.cover(right.span)
                for ia in left.names:
                    for ib in right.names:
                        if ia.text not in known or ib.text not in known:
                            continue
                        self._add_edge(op, ia, ib, span, directed, bidirected)
        for (a, b), edge in directed.items():
            if (b, a) in directed and a < b:
                other = directed[(b, a)]
                self.sink.error(
                    "E205", f"arrows both ways between '{a}' and '{b}'", other.span,
                    notes=(f"'{a} -> {b}' is on line {edge.span.line if edge.span else '?'}",),
                    help="a DAG has one direction per pair; if both depend on a hidden common "
                    f"cause, write {a} <-> {b}",
                )
        self._check_cycles(directed)
        return tuple(directed.values()) + tuple(bidirected.values())

    def _add_edge(
        self,
        op: str,
        a: Ident,
        b: Ident,
        span: Span,
        directed: dict[tuple[str, str], Edge],
        bidirected: dict[tuple[str, str], Edge],
    ) -> None:
        source, target = (b, a) if op == "<-" else (a, b)
        if source.text == target.text:
            self.sink.error(
                "E203", f"'{source.text}' points to itself", span,
                help="a variable cannot cause itself; remove the arrow",
            )
            return
        if op == "<->":
            key = tuple(sorted((source.text, target.text)))
            store, edge = bidirected, Edge(key[0], key[1], True, span)
        else:
            key = (source.text, target.text)
            store, edge = directed, Edge(source.text, target.text, False, span)
        first = store.get(key)  # type: ignore[arg-type]
        if first is not None:
            self.sink.error(
                "E204", f"arrow '{edge}' is written twice", span,
                notes=(f"first written on line {first.span.line if first.span else '?'}",),
                help="remove the repeated arrow",
            )
            return
        store[key] = edge  # type: ignore[index]

    def _check_cycles(self, directed: dict[tuple[str, str], Edge]) -> None:
        # Kahn's algorithm on plain dicts first: building a networkx graph costs more than the
        # whole check, and only a cyclic remainder needs networkx to name the cycles.
        children: dict[str, list[str]] = {}
        indegree: dict[str, int] = {}
        for a, b in directed:
            if (b, a) in directed:  # reported already as "arrows both ways"
                continue
            children.setdefault(a, []).append(b)
            indegree[b] = indegree.get(b, 0) + 1
            indegree.setdefault(a, 0)
        ready = [n for n, d in indegree.items() if d == 0]
        while ready:
            node = ready.pop()
            for child in children.get(node, ()):
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        remaining = {n for n, d in indegree.items() if d > 0}
        if not remaining:
            return
        # Imported here: `causal check` of an acyclic study never pays for importing networkx.
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_edges_from(
            (a, b) for (a, b) in directed
            if a in remaining and b in remaining and (b, a) not in directed
        )
        for component in nx.strongly_connected_components(graph):
            if len(component) < 2:
                continue
            cycle = nx.find_cycle(graph.subgraph(component))
            names = [a for a, _ in cycle] + [cycle[0][0]]
            edge = directed[cycle[0]]
            self.sink.error(
                "E206", "the arrows form a cycle: " + " -> ".join(names), edge.span,
                help="a causal DAG has no cycles; remove or reverse one of these arrows "
                "(for feedback over time, declare one variable per period)",
            )

    # --- queries ---------------------------------------------------------------------------
    def _queries(self, statements: list[QueryStmt]) -> tuple[Query, ...]:
        names: dict[str, QueryStmt] = {}
        queries = []
        for s in statements:
            if s.name.text in names:
                self.sink.error(
                    "E216", f"query '{s.name.text}' is defined twice", s.name.span,
                    notes=(f"first defined on line {names[s.name.text].span.line}",),
                    help="give each query its own name",
                )
            names.setdefault(s.name.text, s)
            query = self._query(s)
            if query is not None:
                queries.append(query)
        return tuple(queries)

    def _query(self, s: QueryStmt) -> Query | None:
        ok = True
        if s.estimand.text.lower() not in ESTIMANDS:
            ok = False
            self.sink.error(
                "E208", f"unknown estimand '{s.estimand.text}'", s.estimand.span,
                help=suggest(s.estimand.text, ESTIMANDS)
                or "estimands are: " + ", ".join(ESTIMANDS),
            )
        for ident, role in ((s.treatment, "treatment"), (s.outcome, "outcome")):
            if not self._known(ident):
                ok = False
            elif self.variables[ident.text].selected:
                ok = False
                self.sink.error("E229", f"the {role} '{ident.text}' is a selection node",
                                ident.span, help=f"the data holds only rows with "
                                f"{ident.text} = 1: it cannot be a {role}")
            elif self.variables[ident.text].latent:
                ok = False
                self.sink.error(
                    "E207", f"the {role} '{ident.text}' is latent (unobserved)", ident.span,
                    help=f"an effect can only be estimated between observed variables; declare "
                    f"'{ident.text}' with var if the data has it",
                )
        if s.treatment.text == s.outcome.text:
            ok = False
            self.sink.error("E219", "treatment and outcome are the same variable",
                            s.outcome.span, help="a query asks for the effect of one variable on "
                            "another")
        sets: dict[str, frozenset[str]] = {}
        method = Method()
        for clause in s.clauses:
            if isinstance(clause, SetClause):
                if clause.kind in sets:
                    self.sink.error("E220", f"'{_clause_words(clause.kind)}' is given twice",
                                    clause.span, help="merge the two sets into one")
                    ok = False
                members = set()
                for ident in clause.names:
                    if not self._known(ident):
                        ok = False
                        continue
                    if clause.kind == "never_adjust_for" and self.variables[ident.text].selected:
                        ok = False
                        self.sink.error(
                            "E229", f"cannot keep the selection node '{ident.text}' out",
                            ident.span, help=f"the data is conditioned on {ident.text}: every "
                            "analysis of it adjusts for it; remove it from `never adjust for`")
                    if clause.kind != "never_adjust_for" and self.variables[ident.text].latent:
                        ok = False
                        self.sink.error(
                            "E222", f"cannot adjust for latent variable '{ident.text}'",
                            ident.span, help="only observed variables can be adjusted for",
                        )
                    members.add(ident.text)
                sets[clause.kind] = frozenset(members)
            elif isinstance(clause, UsingClause):
                method = self._method(clause) or method
        both = sets.get("adjust_for", frozenset()) & sets.get("never_adjust_for", frozenset())
        if both:
            ok = False
            self.sink.error(
                "E220", "variables both forced in and kept out: " + ", ".join(sorted(both)),
                s.span, help="a variable can be in 'adjust for' or 'never adjust for', not both",
            )
        if ok:
            ok = self._check_formulas(s, method, sets.get("adjusting"))
        if not ok:
            return None
        return Query(
            name=s.name.text,
            estimand=s.estimand.text.lower(),
            treatment=s.treatment.text,
            outcome=s.outcome.text,
            adjusting=sets.get("adjusting"),
            include=sets.get("adjust_for", frozenset()),
            exclude=sets.get("never_adjust_for", frozenset()),
            method=method,
            span=s.span,
        )

def _as_name(value: OptionValue | None) -> str | None:
    return None if value is None else str(value)


def _clause_words(kind: str) -> str:
    return kind.replace("_", " ")


def _display(name: str) -> str:
    import re

    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) else f"`{name}`"
