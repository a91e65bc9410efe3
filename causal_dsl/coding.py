"""Coded values: reading a binary column as 0/1, by its declared codes or by a known spelling.

In: a binary `Variable` (with `levels` = its two codes when declared ``binary("F", "M")`` or
``binary(control = "ctl", treated = "trt")``: the first, or the control, is 0), the raw column
and where it comes from. Out: the column as float64 0/1 with missing cells NaN, and the problems
found. Raises nothing: a value that is not one of the codes is an E405 diagnostic naming the
column, each such value and its number of rows, and the first lines it is on. Nothing is guessed:

* declared codes are matched exactly (after trimming blanks; ``1.0`` reads as ``1``);
* without codes, a numeric column must be 0/1 and a boolean one is false/true; a text column may
  use the spellings 0/1, false/true, f/t, no/yes, n/y (any case). One value outside them fails
  the whole column: ``"F"`` and ``"M"`` is an error that suggests ``binary("F", "M")``, so "F"
  is never read as false.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import Diagnostic

if TYPE_CHECKING:
    from .model import Variable

# (false spelling, true spelling), compared in lower case
SPELLINGS: tuple[tuple[str, str], ...] = (
    ("0", "1"), ("false", "true"), ("f", "t"), ("no", "yes"), ("n", "y"),
)


def _text(raw: pd.Series) -> pd.Series:
    """Values as stripped strings, integral numbers without '.0'."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        v = raw.astype("float64")
        finite = v.dropna().to_numpy()
        if len(finite) and np.all(np.mod(finite, 1) == 0):
            return v.astype("Int64").astype("string")
        return v.astype("string")
    return raw.astype("string").str.strip()


def _present(raw: pd.Series) -> np.ndarray:
    miss = raw.isna().to_numpy(dtype=bool).copy()
    if not pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        miss |= (raw.astype("string").str.strip() == "").fillna(False).to_numpy(dtype=bool)
    return ~miss


def _listing(text: pd.Series, bad: np.ndarray, limit: int = 4) -> str:
    counts = text[bad].value_counts(sort=True)
    parts = [f"{value!r} ({n} row{'s' if n != 1 else ''})"
             for value, n in list(counts.items())[:limit]]
    if len(counts) > limit:
        parts.append(f"and {len(counts) - limit} other value(s)")
    lines = ", ".join(str(int(i) + 2) for i in np.flatnonzero(bad)[:3])
    return f"{', '.join(parts)} at line(s) {lines}{' ...' if bad.sum() > 3 else ''}"


def code_binary(
    var: Variable, raw: pd.Series, where: str
) -> tuple[pd.Series, list[Diagnostic]]:
    """The 0/1 coding of a binary column (see the module docstring).

    >>> from causal_dsl.model import Variable, VarType
    >>> sex = Variable("sex", VarType.BINARY, levels=("F", "M"))
    >>> coded, problems = code_binary(sex, pd.Series(["F", "M", " M", None]), "column 'sex'")
    >>> coded.tolist(), problems
    ([0.0, 1.0, 1.0, nan], [])
    >>> _, (problem,) = code_binary(sex, pd.Series(["F", "m", "m", "X"]), "column 'sex'")
    >>> print(problem.message.split(": ", 1)[1])
    'm' (2 rows), 'X' (1 row) at line(s) 3, 4, 5
    """
    present = _present(raw)
    problems: list[Diagnostic] = []
    if pd.api.types.is_bool_dtype(raw) and not var.levels:
        return raw.astype("float64").where(present), problems
    if var.levels:
        text = _text(raw)
        zero, one = var.levels
        coded = text.map({zero: 0.0, one: 1.0}).astype("float64")
        bad = present & coded.isna().to_numpy()
        if bad.any():
            lowered = {zero.lower(), one.lower()}
            case = any(str(v).lower() in lowered for v in text[bad].unique())
            problems.append(Diagnostic(
                "E405",
                f"binary variable '{var.name}' has values other than its codes \"{zero}\" (0) "
                f"and \"{one}\" (1) in {where}: {_listing(text, bad)}",
                var.span,
                help=("codes are matched exactly, case included; recode the column or fix the "
                      "declaration" if case else
                      "recode those rows, or declare the variable as categorical with its levels"),
            ))
        return coded.where(present), problems
    if pd.api.types.is_numeric_dtype(raw):
        coded = raw.astype("float64")
        values = coded.to_numpy()
        bad = present & (values != 0.0) & (values != 1.0)
        if not bad.any():  # the usual case: no text needed (it costs a string per row)
            return coded.where(present), problems
        text = _text(raw)
    else:
        text = _text(raw)
        lower = text.str.lower()
        coded = pd.Series(np.nan, index=raw.index, dtype="float64")
        for false, true in SPELLINGS:
            coded[(lower == false).fillna(False).to_numpy()] = 0.0
            coded[(lower == true).fillna(False).to_numpy()] = 1.0
        bad = present & coded.isna().to_numpy()
    if bad.any():
        distinct = [str(v) for v in pd.unique(text[present].dropna())]
        spelled = [v for v in distinct if v.lower() in {s for p in SPELLINGS for s in p}]
        help_text = "recode the column to 0/1 (or one of false/true, no/yes, f/t, n/y), or " \
            "declare the variable as categorical"
        if len(distinct) == 2:
            help_text = (f"declare its two codes, the first read as 0: var {var.name}: "
                         f"binary(\"{distinct[0]}\", \"{distinct[1]}\")")
        problems.append(Diagnostic(
            "E405",
            f"binary variable '{var.name}' has values other than 0/1 in {where}: "
            f"{_listing(text, bad)}",
            var.span, help=help_text,
            notes=(f"so the column is not read at all: {', '.join(map(repr, spelled))} would "
                   "otherwise pass as a 0/1 spelling",) if spelled else (),
        ))
    return coded.where(present), problems
