"""Row weights: the column named by ``data "f.csv" weights(w, kind = "...")``, read and checked.

In: a `Model` whose data binding names a weight column, and the raw frame. Out: `RowWeights`,
the weights as floats with a mask of the rows they allow and the count of rows refused for each
reason (missing, negative, zero: Stata drops zero-weight rows from the estimation sample, and a
negative weight has no meaning), so that `causal_dsl.data.prepare` drops them and reports them.
Raises `DataError`: E404 when the column is missing, E406 when it is not numeric or not finite,
E408 when frequency weights are not whole numbers (a row cannot stand for 2.5 observations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, Diagnostic, suggest
from .model import Model


@dataclass(frozen=True)
class RowWeights:
    column: str
    kind: str
    values: np.ndarray  # float64, NaN where refused
    usable: np.ndarray  # bool: finite and positive
    refused: tuple[tuple[str, int], ...]  # (reason, rows)


def read_weights(model: Model, frame: pd.DataFrame) -> RowWeights | None:
    """The study's weights, or None when it has none.

    >>> import causal_dsl
    >>> m = causal_dsl.parse('data "f.csv" weights(w, kind = "analytic")\\n')
    >>> rw = read_weights(m, pd.DataFrame({"w": [1.0, None, -2, 0, 3]}))
    >>> rw.usable.tolist(), rw.refused
    ([True, False, False, False, True], (('w (weight missing)', 1), ('w (weight negative)', 1), ('w (weight zero)', 1)))
    """  # noqa: E501
    data = model.data
    if data is None or data.weights is None:
        return None
    col, kind = data.weights, data.weight_kind or "analytic"
    if col not in frame.columns:
        raise DataError(Diagnostic(
            "E404", f"weight column '{col}' is not in the data", data.span,
            help=suggest(col, [str(c) for c in frame.columns]) or "name a column of the file "
            "in weights(...)"))
    raw = frame[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    text = raw.notna().to_numpy() & np.isnan(values)
    if text.any() or np.isinf(values).any():
        bad = raw[text | np.isinf(values)].astype(str).unique()[:3]
        raise DataError(Diagnostic(
            "E406", f"weight column '{col}' has values that are not finite numbers: "
            + ", ".join(f"'{b}'" for b in bad), data.span,
            help="weights are non-negative numbers; fix or blank those rows"))
    missing = np.isnan(values)
    negative = ~missing & (values < 0)
    zero = ~missing & (values == 0)
    usable = ~(missing | negative | zero)
    if kind == "frequency" and (values[usable] != np.round(values[usable])).any():
        example = values[usable][values[usable] != np.round(values[usable])][0]
        raise DataError(Diagnostic(
            "E408", f"frequency weights '{col}' must be whole numbers (found {example:g})",
            data.span, help="a frequency weight counts identical observations; for "
            "fractional weights use kind = \"analytic\" or \"survey\""))
    refused = tuple((f"{col} (weight {why})", int(m.sum()))
                    for why, m in (("missing", missing), ("negative", negative), ("zero", zero)))
    return RowWeights(col, kind, np.where(usable, values, np.nan), usable, refused)
