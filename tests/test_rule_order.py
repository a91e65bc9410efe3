"""The planner's rule order when adjustment fails (issue 13): DiD when a panel licenses it, else
IV when the graph has an instrument, else front-door when the criterion holds, else refuse — and
`identify` says the same thing `run` does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl.errors import PlanError

IV_STUDY = """
var z: continuous
var x: continuous
var y: continuous
latent u
z -> x -> y
u -> {x, y}
query q: ate(x -> y)
"""

FRONT_DOOR_STUDY = """
var x: continuous
var m: continuous
var y: continuous
latent u
x -> m -> y
u -> {x, y}
query q: ate(x -> y)
"""

NOTHING_STUDY = """
var x: continuous
var y: continuous
latent u
x -> y
u -> {x, y}
query q: ate(x -> y)
"""


def _iv_data(n: int = 4000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z, u = rng.normal(size=n), rng.normal(size=n)
    x = 0.8 * z + u + rng.normal(size=n)
    y = 1.5 * x + 2.0 * u + rng.normal(size=n)
    return pd.DataFrame({"z": z, "x": x, "y": y})


def _front_door_data(n: int = 4000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    x = u + rng.normal(size=n)
    m = 0.7 * x + rng.normal(size=n)
    y = 2.0 * m + 1.5 * u + rng.normal(size=n)
    return pd.DataFrame({"x": x, "m": m, "y": y})


def test_auto_uses_the_instrument_and_covers_the_truth() -> None:
    study = causal_dsl.parse(IV_STUDY)
    ident = study.identify("q")
    assert not ident.identifiable and ident.instruments
    result = study.estimate("q", data=_iv_data())
    assert result.plan.method == "iv" and "IV" in result.plan.rule
    assert result.estimate.covers(1.5)
    assert not result.naive.covers(1.5)  # the confounded slope is far off
    assert any("Exclusion restriction" in r for r in result.plan.reasons)


def test_auto_uses_the_front_door_and_covers_the_truth() -> None:
    study = causal_dsl.parse(FRONT_DOOR_STUDY)
    ident = study.identify("q")
    assert not ident.identifiable and ident.front_door == frozenset({"m"})
    result = study.estimate("q", data=_front_door_data())
    assert result.plan.method == "frontdoor"
    assert result.estimate.covers(0.7 * 2.0)


def test_without_any_design_the_planner_refuses_naming_the_path() -> None:
    study = causal_dsl.parse(NOTHING_STUDY)
    with pytest.raises(PlanError) as info:
        study.plan("q", data=pd.DataFrame({"x": [0.0, 1.0] * 5, "y": [1.0, 2.0] * 5}))
    d = info.value.diagnostics[0]
    assert d.code == "E501" and "u" in d.message


def test_a_named_instrument_the_graph_does_not_imply_is_flagged() -> None:
    study = causal_dsl.parse(IV_STUDY.replace("query q: ate(x -> y)",
                                              "var w: continuous\nw -> y\n"
                                              "query q: ate(x -> y) using iv(instrument = w)"))
    plan = study.plan("q")
    assert "not implied by" in plan.rule
    assert any("does not make {w} an instrument" in r for r in plan.reasons)


# Every published example, answered the way a user gets it (`causal run` → `Study.estimate`,
# the planner choosing the design), reproduces the printed number its file cites.
PUBLISHED = [
    ("kielmc", "incinerator", -11863.90, 0.01),   # Wooldridge Example 13.3
    ("kielmc", "with_controls", -14177.93, 0.01),  # Table 13.2, column (3)
    ("injury", "duration", 0.191, 0.0005),         # Example 13.4
    ("jtrain2", "earnings", 1.794, 0.0005),        # NSW experiment (Dehejia & Wahba)
    ("mroz", "father", 0.059, 0.0005),             # Example 15.1
    ("mroz", "parents", 0.0614, 0.00005),          # Example 15.5 (both parents, exper, exper²)
    ("mpdta", "teen_jobs", -0.0400, 0.00005),      # did::aggte(type = "simple")
]


@pytest.mark.parametrize(("example", "query", "printed", "tolerance"), PUBLISHED,
                         ids=[f"{e}-{q}" for e, q, _, _ in PUBLISHED])
def test_published_examples_reproduce_through_the_planner(example: str, query: str,
                                                          printed: float,
                                                          tolerance: float) -> None:
    from pathlib import Path

    study = causal_dsl.load(Path(__file__).resolve().parent.parent / "examples"
                            / f"{example}.causal")
    assert study.estimate(query).effect == pytest.approx(printed, abs=tolerance)
