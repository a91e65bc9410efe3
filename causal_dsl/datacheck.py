"""The data checks of ``causal check``: the bound file's header and a bounded sample of its rows
against the declarations, cheaply and without pandas (a core install runs them).

In: a `Model` with a data binding, and how many rows to read (`SAMPLE_ROWS` by default). Out:
a `DataCheck` (rows read, whether that was the whole file, notes on what was not checked).
Raises `DataError` with every problem found, the same diagnostics (codes, messages, help) that
`causal run` gives for them (`causal_dsl.data.check_data`, `causal_dsl.coding.code_binary`,
`causal_dsl.tables`): E404 declared or panel column missing (with "did you mean"), E405 binary
column with other values, E406 non-numeric values in a numeric column, E407 values outside the
declared levels, E408 negative or fractional counts, E415 infinite values, E416 duplicate
column names; and the file's own E402/E403/E417/E418. A problem found in a sample carries a note
saying so: the rows after it are read by ``causal run`` only.

Why not pandas: the pre-commit hook runs in a core install (no pandas), and reading 10,000
rows as text with the `csv` module is cheap. The cells are read as pandas would type them (a
column is numeric when every present cell is a number, boolean when every cell is
True/False), so that the rules below are those of the estimation stack; tests/test_check_data.py
compares both on a table of files. Engine bindings (DuckDB, Spark) and globs or folders are not
read here: a note says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .datafiles import MISSING_SPELLINGS, Sample, confine, current_options, read_sample
from .errors import DataError, Diagnostic, Span, suggest
from .model import VarType

if TYPE_CHECKING:
    from .model import Model, Variable

SAMPLE_ROWS = 10_000
SHOWN = 3
_BOOLS = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False,
          "false": False}  # pandas' default true/false spellings
_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("0", "1"), ("false", "true"), ("f", "t"), ("no", "yes"), ("n", "y"),
)  # `causal_dsl.coding.SPELLINGS`
_NUMERIC_TYPES = (VarType.BINARY, VarType.CONTINUOUS, VarType.COUNT)


@dataclass(frozen=True)
class DataCheck:
    """What `check_bound_data` looked at: `rows` data rows of `source` (`complete` when that
    was the whole file) and `notes` on what it did not check."""

    source: str
    rows: int
    complete: bool
    columns: int
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for ``causal check``'s output."""
        if not self.columns and self.notes:
            return f"data check: {self.notes[0]}"
        read = (f"all {self.rows:,} rows" if self.complete
                else f"the first {self.rows:,} rows")
        return f"data check: {self.source}: header ({self.columns} columns) and {read} fit the " \
               "declarations"


def check_bound_data(model: Model, rows: int = SAMPLE_ROWS) -> DataCheck | None:
    """Check the bound file's header and first `rows` rows; None when no data is bound.

    >>> import tempfile, pathlib, causal_dsl
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "d.csv").write_text("treated,outcme\\n1,2.5\\n0,3\\n")
    >>> study = causal_dsl.parse('data "d.csv"\\nvar treated: binary\\nvar outcome: '
    ...                          'continuous\\ntreated -> outcome\\n', d / "s.causal")
    >>> check_bound_data(study)
    Traceback (most recent call last):
    ...
    causal_dsl.errors.DataError: ...error[E404]: variable 'outcome': column 'outcome' is not in ...
    ...
    """
    data = model.data
    if data is None:
        return None
    if data.engine is not None:
        return DataCheck(data.source, 0, False, 0, (
            f"{data.engine} binding not read by `causal check` (its columns and types are "
            "checked when `causal run` queries the engine)",))
    if data.path is None:
        return DataCheck(data.source, 0, False, 0, (
            f"'{data.source}' not read: the study has no location on disk",))
    if data.path.is_dir() or any(c in data.source for c in "*?["):
        return DataCheck(data.source, 0, False, 0, (
            f"'{data.source}' (a folder or a glob) not read by `causal check`; `causal run` "
            "reads it",))
    confine(data.path, model)  # E418, before anything is opened
    sample = read_sample(data.path, rows, study=model, span=data.span)
    source = str(data.path)
    diagnostics = _duplicates(sample, source, data.span)
    if not diagnostics:
        diagnostics = _infinite(model, sample, source) + _columns(model, sample, source)
    if diagnostics:
        if not sample.complete:
            note = (f"found in the first {len(sample):,} rows, which is what `causal check` "
                    "reads; `causal run` reads them all")
            diagnostics = [_with_note(d, note) for d in diagnostics]
        raise DataError(diagnostics, {model.path: model.source} if model.source else None)
    return DataCheck(data.source, len(sample), sample.complete, len(sample.header))


def _with_note(d: Diagnostic, note: str) -> Diagnostic:
    from dataclasses import replace

    return replace(d, notes=(*d.notes, note))


# --- the file as a whole -----------------------------------------------------------------
def _duplicates(sample: Sample, source: str, span: Span | None) -> list[Diagnostic]:
    """E416, as `causal_dsl.tables` refuses the file."""
    seen: dict[str, int] = {}
    for name in sample.header:
        if name.strip():
            seen[name] = seen.get(name, 0) + 1
    dups = [name for name, count in seen.items() if count > 1]
    if not dups:
        return []
    return [Diagnostic(
        "E416", f"data file '{source}' has duplicate column name(s): "
        + ", ".join(f"'{name}' ({seen[name]} times)" for name in dups[:10])
        + (" ..." if len(dups) > 10 else ""), span,
        help="rename the columns so that each name is used once (a reader would otherwise "
        "rename one silently, e.g. to 'x.1')")]


def _infinite(model: Model, sample: Sample, source: str) -> list[Diagnostic]:
    """E415 for declared columns with ±inf (unless infinite values are to be dropped)."""
    if current_options().drop_nonfinite:
        return []
    used: dict[str, bool] = {}
    for var in model.observed:
        numeric = var.type in _NUMERIC_TYPES and not var.levels
        used[var.data_column] = used.get(var.data_column, False) or numeric
    problems = []
    for column, as_number in used.items():
        cells = sample.columns.get(column)
        if cells is None:
            continue
        col = _Column(cells, _na(model, column))
        if not (col.numeric or as_number):
            continue
        mask = [p and (v := _float(c)) is not None and v in (_INF, -_INF)
                for p, c in zip(col.present, cells, strict=True)]
        if any(mask):
            span = next((v.span for v in model.observed if v.data_column == column), None)
            problems.append(Diagnostic(
                "E415", f"column '{column}' of {source} has {sum(mask)} infinite value(s) "
                f"(inf, -inf, or a number too large for a float) at {_lines(sample, mask)}",
                span, help="fix or remove those values; or, to treat them as missing (counted "
                "and dropped like missing values), run with --drop-nonfinite (Python: "
                "drop_nonfinite=True)"))
    return problems


def _columns(model: Model, sample: Sample, source: str) -> list[Diagnostic]:
    """E404 and the type checks, variable by variable, as `causal_dsl.data.check_data`."""
    problems: list[Diagnostic] = []
    header = list(sample.header)
    for var in model.observed:
        if var.derived is not None:  # built from other columns by `causal run`
            continue
        if var.data_column not in sample.columns:
            problems.append(_missing(source, header, var.data_column,
                                     f"variable '{var.name}':", var.span))
            continue
        col = _Column(sample.columns[var.data_column], _na(model, var.data_column))
        problems += _check_type(var, col, sample, f"column '{var.data_column}' of {source}")
    data = model.data
    if data is not None and data.is_panel:
        for role, name in (("unit", data.unit), ("time", data.time)):
            if name is not None and name not in sample.columns:
                problems.append(_missing(source, header, name, f"panel {role}", data.span))
    return problems


def _missing(source: str, header: Sequence[str], column: str, what: str,
             span: Span | None) -> Diagnostic:
    """E404 exactly as `causal_dsl.data._missing_column` words it."""
    hint = suggest(column, list(header))
    return Diagnostic(
        "E404", f"{what} column '{column}' is not in {source}", span,
        help=hint or f"the file has columns: {', '.join(list(header)[:12])}"
        + (" ..." if len(header) > 12 else ""),
        notes=("use `var name: type as \"column\"` when the column is named differently",)
        if what.startswith("variable") else ())


def _na(model: Model, column: str) -> frozenset[str]:
    """The missing spellings of a column: all but the levels a variable declares for it."""
    keep = {level for v in model.observed if v.data_column == column for level in v.levels}
    return frozenset(s for s in MISSING_SPELLINGS if s not in keep)


# --- one column, typed as pandas would type it -------------------------------------------
_INF = float("inf")


def _float(cell: str | None) -> float | None:
    if cell is None or "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def _int(cell: str) -> bool:
    try:
        int(cell.strip().lstrip("+-") or "x")
    except ValueError:
        return False
    return "_" not in cell


class _Column:
    """A sample column: which cells are present, and whether pandas would read the column as
    numbers (``numeric``, ``integer``: no missing cell and integers only) or booleans."""

    def __init__(self, cells: list[str | None], na: frozenset[str]) -> None:
        self.cells = cells
        missing = [c is None or c in na for c in cells]
        values = [c for c, m in zip(cells, missing, strict=True) if not m]
        assert all(v is not None for v in values)
        self.boolean = bool(values) and not any(missing) and all(v in _BOOLS for v in values)
        self.numeric = bool(values) and not self.boolean and all(
            _float(v) is not None for v in values)
        self.integer = self.numeric and not any(missing) and all(_int(v) for v in values
                                                                 if v is not None)
        self.present = [not m and (self.numeric or bool(str(c).strip()))
                        for c, m in zip(cells, missing, strict=True)]

    def raw(self, i: int) -> str:
        """Cell `i` as pandas shows it (``astype("string")``)."""
        cell = str(self.cells[i])
        if self.integer:
            return str(int(cell))
        if self.numeric:
            return str(float(cell))
        return cell

    def texts(self) -> list[str]:
        """The cells as `causal_dsl.coding._text` reads them: numbers without '.0' when all
        are integral, text stripped."""
        if self.numeric:
            numbers = [_float(c) if p else None for c, p in zip(self.cells, self.present,
                                                                strict=True)]
            finite = [v for v in numbers if v is not None and v not in (_INF, -_INF)]
            integral = bool(finite) and all(v == int(v) for v in finite)
            return [("" if v is None else str(int(v)) if integral and v not in (_INF, -_INF)
                     else str(v)) for v in numbers]
        return [str(c).strip() for c in self.cells]


def _lines(sample: Sample, mask: Sequence[bool]) -> str:
    """`causal_dsl.tables.row_positions` for a sample: physical lines, or Parquet rows."""
    hits = [i for i, m in enumerate(mask) if m]
    more = " ..." if len(hits) > SHOWN else ""
    word = "row(s)" if sample.kind == "parquet" else "line(s)"
    return f"{word} " + ", ".join(str(sample.lines[i]) for i in hits[:SHOWN]) + more


def _examples(values: list[str]) -> str:
    return ", ".join(repr(v) for v in list(dict.fromkeys(values))[:SHOWN])


def _listing(texts: list[str], bad: list[bool], limit: int = 4) -> str:
    """`causal_dsl.coding._listing`: values by frequency, then lines (row + 2)."""
    counts: dict[str, int] = {}
    for t, b in zip(texts, bad, strict=True):
        if b:
            counts[t] = counts.get(t, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    parts = [f"{v!r} ({n} row{'s' if n != 1 else ''})" for v, n in ranked[:limit]]
    if len(ranked) > limit:
        parts.append(f"and {len(ranked) - limit} other value(s)")
    hits = [i for i, b in enumerate(bad) if b]
    lines = ", ".join(str(i + 2) for i in hits[:3])
    return f"{', '.join(parts)} at line(s) {lines}{' ...' if len(hits) > 3 else ''}"


def _check_type(var: Variable, col: _Column, sample: Sample, where: str) -> list[Diagnostic]:
    t = var.type
    if t is VarType.BINARY:
        return _check_binary(var, col, where)
    if t in (VarType.CONTINUOUS, VarType.COUNT):
        # a boolean column reads as 0/1; a text one is stripped first (`pd.to_numeric`)
        numbers = [None if not p else 1.0 if col.boolean else _float(str(c).strip())
                   for c, p in zip(col.cells, col.present, strict=True)]
        bad = [p and v is None for p, v in zip(col.present, numbers, strict=True)]
        if any(bad):
            return [Diagnostic(
                "E406", f"{t.value} variable '{var.name}' has non-numeric values in {where}: "
                f"{_examples([col.raw(i) for i, b in enumerate(bad) if b])} at "
                f"{_lines(sample, bad)}", var.span,
                help="clean the column (numbers only, empty cells for missing values) or "
                "declare the variable as categorical")]
        infinite = any(v in (_INF, -_INF) for v in numbers if v is not None)
        if t is VarType.COUNT and not infinite:
            badc = [v is not None and (v < 0 or v != int(v)) for v in numbers]
            if any(badc):
                return [Diagnostic(
                    "E408", f"count variable '{var.name}' has negative or fractional values "
                    f"in {where}: {_examples([col.raw(i) for i, b in enumerate(badc) if b])} "
                    f"at {_lines(sample, badc)}", var.span,
                    help="declare the variable as continuous")]
        return []
    if var.levels:  # categorical and ordinal with declared levels
        texts = col.texts()
        levels = list(var.levels)
        unknown = list(dict.fromkeys(x for x, p in zip(texts, col.present, strict=True)
                                     if p and x not in levels))
        if unknown:
            bad = [p and x not in levels for x, p in zip(texts, col.present, strict=True)]
            hint = suggest(unknown[0], levels)
            return [Diagnostic(
                "E407", f"{t.value if t else 'categorical'} variable '{var.name}' has values "
                f"outside its declared levels in {where}: {', '.join(map(repr, unknown[:3]))} "
                f"at {_lines(sample, bad)}", var.span,
                help=(hint + "; " if hint else "")
                + f"declared levels are {', '.join(map(repr, levels))}")]
    return []


def _check_binary(var: Variable, col: _Column, where: str) -> list[Diagnostic]:
    """`causal_dsl.coding.code_binary`'s checks."""
    if col.boolean and not var.levels:
        return []
    texts = col.texts()
    present = col.present
    if var.levels:
        zero, one = var.levels
        bad = [p and x not in (zero, one) for x, p in zip(texts, present, strict=True)]
        if not any(bad):
            return []
        lowered = {zero.lower(), one.lower()}
        case = any(x.lower() in lowered for x, b in zip(texts, bad, strict=True) if b)
        return [Diagnostic(
            "E405", f"binary variable '{var.name}' has values other than its codes \"{zero}\" "
            f"(0) and \"{one}\" (1) in {where}: {_listing(texts, bad)}", var.span,
            help=("codes are matched exactly, case included; recode the column or fix the "
                  "declaration" if case else
                  "recode those rows, or declare the variable as categorical with its levels"))]
    if col.numeric:
        bad = [p and _float(c) not in (0.0, 1.0) for c, p in zip(col.cells, present,
                                                                   strict=True)]
    else:
        words = {s for pair in _SPELLINGS for s in pair}
        bad = [p and x.lower() not in words for x, p in zip(texts, present, strict=True)]
    if not any(bad):
        return []
    distinct = list(dict.fromkeys(x for x, p in zip(texts, present, strict=True) if p))
    spelled = [v for v in distinct if v.lower() in {s for p in _SPELLINGS for s in p}]
    help_text = "recode the column to 0/1 (or one of false/true, no/yes, f/t, n/y), or " \
        "declare the variable as categorical"
    if len(distinct) == 2:
        help_text = (f"declare its two codes, the first read as 0: var {var.name}: "
                     f"binary(\"{distinct[0]}\", \"{distinct[1]}\")")
    return [Diagnostic(
        "E405", f"binary variable '{var.name}' has values other than 0/1 in {where}: "
        f"{_listing(texts, bad)}", var.span, help=help_text,
        notes=(f"so the column is not read at all: {', '.join(map(repr, spelled))} would "
               "otherwise pass as a 0/1 spelling",) if spelled else ())]


__all__ = ["SAMPLE_ROWS", "DataCheck", "check_bound_data"]
