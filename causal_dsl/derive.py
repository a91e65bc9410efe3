"""Derived treatments built from the data: ``var d: binary when ...`` and
``var d: binary from first_treated = first_year``.

In: a `Model` and the raw frame. Out: `with_derived` — the frame with each derived variable's
column added (1.0 / 0.0, NaN where an operand is missing, so the row is dropped and counted like
any missing value); `derived_notes` — one sentence per derived variable for the sample report:
the adoption pattern (cohorts by first treated period and their sizes, never-treated units)
and whether the indicator switches on and stays on in every unit. The condition tree
(`causal_dsl.conditions`) is interpreted node by node with numpy; nothing is evaluated as
Python. Raises `DataError`: E404 for a column the condition names that the data lacks, E406 for
a comparison of text with a number or of text by order, or a first treated period that is not
a number or changes within a unit, E416 when the data already has a column of that name.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from .conditions import Column, Compare, Condition, Derived, Literal
from .errors import DataError, Diagnostic, suggest
from .model import Model, Variable

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


def derived(model: Model) -> list[Variable]:
    return [v for v in model.variables if v.derived is not None]


def with_derived(model: Model, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the derived columns added (the same frame when the study has none).

    >>> import causal_dsl
    >>> m = causal_dsl.parse('var d: binary when x >= 2 and g == "a"\\n')
    >>> with_derived(m, pd.DataFrame({"x": [1, 2, 3, None], "g": ["a", "a", "b", "a"]}))["d"].tolist()
    [0.0, 1.0, 0.0, nan]
    """  # noqa: E501
    todo = derived(model)
    if not todo:
        return frame
    out = frame.copy(deep=False)
    for v in todo:
        assert v.derived is not None
        if v.name in frame.columns:
            raise DataError(Diagnostic(
                "E416", f"the data has a column '{v.name}', and '{v.name}' is derived "
                f"({v.derived})", v.span,
                help="rename the variable, or drop the derivation and read the column"))
        out[v.name] = _build(model, frame, v, v.derived)
    return out


def _build(model: Model, frame: pd.DataFrame, v: Variable, d: Derived) -> np.ndarray:
    for col in d.columns:
        if col not in frame.columns:
            raise DataError(Diagnostic(
                "E404", f"column '{col}' (read by the derivation of '{v.name}') is not in the "
                "data", d.span or v.span,
                help=suggest(col, [str(c) for c in frame.columns]) or "name a column of the "
                "file"))
    if d.first_treated is not None:
        return _from_first_treated(model, frame, v, d.first_treated)
    assert d.condition is not None
    return _evaluate(d.condition, frame, v)


def _from_first_treated(model: Model, frame: pd.DataFrame, v: Variable, col: str) -> np.ndarray:
    """1 from the unit's first treated period on; 0 before it, and always when the first
    treated period is 0 (never treated: the `did` package's convention)."""
    assert model.data is not None and model.data.unit and model.data.time
    first = _numbers(frame[col], col, v)
    time = _numbers(frame[model.data.time], model.data.time, v)
    unit = frame[model.data.unit]
    spread = pd.Series(first).groupby(unit.to_numpy()).nunique()
    if (spread > 1).any():
        bad = spread.index[spread > 1][0]
        raise DataError(Diagnostic(
            "E406", f"'{col}' (the first treated period of '{v.name}') changes within unit "
            f"'{bad}'", v.span, help="the first treated period is one value per unit"))
    out = ((first > 0) & (time >= first)).astype(np.float64)
    out[np.isnan(first) | np.isnan(time)] = np.nan
    return out


def _numbers(s: pd.Series, col: str, v: Variable) -> np.ndarray:
    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    text = s.notna().to_numpy() & np.isnan(values)
    if text.any():
        raise DataError(Diagnostic(
            "E406", f"column '{col}' (read by the derivation of '{v.name}') holds text "
            f"where a number is compared: '{s[text].iloc[0]}'", v.span,
            help="compare it with a \"string\", or fix the column"))
    return values


def _evaluate(c: Condition, frame: pd.DataFrame, v: Variable) -> np.ndarray:
    """1.0 / 0.0 per row, NaN where an operand is missing (and stays so through and/or/not)."""
    if isinstance(c, Compare):
        return _compare(c, frame, v)
    parts = [_evaluate(a, frame, v) for a in c.args]
    if c.op == "not":
        return 1.0 - parts[0]
    combine = np.minimum if c.op == "and" else np.maximum  # both propagate NaN
    result = parts[0]
    for p in parts[1:]:
        result = combine(result, p)
    return result


def _compare(c: Compare, frame: pd.DataFrame, v: Variable) -> np.ndarray:
    textual = any(isinstance(o, Literal) and isinstance(o.value, str) for o in (c.left, c.right))
    if not textual and all(isinstance(o, Column) for o in (c.left, c.right)):
        # two columns: compared as text unless both are numbers
        textual = not all(_numeric_column(frame[o.name]) for o in (c.left, c.right)
                          if isinstance(o, Column))
    sides: list[np.ndarray] = []
    missing = np.zeros(len(frame), dtype=bool)
    for o in (c.left, c.right):
        if isinstance(o, Literal):
            sides.append(np.full(len(frame), o.value, dtype=object if textual else np.float64))
            continue
        s = frame[o.name]
        missing |= s.isna().to_numpy()
        sides.append(s.astype(str).to_numpy(dtype=object) if textual
                     else _numbers(s, o.name, v))
    if textual:
        if c.op not in ("==", "!="):
            raise DataError(Diagnostic(
                "E406", f"'{c}' (in the derivation of '{v.name}') orders text", c.span or v.span,
                help="text is compared with == or != only; compare numbers by order"))
        sides = [np.asarray([str(x) for x in side], dtype=object) for side in sides]
    else:
        missing |= np.isnan(sides[0]) | np.isnan(sides[1])
    out = np.asarray(_OPS[c.op](sides[0], sides[1]), dtype=np.float64)
    out[missing] = np.nan
    return out


def _numeric_column(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s)) and not pd.api.types.is_bool_dtype(s)


def derived_notes(model: Model, frame: pd.DataFrame, names: Iterable[str]) -> tuple[str, ...]:
    """The adoption pattern of each derived variable among `names`, one sentence each."""
    wanted = set(names)
    notes = []
    for v in derived(model):
        if v.name not in wanted:
            continue
        values = with_derived(model, frame)[v.name].to_numpy(dtype=np.float64)
        data = model.data
        if data is None or not data.is_panel or data.unit not in frame or data.time not in frame:
            ones = int(np.nansum(values))
            notes.append(f"treatment '{v.name}' built {v.derived}: {ones} of "
                         f"{int((~np.isnan(values)).sum())} rows are 1")
            continue
        notes.append(f"treatment '{v.name}' built {v.derived}: "
                     + adoption_pattern(frame[data.unit], frame[data.time], values))
    return tuple(notes)


def adoption_pattern(unit: pd.Series, time: pd.Series, d: np.ndarray) -> str:
    """Cohorts (first treated period: units), never treated, and whether it stays on.

    >>> u = pd.Series([1, 1, 2, 2, 3, 3]); t = pd.Series([1, 2, 1, 2, 1, 2])
    >>> adoption_pattern(u, t, np.array([0, 1, 0, 0, 1, 0.]))
    'adoption cohorts 1: 1 unit, 2: 1 unit; never treated: 1 unit; it switches off again in 1 unit (e.g. 3 in period 2): not a staggered adoption'
    """  # noqa: E501
    table = pd.DataFrame({"u": unit.to_numpy(), "t": time.to_numpy(), "d": d}).dropna()
    table = table.sort_values(["u", "t"], kind="stable")
    cohorts: dict[object, int] = {}
    never = 0
    off: list[tuple[object, object]] = []
    for u, rows in table.groupby("u", sort=True):
        on = rows["d"].to_numpy() == 1
        if not on.any():
            never += 1
            continue
        first = int(np.argmax(on))
        cohorts[rows["t"].iloc[first]] = cohorts.get(rows["t"].iloc[first], 0) + 1
        if not on[first:].all():
            off.append((u, rows["t"].iloc[first + int(np.argmin(on[first:]))]))

    def units(k: int) -> str:
        return f"{k} unit{'s' if k != 1 else ''}"

    parts = ["adoption cohorts " + (", ".join(f"{_show(t)}: {units(k)}"
                                             for t, k in sorted(cohorts.items()))
                                    or "none")]
    parts.append(f"never treated: {units(never)}")
    if off:
        u, t = off[0]
        parts.append(f"it switches off again in {units(len(off))} (e.g. {_show(u)} in period "
                     f"{_show(t)}): not a staggered adoption")
    else:
        parts.append("it switches on and stays on in every unit")
    return "; ".join(parts)


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
