"""The planner's data rules on engine-bound data (`engines.planning`): the same study bound to a
CSV file (read into pandas) and to Parquet files or a DuckDB table (asked in SQL, nothing
loaded) gives the same plan, word for word, or the same refusal; and on random panels (switching
off, gaps, missing cells, categorical covariates) every fact the rules read is the in-memory
function's value."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl import plan_rules, planner
from causal_dsl.errors import CausalError

duckdb = pytest.importorskip("duckdb")

from causal_dsl.engines import planning  # noqa: E402
from causal_dsl.engines.planning import EngineData  # noqa: E402


def _bindings(folder: Path, frame: pd.DataFrame, panel: str) -> dict[str, str]:
    frame.to_csv(folder / "p.csv", index=False)
    half = len(frame) // 2
    frame.iloc[:half].to_parquet(folder / "p1.parquet")
    frame.iloc[half:].to_parquet(folder / "p2.parquet")
    con = duckdb.connect(str(folder / "w.duckdb"))
    con.register("f", frame)
    con.execute("CREATE OR REPLACE TABLE visits AS SELECT * FROM f")
    con.close()
    return {"csv": f'data "p.csv" {panel}', "parquet": f'data "p*.parquet" {panel}',
            "duckdb": f'data duckdb("w.duckdb", table = "visits") {panel}'}


def _plans(folder: Path, frame: pd.DataFrame, body: str, panel: str = "",
           monkeypatch: pytest.MonkeyPatch | None = None) -> dict[str, str]:
    """str(plan), or the diagnostics' text, per binding."""
    out = {}
    for name, line in _bindings(folder, frame, panel).items():
        (folder / "s.causal").write_text(line.rstrip() + "\n" + body)
        m = causal_dsl.load(str(folder / "s.causal"))
        engine = name != "csv"
        if engine and monkeypatch is not None:  # nothing row-sized may be read into pandas
            monkeypatch.setattr(plan_rules, "load_data", _refuse)
        try:
            data = EngineData(m) if engine else pd.read_csv(folder / "p.csv")
            if engine:
                assert isinstance(plan_rules.frame_of(m, None), EngineData)
            out[name] = str(planner.plan(m, m.queries[0], data=data))
        except CausalError as err:
            out[name] = "\n".join(f"{d.code}: {d.message} | {d.help}" for d in err.diagnostics)
        finally:
            if monkeypatch is not None:
                monkeypatch.undo()
    return out


def _refuse(*_a: object, **_k: object) -> None:
    raise AssertionError("the engine path loaded the data")


def natural_panel(seed: int = 0, units: int = 60, periods: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    state = np.repeat(np.arange(units), periods)
    quarter = np.tile(np.arange(periods), units) + 2000
    u = rng.normal(size=units)
    group = (u + rng.normal(size=units) > 0).astype(int)
    post = (quarter >= 2000 + periods // 2).astype(int)
    treated = group[state] * post
    x = rng.normal(size=len(state))
    region = np.array(["north", "south", "east"])[state % 3]
    outcome = 2 * treated + 3 * u[state] + 0.4 * quarter + 1.5 * x + rng.normal(size=len(state))
    return pd.DataFrame({"state": state, "quarter": quarter, "treated": treated,
                         "group": group[state], "post": post, "outcome": outcome, "x": x,
                         "region": region, "w": u[state].round(3)})


NATURAL = """var treated: binary
var group: binary
var post: binary
var outcome: continuous
var x: continuous
var region: categorical
latent u_unit invariant
group -> treated <- post
post -> outcome
u_unit -> {group, outcome}
treated -> outcome
x -> outcome
"""

OBSERVED = """var treated: binary
var outcome: continuous
var x: continuous
var w: continuous
var region: categorical
w -> treated
x -> treated
region -> treated
w -> outcome
x -> outcome
region -> outcome
treated -> outcome
"""

PANEL = "panel(unit = state, time = quarter)"


@pytest.mark.parametrize(("body", "query"), [
    (NATURAL, "query q: att(treated -> outcome)"),  # no overlap → DiD (rule 3)
    (NATURAL, "query q: att(treated -> outcome) using did"),  # absorbed group, post
    (NATURAL, "query q: ate(treated -> outcome) using did(cluster = region)"),
    (OBSERVED, "query q: att(treated -> outcome) using did"),  # w, region absorbed; x kept
    (OBSERVED, "query q: att(treated -> outcome) using did adjusting {x}"),
    (OBSERVED, "query q: att(treated -> outcome)"),  # matching (x continuous), cluster note
])
def test_panel_plan_text_is_the_same_on_every_binding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, query: str) -> None:
    got = _plans(tmp_path, natural_panel(), body + query + "\n", PANEL, monkeypatch)
    assert got["parquet"] == got["csv"] == got["duckdb"], got
    assert got["csv"].startswith("plan for q")


STAGGERED = """var d: binary
var y: continuous
latent u invariant
u -> {d, y}
d -> y
query q: ate(d -> y)
"""


def staggered_panel(seed: int = 0, units: int = 80, periods: int = 8, off: bool = False
                    ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.normal(size=units)
    cohort = np.select([u < -0.6, u < 0.0, u < 0.6], [2, 4, 6], 99)
    unit, period = np.repeat(np.arange(units), periods), np.tile(np.arange(periods), units)
    d = (period >= cohort[unit]).astype(int)
    if off:
        d[(unit == 0) & (period == periods - 1)] = 1 - d[(unit == 0) & (period == periods - 1)]
        d[(unit == 0) & (period == 1)] = 1
    y = 2 * u[unit] + 0.3 * period + d + rng.normal(size=len(unit))
    return pd.DataFrame({"unit": [f"u{i:03d}" for i in unit], "period": period, "d": d, "y": y})


@pytest.mark.parametrize("off", [False, True])
def test_staggered_adoption_plan_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             off: bool) -> None:
    got = _plans(tmp_path, staggered_panel(off=off), STAGGERED,
                 "panel(unit = unit, time = period)", monkeypatch)
    assert got["parquet"] == got["csv"] == got["duckdb"], got
    assert ("callaway_santanna" in got["csv"]) is (not off)


def test_never_switching_on_is_refused_alike(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    frame = staggered_panel()
    frame["d"] = (frame["unit"] < "u020").astype(int)  # always or never treated
    got = _plans(tmp_path, frame, STAGGERED.replace("ate(d -> y)", "ate(d -> y) using did"),
                 "panel(unit = unit, time = period)", monkeypatch)
    assert got["parquet"] == got["csv"] == got["duckdb"]
    assert got["csv"].startswith("E505")


CROSS = """var d: binary
var y: continuous
var g: binary
var p: binary
var c: categorical
g -> d
p -> d
c -> d
g -> y
p -> y
c -> y
d -> y
query q: ate(d -> y)
"""


def cross_section(seed: int = 0, n: int = 400, *, pair: bool = False, holes: bool = False
                  ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    c = rng.choice(["a", "b", "c"], n)
    d = g * p if pair else (rng.uniform(size=n) < 0.5).astype(int)
    if holes:
        d[(c == "c") & (g == 1)] = 1  # a cell with treated only: stratification incomplete
    frame = pd.DataFrame({"d": d, "y": d + g + rng.normal(size=n), "g": g, "p": p, "c": c})
    frame.loc[rng.choice(n, 9, replace=False), "c"] = np.nan
    return frame


@pytest.mark.parametrize(("pair", "holes", "method"), [
    (False, False, "stratification"), (False, True, "matching"), (True, False, "did")])
def test_cross_section_plan_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        pair: bool, holes: bool, method: str) -> None:
    got = _plans(tmp_path, cross_section(pair=pair, holes=holes), CROSS, "", monkeypatch)
    assert got["parquet"] == got["csv"] == got["duckdb"], got
    assert f"by {method}" in got["csv"].splitlines()[0]


def test_no_overlap_without_a_design_is_refused_alike(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    frame = cross_section()
    frame["d"] = (frame["c"] == "a").astype(int)  # set by c alone: no overlap, no 2×2 pair
    got = _plans(tmp_path, frame, CROSS, "", monkeypatch)
    assert got["parquet"] == got["csv"] == got["duckdb"]
    assert got["csv"].startswith("E413")


SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(seed=st.integers(0, 10_000), units=st.integers(3, 25), periods=st.integers(2, 7),
       p_switch=st.floats(0.0, 0.6), drop=st.floats(0.0, 0.3), missing=st.booleans(),
       probe=st.sampled_from([100_000, 1, 7]))
def test_facts_match_in_memory(seed: int, units: int, periods: int, p_switch: float,
                               drop: float, missing: bool, probe: int) -> None:
    """Random 0/1 paths (on, off and back), unbalanced panels, missing treatment cells, unit- and
    period-level and varying covariates: adoption, layout and support equal pandas' (with the
    layout's probe of the first rows covering all, one or seven of them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(planning, "PROBE_ROWS", probe)
        _facts_match(seed, units, periods, p_switch, drop, missing)


def _facts_match(seed: int, units: int, periods: int, p_switch: float, drop: float,
                 missing: bool) -> None:
    rng = np.random.default_rng(seed)
    unit, time = np.repeat(np.arange(units), periods), np.tile(np.arange(periods), units)
    start = rng.integers(0, periods + 1, units)
    d = (time >= start[unit]).astype(float)
    flip = rng.uniform(size=len(d)) < p_switch * 0.3
    d[flip] = 1 - d[flip]
    frame = pd.DataFrame({
        "s": unit * 7 + 3, "t": time * 10, "d": d,
        "a": rng.integers(0, 2, units)[unit],  # unit-level, binary
        "b": (time % 2 == 0).astype(int),  # period-level, binary
        "c": np.array(["x", "y", "z"])[rng.integers(0, 3, units)[unit]],  # unit-level
        "v": rng.normal(size=len(d)).round(1),  # varying
    })
    if rng.uniform() < 0.3:
        frame["d"] = frame["a"] * frame["b"]  # the 2×2 pair
    frame = frame[rng.uniform(size=len(frame)) >= drop].reset_index(drop=True)
    if missing and len(frame) > 3:
        frame.loc[rng.choice(len(frame), len(frame) // 4, replace=False), "d"] = np.nan
    body = ("var d: binary\nvar y: continuous\nvar a: binary\nvar b: binary\n"
            "var c: categorical\nvar v: continuous\n")
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_parquet(Path(tmp) / "p1.parquet")
        for panel in ("panel(unit = s, time = t)", ""):
            (Path(tmp) / "s.causal").write_text(f'data "p*.parquet" {panel}\n{body}')
            m = causal_dsl.load(str(Path(tmp) / "s.causal"))
            eng = EngineData(m)
            for adj in (("a",), ("a", "b"), ("b", "c", "v"), ("c",)):
                assert plan_rules.layout_of(m, eng, "d", adj) == \
                    plan_rules.layout_of(m, frame, "d", adj)
            assert plan_rules.support_of(m, eng, "d", ("a", "c")) == \
                plan_rules.support_of(m, frame, "d", ("a", "c"))
            if panel:
                assert plan_rules.adoption_of(m, eng, "d") == \
                    plan_rules.adoption_of(m, frame, "d")
                assert plan_rules.switches_on(m, eng, "d") == \
                    plan_rules.switches_on(m, frame, "d")
