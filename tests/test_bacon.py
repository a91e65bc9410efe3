"""The Goodman-Bacon decomposition (`causal_dsl.estimators.bacon`).

Checked against the paper's own weight formulas (Goodman-Bacon 2021, eq. 10a-c) on a panel
small enough to write out, against TWFE fitted by statsmodels with unit and period dummies
(the weighted sum of the 2×2s must equal it), and for the refusals.
"""

from __future__ import annotations

import numpy as np
import pytest

from causal_dsl.errors import CausalError
from causal_dsl.estimators.bacon import decompose, from_long


def staggered(units: int = 240, periods: int = 9, adopt: tuple[int, ...] = (0, 3, 5, 7, 9),
              seed: int = 0, slope: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.choice(adopt, size=units)
    t = np.arange(periods)
    d = (t[None, :] >= a[:, None]).astype(float)
    e = np.maximum(t[None, :] - a[:, None], 0)
    y = rng.normal(size=(units, 1)) + 0.3 * t + d * (1 + slope * e) \
        + rng.normal(size=(units, periods))
    return y, d


def twfe_statsmodels(y: np.ndarray, d: np.ndarray) -> float:
    """TWFE the textbook way: least squares on the treatment, unit and period dummies."""
    import statsmodels.api as sm

    n, t = y.shape
    units = np.repeat(np.eye(n), t, axis=0)
    periods = np.tile(np.eye(t), (n, 1))[:, 1:]
    x = np.column_stack([d.ravel(), units, periods])
    return float(sm.OLS(y.ravel(), x).fit().params[0])


@pytest.mark.parametrize("adopt", [(0, 3, 5, 7, 9), (3, 5, 7, 9), (2, 6), (4, 9), (0, 2, 5)])
def test_weights_sum_to_one_and_reproduce_twfe(adopt: tuple[int, ...]) -> None:
    y, d = staggered(units=60, adopt=adopt)
    b = decompose(y, d)
    assert sum(c.weight for c in b.comparisons) == pytest.approx(1.0, abs=1e-12)
    assert all(c.weight > 0 for c in b.comparisons)
    assert b.twfe == pytest.approx(twfe_statsmodels(y, d), abs=1e-9)
    assert b.weighted_sum == pytest.approx(b.twfe, abs=1e-12)


def test_paper_formulas_on_a_small_panel() -> None:
    # 4 periods; early group k (2 units) adopts at period 1, late group l (1 unit) at period 3,
    # never-treated U (3 units)
    y = np.array([
        [1.0, 3.0, 4.0, 6.0], [0.0, 2.0, 2.5, 5.0],  # k
        [2.0, 2.5, 3.0, 6.0],  # l
        [1.0, 1.0, 1.5, 2.0], [0.0, 0.5, 1.0, 1.0], [2.0, 2.5, 2.5, 3.5],  # U
    ])
    d = np.array([[0, 1, 1, 1]] * 2 + [[0, 0, 0, 1]] + [[0, 0, 0, 0]] * 3, dtype=float)
    b = decompose(y, d)
    n = 6
    nk, nl, nu = 2 / n, 1 / n, 3 / n
    dk, dl = 3 / 4, 1 / 4  # share of periods treated
    dt = d - d.mean(1, keepdims=True) - d.mean(0, keepdims=True) + d.mean()
    v = (dt**2).mean()
    s_ku = (nk + nu) ** 2 * (nk / (nk + nu)) * (nu / (nk + nu)) * dk * (1 - dk) / v
    s_lu = (nl + nu) ** 2 * (nl / (nl + nu)) * (nu / (nl + nu)) * dl * (1 - dl) / v
    nkl = nk / (nk + nl)
    s_kl_k = ((nk + nl) * (1 - dl)) ** 2 * nkl * (1 - nkl) * ((dk - dl) / (1 - dl)) \
        * ((1 - dk) / (1 - dl)) / v
    s_kl_l = ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * (dl / dk) * ((dk - dl) / dk) / v
    got = {(c.treated, c.control): c for c in b.comparisons}
    assert got[(1, "never treated")].weight == pytest.approx(s_ku, abs=1e-12)
    assert got[(3, "never treated")].weight == pytest.approx(s_lu, abs=1e-12)
    assert got[(1, 3)].weight == pytest.approx(s_kl_k, abs=1e-12)
    assert got[(3, 1)].weight == pytest.approx(s_kl_l, abs=1e-12)
    # the 2×2s by hand from group means
    k_mean = y[:2].mean(0)
    l_mean = y[2]
    u_mean = y[3:].mean(0)
    beta_ku = (k_mean[1:].mean() - k_mean[0]) - (u_mean[1:].mean() - u_mean[0])
    beta_kl_k = (k_mean[1:3].mean() - k_mean[0]) - (l_mean[1:3].mean() - l_mean[0])
    beta_kl_l = (l_mean[3] - l_mean[1:3].mean()) - (k_mean[3] - k_mean[1:3].mean())
    assert got[(1, "never treated")].estimate == pytest.approx(beta_ku, abs=1e-12)
    assert got[(1, 3)].estimate == pytest.approx(beta_kl_k, abs=1e-12)
    assert got[(3, 1)].estimate == pytest.approx(beta_kl_l, abs=1e-12)
    assert got[(3, 1)].forbidden and not got[(1, 3)].forbidden
    assert b.forbidden_weight == pytest.approx(s_kl_l, abs=1e-12)
    assert b.twfe == pytest.approx(twfe_statsmodels(y, d), abs=1e-10)


def test_forbidden_share() -> None:
    # one adoption date and never-treated units: a clean 2×2, nothing forbidden
    y, d = staggered(adopt=(4, 9))
    assert decompose(y, d).forbidden_weight == 0.0
    # always-treated units are already-treated controls
    y, d = staggered(adopt=(0, 4, 9))
    b = decompose(y, d)
    assert any(c.control == "always treated" and c.forbidden for c in b.comparisons)
    kinds = b.by_kind()
    assert sum(w for w, _ in kinds.values()) == pytest.approx(1.0)
    assert "forbidden" in b.table().columns


def test_growing_effects_make_forbidden_comparisons_biased_down() -> None:
    y, d = staggered(units=3000, adopt=(2, 5, 9), slope=1.0, seed=4)
    b = decompose(y, d)
    kinds = b.by_kind()
    clean = kinds["treated vs never treated"][1]
    forbidden = kinds["later vs earlier treated (already treated as controls)"][1]
    assert forbidden < clean - 1.0  # the early group's growing effect is subtracted


def test_long_form_and_refusals() -> None:
    y, d = staggered(units=30, periods=5, adopt=(2, 5))
    n, t = y.shape
    unit, time = np.repeat(np.arange(n), t), np.tile(np.arange(t), n)
    assert from_long(unit, time, y.ravel(), d.ravel()).twfe == pytest.approx(decompose(y, d).twfe)
    with pytest.raises(CausalError) as info:
        from_long(unit[1:], time[1:], y.ravel()[1:], d.ravel()[1:])
    assert info.value.diagnostics[0].code == "E410"
    with pytest.raises(CausalError) as info:
        from_long(np.r_[unit, 0], np.r_[time, 0], np.r_[y.ravel(), 0], np.r_[d.ravel(), 0])
    assert info.value.diagnostics[0].code == "E409"
    off = d.copy()
    off[d[:, 2] == 1, 4] = 0
    with pytest.raises(CausalError) as info:
        decompose(y, off)
    assert info.value.diagnostics[0].code == "E530"
    with pytest.raises(CausalError) as info:
        decompose(y, np.zeros_like(d))
    assert info.value.diagnostics[0].code == "E505"
