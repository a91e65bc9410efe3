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
