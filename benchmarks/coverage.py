"""Coverage of the 95% intervals over many seeded replications with a known effect.

    python benchmarks/coverage.py              # 200 replications per design
    python benchmarks/coverage.py --reps 500 --n 2000

For each design prints: the mean estimate (truth 1.0), its bias, the standard deviation of the
estimates across replications, the mean reported standard error, and the share of intervals
that cover the truth (should be close to 0.95; a conservative standard error gives more).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.results import Estimate

TRUTH = 1.0


def cross_section(n: int, seed: int, strength: float) -> pd.DataFrame:
    """Two confounders, linear outcome; `strength` scales how well they predict treatment."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-strength * (x1 + 0.5 * x2)))).astype(float)
    y = TRUTH * d + 2 * x1 - x2 + rng.normal(size=n) * (1 + 0.5 * np.abs(x1))
    return pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2})


def panel(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Units x 6 periods, an unobserved unit level driving treatment, serially correlated
    errors (so clustering matters)."""
    rng = np.random.default_rng(seed)
    periods = 6
    units = max(n // periods, 20)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    a = rng.normal(size=units)
    treated = a + rng.normal(size=units) > 0
    d = (treated[u] & (t >= 3)).astype(float)
    ar = np.zeros(units * periods)
    e = rng.normal(size=(units, periods))
    for k in range(1, periods):
        e[:, k] += 0.6 * e[:, k - 1]
    ar = e.ravel()
    y = TRUTH * d + 2 * a[u] + 0.2 * t + ar
    return pd.DataFrame({"d": d, "y": y}), pd.DataFrame({"u": u, "t": t})


def replicate(name: str, reps: int, one: Callable[[int], Estimate]) -> None:
    start = time.perf_counter()
    ests = [one(seed) for seed in range(reps)]
    eff = np.array([e.effect for e in ests])
    se = np.array([e.se for e in ests])
    cover = np.mean([e.covers(TRUTH) for e in ests])
    secs = time.perf_counter() - start
    print(f"{name:<52} {eff.mean():8.4f} {eff.mean() - TRUTH:+8.4f} {eff.std(ddof=1):8.4f} "
          f"{se.mean():8.4f} {cover:8.3f}   ({secs:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    reps, n = args.reps, args.n
    ols, matching, did = ESTIMATORS["ols"], ESTIMATORS["matching"], ESTIMATORS["did"]
    covs = ("x1", "x2")
    print(f"{reps} replications, n = {n}, truth {TRUTH}")
    print(f"{'design':<52} {'mean':>8} {'bias':>8} {'sd':>8} {'mean se':>8} {'coverage':>8}")
    replicate("ols HC1 (heteroskedastic errors)", reps,
              lambda s: ols(cross_section(n, s, 1.0), Design("d", "y", "ate", covs),
                            None).estimate)
    plain = {"bias_adjust": False}
    for estimand in ("ate", "att"):
        replicate(f"matching {estimand.upper()}, default (bias-adjusted), moderate", reps,
                  lambda s, e=estimand: matching(cross_section(n, s, 1.0),
                                                 Design("d", "y", e, covs), None).estimate)
        replicate(f"matching {estimand.upper()}, bias_adjust = false, moderate", reps,
                  lambda s, e=estimand: matching(cross_section(n, s, 1.0),
                                                 Design("d", "y", e, covs, options=plain),
                                                 None).estimate)
    replicate("matching ATE, default (bias-adjusted), strong confounding", reps,
              lambda s: matching(cross_section(n, s, 2.5), Design("d", "y", "ate", covs),
                                 None).estimate)
    replicate("matching ATE, bias_adjust = false, strong confounding", reps,
              lambda s: matching(cross_section(n, s, 2.5),
                                 Design("d", "y", "ate", covs, options=plain), None).estimate)

    def did_one(s: int) -> Estimate:
        f, extra = panel(n, s)
        return did(f, Design("d", "y", "att", unit="u", time="t",
                             options={"event_study": False}), extra).estimate

    replicate("did TWFE, CR1 clustered by unit", reps, did_one)


if __name__ == "__main__":
    main()
