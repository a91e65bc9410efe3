"""Front-door: estimation against simulated truth where back-door adjustment fails, the plug-in
formula against a hand computation, delta-method SEs against statsmodels and the bootstrap, and
the front-door set search against brute force on random graphs."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from causal_dsl.errors import EstimationError
from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.estimators.frontdoor import linear_effect
from causal_dsl.graph.frontdoor_search import (
    d_connected_to,
    front_door_search,
    is_front_door_set,
)

frontdoor = ESTIMATORS["frontdoor"]


def fd(estimand: str = "ate", kind: str = "binary", **opts: object) -> Design:
    return Design("x", "y", estimand, (), options={"mediators": ("m",), **opts},
                  treatment_kind=kind, seed=1)


def linear_world(n: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """u confounds x and y (no back-door set exists); x -> m -> y carries the whole effect."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    x = u + rng.normal(size=n)
    m = 0.8 * x + rng.normal(size=n)
    y = 1.5 * m + 2 * u + rng.normal(size=n)
    return pd.DataFrame({"x": x, "m": m, "y": y}), 0.8 * 1.5


def binary_world(n: int = 20000, seed: int = 0) -> tuple[pd.DataFrame, float, float]:
    """Binary x and m, an x·m interaction in y: the plug-in formula, not the product."""
    rng = np.random.default_rng(seed)
    u = rng.binomial(1, 0.5, n)
    x = rng.binomial(1, 0.2 + 0.6 * u)
    pm = np.where(x == 1, 0.8, 0.3)
    m = rng.binomial(1, pm)
    y = 1.0 * m + 0.5 * m * u + 2.0 * u + rng.normal(size=n)
    # truth: E[Y|do(x)] = P(m=1|x)·(1 + 0.5·E[u]) + 2·E[u]
    ate = (0.8 - 0.3) * (1 + 0.5 * 0.5)
    # ATT: E[Y1 − Y0 | X = 1] = (0.8 − 0.3)(1 + 0.5·P(u = 1 | x = 1)); P(u=1|x=1) = 0.8/1.0
    att = (0.8 - 0.3) * (1 + 0.5 * 0.8)
    return pd.DataFrame({"x": x.astype(float), "m": m.astype(float), "y": y}), ate, att


def test_linear_front_door_covers_truth_where_ols_fails() -> None:
    frame, truth = linear_world()
    r = frontdoor(frame, fd(kind="continuous"), None)
    assert r.detail("model") == "linear"
    assert r.estimate.covers(truth)
    naive = ESTIMATORS["ols"](frame, Design("x", "y", "ate", (), treatment_kind="continuous"),
                              None)
    assert not naive.estimate.covers(truth)


def test_linear_delta_blocks_are_hc1_and_agree_with_bootstrap() -> None:
    frame, _ = linear_world(n=2000, seed=3)
    x, m, y = (frame[c].to_numpy() for c in ("x", "m", "y"))
    effect, se, rows = linear_effect(x, y, m[:, None], ["m"])
    a = sm.OLS(m, sm.add_constant(x)).fit(cov_type="HC1")
    b = sm.OLS(y, np.column_stack([np.ones_like(x), x, m])).fit(cov_type="HC1")
    assert effect == pytest.approx(a.params[1] * b.params[2], rel=1e-10)
    assert rows[0][2] == pytest.approx(a.bse[1], rel=1e-10)
    assert rows[1][2] == pytest.approx(b.bse[2], rel=1e-10)
    boot = frontdoor(frame, fd(kind="continuous", se="bootstrap", bootstrap=400), None)
    assert boot.estimate.effect == pytest.approx(effect)
    assert boot.estimate.se == pytest.approx(se, rel=0.15)


def test_plugin_covers_truth_and_product_of_coefficients_does_not() -> None:
    frame, ate, _ = binary_world()
    r = frontdoor(frame, fd(), None)
    assert r.detail("model") == "plugin"
    assert r.estimate.covers(ate)
    lin = frontdoor(frame, fd(model="linear"), None)
    # the interaction biases the linear product (here by about 10%); the plug-in allows it
    assert abs(lin.estimate.effect - ate) > abs(r.estimate.effect - ate)
    naive = frame.loc[frame.x == 1, "y"].mean() - frame.loc[frame.x == 0, "y"].mean()
    assert naive > ate + 0.5  # back-door confounding by u: the naive contrast is far off


def test_plugin_att_covers_truth() -> None:
    frame, ate, att = binary_world(seed=5)
    r = frontdoor(frame, fd("att"), None)
    assert r.estimand == "att" and r.estimate.covers(att)
    assert not r.estimate.covers(ate)


def test_plugin_by_hand_on_a_small_table() -> None:
    frame = pd.DataFrame({
        "x": [0, 0, 0, 0, 1, 1, 1, 1, 1, 0.0],
        "m": [0, 0, 1, 1, 0, 1, 1, 1, 0, 1.0],
        "y": [1.0, 2.0, 4.0, 5.0, 0.0, 6.0, 7.0, 8.0, 1.0, 3.0],
    })
    r = frontdoor(frame, fd(), None)
    px = frame.x.value_counts(normalize=True)
    mu = frame.groupby(["m", "x"]).y.mean()
    pm = frame.groupby("x").m.value_counts(normalize=True)

    def do(x: float) -> float:
        return sum(pm[(x, m)] * sum(mu[(m, xp)] * px[xp] for xp in (0.0, 1.0))
                   for m in (0.0, 1.0))

    assert r.estimate.effect == pytest.approx(do(1.0) - do(0.0), rel=1e-12)
    att = frontdoor(frame, fd("att"), None)
    e_y1 = frame.loc[frame.x == 1, "y"].mean()
    y0_treated = sum(pm[(0.0, m)] * mu[(m, 1.0)] for m in (0.0, 1.0))
    assert att.estimate.effect == pytest.approx(e_y1 - y0_treated, rel=1e-12)


@pytest.mark.parametrize("estimand", ["ate", "att", "atc"])
def test_plugin_delta_se_agrees_with_bootstrap(estimand: str) -> None:
    frame, _, _ = binary_world(n=3000, seed=8)
    delta = frontdoor(frame, fd(estimand), None)
    boot = frontdoor(frame, fd(estimand, se="bootstrap", bootstrap=400), None)
    assert boot.estimate.se == pytest.approx(delta.estimate.se, rel=0.15)


def test_bad_front_door_designs() -> None:
    frame, _, _ = binary_world(n=500)
    cases = [
        (Design("x", "y", "ate", (), options={}), "E508", "needs the mediators"),
        (Design("x", "y", "ate", ("m",), options={"mediators": ("m",)}), "E508",
         "does not adjust for covariates"),
        (fd(model="magic"), "E508", "unknown front-door model"),
        (fd(se="jackknife"), "E508", "unknown standard-error kind"),
        (fd(kind="continuous", model="plugin"), "E508", "needs a binary treatment"),
    ]
    for dsg, code, text in cases:
        with pytest.raises(EstimationError) as info:
            frontdoor(frame, dsg, None)
        assert info.value.diagnostics[0].code == code and text in str(info.value), text
    lonely = frame.assign(m=np.where(frame.x == 1, frame.m, 0.0))  # m = 1 never with x = 0
    with pytest.raises(EstimationError) as info:
        frontdoor(lonely, fd(), None)
    assert info.value.diagnostics[0].code == "E521" and "m=1 with x = 0" in str(info.value)


# --------------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------------
def test_search_beyond_the_natural_candidate() -> None:
    # x's child is latent: the natural candidate fails, the search finds the mediator below it
    g = nx.DiGraph([("x", "l"), ("l", "m"), ("m", "y"), ("u", "x"), ("u", "y")])
    r = front_door_search(g, {"u", "l"}, "x", "y")
    assert not r.natural_valid and r.small == frozenset({"m"})
    # the natural candidate {c1, c2} works, and so does its subset {c2}
    g = nx.DiGraph([("x", "c1"), ("c1", "c2"), ("x", "c2"), ("c2", "y"), ("u", "x"),
                    ("u", "y")])
    r = front_door_search(g, {"u"}, "x", "y")
    assert r.natural_valid and r.largest == {"c1", "c2"} and r.small == {"c2"}


def test_search_says_why_there_is_none() -> None:
    g = nx.DiGraph([("x", "m"), ("m", "y"), ("u", "x"), ("u", "y")])
    r = front_door_search(g, {"u"}, "x", "y", bidirected=[("m", "y")])
    assert not r.found
    assert "x -> m -> y" in r.reason and "back-door path from it to the outcome" in r.reason
    r = front_door_search(g, {"u"}, "x", "y", bidirected=[("x", "m")])
    assert "open back-door path from the treatment" in r.reason
    r = front_door_search(g, {"u"}, "x", "y", restrict=())
    assert "not allowed" in r.reason


def _random_dag(rng: np.random.Generator, n: int) -> tuple[nx.DiGraph, set[str]]:
    names = [f"v{i}" for i in range(n)]
    g = nx.DiGraph()
    g.add_nodes_from(names)
    for i, j in itertools.combinations(range(n), 2):
        if rng.random() < 0.3:
            g.add_edge(names[i], names[j])
    latent = {v for v in names[1:-1] if rng.random() < 0.25}
    return g, latent


def _front_door_nx(g: nx.DiGraph, x: str, y: str, z: set[str]) -> bool:
    """Pearl's definition with networkx's d-separation and path enumeration."""
    if any(not (set(p[1:-1]) & z) for p in nx.all_simple_paths(g, x, y)):
        return False
    gx = g.copy()
    gx.remove_edges_from(list(g.out_edges(x)))
    if z and not nx.is_d_separator(gx, {x}, z, set()):
        return False
    gz = g.copy()
    gz.remove_edges_from([e for v in z for e in g.out_edges(v)])
    return not z or nx.is_d_separator(gz, z, {y}, {x})


def test_search_against_brute_force_on_random_graphs() -> None:
    rng = np.random.default_rng(2022)
    checked = found = 0
    for _ in range(150):
        g, latent = _random_dag(rng, int(rng.integers(4, 8)))
        x, y = "v0", f"v{len(g) - 1}"
        if not nx.has_path(g, x, y):
            continue
        observed = sorted(set(g) - latent - {x, y})
        valid = [set(s) for k in range(len(observed) + 1)
                 for s in itertools.combinations(observed, k)
                 if _front_door_nx(g, x, y, set(s))]
        for s in map(set, itertools.chain.from_iterable(
                itertools.combinations(observed, k) for k in range(len(observed) + 1))):
            assert is_front_door_set(g, x, y, s) == _front_door_nx(g, x, y, s)
        r = front_door_search(g, latent, x, y)
        assert r.found == bool(valid)
        if r.found:
            assert r.largest is not None and r.small is not None
            assert _front_door_nx(g, x, y, set(r.largest))
            assert _front_door_nx(g, x, y, set(r.small))
            assert all(v <= set(r.largest) for v in valid)  # it is the largest
            found += 1
        checked += 1
    assert checked > 50 and found > 5


def test_d_connected_to_agrees_with_networkx() -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        g, _ = _random_dag(rng, 7)
        nodes = sorted(g)
        src = nodes[int(rng.integers(len(nodes)))]
        given = {v for v in nodes if v != src and rng.random() < 0.3}
        reach = d_connected_to(g, src, given)
        for v in nodes:
            if v == src or v in given:
                continue
            assert (v in reach) == (not nx.is_d_separator(g, {src}, {v}, given))
