"""Make fastfood.csv: a store panel in the spirit of Card & Krueger's minimum-wage study.

Stores in one state see the minimum wage rise after period 4; stores in the other state do not.
The state's economy is an unobserved confounder, but constant over the study (time-invariant), so
a difference-in-differences design with store fixed effects removes it; the trends are parallel
before the change. True effect of the rise on full-time-equivalent employment: TRUE_EFFECT.

Run: python examples/fastfood.py   (seeded: the same CSV every time)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TRUE_EFFECT = 2.5
STORES = 400
PERIODS = 8
RISE_AT = 5  # the first period under the new minimum wage
SEED = 1992


def simulate(stores: int = STORES, periods: int = PERIODS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    nj = rng.random(stores) < 0.6  # the state that raises the wage
    economy = np.where(nj, -3.0, 2.0) + rng.normal(0, 1, stores)  # latent, time-invariant
    chain = rng.choice(["bk", "kfc", "roys", "wendys"], size=stores, p=[0.4, 0.2, 0.25, 0.15])
    chain_size = pd.Series(chain).map({"bk": 4.0, "kfc": -2.0, "roys": 1.0, "wendys": 0.0})
    store_effect = rng.normal(0, 2, stores)
    unit = np.repeat(np.arange(1, stores + 1), periods)
    period = np.tile(np.arange(1, periods + 1), stores)
    treated = np.repeat(nj, periods) & (period >= RISE_AT)
    season = np.tile(np.sin(np.arange(periods) / 2.0) * 1.5, stores)  # common shocks
    employment = (
        20 + np.repeat(economy + chain_size.to_numpy() + store_effect, periods) + season
        + 0.2 * period + TRUE_EFFECT * treated + rng.normal(0, 1.5, stores * periods)
    )
    return pd.DataFrame({
        "store": unit,
        "period": period,
        "state": np.repeat(np.where(nj, "NJ", "PA"), periods),
        "chain": np.repeat(chain, periods),
        "min_wage_rise": treated.astype(int),
        "fte": employment.round(2),
    })


if __name__ == "__main__":
    out = Path(__file__).with_name("fastfood.csv")
    data = simulate()
    data.to_csv(out, index=False)
    print(f"wrote {out} ({len(data)} rows: {STORES} stores x {PERIODS} periods); "
          f"true effect {TRUE_EFFECT:+.2f}")
