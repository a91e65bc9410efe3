"""Rosenbaum bounds from the pairs a matching estimate used (`checks.fitted.matched_pairs`),
shown by ``causal run``: the pairs are checked against a hand-built nearest-neighbour pairing
and the bounds against R ``rbounds::psens`` 2.2 computed on those pairs (line for line, as in
tests/test_sensitivity.py), and against the lead example of rbounds' documentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causal_dsl
from causal_dsl.checks import matched_pairs, rosenbaum_bounds

# Rosenbaum (2002, ch. 4): the lead example of rbounds' psens help page
LEAD_TRT = [38, 23, 41, 18, 37, 36, 23, 62, 31, 34, 24, 14, 21, 17, 16, 20, 15, 10, 45, 39,
            22, 35, 49, 48, 44, 35, 43, 39, 34, 13, 73, 25, 27]
LEAD_CTRL = [16, 18, 18, 24, 19, 11, 10, 15, 16, 18, 18, 13, 19, 10, 16, 16, 24, 13, 9, 14,
             21, 19, 7, 18, 19, 12, 11, 22, 25, 16, 13, 11, 13]


def _psens(trt: list[float], ctrl: list[float], gamma: float) -> tuple[float, float]:
    """rbounds::psens 2.2 (CRAN source), line for line: zero differences dropped."""
    diff = np.array(trt, float) - np.array(ctrl, float)
    diff = diff[diff != 0]
    ranks = stats.rankdata(np.abs(diff))
    t = float(np.sum((diff > 0) * ranks))
    p_plus, p_minus = gamma / (1 + gamma), 1 / (1 + gamma)
    v = np.sum(ranks**2 * p_plus * (1 - p_plus))
    up = 1 - stats.norm.cdf((t - np.sum(ranks * p_plus)) / np.sqrt(v))
    low = 1 - stats.norm.cdf((t - np.sum(ranks * p_minus)) / np.sqrt(v))
    return round(float(low), 4), round(float(up), 4)

STUDY = """var x: continuous
var d: binary
var y: continuous
x -> d -> y
x -> y
data "sim.csv"
query m: att(d -> y) using matching({options})
"""


def _study(tmp_path: Path, options: str, n: int = 400, seed: int = 5) -> causal_dsl.Study:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    y = 1.5 * d + x + rng.normal(size=n)
    pd.DataFrame({"x": x, "d": d, "y": y}).to_csv(tmp_path / "sim.csv", index=False)
    path = tmp_path / "sim.causal"
    path.write_text(STUDY.format(options=options), encoding="utf-8")
    return causal_dsl.load(path)


def _by_hand(r: causal_dsl.results.QueryResult) -> tuple[np.ndarray, np.ndarray]:
    """Each treated unit's nearest control on the propensity score (with replacement, the
    lower score first among equals): the pairs of k = 1 matching."""
    units = r.result.units
    assert units is not None
    frame = units.rows.reset_index(drop=True)
    d, y, s = frame["d"].to_numpy(), frame["y"].to_numpy(float), np.asarray(units.distance)
    controls = np.flatnonzero(d == 0)
    order = controls[np.argsort(s[controls], kind="stable")]
    treated, matched = [], []
    for i in np.flatnonzero(d == 1):
        j = order[int(np.argmin(np.abs(s[order] - s[i])))]
        treated.append(y[i])
        matched.append(y[j])
    return np.array(treated), np.array(matched)


def test_pairs_with_replacement_are_the_nearest_controls(tmp_path: Path) -> None:
    r = _study(tmp_path, 'ties = "first"').run()["m"]
    pairs = matched_pairs(r.result)
    assert not isinstance(pairs, str), pairs
    t, c = pairs
    ht, hc = _by_hand(r)
    np.testing.assert_allclose(np.sort(t - c), np.sort(ht - hc))
    rb = r.robustness.rosenbaum
    assert rb is not None and rb.pairs == len(t) == int((r.result.units.rows["d"] == 1).sum())
    for g, lo, hi in zip(rb.gammas, rb.p_lower, rb.p_upper, strict=True):
        assert (round(lo, 4), round(hi, 4)) == _psens(list(t), list(c), g)


def test_pairs_without_replacement_come_from_the_subclasses(tmp_path: Path) -> None:
    r = _study(tmp_path, "replace = false").run()["m"]
    t, c = matched_pairs(r.result)  # type: ignore[misc]
    md = r.matched_data()
    by_pair = md.groupby("subclass")
    diffs = by_pair.apply(lambda g: float(g.loc[g.d == 1, "y"].iloc[0]
                                          - g.loc[g.d == 0, "y"].iloc[0]))
    np.testing.assert_allclose(np.sort(t - c), np.sort(diffs.to_numpy()))


def test_ties_and_k_are_refused_with_the_reason(tmp_path: Path) -> None:
    r = _study(tmp_path, "k = 2").run()["m"]
    assert r.robustness.rosenbaum is None
    assert any("k = 2 matches per unit" in n for n in r.robustness.notes)


def test_lead_example_as_pairs() -> None:
    # rbounds' documented example, passed as (treated, control) like matched pairs
    b = rosenbaum_bounds(LEAD_TRT, LEAD_CTRL, gammas=(1, 2, 3))
    assert [round(p, 4) for p in b.p_upper] == [0.0, 0.0018, 0.0131]
    d = np.array(LEAD_TRT) - np.array(LEAD_CTRL)
    assert b.statistic == pytest.approx(float(stats.rankdata(np.abs(d[d != 0]))[d[d != 0] > 0]
                                              .sum()))


def test_run_shows_the_bounds(tmp_path: Path) -> None:
    run = _study(tmp_path, 'ties = "first"').run()
    text = run.format("text", verbose=True)
    assert "Rosenbaum bounds (" in text and "holds until Γ" in text
    data = run.to_dict()["queries"][0]["robustness"]
    assert data["rosenbaum"]["gamma_critical"] > 1
    assert data["evalue"]["point"] > 1 and data["robustness_value"] is None  # not OLS
