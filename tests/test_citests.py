"""The DAG against the data (`causal_dsl.checks.citests`): implications tested on simulated
data where the DAG is right (no rejection) and where an arrow is missing (the implication it
breaks is rejected, first), each test checked against statsmodels, Holm against statsmodels'
`multipletests`, and the `causal test` verb's output and exit status."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from statsmodels.stats.multitest import multipletests

import causal_dsl
from causal_dsl.checks import graph_answers, holm, local_tests
from causal_dsl.cli import main
from causal_dsl.identify import Implication

STUDY = """\
var a: continuous
var b: binary
var c: categorical("x", "y", "z")
var d: continuous
var e: binary
a -> b -> d
c -> d
{a, c} -> e
"""


def _simulate(n: int, seed: int, a_to_d: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = (rng.random(n) < 1 / (1 + np.exp(-a))).astype(int)
    c = rng.choice(["x", "y", "z"], n)
    d = b + (c == "y") + a_to_d * a + rng.normal(size=n)
    e = (rng.random(n) < 1 / (1 + np.exp(-(a + (c == "z"))))).astype(int)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "e": e})


@pytest.fixture(scope="module")
def model() -> causal_dsl.Study:
    return causal_dsl.parse(STUDY)


def test_right_dag_is_not_contradicted(model: causal_dsl.Study) -> None:
    implications, _ = graph_answers(model)
    assert len(implications) >= 4
    res = local_tests(model, _simulate(3000, 1), implications)
    assert not res.rejected
    assert res.verdict.startswith(f"the data contradicts none of the {len(implications)}")
    tests = {t.test.split(" (")[0] for t in res.items}
    assert tests == {"partial correlation", "likelihood ratio"}  # both kinds exercised
    assert all(t.tested and t.low is not None and t.low <= t.estimate <= t.high
               for t in res.items)


def test_missing_arrow_is_rejected_first(model: causal_dsl.Study) -> None:
    implications, _ = graph_answers(model)
    res = local_tests(model, _simulate(3000, 1, a_to_d=0.3), implications)
    first = res.items[0]
    assert (first.x, first.y) == ("a", "d") and first.rejected
    assert first.measure == "r" and first.estimate > 0.1 and first.p_holm < 1e-6
    assert res.verdict.startswith("the data contradicts 1 of")
    assert "a ⊥ d | b is rejected (r = " in res.verdict


def test_partial_correlation_matches_residuals_and_fisher_z(model: causal_dsl.Study) -> None:
    df = _simulate(800, 3, a_to_d=0.1)
    res = local_tests(model, df, [Implication("a", "d", frozenset({"b", "c"}))])
    t = res.items[0]
    z = np.column_stack([pd.get_dummies(df["c"], drop_first=True, dtype=float), df["b"]])
    zc = sm.add_constant(z)
    rx = sm.OLS(df["a"], zc).fit().resid
    ry = sm.OLS(df["d"], zc).fit().resid
    r = np.corrcoef(rx, ry)[0, 1]
    dof = len(df) - 3 - 3  # |S| = 3 columns (b, c[y], c[z])
    assert t.estimate == pytest.approx(r, rel=1e-10)
    assert t.statistic == pytest.approx(np.arctanh(r) * np.sqrt(dof), rel=1e-10)
    assert t.high == pytest.approx(np.tanh(np.arctanh(r) + 1.959963984540054 / np.sqrt(dof)))


def test_likelihood_ratio_matches_statsmodels(model: causal_dsl.Study) -> None:
    df = _simulate(1500, 4)
    # categorical c against continuous d given b: Gaussian model of d, 2 df
    t = local_tests(model, df, [Implication("c", "d", frozenset({"b"}))]).items[0]
    dummies = pd.get_dummies(df["c"], drop_first=True, dtype=float)
    small = sm.OLS(df["d"], sm.add_constant(df[["b"]])).fit()
    big = sm.OLS(df["d"], sm.add_constant(pd.concat([df[["b"]], dummies], axis=1))).fit()
    lr, p, df_diff = big.compare_lr_test(small)
    assert (t.statistic, t.p_value, t.df) == (pytest.approx(lr), pytest.approx(p), df_diff)
    assert t.measure == "RMSEA"
    # binary b against binary e given a: logit of b on e, 1 df, a log odds ratio
    t2 = local_tests(model, df, [Implication("b", "e", frozenset({"a"}))]).items[0]
    full = sm.Logit(df["b"], sm.add_constant(df[["a", "e"]])).fit(disp=0)
    null = sm.Logit(df["b"], sm.add_constant(df[["a"]])).fit(disp=0)
    assert t2.statistic == pytest.approx(2 * (full.llf - null.llf), rel=1e-6)
    assert t2.measure == "log odds ratio"
    assert t2.estimate == pytest.approx(full.params["e"], rel=1e-6)


def test_holm_matches_statsmodels() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.0001, 0.04])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])


def test_too_few_rows_and_constants_are_reported_not_dropped(model: causal_dsl.Study) -> None:
    df = _simulate(300, 5)
    df.loc[5:, "a"] = np.nan  # only 5 complete rows for anything with a
    df["e"] = 1
    res = local_tests(model, df, [Implication("a", "d", frozenset({"b"})),
                                  Implication("b", "e", frozenset())])
    assert len(res.items) == 2 and not res.tested
    notes = sorted(t.note for t in res.items)
    assert notes[0].startswith("5 complete rows (of 300)")
    assert "single value" in notes[1]
    assert res.verdict.endswith("2 could not be tested")


def test_text_and_json(model: causal_dsl.Study) -> None:
    res = local_tests(model, _simulate(500, 6, a_to_d=0.5),
                      [Implication("a", "d", frozenset({"b"}))])
    text = str(res)
    assert "REJECTED partial correlation (Fisher z)" in text and "Holm" in text
    d = json.loads(json.dumps(res.to_dict()))
    assert d["rejected"] == 1 and d["tests"][0]["implication"] == "a ⊥ d | b"


def _write(tmp: Path, a_to_d: float) -> Path:
    _simulate(2000, 7, a_to_d).to_csv(tmp / "sim.csv", index=False)
    path = tmp / "sim.causal"
    path.write_text('data "sim.csv"\n' + STUDY + "query q: ate(b -> d)\n", encoding="utf-8")
    return path


def test_cli_exit_status_is_a_ci_gate(tmp_path: Path) -> None:
    runner = CliRunner()
    good = _write(tmp_path, 0.0)
    ok = runner.invoke(main, ["test", str(good), "--format", "json", "--fail-on-reject"])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.output)
    assert out["ok"] and out["implications"]["rejected"] == 0
    assert out["queries"][0]["sensitivity"]["rv_q"] > 0
    bad = _write(tmp_path, 0.5)
    gate = runner.invoke(main, ["test", str(bad), "--fail-on-reject"])
    assert gate.exit_code == 1
    assert "a ⊥ d | b is rejected" in gate.output
    assert runner.invoke(main, ["test", str(bad)]).exit_code == 0  # informative by default
    missing = tmp_path / "none.causal"
    missing.write_text('data "nope.csv"\nvar x: binary\n', encoding="utf-8")
    assert runner.invoke(main, ["test", str(missing)]).exit_code == 1


def test_the_docs_example_reads_as_documented() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "assumptions.md").read_text(
        encoding="utf-8")
    block = doc.split("```causal\n", 1)[1].split("```", 1)[0]
    model = causal_dsl.parse(block)
    rng = np.random.default_rng(11)
    n = 2000
    age = rng.normal(60, 10, n)
    ward = np.where(age > 70, "geriatrics", rng.choice(["cardiology", "general"], n))
    drug = (rng.random(n) < 0.4).astype(int)
    severity = drug + 0.1 * age + rng.normal(size=n)
    df = pd.DataFrame({"drug": drug, "severity": severity, "age": age, "ward": ward})
    implications, _ = graph_answers(model)
    verdict = local_tests(model, df, implications).verdict
    documented = doc.split("the verdict reads `", 1)[1].split("`", 1)[0].replace("\n", " ")
    head, tail = documented.split("RMSEA = …")
    assert verdict.startswith(head) and verdict.endswith(tail), verdict


def test_causal_test_on_data_without_a_complete_row(tmp_path: Path) -> None:
    """Hostile-data fuzz: every row misses a value. Nothing is tested, every query is kept
    with the reason, and the CLI exits cleanly (no traceback)."""
    n = 40
    a = np.arange(n, dtype=float)
    df = pd.DataFrame({"a": a, "b": a + 1.0, "c": a * 2.0})
    df.loc[df.index % 3 == 0, "a"] = np.nan
    df.loc[df.index % 3 == 1, "b"] = np.nan
    df.loc[df.index % 3 == 2, "c"] = np.nan
    df.to_csv(tmp_path / "holes.csv", index=False)
    (tmp_path / "holes.causal").write_text(
        'data "holes.csv"\nvar a: continuous\nvar b: continuous\nvar c: continuous\n'
        "a -> b -> c\na -> c\nquery q: ate(b -> c)\n", encoding="utf-8")
    checks = causal_dsl.load(tmp_path / "holes.causal").test()
    assert not checks.local.rejected
    (q,) = checks.queries  # adjusted for a: no row has a, b and c
    assert q.adjustment == ("a",) and "0 complete row(s)" in q.skipped
    out = CliRunner().invoke(main, ["test", str(tmp_path / "holes.causal")])
    assert out.exit_code in (0, 1) and "Traceback" not in out.output, out.output
