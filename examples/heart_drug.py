"""Make heart_drug.csv: the classic confounding story, with a known effect.

Doctors gave the drug mostly to the sickest patients (low initial health), and sick patients do
worse whatever they get. The drug *lowers* severity by TRUE_EFFECT points, yet the treated look
worse on average: the naive difference has the opposite sign. Adjusting for initial health (and
the ward, which shares a hidden cause with the prescription) recovers the truth.

Run: python examples/heart_drug.py   (seeded: the same CSV every time)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TRUE_EFFECT = -5.0
N = 3000
SEED = 20261127


def simulate(n: int = N, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    frailty = rng.normal(0, 1, n)  # latent: never written to the file
    policy = rng.normal(0, 1, n)  # latent common cause of ward and drug (ward <-> drug)
    ward = np.where(policy + rng.normal(0, 1, n) > 0.5, "cardiology",
                    np.where(rng.random(n) < 0.5, "general", "geriatrics"))
    health = 90 - 0.4 * age - 6 * frailty + rng.normal(0, 5, n)
    logit = -(health - health.mean()) / 6 + 0.8 * policy
    drug = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    ward_effect = pd.Series(ward).map({"cardiology": -2.0, "general": 0.0, "geriatrics": 3.0})
    severity = (
        80 - 0.9 * health + 0.1 * age + 2 * frailty + ward_effect.to_numpy()
        + TRUE_EFFECT * drug + rng.normal(0, 3, n)
    )
    frame = pd.DataFrame({
        "patient": np.arange(1, n + 1),
        "drug": drug,
        "severity": severity.round(2),
        "health_score": health.round(2),
        "age": age.round(1),
        "ward": ward,
    })
    # A few ages were never recorded: the tool must count and report these rows, not hide them.
    missing = rng.choice(n, size=n // 100, replace=False)
    frame.loc[missing, "age"] = np.nan
    return frame


if __name__ == "__main__":
    out = Path(__file__).with_name("heart_drug.csv")
    data = simulate()
    data.to_csv(out, index=False)
    naive = data.groupby("drug")["severity"].mean()
    print(f"wrote {out} ({len(data)} rows); naive difference {naive[1] - naive[0]:+.2f}, "
          f"true effect {TRUE_EFFECT:+.2f}")
