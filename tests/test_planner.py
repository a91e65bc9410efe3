"""The planner's rules, its refusals, the result objects and the `causal run` verb."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.errors import CausalError, DataError, PlanError
from causal_dsl.planner import Plan, estimate, plan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"



HEART = """\
study "heart"
data "d.csv"
var drug: binary
var severity: continuous
var health: continuous
var age: continuous
var site: binary
age -> health -> drug -> severity
site -> drug
health -> severity
age -> severity
query main: ate(drug -> severity)
query treated: att(drug -> severity) using matching(caliper = 0.2, k = 2)
query lin: ate(drug -> severity) using ols(se = "HC3")
"""


def heart_data(n: int = 2000, seed: int = 0, nonlinear: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.uniform(-2, 2, n)
    health = age + rng.normal(size=n)
    site = rng.integers(0, 2, n)
    drug = (rng.uniform(size=n) < 1 / (1 + np.exp(-(1.5 * health - 1 + 0.3 * site)))).astype(int)
    conf = 2 * health**2 if nonlinear else 3 * health
    severity = -1.0 * drug + conf + 0.5 * age + rng.normal(size=n)
    return pd.DataFrame({"drug": drug, "severity": severity, "health": health, "age": age,
                         "site": site})


@pytest.fixture(scope="module")
def heart() -> causal_dsl.Study:
    return causal_dsl.parse(HEART)


# --------------------------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------------------------
def test_auto_binary_backdoor_is_matching_with_ols_cross_check(heart: causal_dsl.Study) -> None:
    p = plan(heart, heart.query("main"))
    assert isinstance(p, Plan)
    assert (p.method, p.cross_check, p.adjustment) == ("matching", "ols", ("age", "health"))
    assert "binary" in p.rule and "matching" in p.rule
    text = str(p)
    assert "drug is binary" in text and "{age, health}" in text and "back-door" in text
    assert "naive contrast: difference in means" in text
    with pytest.raises(AttributeError):
        p.method = "ols"  # type: ignore[misc]  # frozen


def test_result_fields_summary_and_formats(heart: causal_dsl.Study) -> None:
    df = heart_data()
    r = estimate(heart, heart.query("main"), data=df)
    assert r.method == "matching" and r.cross_check is not None
    assert r.ci_low < -1.0 < r.ci_high  # the truth is covered
    assert r.naive.effect > 0  # confounded: the naive contrast has the wrong sign
    assert r.p_value < 0.001 and r.se > 0
    assert r.agreement is not None and r.agreement.level == "ok"
    summary = r.summary()
    for part in ("Plan: matching", "Naive", "Cross-check (ols)", "Sample: 2000 rows read",
                 "Balance", "95% CI"):
        assert part in summary
    data = json.loads(r.to_json())
    assert data["plan"]["method"] == "matching"
    assert data["estimate"]["effect"] == pytest.approx(r.effect)
    assert data["sample"]["rows_used"] == 2000
    md = r.to_markdown()
    assert md.startswith("## Query `main`") and "| naive contrast |" in md


def test_query_using_wins_with_its_options(heart: causal_dsl.Study) -> None:
    df = heart_data()
    r = estimate(heart, heart.query("treated"), data=df)
    assert r.plan.method == "matching" and dict(r.plan.options) == {"caliper": 0.2, "k": 2}
    assert "caliper 0.2 SD" in r.result.description and "k = 2" in r.result.description
    lin = estimate(heart, heart.query("lin"), data=df)
    assert lin.method == "ols" and lin.cross_check is not None
    assert lin.cross_check.method == "matching"
    assert lin.estimate.se_kind.startswith("HC3")


def test_method_override_and_run_all(heart: causal_dsl.Study) -> None:
    df = heart_data()
    r = estimate(heart, heart.query("main"), data=df, method="ols")
    assert r.method == "ols" and "--method ols" in r.plan.rule
    run = heart.run(data=df, seed=7)
    assert [q.query for q in run] == ["main", "treated", "lin"]
    assert run["lin"].seed == 7
    assert json.loads(run.to_json())["queries"][0]["query"] == "main"
    with pytest.raises(CausalError, match="E223"):
        heart.run(data=df, queries=["mian"])


def test_disagreement_between_ols_and_matching_is_flagged(heart: causal_dsl.Study) -> None:
    df = heart_data(3000, seed=5, nonlinear=True)
    r = estimate(heart, heart.query("main"), data=df)
    assert r.agreement is not None and r.agreement.level == "warning"
    assert any("disagree" in w for w in r.warnings)


def test_continuous_treatment_is_ols() -> None:
    s = causal_dsl.parse(
        "var dose: continuous\nvar y: continuous\nvar z: continuous\n"
        "z -> dose -> y\nz -> y\nquery q: ate(dose -> y)\n")
    p = plan(s, s.query("q"))
    assert p.method == "ols" and p.cross_check is None
    assert "continuous" in p.rule and "matching needs a binary treatment" in str(p)
    with pytest.raises(PlanError) as info:
        plan(s, s.query("q"), method="matching")
    assert info.value.diagnostics[0].code == "E502"
    assert "binary treatment" in info.value.diagnostics[0].message


def test_nothing_to_adjust_for_is_difference_in_means() -> None:
    s = causal_dsl.parse("var t: binary\nvar y: continuous\nt -> y\nquery q: ate(t -> y)\n")
    p = plan(s, s.query("q"))
    assert p.method == "ols" and "difference in means" in p.rule
    with pytest.raises(PlanError, match="E502"):
        plan(s, s.query("q"), method="matching")
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"t": rng.integers(0, 2, 300), "y": rng.normal(size=300)})
    r = estimate(s, s.query("q"), data=df)
    assert r.effect == pytest.approx(r.naive.effect)  # OLS on t alone = difference in means


def test_unobserved_confounder_refuses_with_the_open_path() -> None:
    s = causal_dsl.parse("var t: binary\nvar y: continuous\nvar x: continuous\n"
                         "x -> t -> y\nx -> y\nt <-> y\nquery q: ate(t -> y)\n")
    for method in (None, "ols", "matching"):
        with pytest.raises(PlanError) as info:
            plan(s, s.query("q"), method=method)
        d = info.value.diagnostics[0]
        assert d.code == "E501" and "t <-> y" in d.message


PANEL = """\
data "p.csv" panel(unit = store, time = period)
var rise: binary
var jobs: continuous
latent economy{inv}
economy -> rise
economy -> jobs
rise -> jobs
query q: att(rise -> jobs)
"""


def panel_data(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    units, periods = 120, 5
    store = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(2001, 2001 + periods), units)
    economy = rng.normal(size=units)
    treated = economy + rng.normal(size=units) > 0
    rise = (treated[store] & (period >= 2004)).astype(int)
    jobs = 2.5 * rise + 4 * economy[store] + 0.3 * (period - 2000) + rng.normal(size=len(store))
    return pd.DataFrame({"store": store, "period": period, "rise": rise, "jobs": jobs})


def test_invariant_latent_with_panel_is_did() -> None:
    s = causal_dsl.parse(PANEL.replace("{inv}", " invariant"))
    df = panel_data()
    p = plan(s, s.query("q"), data=df)
    assert p.method == "did" and "time-invariant" in p.rule
    assert p.absorbed == ("economy",) and (p.unit, p.time) == ("store", "period")
    text = " ".join(p.reasons)
    assert "rise <- economy -> jobs" in text and "switches on for" in text
    r = estimate(s, s.query("q"), data=df)
    assert r.ci_low < 2.5 < r.ci_high
    assert not r.naive.covers(2.5)


def test_time_varying_latent_blocks_did_and_says_so() -> None:
    s = causal_dsl.parse(PANEL.replace("{inv}", ""))
    with pytest.raises(PlanError) as info:
        plan(s, s.query("q"), data=panel_data())
    d = info.value.diagnostics[0]
    assert d.code == "E504"
    assert "economy" in d.message and "not declared invariant" in d.message
    assert "split the credit" in d.message
    with pytest.raises(PlanError, match="E504"):
        plan(s, s.query("q"), method="did", data=panel_data())


def test_did_needs_panel_and_a_switch() -> None:
    s = causal_dsl.parse(PANEL.replace("{inv}", " invariant").replace(
        " panel(unit = store, time = period)", ""))
    with pytest.raises(PlanError) as info:  # not a panel: DiD is not offered
        plan(s, s.query("q"), data=panel_data())
    d = info.value.diagnostics[0]
    assert d.code == "E501" and "economy is latent" in d.message
    assert "differences" not in d.message + (d.help or "")
    with pytest.raises(PlanError, match="E503"):
        plan(s, s.query("q"), data=panel_data(), method="did")
    s2 = causal_dsl.parse(PANEL.replace("{inv}", " invariant"))
    flat = panel_data().assign(rise=lambda f: (f.store % 2 == 0).astype(int))  # never switches
    with pytest.raises(PlanError, match="E505"):
        plan(s2, s2.query("q"), data=flat)
    with pytest.raises(PlanError, match="E50"):
        plan(s2, s2.query("q"), method="ols", data=panel_data())


def test_categorical_treatment_is_refused() -> None:
    s = causal_dsl.parse('var w: categorical("a", "b", "c")\nvar y: continuous\nw -> y\n'
                         "query q: ate(w -> y)\n")
    with pytest.raises(PlanError, match="E506"):
        plan(s, s.query("q"))


def test_exact_outside_the_adjustment_set_is_refused() -> None:
    text = HEART.replace("using matching(caliper = 0.2, k = 2)", "using matching(exact = {site})")
    s = causal_dsl.parse(text)
    with pytest.raises(PlanError) as info:
        plan(s, s.query("treated"))
    assert "exact" in info.value.diagnostics[0].message


def test_missing_values_are_dropped_and_reported(heart: causal_dsl.Study) -> None:
    df = heart_data().astype({"health": float})
    df.loc[:9, "health"] = np.nan
    df.loc[5:14, "site"] = np.nan  # site is not in the adjustment set: costs nothing
    r = estimate(heart, heart.query("main"), data=df)
    assert r.sample.rows_used == 1990
    assert dict(r.sample.missing_by_column)["health"] == 10
    assert "10 dropped for missing values" in r.summary()


def test_data_problems_stop_the_run(heart: causal_dsl.Study) -> None:
    df = heart_data().rename(columns={"severity": "sevrity"})
    with pytest.raises(DataError) as info:
        heart.run(data=df)
    assert info.value.diagnostics[0].code == "E404"
    assert "did you mean 'sevrity'" in (info.value.diagnostics[0].help or "")


# --------------------------------------------------------------------------------------------
# command line and the examples
# --------------------------------------------------------------------------------------------
def test_cli_run_heart_drug_json() -> None:
    path = EXAMPLES / "heart_drug.causal"
    res = CliRunner().invoke(main, ["run", str(path), "--format", "json", "--seed", "1"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    names = [q["query"] for q in data["queries"]]
    assert names == [q.name for q in causal_dsl.load(path).queries]
    main_q = data["queries"][0]
    assert main_q["plan"]["method"] == "matching"
    assert main_q["estimate"]["ci_low"] < -5.0 < main_q["estimate"]["ci_high"]  # truth: -5
    assert main_q["naive"]["effect"] > 0


def test_cli_run_query_method_markdown_and_errors() -> None:
    path = EXAMPLES / "heart_drug.causal"
    query_line = path.read_text().splitlines().index("query main: ate(drug -> severity)") + 1
    runner = CliRunner()
    res = runner.invoke(main, ["run", str(path), "--query", "main", "--method", "ols",
                               "--format", "markdown", "--verbose"])
    assert res.exit_code == 0, res.output
    assert res.output.count("## Query") == 1 and "**Plan:** ols" in res.output
    bad = runner.invoke(main, ["run", str(path), "--query", "nope"])
    assert bad.exit_code == 2 and "E223" in bad.output  # a usage error
    did = runner.invoke(main, ["run", str(path), "--method", "did"])
    assert did.exit_code == 1 and "E503" in did.output
    # it points at the query, not at its `using` clause
    assert f"{query_line} | query main" in did.output
    partial = runner.invoke(main, ["run", str(path), "--format", "json", "--method", "ols",
                                   "--query", "main"])
    assert partial.exit_code == 0
    assert json.loads(partial.output)["failures"] == []


def test_keep_going_collects_failures(heart: causal_dsl.Study) -> None:
    df = heart_data()
    res = heart.run(data=df, method="did", keep_going=True)
    assert not res.ok and len(res) == 0
    assert [name for name, _ in res.failures] == ["main", "treated", "lin"]
    assert res.failures[0][1][0].code == "E503"
    assert "not estimated" in res.summary()
    with pytest.raises(PlanError):
        heart.run(data=df, method="did")


def test_cli_run_fastfood_panel() -> None:
    path = EXAMPLES / "fastfood.causal"
    res = CliRunner().invoke(main, ["run", str(path), "--verbose"])
    assert res.exit_code == 0, res.output
    assert "Plan: did" in res.output and "CR1" in res.output and "pre-trends" in res.output


def test_did_cluster_option_on_a_raw_column_with_too_few_clusters() -> None:
    path = EXAMPLES / "fastfood.causal"
    text = path.read_text(encoding="utf-8").replace(
        "query jobs: att(min_wage_rise -> employment)",
        "query jobs: att(min_wage_rise -> employment) using did(cluster = state)")
    s = causal_dsl.parse(text, path)
    r = s.estimate("jobs")
    assert r.plan.cluster == "state" and r.result.detail("clusters") == 2
    assert any("numerically zero" in w for w in r.warnings)
    assert any("only 2 clusters" in w for w in r.warnings)


def test_proposed_adjusting_set_is_used_when_valid_and_refused_when_not() -> None:
    good = causal_dsl.parse(HEART.replace("query main: ate(drug -> severity)",
                                          "query main: ate(drug -> severity) adjusting {health}"))
    assert plan(good, good.query("main")).adjustment == ("health",)
    bad = causal_dsl.parse(HEART.replace("query main: ate(drug -> severity)",
                                         "query main: ate(drug -> severity) adjusting {site}"))
    with pytest.raises(PlanError) as info:
        plan(bad, bad.query("main"))
    d = info.value.diagnostics[0]
    assert d.code == "E513" and "{site}" in d.message and "{age, health}" in (d.help or "")


def test_panel_data_clusters_ols_by_unit() -> None:
    text = PANEL.replace("{inv}", "").replace("latent economy\n", "var economy: continuous\n")
    s = causal_dsl.parse(text)
    rng = np.random.default_rng(0)
    df = panel_data().assign(economy=lambda f: f.store % 7 + rng.normal(size=len(f)))
    p = plan(s, s.query("q"), data=df)
    assert p.method == "matching"  # identified by adjustment: the panel is not needed
    r = estimate(s, s.query("q"), data=df)
    assert r.cross_check is not None and r.cross_check.detail("n_clusters") == 120
    assert any("independent unit" in w for w in r.warnings)
    lin = plan(s, s.query("q"), data=df, method="ols")
    assert lin.cluster == "store" and "clustered by store" in " ".join(lin.reasons)
