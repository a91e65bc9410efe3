"""The sufficient-statistics path (DuckDB) against the in-memory estimators on random data:
estimates and standard errors agree to 1e-8 (relative), for OLS with HC1, HC0, nonrobust and
CR1 errors (with categorical dummies and missing values), two-way fixed effects on unbalanced
panels (CR1), and the logistic propensity model (IRLS against `propensity.fit_logit`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl import planner

duckdb = pytest.importorskip("duckdb")

from causal_dsl.engines import source, sufficient  # noqa: E402
from causal_dsl.estimators.propensity import fit_logit  # noqa: E402

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _close(a: float, b: float, tol: float = 1e-8) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _both(text: str, frame: pd.DataFrame, folder: Path) -> tuple[object, object]:
    frame.to_parquet(folder / "data.parquet")
    (folder / "s.causal").write_text(text)
    model = causal_dsl.load(str(folder / "s.causal"))
    engine = planner.estimate(model, model.queries[0])
    frame = pd.read_parquet(folder / "data.parquet")
    memory = planner.estimate(model, model.queries[0], data=frame)
    return engine, memory


@pytest.fixture(autouse=True)
def _engine_always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "SIZE_THRESHOLD", 0)  # every file goes to DuckDB


OLS = """data "data.parquet"
var d: binary
var y: continuous
var x1: continuous
var x2: continuous
var c: categorical
d -> y
x1 -> d
x1 -> y
x2 -> y
c -> y
c -> d
query q: ate(d -> y) using ols({opts})
"""


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(60, 400),
       se=st.sampled_from(["", 'se = "HC1"', 'se = "HC0"', 'se = "nonrobust"', "cluster = g"]),
       missing=st.booleans())
def test_ols_matches_in_memory(seed: int, n: int, se: str, missing: bool) -> None:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n) * 100 + 5
    c = rng.choice(["a", "b", "c", "d"], size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-x1))).astype(float)
    y = 0.5 + 1.5 * d + x1 - 0.01 * x2 + (c == "b") + rng.normal(size=n) * (1 + np.abs(x1))
    frame = pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2, "c": c,
                          "g": rng.integers(0, 12, size=n)})
    if missing:
        frame.loc[rng.choice(n, size=n // 10, replace=False), "x1"] = np.nan
    with tempfile.TemporaryDirectory() as tmp:
        engine, memory = _both(OLS.format(opts=se), frame, Path(tmp))
    assert engine.sample.rows_used == memory.sample.rows_used
    lost = dict(engine.sample.missing_by_column)["x1"]
    assert lost == dict(memory.sample.missing_by_column)["x1"]
    a, b = engine.result.estimate, memory.result.estimate
    assert _close(a.effect, b.effect) and _close(a.se, b.se)
    assert a.se_kind == b.se_kind
    assert _close(engine.naive.effect, memory.naive.effect)
    assert _close(engine.naive.se, memory.naive.se)
    assert "sufficient statistics" in engine.result.description


DID = """data "data.parquet" panel(unit = u, time = t)
var d: binary
var y: continuous
var z: continuous
d -> y
z -> y
query q: att(d -> y) using did{opts}
"""


@SETTINGS
@given(seed=st.integers(0, 10_000), units=st.integers(12, 60), periods=st.integers(3, 7),
       drop=st.floats(0.0, 0.3), cluster=st.booleans(), iterate=st.booleans())
def test_twfe_matches_in_memory(seed: int, units: int, periods: int, drop: float,
                                cluster: bool, iterate: bool) -> None:
    """Both engine paths: period dummies with units swept out by their means (exact), and
    the alternating projections (forced by allowing no period dummies)."""
    from causal_dsl.engines import panel
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    adopt = rng.choice([1, 2, 99], size=units)[u]
    adopt[u == 0], adopt[u == 1] = 1, 99  # a switcher and a never-treated unit in any draw
    d = (t >= adopt).astype(float)
    z = rng.normal(size=len(u))
    y = rng.normal(size=units)[u] + 0.2 * t + 1.0 * d + 0.5 * z + rng.normal(size=len(u))
    frame = pd.DataFrame({"u": u, "t": t, "d": d, "y": y, "z": z, "s": u // 3})
    keep = (rng.uniform(size=len(u)) >= drop) | (u < 2)
    frame = frame[keep]
    opts = "(cluster = s)" if cluster else ""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setattr(panel, "MAX_PERIODS", 0 if iterate else 60)
        engine, memory = _both(DID.format(opts=opts), frame, Path(tmp))
    a, b = engine.result.estimate, memory.result.estimate
    how = "alternating projections in duckdb" if iterate else "unit means from aggregates"
    assert how in engine.result.description
    assert _close(a.effect, b.effect) and _close(a.se, b.se), (a, b)
    assert engine.result.detail("clusters") == memory.result.detail("clusters")
    for key in ("switchers", "never_treated", "always_treated", "units", "periods"):
        assert engine.result.detail(key) == memory.result.detail(key), key


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(80, 500), p=st.integers(1, 4))
def test_logit_irls_matches_in_memory(seed: int, n: int, p: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 20, size=p)
    eta = 0.3 + x @ (rng.normal(size=p) / np.abs(x).mean(axis=0))
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    ref = fit_logit(x, d, [f"x{j}" for j in range(p)])
    conn = duckdb.connect()
    frame = pd.DataFrame({"y": d} | {f"c{j}": x[:, j] for j in range(p)})
    conn.register("frame", frame)
    eng = source.Engine("duckdb", conn, "frame")
    beta, _, converged = sufficient.fit_logit(eng, "SELECT * FROM frame", p)
    assert converged and ref.converged
    assert np.allclose(beta, ref.coef, rtol=1e-8, atol=1e-8)


MATCH = """data "data.parquet"
var d: binary
var y: continuous
var x1: {x1}
var x2: binary
var c: categorical
d -> y
x1 -> d
x1 -> y
x2 -> d
x2 -> y
c -> d
c -> y
query q: {estimand}(d -> y) using matching({opts})
"""


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(80, 600),
       estimand=st.sampled_from(["att", "ate", "atc"]),
       opts=st.sampled_from(["", "caliper = 0.2", "caliper = 0.05, k = 2",
                             'distance = "logit", caliper = 0.3', "k = 3",
                             "bias_adjust = false"]),
       discrete=st.booleans(), missing=st.booleans())
def test_matching_matches_in_memory(seed: int, n: int, estimand: str, opts: str,
                                    discrete: bool, missing: bool) -> None:
    """Estimate, Abadie–Imbens SE, dropped units and the whole balance table agree; with a
    discrete x1 the scores take a few values only, so match sets are large tie windows."""
    rng = np.random.default_rng(seed)
    x1 = rng.integers(0, 4, n).astype(float) if discrete else rng.normal(size=n) * 3 + 10
    x2 = rng.integers(0, 2, n).astype(float)
    c = rng.choice(["a", "b", "c"], size=n)
    eta = 0.4 * (x1 - x1.mean()) / x1.std() - 0.5 * x2 + 0.3 * (c == "b")
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    d[:3], d[3:6] = 1.0, 0.0  # both arms in any draw
    y = 1 + 2 * d + x1 + x2 + (c == "b") + rng.normal(size=n)
    frame = pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2, "c": c})
    if missing:
        frame.loc[rng.choice(np.arange(6, n), size=n // 10, replace=False), "y"] = np.nan
    text = MATCH.format(x1="count" if discrete else "continuous", estimand=estimand, opts=opts)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            engine, memory = _both(text, frame, Path(tmp))
        except causal_dsl.CausalError as err:  # both paths must refuse alike (E413...)
            with pytest.raises(causal_dsl.CausalError) as again:
                planner.estimate(causal_dsl.load(str(Path(tmp) / "s.causal")),
                                 causal_dsl.load(str(Path(tmp) / "s.causal")).queries[0],
                                 data=pd.read_parquet(Path(tmp) / "data.parquet"))
            assert err.diagnostics[0].code == again.value.diagnostics[0].code
            return
    a, b = engine.result, memory.result
    assert "in duckdb" in a.description
    assert _close(a.estimate.effect, b.estimate.effect), (a.estimate, b.estimate)
    assert _close(a.estimate.se, b.estimate.se), (a.estimate, b.estimate)
    assert a.estimate.se_kind == b.estimate.se_kind
    for key in ("n_matched_targets", "dropped", "bias_adjust", "targets_with_ties",
                "distinct_donors", "max_times_used"):
        assert a.detail(key) == b.detail(key), key
    ta, tb = a.tables[0], b.tables[0]
    assert ta.title == tb.title and [r[0] for r in ta.rows] == [r[0] for r in tb.rows]
    got = np.array([r[1:] for r in ta.rows], dtype=float)
    want = np.array([r[1:] for r in tb.rows], dtype=float)
    assert np.allclose(got, want, rtol=1e-8, atol=1e-10, equal_nan=True)


CI = """data "data.parquet"
var x: continuous
var y: {ykind}
var z: continuous
var c: categorical
z -> x
z -> y
c -> x
c -> y
"""


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(40, 400), binary_y=st.booleans(),
       given_set=st.sampled_from([(), ("z",), ("c", "z")]), missing=st.booleans())
def test_partial_correlation_matches_in_memory(seed: int, n: int, binary_y: bool,
                                               given_set: tuple[str, ...], missing: bool) -> None:
    """`engines.citests` (moments in DuckDB) against `checks.citests` (residuals in memory)."""
    from causal_dsl.checks import citests as memory_tests
    from causal_dsl.engines import citests
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n) * 5 + 100
    c = rng.choice(["a", "b", "c"], size=n)
    x = z + (c == "b") + rng.normal(size=n)
    y = (rng.uniform(size=n) < 0.5).astype(float) if binary_y else z + rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "y": y, "z": z, "c": c})
    if missing:
        frame.loc[rng.choice(n, size=n // 8, replace=False), "z"] = np.nan
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_parquet(Path(tmp) / "data.parquet")
        (Path(tmp) / "s.causal").write_text(CI.format(ykind="binary" if binary_y else
                                                      "continuous"))
        model = causal_dsl.load(str(Path(tmp) / "s.causal"))
        got = citests.implication_test(model, "x", "y", given_set)
        want = memory_tests._one(model, pd.read_parquet(Path(tmp) / "data.parquet"), "x", "y",
                                 given_set, 0.95)
    assert want.test.startswith("partial correlation")
    assert got.n == want.n
    if want.estimate is None:
        assert got.r is None
        return
    assert got.r is not None and _close(got.r, want.estimate)
    assert _close(got.p or 0.0, want.p_value or 0.0) and _close(got.low or 0, want.low or 0)
    assert _close(got.z or 0.0, want.statistic or 0.0)


@pytest.mark.parametrize("reverse", [False, True])
def test_matching_streamed_in_many_batches(monkeypatch: pytest.MonkeyPatch,
                                           reverse: bool) -> None:
    """Batches of 37 rows: the arm fits and the continuity check ride on the first IRLS pass
    across blocks, and the balance pass finds each row's weight at its position — or, when the
    per-row arrays come in another order (reversed here), by its (arm, score)."""
    from causal_dsl.engines import matching as engine_matching

    monkeypatch.setattr(sufficient, "BATCH", 37)
    if reverse:
        real = engine_matching._per_row

        def backwards(*args: object, **kwargs: object) -> dict[str, np.ndarray]:
            got = real(*args, **kwargs)  # type: ignore[arg-type]
            return {k: v[::-1].copy() for k, v in got.items()}

        monkeypatch.setattr(engine_matching, "_per_row", backwards)
    rng = np.random.default_rng(7)
    n = 500
    x1 = rng.normal(size=n) * 3 + 10
    x2 = rng.integers(0, 2, n).astype(float)
    c = rng.choice(["a", "b", "c"], size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-0.3 * (x1 - 10) + 0.4 * x2))).astype(float)
    y = 1 + 2 * d + x1 + x2 + (c == "b") + rng.normal(size=n)
    frame = pd.DataFrame({"d": d, "y": y, "x1": x1, "x2": x2, "c": c})
    text = MATCH.format(x1="continuous", estimand="att", opts="caliper = 0.2")
    with tempfile.TemporaryDirectory() as tmp:
        engine, memory = _both(text, frame, Path(tmp))
    a, b = engine.result, memory.result  # type: ignore[attr-defined]
    assert "in duckdb" in a.description and a.detail("bias_adjust") is True
    assert _close(a.estimate.effect, b.estimate.effect) and _close(a.estimate.se, b.estimate.se)
    got = np.array([r[1:] for r in a.tables[0].rows], dtype=float)
    want = np.array([r[1:] for r in b.tables[0].rows], dtype=float)
    assert np.allclose(got, want, rtol=1e-8, atol=1e-10, equal_nan=True)


@pytest.mark.parametrize(("blocks", "continuous"), [
    ([[0.0, 1.0, 1.0], [1.0, 2.0]], True),  # no block has three values; together they do
    ([[0.0, 1.0], [1.0, 0.0, 0.0]], False),
    ([[0.0, 0.5, 1.0]], True),
    ([[3.0, 3.0]], False),
])
def test_continuity_from_block_extremes(blocks: list[list[float]], continuous: bool) -> None:
    from causal_dsl.engines.matching import _FirstPass

    first = _FirstPass(1, [0], arms=False)
    for values in blocks:
        v = np.array(values)
        first(np.vstack([np.ones_like(v), v, np.zeros_like(v), v]))  # rows 1, c0, d, y
    assert first.continuous() == ([0] if continuous else [])
