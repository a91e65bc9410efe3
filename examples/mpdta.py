"""Make mpdta.csv: the county teen-employment panel of Callaway & Sant'Anna (2021).

Source: Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-differences with multiple time
periods", Journal of Econometrics 225(2), 200-230, https://doi.org/10.1016/j.jeconom.2020.12.001.
The data set `mpdta` ships with their R package `did` (GPL-3, https://github.com/bcallaway11/did)
and, identically, with the Python package `moderndid` (MIT licence; `pip install moderndid`),
which is where this script reads it: 500 US counties, 2003-2007, log teen employment (`lemp`);
`first.treat` is the year the county's state raised its minimum wage above the federal level
(2004, 2006 or 2007; 0 = never within the period).

Published result reproduced by tests/test_staggered.py (did's README, `att_gt(yname = "lemp",
gname = "first.treat", idname = "countyreal", tname = "year", xformla = ~1, data = mpdta)`):
ATT(2004, 2004) = -0.0105, ..., ATT(2007, 2007) = -0.0261; the event-study (dynamic) overall ATT
-0.0772; the group aggregation -0.031; and the simple aggregation (`aggte(type = "simple")`)
-0.0400: raising the minimum wage lowered teen employment by about 4%.

Run: python examples/mpdta.py   (needs moderndid; writes mpdta.csv next to this file)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def load() -> pd.DataFrame:
    """mpdta with a 0/1 treatment column: on from the year the county's state adopted."""
    from moderndid.core.data import load_mpdta

    raw = load_mpdta()
    df = raw.to_pandas() if hasattr(raw, "to_pandas") else pd.DataFrame(raw)
    first = df["first.treat"]
    return pd.DataFrame({
        "countyreal": df["countyreal"].astype(int),
        "year": df["year"].astype(int),
        "first_treat": first.astype(int),
        "min_wage_raised": ((first > 0) & (df["year"] >= first)).astype(int),
        "lemp": df["lemp"].round(10),
        "lpop": df["lpop"].round(10),
    }).sort_values(["countyreal", "year"], ignore_index=True)


if __name__ == "__main__":
    out = Path(__file__).with_name("mpdta.csv")
    data = load()
    data.to_csv(out, index=False)
    print(f"wrote {out} ({len(data)} rows: {data['countyreal'].nunique()} counties x "
          f"{data['year'].nunique()} years)")
