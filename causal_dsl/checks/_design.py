"""Shared numerics of the checks: coding a sample as matrices, least squares, formatting.

In: a `Model` and the raw bound `DataFrame`. Out: numeric design matrices (binary as 0/1,
continuous and count as floats, categorical and ordinal as treatment-coded dummies against
the first declared level) and small linear-algebra helpers. Raises what
`causal_dsl.data.prepare` raises (`DataError`, E4xx) for columns that do not fit their types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import prepare
from ..model import Model, VarType

NUMERIC = (VarType.CONTINUOUS, VarType.COUNT)
CATEGORICAL = (VarType.CATEGORICAL, VarType.ORDINAL)


def kind(model: Model, name: str) -> str:
    """"num" (continuous, count), "bin" (binary) or "cat" (categorical, ordinal)."""
    t = model.variable(name).type
    if t in NUMERIC:
        return "num"
    if t is VarType.BINARY:
        return "bin"
    return "cat"


@dataclass(frozen=True)
class Sample:
    """The complete rows of some variables, each as a matrix of columns (a dummy block for a
    categorical variable), with the number of rows read and used."""

    blocks: dict[str, np.ndarray]
    labels: dict[str, tuple[str, ...]]
    n: int
    rows_read: int

    def matrix(self, names: Sequence[str], intercept: bool = True) -> np.ndarray:
        parts = [np.ones((self.n, 1))] if intercept else []
        parts += [self.blocks[v] for v in names]
        return np.hstack(parts) if parts else np.empty((self.n, 0))

    def columns(self, names: Sequence[str]) -> list[str]:
        return [c for v in names for c in self.labels[v]]


def sample(model: Model, frame: pd.DataFrame, names: Sequence[str]) -> Sample:
    """Code `names` and keep the rows complete in all of them (counted, never silent)."""
    prepared = prepare(model, frame, list(dict.fromkeys(names)))
    coded = prepared.frame
    blocks: dict[str, np.ndarray] = {}
    labels: dict[str, tuple[str, ...]] = {}
    for v in dict.fromkeys(names):
        col = coded[v]
        if kind(model, v) == "cat":
            cats = list(col.cat.categories)
            present = [c for c in cats if (col == c).any()]
            use = present[1:]  # the first level present is the reference
            blocks[v] = np.column_stack([(col == c).to_numpy(dtype=float) for c in use]) \
                if use else np.empty((len(col), 0))
            labels[v] = tuple(f"{v}[{c}]" for c in use)
        else:
            blocks[v] = col.to_numpy(dtype=float).reshape(-1, 1)
            labels[v] = (v,)
    return Sample(blocks, labels, len(coded), prepared.report.rows_read)


def residualize(target: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, int]:
    """Residuals of the least-squares fit of `target` (n×m) on `design` (n×k), and the rank
    of the design. A QR factorisation: O(n k²), one pass over the data."""
    if design.shape[1] == 0:
        return target.copy(), 0
    q, r = np.linalg.qr(design)
    diag = np.abs(np.diag(r))
    keep = diag > diag.max() * 1e-10 if diag.size else diag.astype(bool)
    if not keep.all():
        q, r = np.linalg.qr(design[:, keep])
    resid = target - q @ (q.T @ target)
    return resid, int(keep.sum())


def rss(y: np.ndarray, design: np.ndarray) -> tuple[float, int]:
    """Residual sum of squares of `y` on `design` and the design's rank."""
    e, k = residualize(y.reshape(-1, 1), design)
    return float(e[:, 0] @ e[:, 0]), k


def fmt(x: float | None, digits: int = 3) -> str:
    """A number for a sentence: 3 significant digits, no exponent for ordinary sizes."""
    if x is None or not np.isfinite(x):
        return "—"
    if x == 0:
        return "0"
    if abs(x) >= 1e6 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    if abs(x) >= 10 ** digits:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def fmt_p(p: float | None) -> str:
    """``p < 0.001`` or ``p = 0.042``: the form readers expect."""
    if p is None or not np.isfinite(p):
        return "p = —"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def finite(*values: float | None) -> bool:
    return all(v is not None and bool(np.isfinite(v)) for v in values)
