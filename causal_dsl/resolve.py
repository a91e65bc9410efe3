"""Syntax tree → model: resolve names, expand arrows, check everything, build a `Study`.

In: a `SyntaxFile`. Out: a validated, immutable `Study`. Raises `ModelError` carrying *every*
problem found (codes E2xx): unknown variables (with a suggestion), duplicate declarations,
self-loops, duplicate arrows, arrows both ways, cycles (printed as ``a -> b -> c -> a``), queries on
latent variables, unknown types, estimands, methods and options, and a data file that does not
exist (checked only when the study has a location on disk).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .errors import DiagnosticSink, ModelError, Span, suggest
from .model import (
    ESTIMANDS,
    METHOD_OPTIONS,
    PANEL_OPTIONS,
    DataBinding,
    Edge,
    Method,
    OptionValue,
    Query,
    Study,
    Variable,
    VarType,
)
from .syntax import (
    ArrowStmt,
    DataStmt,
    Ident,
    LatentStmt,
    Option,
    QueryStmt,
    SetClause,
    StudyStmt,
    SyntaxFile,
    UsingClause,
    Value,
    VarStmt,
)

TYPES_WITH_LEVELS = (VarType.CATEGORICAL, VarType.ORDINAL)


def resolve(tree: SyntaxFile, check_files: bool = True) -> Study:
    """Build the `Study` for a syntax tree, or raise `ModelError` listing every problem.

    >>> from causal_dsl.syntax import parse_syntax
    >>> resolve(parse_syntax("var x: binary\\nx -> y\\n", "s.causal"))
    Traceback (most recent call last):
    ...
    causal_dsl.errors.ModelError: s.causal:2:6: error[E201]: unknown variable 'y'
    ...
    """
    return _Resolver(tree, check_files).run()


class _Resolver:
    def __init__(self, tree: SyntaxFile, check_files: bool) -> None:
        self.tree = tree
        self.check_files = check_files
        self.sink = DiagnosticSink()
        self.variables: dict[str, Variable] = {}

    def run(self) -> Study:
        statements = self.tree.statements
        title = self._title([s for s in statements if isinstance(s, StudyStmt)])
        data = self._data([s for s in statements if isinstance(s, DataStmt)])
        for s in statements:
            if isinstance(s, VarStmt):
                self._declare(self._variable(s), s.name)
            elif isinstance(s, LatentStmt):
                variable = Variable(
                    s.name.text, None, s.label, latent=True, invariant=s.invariant,
                    span=s.name.span,
                )
                self._declare(variable, s.name)
        self._check_columns()
        edges = self._edges([s for s in statements if isinstance(s, ArrowStmt)])
        queries = self._queries([s for s in statements if isinstance(s, QueryStmt)])
        self.sink.raise_if_errors(ModelError, {self.tree.path: self.tree.text})
        return Study(
            title=title,
            data=data,
            variables=tuple(self.variables.values()),
            edges=edges,
            queries=queries,
            path=self.tree.path,
            source=self.tree.text,
        )

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
        if self.tree.path is not None:
            resolved = (Path(self.tree.path).parent / stmt.source).resolve()
            if self.check_files and not resolved.exists():
                self.sink.error(
                    "E212", f"data file '{stmt.source}' does not exist", stmt.source_span,
                    notes=(f"looked for {resolved}",),
                    help="the path is relative to the .causal file; fix it or create the file",
                )
        suffix = Path(stmt.source).suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq", ".tsv"):
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
        return DataBinding(stmt.source, resolved, _as_name(unit), _as_name(time), stmt.span)

    # --- declarations ----------------------------------------------------------------------
    def _variable(self, s: VarStmt) -> Variable:
        try:
            vtype: VarType | None = VarType(s.type_name.text)
        except ValueError:
            vtype = None
            self.sink.error(
                "E214", f"unknown variable type '{s.type_name.text}'", s.type_name.span,
                help=suggest(s.type_name.text, [t.value for t in VarType])
                or "types are: " + ", ".join(t.value for t in VarType),
            )
        levels: tuple[str, ...] = ()
        if s.levels is not None:
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
        return Variable(s.name.text, vtype, s.label, s.column, levels, span=s.name.span)

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
        if s.estimand.text not in ESTIMANDS:
            ok = False
            self.sink.error(
                "E208", f"unknown estimand '{s.estimand.text}'", s.estimand.span,
                help=suggest(s.estimand.text, ESTIMANDS)
                or "estimands are: " + ", ".join(ESTIMANDS),
            )
        for ident, role in ((s.treatment, "treatment"), (s.outcome, "outcome")):
            if not self._known(ident):
                ok = False
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
        if not ok:
            return None
        return Query(
            name=s.name.text,
            estimand=s.estimand.text,
            treatment=s.treatment.text,
            outcome=s.outcome.text,
            adjusting=sets.get("adjusting"),
            include=sets.get("adjust_for", frozenset()),
            exclude=sets.get("never_adjust_for", frozenset()),
            method=method,
            span=s.span,
        )

    def _method(self, clause: UsingClause) -> Method | None:
        name = clause.method.text
        if name not in METHOD_OPTIONS:
            self.sink.error(
                "E209", f"unknown method '{name}'", clause.method.span,
                help=suggest(name, METHOD_OPTIONS) or "methods are: " + ", ".join(METHOD_OPTIONS),
            )
            return None
        schema = {k: v[1] for k, v in METHOD_OPTIONS[name].items()}
        values = self._options(clause.options or (), schema, name)
        return Method(name, tuple(values.items()), clause.span)

    def _options(
        self, options: Iterable[Option], allowed: dict[str, str], owner: str
    ) -> dict[str, OptionValue]:
        values: dict[str, OptionValue] = {}
        for option in options:
            key = option.key.text
            if key not in allowed:
                listing = ", ".join(allowed) if allowed else "none"
                self.sink.error(
                    "E210", f"'{owner}' has no option '{key}'", option.key.span,
                    help=suggest(key, allowed) or f"options of '{owner}': {listing}",
                )
                continue
            if key in values:
                self.sink.error("E210", f"option '{key}' is given twice", option.key.span,
                                help=f"keep one '{key} = ...'")
                continue
            value = self._option_value(owner, key, option.value)
            if value is not None:
                values[key] = value
        return values

    def _option_value(self, owner: str, key: str, value: Value) -> OptionValue | None:
        expected = METHOD_OPTIONS.get(owner, {}).get(key, ("name", ""))[0]
        raw = value.value
        if expected is bool:
            if value.kind == "name" and raw in ("true", "false"):
                return raw == "true"
            self._bad_value(owner, key, value, "true or false")
            return None
        if expected is int:
            if value.kind == "number" and isinstance(raw, int) and raw >= 0:
                return raw
            self._bad_value(owner, key, value, "a whole number")
            return None
        if expected is float:
            if value.kind == "number" and raw >= 0:
                return float(raw)
            self._bad_value(owner, key, value, "a non-negative number")
            return None
        if expected is tuple:
            if value.kind == "set":
                names = [i for i in raw if self._known(i)]
                return tuple(i.text for i in names)
            if value.kind == "name":
                return (raw,)
            self._bad_value(owner, key, value, "a set of variables, e.g. {a, b}")
            return None
        if value.kind in ("string", "name"):
            return str(raw)
        self._bad_value(owner, key, value, "a name or a \"string\"")
        return None

    def _bad_value(self, owner: str, key: str, value: Value, expected: str) -> None:
        # The option's own description says what it means and its default: the best hint.
        described = METHOD_OPTIONS.get(owner, {}).get(key, (None, PANEL_OPTIONS.get(key)))[1]
        self.sink.error("E211", f"option '{key}' takes {expected}", value.span,
                        help=f"{key}: {described}" if described else None)
        return None


def _as_name(value: OptionValue | None) -> str | None:
    return None if value is None else str(value)


def _clause_words(kind: str) -> str:
    return kind.replace("_", " ")


def _display(name: str) -> str:
    import re

    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) else f"`{name}`"
