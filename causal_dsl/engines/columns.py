"""The column checks and the coding of `causal_dsl.data`, written as SQL aggregates over the
engine's view: nothing is loaded whole.

In: an `Engine`, the `Model`, the variable names and raw columns (cluster, unit, time) an
estimator needs. Out: a `Sample` — per variable a coded SQL expression (binary as 0/1,
continuous/count as DOUBLE, categorical/ordinal as 0/1 dummies for every level but the first,
the levels present in the sample only, as `design_matrix` does), the predicate of complete rows
(listwise deletion) and the `SampleReport` with missing counts per column. All checks run in
one aggregate pass (plus one DISTINCT per categorical column).

Raises `DataError`: E404 (column missing, with "did you mean"), E405 (binary with other codes),
E406 (non-numeric values in a numeric column), E407 (values outside the declared levels), E408
(count negative or fractional), E415 (infinite values), E411 (treatment constant), E412 (too few
rows). Not done here (the in-memory reader's, for CSV read by pandas): missing-value spellings
by declaration — an engine takes NULL (and NaN, and blank text) as missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import DataError, Diagnostic, suggest
from ..model import Model, Variable, VarType
from ..results import SampleReport
from .source import VIEW, Engine

_TRUE = ("1", "true", "t", "yes", "y")
_FALSE = ("0", "false", "f", "no", "n")
MAX_LEVELS = 1000
NUMERIC = ("INT", "DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "SMALLINT", "TINYINT", "REAL", "HUGEINT",
           "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "LONG", "SHORT", "BYTE")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_numeric(kind: str) -> bool:
    k = kind.upper()
    return any(k.startswith(n) for n in NUMERIC)


@dataclass(frozen=True)
class Column:
    """One variable as the estimators see it: its SQL columns (one, or the dummies)."""

    name: str
    exprs: tuple[tuple[str, str], ...]  # (column name in outputs, SQL expression)
    missing: str  # SQL predicate: the raw cell is missing


@dataclass(frozen=True)
class Sample:
    columns: dict[str, Column]
    raw: dict[str, str]  # extra raw columns (cluster, unit, time): name -> quoted column
    complete: str  # SQL predicate of the rows kept
    report: SampleReport

    def expr(self, name: str) -> str:
        (only,) = self.columns[name].exprs
        return only[1]

    def design(self, names: Sequence[str]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for n in names:
            out += self.columns[n].exprs
        return out


def _natural(s: str) -> tuple[int, float | str]:
    try:
        return (0, float(s))
    except ValueError:
        return (1, s)


def _code(eng: Engine, var: Variable, col: str, kind: str) -> tuple[str, str, list[str]]:
    """(value expression, missing predicate, checks: SQL counts that must be 0, in order of
    the diagnostics E405/E406/E408/E415)."""
    numeric = _is_numeric(kind)
    boolean = kind.upper().startswith("BOOL")
    if numeric:
        missing = f"({col} IS NULL OR isnan(CAST({col} AS DOUBLE)))"
    else:
        missing = f"({col} IS NULL OR {eng.text(col)} = '')"
    t = var.type
    if t is VarType.BINARY:
        if boolean:
            return f"CAST({col} AS DOUBLE)", f"({col} IS NULL)", []
        if var.levels and len(var.levels) == 2:
            txt = eng.text(col) if not numeric else _int_text(eng, col)
            a, b = (_lit(str(v)) for v in var.levels)
            value = f"(CASE WHEN {txt} = {a} THEN 0.0 WHEN {txt} = {b} THEN 1.0 END)"
        elif numeric:
            value = f"CAST({col} AS DOUBLE)"
        else:
            low = f"LOWER({eng.text(col)})"
            value = (f"(CASE WHEN {low} IN ({', '.join(map(_lit, _TRUE))}) THEN 1.0 WHEN {low} "
                     f"IN ({', '.join(map(_lit, _FALSE))}) THEN 0.0 END)")
        return value, missing, [f"SUM(CASE WHEN NOT {missing} AND ({value} IS NULL OR {value} "
                                f"NOT IN (0.0, 1.0)) THEN 1 ELSE 0 END)"]
    if t in (VarType.CONTINUOUS, VarType.COUNT):
        value = f"CAST({col} AS DOUBLE)" if numeric or boolean else eng.try_double(eng.text(col))
        checks = [f"SUM(CASE WHEN NOT {missing} AND {value} IS NULL THEN 1 ELSE 0 END)"]
        checks.append(f"SUM(CASE WHEN NOT {missing} AND ABS({value}) > 1.7976931348623157e308 "
                      "THEN 1 ELSE 0 END)")
        if t is VarType.COUNT:
            checks.append(f"SUM(CASE WHEN NOT {missing} AND ({value} < 0 OR {value} <> "
                          f"FLOOR({value})) THEN 1 ELSE 0 END)")
        return value, missing, checks
    return (_int_text(eng, col) if numeric else eng.text(col)), missing, []


def _int_text(eng: Engine, col: str) -> str:
    """A number as text the way `data._as_text` writes it: integral values without '.0'."""
    d = f"CAST({col} AS DOUBLE)"
    whole = eng.text(f"CAST({d} AS BIGINT)")
    return (f"(CASE WHEN {d} = FLOOR({d}) AND abs({d}) < 1e15 THEN {whole}"
            f" ELSE {eng.text(d)} END)")


def sample(eng: Engine, study: Model, names: Sequence[str], extra: Sequence[str],
           source: str) -> Sample:
    """Check and code `names` and `extra` columns (see the module docstring)."""
    types = dict(eng.columns())
    span = study.data.span if study.data is not None else None
    diags: list[Diagnostic] = []
    by_name = {v.name: v for v in study.observed}
    coded: dict[str, tuple[Variable, str, str, list[str]]] = {}
    for n in names:
        var = by_name[n]
        if var.data_column not in types:
            hint = suggest(var.data_column, list(types))
            diags.append(Diagnostic("E404", f"variable '{n}': column '{var.data_column}' is not "
                                    f"in {source}", var.span,
                                    help=hint or "columns: " + ", ".join(list(types)[:12])))
            continue
        col = eng.q(var.data_column)
        value, miss, checks = _code(eng, var, col, types[var.data_column])
        coded[n] = (var, value, miss, checks)
    for c in extra:
        if c not in types:
            diags.append(Diagnostic("E404", f"required column '{c}' is not in {source}", span,
                                    help=suggest(c, list(types)) or ""))
    if diags:
        raise DataError(diags)
    raw = {c: eng.q(c) for c in dict.fromkeys(extra)}
    raw_missing = {c: f"({q} IS NULL)" for c, q in raw.items()}
    aggs = ["COUNT(*)"]
    for _n, (_v, _val, miss, checks) in coded.items():
        aggs += [f"SUM(CASE WHEN {miss} THEN 1 ELSE 0 END)", *checks]
    aggs += [f"SUM(CASE WHEN {m} THEN 1 ELSE 0 END)" for m in raw_missing.values()]
    got = list(eng.one(f"SELECT {', '.join(aggs)} FROM {VIEW}"))
    rows_read = int(got.pop(0))
    counts: list[tuple[str, int]] = []
    for n, (var, _val, _miss, checks) in coded.items():
        counts.append((n, int(got.pop(0) or 0)))
        bad = [int(got.pop(0) or 0) for _ in checks]
        where = f"column '{var.data_column}' of {source}"
        if var.type is VarType.BINARY and bad[0]:
            diags.append(Diagnostic("E405", f"binary variable '{n}' has values other than 0/1 "
                                    f"in {where}: {bad[0]} row(s)", var.span,
                                    help="recode the column to 0/1, or declare it categorical"))
        elif var.type in (VarType.CONTINUOUS, VarType.COUNT):
            if bad[0]:
                diags.append(Diagnostic("E406", f"{var.type.value} variable '{n}' has "
                                        f"non-numeric values in {where}: {bad[0]} row(s)",
                                        var.span, help="clean the column (numbers only)"))
            if bad[1]:
                diags.append(Diagnostic("E415", f"column '{var.data_column}' of {source} has "
                                        f"{bad[1]} infinite value(s)", var.span,
                                        help="infinite values are never estimated on; fix them"))
            if len(bad) > 2 and bad[2] and not bad[0] and not bad[1]:
                diags.append(Diagnostic("E408", f"count variable '{n}' has negative or "
                                        f"fractional values in {where}: {bad[2]} row(s)",
                                        var.span, help="declare the variable as continuous"))
    counts += [(c, int(got.pop(0) or 0)) for c in raw_missing]
    if diags:
        raise DataError(diags)
    complete = " AND ".join(
        [f"NOT {m}" for _v, _val, m, _c in coded.values()]
        + [f"NOT {m}" for m in raw_missing.values()]) or "TRUE"
    columns: dict[str, Column] = {}
    for n, (var, value, miss, _checks) in coded.items():
        if var.type in (VarType.CATEGORICAL, VarType.ORDINAL):
            columns[n] = _categorical(eng, var, value, miss, complete, source, diags)
        else:
            columns[n] = Column(n, ((n, value),), miss)
    if diags:
        raise DataError(diags)
    used = int(eng.one(f"SELECT COUNT(*) FROM {VIEW} WHERE {complete}")[0])
    report = SampleReport(source=source, rows_read=rows_read, rows_used=used,
                          columns=tuple(names) + tuple(raw), missing_by_column=tuple(counts),
                          notes=(f"read by {eng.dialect}: checks and estimation run in the "
                                 "engine, nothing loaded whole",))
    return Sample(columns, raw, complete, report)


def _categorical(eng: Engine, var: Variable, text: str, miss: str, complete: str, source: str,
                 diags: list[Diagnostic]) -> Column:
    rows = eng.rows(f"SELECT DISTINCT {text} FROM {VIEW} WHERE NOT {miss} LIMIT {MAX_LEVELS + 1}")
    observed = [str(r[0]) for r in rows]
    if var.levels:
        levels = [str(v) for v in var.levels]
        unknown = [x for x in observed if x not in levels]
        if unknown:
            hint = suggest(unknown[0], levels)
            diags.append(Diagnostic(
                "E407", f"{var.type.value if var.type else 'categorical'} variable '{var.name}' "
                f"has values outside its declared levels in column '{var.data_column}' of "
                f"{source}: {', '.join(map(repr, unknown[:3]))}", var.span,
                help=(hint + "; " if hint else "") + "declared levels are "
                + ", ".join(map(repr, levels))))
    else:
        levels = sorted(observed, key=_natural)
    present = {str(r[0]) for r in eng.rows(f"SELECT DISTINCT {text} FROM {VIEW} WHERE {complete}")}
    kept = [lv for lv in levels if lv in present]
    dummies = tuple((f"{var.name}[{lv}]", f"(CASE WHEN {text} = {_lit(lv)} THEN 1.0 ELSE 0.0 END)")
                    for lv in kept[1:])
    return Column(var.name, dummies, miss)


def require(eng: Engine, s: Sample, treatment: str, minimum: int, why: str) -> None:
    """E412 (too few rows) and E411 (constant treatment), by aggregates on the kept rows."""
    r = s.report
    if r.rows_used < minimum:
        lost = ", ".join(f"{c}: {k}" for c, k in r.missing_by_column if k) or "none"
        raise DataError(Diagnostic(
            "E412", f"too few rows in {r.source}: {r.rows_used} complete rows for {why}, need at "
            f"least {minimum}", None, help=f"{r.rows_read} rows were read; missing values "
            f"removed {r.dropped} (per column: {lost})"))
    d = s.expr(treatment)
    lo, hi = eng.one(f"SELECT MIN({d}), MAX({d}) FROM {VIEW} WHERE {s.complete}")
    if lo == hi:
        raise DataError(Diagnostic(
            "E411", f"treatment '{treatment}' is constant ({lo}) in the {r.rows_used} rows used "
            f"from {r.source}: there is nothing to compare", None,
            help="check the column, and whether missing values removed every treated (or every "
            "untreated) row"))
