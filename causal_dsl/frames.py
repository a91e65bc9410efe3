"""Result values as pandas tables, for programs: broom's tidy rows and MatchIt's matched data.

In: a `QueryResult` (`causal_dsl.results`; its estimates, and the per-row `UnitData` a matching
design keeps). Out: dicts and pandas DataFrames — one row per estimate with broom's ``tidy()``
column names (``estimate``, ``std_error``, ``conf_low``, ``conf_high``, ``p_value``), and the
matched sample with MatchIt's ``match.data()`` columns (``distance``, ``weights``,
``subclass``). Raises `RenderError` E608 when matched data is asked of a query that was not
estimated by matching. Imported by the result values' methods only when called, so that
``import causal_dsl.results`` stays light; it imports no later stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import Diagnostic, RenderError

if TYPE_CHECKING:
    from .results import QueryResult

__all__ = ["TIDY_COLUMNS", "matched_data", "tidy_frame", "tidy_rows"]

TIDY_COLUMNS = ["query", "role", "estimand", "method", "estimate", "std_error", "conf_low",
                "conf_high", "p_value", "n", "std_error_kind"]


def tidy_rows(r: QueryResult) -> list[dict[str, Any]]:
    """The planned estimate, the cross-check and the naive contrast of one query, as dicts
    with `TIDY_COLUMNS` (the naive contrast's estimand is "unadjusted")."""
    rows = [("estimate", r.method, r.estimate)]
    if r.cross_check is not None:
        rows.append(("cross-check", r.cross_check.method, r.cross_check.estimate))
    rows.append(("naive", "naive", r.naive))
    return [{"query": r.query, "role": role,
             "estimand": "unadjusted" if role == "naive" else r.plan.estimand.upper(),
             "method": method, "estimate": e.effect, "std_error": e.se, "conf_low": e.ci_low,
             "conf_high": e.ci_high, "p_value": e.p_value, "n": e.n,
             "std_error_kind": e.se_kind} for role, method, e in rows]


def tidy_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy rows as a DataFrame with `TIDY_COLUMNS` in order (also when there are none)."""
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def matched_data(r: QueryResult, *, all_units: bool = False) -> pd.DataFrame:
    """MatchIt's ``match.data()``: the sample's coded columns (named by variable, in the order
    of the estimation sample), then ``distance`` (the scale matched on), ``weights`` (the
    weights of the balance table, each arm scaled to sum to its number of matched units, as
    MatchIt scales them: weighted means, hence the SMDs, are unchanged) and ``subclass`` (the
    pair, without replacement only: with replacement a unit serves several pairs and MatchIt
    leaves it out too). Unmatched units are dropped unless `all_units`, which keeps every row
    (weight 0 when unused) with ``dropped`` (a target without a match within the caliper) and
    ``outside_support`` (a score outside the other arm's range)."""
    units = r.result.units
    if units is None:
        raise RenderError(Diagnostic(
            "E608", f"query '{r.query}' has no matched data: it was estimated by {r.method}, "
            "not by matching",
            help="matched data exist for `using matching` (or a plan that chose it)"))
    frame = pd.DataFrame(units.rows).reset_index(drop=True).copy()
    frame["distance"] = units.distance
    w = np.asarray(units.weights, dtype=np.float64).copy()
    d = frame[units.treatment].to_numpy(dtype=np.float64)
    for arm in (0.0, 1.0):
        sel = (d == arm) & (w > 0)
        if sel.any():
            w[sel] *= sel.sum() / w[sel].sum()
    frame["weights"] = w
    if units.subclass is not None:
        frame["subclass"] = pd.array(np.where(units.subclass > 0, units.subclass, 0),
                                     dtype="Int64")
        frame.loc[units.subclass <= 0, "subclass"] = pd.NA
    if all_units:
        frame["dropped"] = units.dropped
        frame["outside_support"] = units.outside_support
        return frame
    return frame[w > 0].reset_index(drop=True)
