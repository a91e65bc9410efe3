"""`causal lint`: warnings about studies that are legal but probably not what the author meant.

In: a resolved `Model` (and, for positions and pragmas, its `SyntaxFile`; parsed from
``study.source`` when not given). Out: a sorted list of `Diagnostic` with severity "warning".
Reads only the header of the bound data file (never the rows); an unreadable file is skipped
with a note, not an error. Raises `ReviewError` (E701) only for an unknown code passed in
`disable` — a typo there would silently turn a check off.

Codes are stable (``docs/review.md`` has an example of each):

====  ===========================================================================================
L100  a ``# causal: disable=...`` pragma names a code that does not exist
L101  a declared variable has no arrows at all
L102  a query's treatment has no directed path to its outcome (the graph says the effect is zero)
L103  a column of the data file is not declared (nor used as panel unit/time or cluster column)
L104  a query's treatment or outcome has no label
L105  the recommended adjustment set needs a variable whose column the data file lacks
L106  a proposed ``adjusting`` / ``adjust for`` set contains a mediator (on a causal path)
L107  a declared observed variable's column is missing from the data file
L108  a latent variable with fewer than two children confounds nothing
L109  a proposed set contains another descendant of the treatment (post-treatment variable)
L110  two queries ask exactly the same question
L111  a selection node (``selected s``) that no arrow points into: nothing selects on it
L112  ``layout`` places some variables but not all (the drawing places the rest itself)
L113  the weight column or a column a derived treatment reads is missing from the data file
====  ===========================================================================================

Turning warnings off: ``# causal: disable=L101,L104`` at the end of (or on the line directly
above) the line a warning points at; ``# causal: disable-file=L103`` anywhere in the file;
``all`` stands for every code; on the command line ``causal lint --disable L101,L103``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from .errors import CausalError, DataError, Diagnostic, ReviewError, Span, suggest
from .graph.adjustment import adjustment_sets, recommend
from .graph.core import CausalGraph
from .graph.paths import directed_path
from .model import Model, Query
from .syntax import QueryStmt, SetClause, SyntaxFile, parse_syntax

CODES: dict[str, str] = {
    "L100": "unknown code in a lint pragma",
    "L101": "variable without arrows",
    "L102": "no directed path from treatment to outcome",
    "L103": "data column not declared",
    "L104": "treatment or outcome without a label",
    "L105": "adjustment set needs a column the data lacks",
    "L106": "proposed adjustment set contains a mediator",
    "L107": "declared column missing from the data",
    "L108": "latent variable that confounds nothing",
    "L109": "proposed adjustment set contains a post-treatment variable",
    "L110": "duplicate query",
    "L111": "selection node nothing points into",
    "L112": "layout for some variables only",
    "L113": "column for weights or a derivation missing from the data",
}

_PRAGMA = re.compile(r"#\s*causal:\s*(disable|disable-file)\s*=\s*([A-Za-z0-9_,\s]*)")
_SHOWN = 8  # columns listed in one message before "and N more"


def lint(
    study: Model,
    syntax: SyntaxFile | None = None,
    disable: Iterable[str] = (),
    *,
    read_data: bool = True,
    graph: CausalGraph | None = None,
) -> list[Diagnostic]:
    """Every warning for `study`, minus the codes in `disable` and those turned off by pragmas.

    `graph` is the study's `CausalGraph` when the caller has it (built from the study when
    None): the graph questions (directed paths, the recommended set) are the engine's.

    >>> import causal_dsl
    >>> s = causal_dsl.parse('var x: binary "X"\\nvar y: count\\nvar z: count\\n'
    ...                      'query q: ate(x -> y)\\n')
    >>> [d.code for d in lint(s)]
    ['L101', 'L101', 'L104', 'L101', 'L102']
    >>> [d.code for d in lint(s, disable=["L101"])]
    ['L104', 'L102']
    """
    off = _check_codes(disable)
    if syntax is None and study.source is not None:
        syntax = parse_syntax(study.source, study.path)
    found = _Linter(study, syntax, read_data, graph).run()
    pragmas, file_off, bad = _pragmas(syntax)
    found += bad
    kept = [
        d for d in found
        if not _silenced(d, off | file_off, pragmas)
    ]
    kept.sort(key=lambda d: ((d.span.line, d.span.column) if d.span else (0, 0), d.code))
    return kept


def _check_codes(codes: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for raw in codes:
        for code in (c.strip().upper() for c in raw.split(",")):
            if not code:
                continue
            if code != "ALL" and code not in CODES:
                raise ReviewError(Diagnostic(
                    "E701", f"unknown lint code '{code}'",
                    help=suggest(code, CODES) or "codes are: " + ", ".join(CODES),
                ))
            out.add(code)
    return out


def _silenced(d: Diagnostic, off: set[str], pragmas: dict[int, set[str]]) -> bool:
    if "ALL" in off or d.code in off:
        return True
    if d.span is None or d.code == "L100":
        return False
    here = pragmas.get(d.span.line, set()) | pragmas.get(-d.span.line, set())
    return "ALL" in here or d.code in here


def _pragmas(syntax: SyntaxFile | None) -> tuple[dict[int, set[str]], set[str], list[Diagnostic]]:
    """Line pragmas (key: line of the statement they silence), file pragmas, and L100s.

    A pragma at the end of a line silences that line; a pragma alone on a line silences the
    next line (stored under the negated line number so both kinds can be told apart)."""
    by_line: dict[int, set[str]] = {}
    file_off: set[str] = set()
    bad: list[Diagnostic] = []
    if syntax is None:
        return by_line, file_off, bad
    statement_lines = {s.span.end_line for s in syntax.statements}
    for comment in syntax.comments:
        match = _PRAGMA.search(comment.text)
        if not match:
            continue
        codes = set()
        for code in (c.strip().upper() for c in match.group(2).split(",")):
            if not code:
                continue
            if code != "ALL" and code not in CODES:
                bad.append(Diagnostic(
                    "L100", f"unknown lint code '{code}' in a pragma", comment.span,
                    help=suggest(code, CODES) or "codes are: " + ", ".join(CODES),
                    severity="warning",
                ))
                continue
            codes.add(code)
        line = comment.span.line
        if match.group(1) == "disable-file":
            file_off |= codes
        elif line in statement_lines:
            by_line.setdefault(line, set()).update(codes)
        else:
            by_line.setdefault(-(line + 1), set()).update(codes)
    return by_line, file_off, bad


class _Linter:
    def __init__(self, study: Model, syntax: SyntaxFile | None, read_data: bool,
                 graph: CausalGraph | None) -> None:
        self.study = study
        self.syntax = syntax
        self.read_data = read_data
        self.out: list[Diagnostic] = []
        self.graph = graph if graph is not None else CausalGraph.from_model(study)
        self.query_stmts: dict[str, QueryStmt] = {}
        if syntax is not None:
            for s in syntax.statements:
                if isinstance(s, QueryStmt):
                    self.query_stmts.setdefault(s.name.text, s)

    def warn(self, code: str, message: str, span: Span | None, **kw: object) -> None:
        self.out.append(Diagnostic(code, message, span, severity="warning", **kw))  # type: ignore[arg-type]

    def run(self) -> list[Diagnostic]:
        self.isolated()
        self.latents()
        for q in self.study.queries:
            self.query_checks(q)
        self.duplicates()
        self.selection_and_layout()
        columns = self.data_columns()
        if columns is not None:
            self.columns(columns)
            for q in self.study.queries:
                self.missing_adjustment(q, columns)
        return self.out

    # --- the graph -----------------------------------------------------------------------
    def selection_and_layout(self) -> None:
        heads = {e.target for e in self.study.directed_edges}
        for v in self.study.variables:
            if v.selected and v.name not in heads:
                self.warn("L111", f"selection node '{v.name}' has no arrow into it", v.span,
                          help=f"draw what decides who is in the data (e.g. x -> {v.name}); a "
                          "selection nothing causes selects nobody in particular")
        placed = {name for name, _, _ in self.study.layout}
        unplaced = [v.name for v in self.study.variables if v.name not in placed]
        if placed and unplaced:
            shown = ", ".join(unplaced[:_SHOWN]) + (" ..." if len(unplaced) > _SHOWN else "")
            self.warn("L112", f"layout places {len(placed)} variable(s) but not {shown}",
                      self.study.variables[0].span if self.study.variables else None,
                      help="add a `layout name = (x, y)` line for each, or drop them all")

    def isolated(self) -> None:
        touched = {e.source for e in self.study.edges} | {e.target for e in self.study.edges}
        for v in self.study.variables:
            if v.name not in touched:
                self.warn(
                    "L101", f"variable '{v.name}' has no arrows", v.span,
                    help="add the arrows that connect it to the DAG, or remove the declaration "
                    "(a variable with no arrows is assumed independent of everything)",
                )

    def latents(self) -> None:
        bidirected = {e.source for e in self.study.bidirected_edges} | {
            e.target for e in self.study.bidirected_edges
        }
        for v in self.study.latents:
            children = sorted(self.graph.children(v.name))
            if not children and not self.graph.parents(v.name) and v.name not in bidirected:
                continue  # no arrows at all: L101 already says so
            if len(children) < 2:
                what = f"only '{children[0]}'" if children else "nothing"
                self.warn(
                    "L108", f"latent '{v.name}' affects {what}, so it confounds nothing", v.span,
                    help="a hidden variable matters when it causes two or more variables: add "
                    "the arrows you forgot, or remove it",
                )

    def query_checks(self, q: Query) -> None:
        stmt = self.query_stmts.get(q.name)
        t_span = stmt.treatment.span if stmt else q.span
        if directed_path(self.graph, q.treatment, q.outcome) is None:
            self.warn(
                "L102", f"query '{q.name}': there is no directed path from '{q.treatment}' to "
                f"'{q.outcome}'", t_span,
                notes=("under this DAG the effect is zero by assumption",),
                help=f"add the arrows you believe in (for example {q.treatment} -> "
                f"{q.outcome}), or drop the query",
            )
        for name, role in ((q.treatment, "treatment"), (q.outcome, "outcome")):
            v = self.study.variable(name)
            if not v.label:
                self.warn(
                    "L104", f"the {role} '{name}' of query '{q.name}' has no label", v.span,
                    help=f"say what it measures, e.g. var {name}: {v.type} \"...\"; reports "
                    "and diagrams show the label",
                )
        self.proposed_sets(q, stmt)

    def proposed_sets(self, q: Query, stmt: QueryStmt | None) -> None:
        proposed = set(q.adjusting or ()) | set(q.include)
        if not proposed:
            return
        descendants = self.graph.descendants(q.treatment) - {q.treatment}
        mediators = descendants & self.graph.ancestors(q.outcome)
        spans: dict[str, Span] = {}
        if stmt is not None:
            for clause in stmt.clauses:
                if isinstance(clause, SetClause) and clause.kind != "never_adjust_for":
                    for ident in clause.names:
                        spans.setdefault(ident.text, ident.span)
        for name in sorted(proposed & descendants - {q.outcome}):
            where = spans.get(name, q.span)
            if name in mediators:
                head, tail = (directed_path(self.graph, q.treatment, name),
                              directed_path(self.graph, name, q.outcome))
                # a mediator is a descendant of the treatment and an ancestor of the outcome
                assert head is not None and tail is not None
                path = [*head, *tail[1:]]
                self.warn(
                    "L106", f"query '{q.name}' adjusts for '{name}', a mediator of "
                    f"'{q.treatment}' on '{q.outcome}'", where,
                    notes=("causal path: " + " -> ".join(path),),
                    help="adjusting for a mediator removes part of the effect you are asking "
                    f"about; take '{name}' out of the set",
                )
            else:
                chain = directed_path(self.graph, q.treatment, name)
                assert chain is not None  # name is a descendant of the treatment
                self.warn(
                    "L109", f"query '{q.name}' adjusts for '{name}', which the treatment "
                    f"'{q.treatment}' affects", where,
                    notes=(" -> ".join(chain),),
                    help="a variable measured after the treatment (or caused by it) can bias "
                    f"the estimate; take '{name}' out of the set",
                )

    def duplicates(self) -> None:
        seen: dict[tuple[object, ...], Query] = {}
        for q in self.study.queries:
            key = (q.estimand, q.treatment, q.outcome, q.adjusting, q.include, q.exclude,
                   q.method)
            first = seen.setdefault(key, q)
            if first is not q:
                stmt = self.query_stmts.get(q.name)
                self.warn(
                    "L110", f"query '{q.name}' asks the same as query '{first.name}'",
                    stmt.name.span if stmt else q.span,
                    help="remove one of them, or change what one of them asks",
                )

    # --- the data file -------------------------------------------------------------------
    def data_columns(self) -> list[str] | None:
        data = self.study.data
        if not self.read_data or data is None or data.path is None:
            return None
        # the csv module (Parquet: pyarrow's schema), no pandas: lint runs in a core install
        from .datafiles import read_header

        try:
            return read_header(data.path, study=self.study)
        except DataError as error:  # E417/E418 raise; a missing or unreadable file is skipped
            if any(d.code in ("E417", "E418") for d in error.diagnostics):
                raise
            return None

    def columns(self, columns: Sequence[str]) -> None:
        data = self.study.data
        assert data is not None
        present = set(columns)
        declared = {v.data_column for v in self.study.observed if v.derived is None}
        used = {c for c in (data.unit, data.time, data.weights) if c}
        for v in self.study.observed:
            if v.derived is not None:
                used |= set(v.derived.columns)
        for col in sorted(used - present):
            if col in (data.unit, data.time):
                continue  # the data check reports those
            self.warn("L113", f"column '{col}' (read by "
                      + ("weights(...)" if col == data.weights else "a derived treatment")
                      + f") is not in '{data.source}'", data.span,
                      help=suggest(col, list(columns)) or "fix the column name")
        for q in self.study.queries:
            cluster = q.method.option("cluster")
            if isinstance(cluster, str):
                used.add(cluster)
        extra = [c for c in columns if c not in declared and c not in used]
        if extra:
            shown = ", ".join(f"'{c}'" for c in extra[:_SHOWN])
            if len(extra) > _SHOWN:
                shown += f" and {len(extra) - _SHOWN} more"
            message = (f"column {shown} of '{data.source}' is not declared" if len(extra) == 1
                       else f"{len(extra)} columns of '{data.source}' are not declared: {shown}")
            self.warn(
                "L103", message, data.span,
                notes=("an undeclared column is treated as if it caused nothing in the study",),
                help="declare the ones that matter (var name: type), or silence this with "
                "# causal: disable-file=L103 if they are identifiers or unrelated",
            )
        for v in self.study.observed:
            if v.data_column in present or v.derived is not None:
                continue
            close = difflib.get_close_matches(
                v.data_column, [c for c in columns if c not in declared], n=1, cutoff=0.6)
            self.warn(
                "L107", f"column '{v.data_column}' of variable '{v.name}' is not in "
                f"'{data.source}'", v.span,
                help=f"did you mean '{close[0]}'? (write: as \"{close[0]}\")" if close
                else f"declare '{v.name}' latent if it was not measured",
            )

    def missing_adjustment(self, q: Query, columns: Sequence[str]) -> None:
        present = set(columns)
        missing = {v.name for v in self.study.observed
                   if v.data_column not in present and v.derived is None}
        if not missing:
            return
        chosen = q.adjusting if q.adjusting is not None else self.recommended(q)
        if not chosen or not (set(chosen) & missing):
            return
        lacking = sorted(set(chosen) & missing)
        stmt = self.query_stmts.get(q.name)
        alternative = self.alternative_set(q, missing)
        if alternative is not None:
            shown = "{" + ", ".join(sorted(alternative)) + "}"
            help_text = (f"{shown} also works and is in the data: add never adjust for "
                         "{" + ", ".join(lacking) + "} to the query")
        else:
            help_text = ("no valid set avoids it: collect the column, or declare the variable "
                         "latent and see whether the effect is still identifiable")
        self.warn(
            "L105", f"query '{q.name}' must adjust for "
            + ", ".join(f"'{n}'" for n in lacking)
            + ", but the data lacks column(s) "
            + ", ".join(f"'{self.study.variable(n).data_column}'" for n in lacking),
            stmt.name.span if stmt else q.span,
            notes=("adjustment set: {" + ", ".join(sorted(chosen)) + "}",),
            help=help_text,
        )

    def recommended(self, q: Query) -> frozenset[str] | None:
        """The set `causal identify` recommends (`causal_dsl.graph.recommend`), without the
        rest of its analysis; None when the query cannot be identified as asked."""
        try:
            return recommend(self.graph, q.treatment, q.outcome, q.include, q.exclude).set
        except CausalError:
            return None  # `causal identify` explains why; lint has nothing to add

    def alternative_set(self, q: Query, missing: set[str]) -> frozenset[str] | None:
        """A smallest valid set that avoids the variables the data lacks, or None."""
        try:
            found = adjustment_sets(self.graph, q.treatment, q.outcome, kind="smallest",
                                    include=q.include, exclude=q.exclude | missing)
        except CausalError:
            return None
        return frozenset(found) if found is not None else None


def lint_file(path: str, disable: Iterable[str] = ()) -> tuple[Model, list[Diagnostic]]:
    """Load and lint one file; raises `CausalError` when it does not load."""
    from .fmt import read_source
    from .resolve import resolve

    text = read_source(path)
    syntax = parse_syntax(text, path)
    study = resolve(syntax)
    return study, lint(study, syntax, disable)

