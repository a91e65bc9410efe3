"""Make frontdoor.csv: a confounder nobody measured, and a mediator that carries the effect.

A tutoring offer (binary) raises weekly study hours, and only study hours raise the exam score;
motivation, never measured, drives both who takes the offer and the score. No adjustment set
exists (motivation is latent) and there is no instrument, but the front-door criterion holds
with `hours`: the effect is identified through the mediator. The true effect of the offer is
TRUE_EFFECT = 2.5 hours x 1.2 points per hour = 3.0 points.

Run: python examples/frontdoor.py   (seeded: the same CSV every time)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HOURS_PER_OFFER = 2.5
POINTS_PER_HOUR = 1.2
TRUE_EFFECT = HOURS_PER_OFFER * POINTS_PER_HOUR
N = 4000
SEED = 7


def simulate(n: int = N, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    motivation = rng.normal(0, 1, n)  # latent: never written to the file
    tutoring = (motivation + rng.normal(0, 1, n) > 0.3).astype(int)
    hours = 4 + HOURS_PER_OFFER * tutoring + rng.normal(0, 1.5, n)
    score = 50 + POINTS_PER_HOUR * hours + 6 * motivation + rng.normal(0, 4, n)
    return pd.DataFrame({"tutoring": tutoring, "hours": hours.round(2), "score": score.round(2)})


if __name__ == "__main__":
    simulate().to_csv(Path(__file__).with_name("frontdoor.csv"), index=False)
