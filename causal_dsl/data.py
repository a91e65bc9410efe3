"""Load the dataset a study is bound to and check it against the declarations.

In: a `Model` whose ``data`` binding has a resolved path (CSV, TSV or Parquet; ``.gz`` etc. are
read by pandas), or a DataFrame given directly. Out:

* `load_data(study)` — the raw `pandas.DataFrame`;
* `check_data(study, frame)` — every declared observed variable has its column and its values
  fit the declared type (all problems reported at once);
* `prepare(study, frame, names, ...)` — a `Prepared` sample: the columns an estimator needs,
  coded (binary as 0/1, continuous/count as float, categorical/ordinal as ``Categorical`` with
  the declared levels), rows with a missing value in any of them removed (listwise deletion)
  and counted per column in a `SampleReport`, so that nothing vanishes unseen.

Raises `DataError` (codes E4xx) naming the file and the column, with a suggestion when a
declared column is missing but a similar one exists:

E401 no data bound · E402 file not found · E403 file unreadable or format unknown ·
E404 declared column missing · E405 binary variable with values other than two codes ·
E406 non-numeric values in a numeric column · E407 value outside the declared levels ·
E408 count column with negative or fractional values · E409 panel (unit, time) not unique ·
E411 treatment constant · E412 too few rows · E413 no overlap (raised by estimators).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import tables
from .coding import code_binary
from .derive import derived_notes, with_derived
from .errors import DataError, Diagnostic, Span, suggest
from .model import VarType
from .results import SampleReport
from .weighting import read_weights

if TYPE_CHECKING:
    from .model import Model, Variable

# Spellings accepted for a binary column, besides numeric 0/1 and booleans.
_TRUE = frozenset({"1", "true", "t", "yes", "y"})
_FALSE = frozenset({"0", "false", "f", "no", "n"})


def _source(study: Model) -> str:
    if study.data is None:
        return "<no data>"
    return str(study.data.path) if study.data.path is not None else study.data.source


def _data_span(study: Model) -> Span | None:
    return study.data.span if study.data is not None else None


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def read_header(path: str | Path, *, study: Model | None = None) -> list[str] | None:
    """The column names of a CSV/TSV/Parquet file, reading no rows; None if it is missing or
    unreadable (lint then skips its column checks). A special file (E417) or, with `study`, a
    file outside the study's folder tree (E418) raises: see `causal_dsl.tables`."""
    try:
        return tables.read_header(path, study=study)
    except DataError as error:
        if any(d.code in ("E417", "E418") for d in error.diagnostics):
            raise
        return None


def read_table(path: str | Path, span: Span | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file by its extension (compressed CSV works too); the checks
    (regular file, duplicate names, missing spellings) are `causal_dsl.tables.read_table`'s."""
    return tables.read_table(path, span)


def load_data(study: Model, *, allow_outside: bool | None = None,
              drop_nonfinite: bool | None = None) -> pd.DataFrame:
    """The bound dataset as read from disk (no coding yet), refused when it lies outside the
    study's folder tree (E418, unless `allow_outside`), is not a regular file (E417), repeats a
    column name (E416) or has infinite values in a declared column (E415, unless
    `drop_nonfinite`: then they are made missing and dropped with the rows). None means: as set
    by `causal_dsl.tables.reading` (or the environment)."""
    if study.data is None:
        raise DataError(
            Diagnostic(
                "E401",
                "the study has no data bound to it",
                None,
                help='add a line `data "file.csv"` to the study, or pass a DataFrame',
            )
        )
    if study.data.path is None:
        raise DataError(
            Diagnostic(
                "E402",
                f"data file '{study.data.source}' cannot be located: the study has no path",
                study.data.span,
                help="load the study from a file (causal_dsl.load) or pass a DataFrame",
            )
        )
    with tables.reading(allow_outside=allow_outside, drop_nonfinite=drop_nonfinite):
        return tables.read_table(study.data.path, study.data.span, study=study)


# --------------------------------------------------------------------------------------------
# coding one column
# --------------------------------------------------------------------------------------------
def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _as_text(s: pd.Series) -> pd.Series:
    """Values as stripped strings (integral floats without '.0'), missing kept missing."""
    if _is_numeric(s):
        v = s.astype("float64")
        finite = v.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            return v.astype("Int64").astype("string")
        return v.astype("string")
    return s.astype("string").str.strip()


def _finite_floats(s: pd.Series) -> bool:
    """A float64 column whose every cell is a finite number, told by one sum (NaN or ±inf in
    any cell makes it non-finite; an overflowing sum only sends the column the long way):
    five times cheaper than the missing and infinite masks the general path builds."""
    if s.dtype != np.float64:
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.add.reduce(s.to_numpy())))


def _missing(s: pd.Series) -> pd.Series:
    """Missing cells: NaN/None/NA plus blank strings (a CSV cell of spaces is not a value)."""
    miss = s.isna()
    if not _is_numeric(s) and not pd.api.types.is_bool_dtype(s):
        miss = miss | (s.astype("string").str.strip() == "").fillna(False)
    return miss.to_numpy(dtype=bool)


def _rows(mask: np.ndarray, raw: pd.Series, limit: int = 3) -> str:
    """Where the first offending rows are: the CSV file's physical lines (header is line 1),
    see `causal_dsl.tables.row_positions`."""
    return tables.row_positions(raw, mask, limit)


def _examples(values: pd.Series, limit: int = 3) -> str:
    uniq = pd.unique(values.astype("string"))[:limit]
    return ", ".join(repr(str(u)) for u in uniq)


def code_column(
    var: Variable, raw: pd.Series, source: str
) -> tuple[pd.Series, list[Diagnostic]]:
    """Code one column by its declared type. Missing cells stay missing (NaN / NA)."""
    name, col = var.name, var.data_column
    problems: list[Diagnostic] = []
    if var.type is VarType.CONTINUOUS and _finite_floats(raw):
        return raw, problems  # as coded already: no cell missing, none infinite
    miss = _missing(raw)
    present = ~miss
    t = var.type
    where = f"column '{col}' of {source}"
    if t is VarType.BINARY:
        return code_binary(var, raw, where)  # declared codes or one spelling pair: coding.py
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype("float64").where(present), problems
        if var.levels and len(var.levels) == 2:
            text = _as_text(raw)
            mapping = {var.levels[0]: 0.0, var.levels[1]: 1.0}
            coded = text.map(mapping).astype("float64")
        elif _is_numeric(raw):
            coded = raw.astype("float64")
        else:
            text = _as_text(raw).str.lower()
            coded = pd.Series(np.nan, index=raw.index, dtype="float64")
            coded[text.isin(_TRUE).fillna(False).to_numpy()] = 1.0
            coded[text.isin(_FALSE).fillna(False).to_numpy()] = 0.0
        bad = present & ~np.isin(coded.to_numpy(), [0.0, 1.0])
        if bad.any():
            problems.append(
                Diagnostic(
                    "E405",
                    f"binary variable '{name}' has values other than 0/1 in {where}: "
                    f"{_examples(raw[bad])} at {_rows(bad, raw)}",
                    var.span,
                    help="recode the column to 0/1 (or true/false, yes/no), or declare the "
                    "variable as categorical",
                )
            )
        return coded.where(present), problems
    if t in (VarType.CONTINUOUS, VarType.COUNT):
        if _is_numeric(raw) or pd.api.types.is_bool_dtype(raw):
            num = raw.astype("float64")
        else:
            num = pd.to_numeric(_as_text(raw), errors="coerce").astype("float64")
        bad = present & num.isna().to_numpy()
        if bad.any():
            problems.append(
                Diagnostic(
                    "E406",
                    f"{t.value} variable '{name}' has non-numeric values in {where}: "
                    f"{_examples(raw[bad])} at {_rows(bad, raw)}",
                    var.span,
                    help="clean the column (numbers only, empty cells for missing values) or "
                    "declare the variable as categorical",
                )
            )
        infinite = present & np.isinf(num.to_numpy())
        if infinite.any():  # a DataFrame given directly (files are checked as they are read)
            problems.append(tables.nonfinite_problem(col, infinite, raw, source, var.span))
        if t is VarType.COUNT and not bad.any() and not infinite.any():
            v = num.to_numpy()
            badc = present & ((v < 0) | (np.mod(v, 1) != 0))
            if badc.any():
                problems.append(
                    Diagnostic(
                        "E408",
                        f"count variable '{name}' has negative or fractional values in {where}: "
                        f"{_examples(raw[badc])} at {_rows(badc, raw)}",
                        var.span,
                        help="declare the variable as continuous",
                    )
                )
        return num.where(present), problems
    # categorical and ordinal: keep the declared level order (the first is the reference)
    text = _as_text(raw)
    observed = [str(x) for x in pd.unique(text[present].astype(str))]
    if var.levels:
        levels = list(var.levels)
        unknown = [x for x in observed if x not in levels]
        if unknown:
            bad = present & ~text.isin(levels).fillna(False).to_numpy()
            hint = suggest(unknown[0], levels)
            problems.append(
                Diagnostic(
                    "E407",
                    f"{t.value if t else 'categorical'} variable '{name}' has values outside its "
                    f"declared levels in {where}: {', '.join(map(repr, unknown[:3]))} at "
                    f"{_rows(bad, raw)}",
                    var.span,
                    help=(hint + "; " if hint else "")
                    + f"declared levels are {', '.join(map(repr, levels))}",
                )
            )
    else:
        levels = sorted(observed, key=_natural_key)
    known = text.where(present & text.isin(levels).fillna(False).to_numpy())
    cat = pd.Categorical(known.astype(object), categories=levels, ordered=t is VarType.ORDINAL)
    return pd.Series(cat, index=raw.index, name=name), problems


def _natural_key(s: str) -> tuple[int, float | str]:
    try:
        return (0, float(s))
    except ValueError:
        return (1, s)


# --------------------------------------------------------------------------------------------
# whole-frame checks
# --------------------------------------------------------------------------------------------
def _missing_column(
    study: Model, frame: pd.DataFrame, column: str, what: str, span: Span | None
) -> Diagnostic:
    source = _source(study)
    hint = suggest(column, [str(c) for c in frame.columns])
    return Diagnostic(
        "E404",
        f"{what} column '{column}' is not in {source}",
        span,
        help=hint or f"the file has columns: {', '.join(map(str, list(frame.columns)[:12]))}"
        + (" ..." if len(frame.columns) > 12 else ""),
        notes=("use `var name: type as \"column\"` when the column is named differently",)
        if what.startswith("variable")
        else (),
    )


def check_data(
    study: Model, frame: pd.DataFrame, names: Iterable[str] | None = None
) -> dict[str, pd.Series]:
    """Check declared columns exist and fit their types; returns the coded columns by name.

    `names` limits the check to some variables (default: every observed variable). All
    problems are raised together in one `DataError`.
    """
    source = _source(study)
    frame = with_derived(study, frame)  # `var d: binary when ...` columns, built here
    wanted = set(names) if names is not None else None
    diags: list[Diagnostic] = []
    coded: dict[str, pd.Series] = {}
    if frame.columns.has_duplicates:
        raise DataError(tables.duplicate_columns(frame, source), _sources(study))
    for var in study.observed:
        if wanted is not None and var.name not in wanted:
            continue
        if var.data_column not in frame.columns:
            diags.append(
                _missing_column(study, frame, var.data_column, f"variable '{var.name}':",
                                var.span)
            )
            continue
        series, problems = code_column(var, frame[var.data_column], source)
        diags.extend(problems)
        coded[var.name] = series
    if study.data is not None and study.data.is_panel:
        for role, col in (("unit", study.data.unit), ("time", study.data.time)):
            if col is not None and col not in frame.columns:
                diags.append(
                    _missing_column(study, frame, col, f"panel {role}", study.data.span)
                )
    if diags:
        raise DataError(diags, _sources(study))
    return coded


def _sources(study: Model) -> dict[str | None, str]:
    return {study.path: study.source} if study.source is not None else {}


# --------------------------------------------------------------------------------------------
# the estimation sample
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """The rows and coded columns one estimator uses, after listwise deletion.

    `frame` has one column per variable name (coded); `extra` holds raw columns the design needs
    besides variables (cluster, panel unit and time) under their data column names, as integer
    codes (time codes follow the sorted order of the time values).
    """

    frame: pd.DataFrame
    report: SampleReport
    extra: pd.DataFrame
    weights: np.ndarray | None = None  # row weights of the kept rows (`causal_dsl.weighting`)

    def __len__(self) -> int:
        return len(self.frame)


def prepare(
    study: Model,
    frame: pd.DataFrame,
    names: Sequence[str],
    extra_columns: Sequence[str] = (),
    *,
    source: str | None = None,
    coded: dict[str, pd.Series] | None = None,
) -> Prepared:
    """Code `names` (variables) and `extra_columns` (raw columns), then drop incomplete rows.

    The per-column missing counts are taken over the rows read, so a reader can see which
    column cost how many rows. `coded` is what `check_data(study, frame)` returned for this
    very frame, when the caller has already checked it (the columns are not coded twice).
    """
    src = source or _source(study)
    names = list(dict.fromkeys(names))
    if coded is None or any(n not in coded for n in names):
        coded = check_data(study, frame, names)
    unknown = [n for n in names if n not in coded]
    if unknown:  # a name that is not an observed variable: a bug in the caller, not user input
        raise KeyError(f"not observed variables: {unknown}")
    diags = [
        _missing_column(study, frame, c, "required", _data_span(study))
        for c in extra_columns
        if c not in frame.columns
    ]
    if diags:
        raise DataError(diags, _sources(study))
    miss_cols: list[tuple[str, np.ndarray]] = [(n, coded[n].isna().to_numpy()) for n in names]
    extra_raw = {c: frame[c] for c in dict.fromkeys(extra_columns)}
    miss_cols += [(c, _missing(s)) for c, s in extra_raw.items()]
    any_miss = np.zeros(len(frame), dtype=bool)
    counts: list[tuple[str, int]] = []
    for col, m in miss_cols:
        any_miss |= m
        counts.append((col, int(m.sum())))
    row_weights = read_weights(study, frame)
    if row_weights is not None:  # rows with a missing, negative or zero weight: counted
        any_miss |= ~row_weights.usable
        counts += list(row_weights.refused)
    keep = ~any_miss
    # with no row dropped the coded columns are taken as they are, one block each (no
    # consolidated copy of the sample: at 10⁶ rows x 22 columns it is 176 MB)
    every = bool(keep.all())
    out = pd.DataFrame({n: coded[n] if every else coded[n][keep] for n in names},
                       copy=False).reset_index(drop=True)
    extra = pd.DataFrame(
        {c: pd.factorize(s[keep], sort=True)[0] for c, s in extra_raw.items()}
    )
    report = SampleReport(
        source=src,
        rows_read=len(frame),
        rows_used=int(keep.sum()),
        columns=tuple(names) + tuple(extra_raw),
        missing_by_column=tuple(counts),
        notes=derived_notes(study, frame, names),
    )
    weights = None if row_weights is None else row_weights.values[keep]
    return Prepared(out, report, extra, weights)


def require_rows(
    prepared: Prepared, minimum: int, why: str, span: Span | None = None
) -> None:
    """Raise E412 when fewer than `minimum` complete rows are left."""
    n = len(prepared)
    if n < minimum:
        r = prepared.report
        lost = ", ".join(f"{c}: {k}" for c, k in r.missing_by_column if k) or "none"
        raise DataError(
            Diagnostic(
                "E412",
                f"too few rows in {r.source}: {n} complete rows for {why}, need at least "
                f"{minimum}",
                span,
                help=f"{r.rows_read} rows were read; missing values removed {r.dropped} "
                f"(per column: {lost})",
            )
        )


def require_varying(
    prepared: Prepared, name: str, span: Span | None = None
) -> None:
    """Raise E411 when the treatment takes a single value in the estimation sample."""
    s = prepared.frame[name]
    if s.nunique(dropna=True) < 2:
        value = s.iloc[0] if len(s) else "nothing"
        raise DataError(
            Diagnostic(
                "E411",
                f"treatment '{name}' is constant ({value}) in the {len(s)} rows used from "
                f"{prepared.report.source}: there is nothing to compare",
                span,
                help="check the column, and whether missing values removed every treated "
                "(or every untreated) row",
            )
        )
