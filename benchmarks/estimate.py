"""Time and peak memory of the estimators at n = 10⁴, 10⁵, 10⁶ (20 covariates), beside the
reference implementations they replace, and beside DoWhy when it is installed.

    python benchmarks/estimate.py                  # all sizes
    python benchmarks/estimate.py --sizes 10000 100000 --dowhy-max 100000
    python benchmarks/estimate.py --threads 1      # stable figures on a busy machine

Prints one line per (estimator, n): seconds, peak traced memory (tracemalloc, a separate run),
the estimate (truth: 1.0), and for comparisons the ratio reference / ours. Not a test: the
figures depend on the machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.estimators.matching import nearest_sorted

TRUTH = 1.0
P = 20


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, P))
    b = rng.normal(scale=0.3, size=P)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x @ b)))).astype(np.float64)
    y = TRUTH * d + x @ rng.normal(size=P) + rng.normal(size=n)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(P)])
    frame["d"] = d
    frame["y"] = y
    return frame


def make_panel(n: int, periods: int = 10, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    units = n // periods
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    a = rng.normal(size=units)
    treated = a + rng.normal(size=units) > 0
    d = (treated[u] & (t >= periods // 2)).astype(np.float64)
    y = TRUTH * d + 2 * a[u] + 0.1 * t + rng.normal(size=len(u))
    return pd.DataFrame({"d": d, "y": y}), pd.DataFrame({"u": u, "t": t})


REPEATS = 3


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best of REPEATS wall-clock runs (one run when it takes over 2 s)."""
    best, out = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
        if best > 2:
            break
    return best, out


def peak_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


ROWS: list[dict[str, Any]] = []  # what `main` records in benchmarks/results.json


def row(name: str, n: int, secs: float, mb: float | None, est: float | None,
        ratio: str = "") -> None:
    ROWS.append({"what": name.strip(), "n": n, "seconds": secs, "mib": mb, "estimate": est,
                 "ratio": ratio})
    mem = f"{mb:8.1f} MB" if mb is not None else "         —"
    e = f"{est:8.4f}" if est is not None else "       —"
    print(f"{name:<44} {n:>9,}  {secs:8.3f} s  {mem}  est {e}  {ratio}")


def bench(n: int, dowhy_max: int) -> None:
    frame = make_data(n)
    covs = tuple(f"x{i}" for i in range(P))
    design = Design("d", "y", "att", covs)
    ols = ESTIMATORS["ols"]
    matching = ESTIMATORS["matching"]
    did = ESTIMATORS["did"]

    t_ols, r = timed(lambda: ols(frame, design, None))
    row("ols (normal equations, HC1)", n, t_ols, peak_mb(lambda: ols(frame, design, None)),
        r.estimate.effect)

    import statsmodels.api as sm

    x = np.column_stack([np.ones(n), frame[["d", *covs]].to_numpy()])
    yv = frame["y"].to_numpy()
    t_sm, res = timed(lambda: sm.OLS(yv, x).fit(cov_type="HC1"))
    row("statsmodels OLS default fit, HC1", n, t_sm, None, float(res.params[1]),
        f"ratio statsmodels/ours {t_sm / t_ols:5.1f}x")
    t_qr, res = timed(lambda: sm.OLS(yv, x).fit(method="qr", cov_type="HC1"))
    row("statsmodels OLS method='qr', HC1", n, t_qr, None, float(res.params[1]),
        f"ratio {t_qr / t_ols:5.1f}x")

    t_m, r = timed(lambda: matching(frame, design, None))
    row("matching ATT (score + 1-D search + AI)", n, t_m,
        peak_mb(lambda: matching(frame, design, None)), r.estimate.effect)

    # the neighbour search alone: sorted 1-D search against scikit-learn's NearestNeighbors
    rng = np.random.default_rng(1)
    score = rng.normal(size=n)
    d = frame["d"].to_numpy()
    tgt, don = score[d == 1], np.sort(score[d == 0])
    t_sorted, _ = timed(lambda: nearest_sorted(tgt, don, 1))
    from sklearn.neighbors import NearestNeighbors

    def sk() -> Any:
        nn = NearestNeighbors(n_neighbors=1).fit(don[:, None])
        return nn.kneighbors(tgt[:, None])

    t_sk, _ = timed(sk)
    row("  neighbour search: sorted 1-D", n, t_sorted, None, None)
    row("  neighbour search: sklearn NearestNeighbors", n, t_sk, None, None,
        f"ratio sklearn/ours {t_sk / t_sorted:5.1f}x")

    pf, pe = make_panel(n)
    pd_design = Design("d", "y", "att", unit="u", time="t", options={"event_study": False})
    t_d, r = timed(lambda: did(pf, pd_design, pe))
    row(f"did TWFE within ({n // 10:,} units x 10)", n, t_d,
        peak_mb(lambda: did(pf, pd_design, pe)), r.estimate.effect)

    if n <= dowhy_max:
        dowhy_compare(frame, covs, n, t_ols, t_m)


def dowhy_compare(frame: pd.DataFrame, covs: tuple[str, ...], n: int, t_ols: float,
                  t_m: float) -> None:
    try:
        from dowhy import CausalModel
    except ImportError:
        print("  (DoWhy not installed: pip install dowhy to compare)")
        return
    df = frame.assign(d=frame["d"].astype(bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=df, treatment="d", outcome="y", common_causes=list(covs))
        estimand = model.identify_effect(proceed_when_unidentifiable=True)
        t_lr, lr = timed(lambda: model.estimate_effect(
            estimand, method_name="backdoor.linear_regression"))
        row("DoWhy backdoor.linear_regression", n, t_lr, None, float(lr.value),
            f"ratio DoWhy/ours {t_lr / t_ols:5.1f}x")
        t_psm, psm = timed(lambda: model.estimate_effect(
            estimand, method_name="backdoor.propensity_score_matching", target_units="att"))
        row("DoWhy backdoor.propensity_score_matching", n, t_psm, None, float(psm.value),
            f"ratio DoWhy/ours {t_psm / t_m:5.1f}x")


# --------------------------------------------------------------------------------------------
# staggered adoption: Callaway–Sant'Anna beside static TWFE, each cell in its own process
# --------------------------------------------------------------------------------------------
STAGGERED_PERIODS = 10


def make_staggered(units: int, periods: int = STAGGERED_PERIODS, seed: int = 0
                   ) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Cohorts adopting in periods 3, 5, 7 and never-treated units; the effect grows with
    exposure (1 + 0.3·e). Returns the frame, the coded panel columns, and the true simple ATT."""
    rng = np.random.default_rng(seed)
    adopt = rng.choice([3, 5, 7, periods + 1], size=units)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    e = t - adopt[u]
    d = (e >= 0).astype(np.float64)
    y = rng.normal(size=units)[u] + 0.1 * t + d * (1 + 0.3 * np.maximum(e, 0)) \
        + rng.normal(size=len(u))
    num = sum(int((adopt == g).sum()) * (1 + 0.3 * (s - g)) for g in (3, 5, 7)
              for s in range(g, periods))
    den = sum(int((adopt == g).sum()) * (periods - g) for g in (3, 5, 7))
    return pd.DataFrame({"d": d, "y": y}), pd.DataFrame({"u": u, "t": t}), num / den


def _staggered_cell(method: str, units: int) -> tuple[float, float, float]:
    """One (estimator, size) measurement: seconds, peak traced MB, estimate."""
    frame, extra, _ = make_staggered(units)
    options = {"event_study": False} if method == "did" else {}
    design = Design("d", "y", "att", unit="u", time="t", options=options)
    fn = ESTIMATORS[method]
    fn(frame.iloc[:2000], design, extra.iloc[:2000])  # warm-up: imports, first calls
    secs, r = timed(lambda: fn(frame, design, extra))
    return secs, peak_mb(lambda: fn(frame, design, extra)), r.estimate.effect


def bench_staggered(units: int) -> None:
    import multiprocessing as mp

    truth = make_staggered(units)[2]
    n = units * STAGGERED_PERIODS
    ctx = mp.get_context("spawn")  # a fresh interpreter per cell: peaks do not mix
    results = {}
    for method, label in (("did", f"static TWFE ({units:,} units x {STAGGERED_PERIODS})"),
                          ("callaway_santanna", "Callaway-Sant'Anna ATT(g,t) + aggregation")):
        with ctx.Pool(1) as pool:
            results[method] = pool.apply(_staggered_cell, (method, units))
        secs, mb, est = results[method]
        ratio = ""
        if method == "callaway_santanna":
            ratio = f"ratio CS/TWFE {secs / results['did'][0]:5.2f}x"
        row(label, n, secs, mb, est, ratio)
    print(f"  (true simple ATT {truth:.4f}: effects grow with exposure, so TWFE is biased)")


# --------------------------------------------------------------------------------------------
# instrumental variables: our 2SLS (with all its diagnostics) beside linearmodels.IV2SLS
# --------------------------------------------------------------------------------------------
IV_COVARIATES = 10


def make_iv(n: int, seed: int = 0) -> pd.DataFrame:
    """A latent u confounds d and y; z1, z2 are valid instruments; 10 exogenous covariates."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, IV_COVARIATES))
    z = rng.normal(size=(n, 2))
    u = rng.normal(size=n)
    d = z @ [0.5, 0.3] + x[:, 0] + u + rng.normal(size=n)
    y = TRUTH * d + x @ rng.normal(size=IV_COVARIATES) + 2 * u + rng.normal(size=n)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(IV_COVARIATES)])
    frame["z1"], frame["z2"], frame["d"], frame["y"] = z[:, 0], z[:, 1], d, y
    return frame


def _iv_cell(which: str, n: int) -> tuple[float, float, float]:
    """One IV measurement in a fresh process: seconds, peak traced MB, estimate."""
    frame = make_iv(n)
    covs = tuple(f"x{i}" for i in range(IV_COVARIATES))
    if which == "ours":
        design = Design("d", "y", "ate", covs, options={"instrument": ("z1", "z2")},
                        treatment_kind="continuous")
        fn = ESTIMATORS["iv"]
        fn(frame.iloc[:2000], design, None)  # warm-up

        def run() -> float:
            return fn(frame, design, None).estimate.effect
    else:
        from linearmodels.iv import IV2SLS

        exog = frame[list(covs)].assign(const=1.0)
        IV2SLS(frame["y"][:2000], exog[:2000], frame["d"][:2000],
               frame[["z1", "z2"]][:2000]).fit(cov_type="robust", debiased=True)

        def run() -> float:
            res = IV2SLS(frame["y"], exog, frame["d"], frame[["z1", "z2"]]).fit(
                cov_type="robust", debiased=True)
            return float(res.params["d"])
    secs, est = timed(run)
    return secs, peak_mb(run), est


def bench_iv(n: int) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    results = {}
    for which, label in (("ours", "iv 2SLS HC1 + first stage, eff. F, AR, J"),
                         ("linearmodels", "linearmodels IV2SLS robust (estimate only)")):
        try:
            with ctx.Pool(1) as pool:
                results[which] = pool.apply(_iv_cell, (which, n))
        except ImportError:
            print("  (linearmodels not installed: pip install linearmodels to compare)")
            return
        secs, mb, est = results[which]
        ratio = "" if which == "ours" else \
            f"ratio linearmodels/ours {secs / results['ours'][0]:5.2f}x"
        row(label, n, secs, mb, est, ratio)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--dowhy-max", type=int, default=100_000,
                    help="largest n to run DoWhy on (it is slow at 10^6)")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit BLAS threads (threadpoolctl); 1 gives stable figures on a busy "
                    "machine, where multithreaded BLAS calls can stall for seconds")
    ap.add_argument("--staggered-units", type=int, default=100_000,
                    help="units in the staggered-adoption panel (10 periods; 0 skips it)")
    ap.add_argument("--iv-n", type=int, default=1_000_000,
                    help="rows of the instrumental-variables comparison (0 skips it)")
    args = ap.parse_args()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        print(f"BLAS threads limited to {args.threads}")
    warm = make_data(2000)  # first calls pay for imports and BLAS start-up: not timed
    ESTIMATORS["ols"](warm, Design("d", "y", "att", ("x0",)), None)
    ESTIMATORS["matching"](warm, Design("d", "y", "att", ("x0",)), None)
    print(f"{'estimator':<44} {'n':>9}  {'time':>10}  {'peak mem':>11}  estimate (truth 1.0)")
    for n in args.sizes:
        bench(n, args.dowhy_max)
        print()
    if args.staggered_units:
        bench_staggered(args.staggered_units)
    if args.iv_n:
        bench_iv(args.iv_n)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from record import record

    record("estimate", ROWS, threads=args.threads, sizes=args.sizes)


if __name__ == "__main__":
    main()
