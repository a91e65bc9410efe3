"""The assumptions on trial in `causal report`, `causal run` and `causal diff --data`:
computed once, drawn in HTML (SVG) and Markdown (text), skipped with a note when asked or when
there is no data; the run's E-value and robustness value against the formulas; the contour
plot's zero line against the robustness value; and docs/assumptions.md's examples against the
output."""

from __future__ import annotations

import json
import re
import shutil
import xml.dom.minidom
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl import report as report_module
from causal_dsl.checks import evalue_ols, ols_sensitivity_from_t, robustness_value
from causal_dsl.cli import main
from causal_dsl.present.checks import contour_lines, contour_svg, contour_text

ROOT = Path(__file__).resolve().parent.parent
HEART = ROOT / "examples" / "heart_drug.causal"


@pytest.fixture()
def no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    """The diagram is not what these tests are about: draw none (fast, engine-free)."""
    monkeypatch.setattr(report_module, "_diagram", lambda *a: (None, "graph LR", "no engine"))


def test_report_computes_the_checks_once(no_graphviz: None, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    study = causal_dsl.load(HEART)
    calls = []
    real = type(study).test

    def counted(self: causal_dsl.Study, **kw: object) -> object:
        calls.append(kw)
        return real(self, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(type(study), "test", counted)
    rep = report_module.build_report(study)
    assert len(calls) == 1 and calls[0]["replications"] == report_module.REPORT_REPLICATIONS
    md, html = rep.to_markdown(), rep.to_html()
    for title in ("The DAG against the data", "Sensitivity to unobserved confounding",
                  "Refutations"):
        assert f"### {title}" in md and f"<h3>{title}</h3>" in html
    assert f"{report_module.REPORT_REPLICATIONS} replications each" in md
    for cls in ("local-tests", "contour"):
        start = html.index(f'<svg class="{cls}"')
        xml.dom.minidom.parseString(html[start:html.index("</svg>", start) + 6])
    assert "```text\nr:" in md or "```text\nRMSEA:" in md  # the implications plot in text
    assert "+: the estimate keeps its sign" in md  # the contour map in text


def test_checks_passed_down_are_not_recomputed(no_graphviz: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    study = causal_dsl.load(HEART)
    checks = study.test(replications=5)
    monkeypatch.setattr(type(study), "test", lambda *a, **k: pytest.fail("recomputed"))
    rep = report_module.build_report(study, checks=checks)
    assert rep.checks is checks


def test_no_checks_and_no_data_leave_a_note(no_graphviz: None) -> None:
    study = causal_dsl.load(HEART)
    off = report_module.build_report(study, checks=False, estimate=False)
    assert isinstance(off.checks, str) and "--no-checks" in off.to_markdown()
    bare = causal_dsl.parse("var x: binary\nvar y: continuous\nx -> y\nquery q: ate(x -> y)\n")
    rep = report_module.build_report(bare)
    assert isinstance(rep.checks, str) and "no data is bound" in rep.to_html()


def test_run_figures_follow_the_formulas() -> None:
    run = causal_dsl.load(HEART).run()
    r = run["linear"]  # OLS
    e, dof = r.estimate, r.result.detail("df_resid")
    assert r.robustness.sensitivity.rv_q == pytest.approx(robustness_value(e.effect / e.se, dof))
    frame = r.result.units  # OLS keeps no units: the SD comes from the sample the planner used
    assert frame is None
    import pandas as pd

    data = pd.read_csv(ROOT / "examples" / "heart_drug.csv").dropna(
        subset=["severity", "drug", "health_score", "ward"])
    sd = float(np.std(data["severity"], ddof=1))
    assert r.robustness.evalue.point == pytest.approx(evalue_ols(e.effect, e.se, sd).point)
    assert r.robustness.evalue.ci == pytest.approx(evalue_ols(e.effect, e.se, sd).ci)
    js = json.loads(run.to_json())["queries"]
    assert js[2]["robustness"]["robustness_value"]["dof"] == dof
    text = run.format("text", verbose=True)
    assert text.count("E-value: ") == 3 and "Robustness value: RV = " in text


def test_contour_zero_line_meets_the_robustness_value() -> None:
    # sensemakr's Darfur example: on the diagonal R²dz = R²yz = RV the estimate reaches 0
    s = ols_sensitivity_from_t(0.09731582, 0.02325654, 783, treatment="directlyharmed",
                               outcome="peacefactor")
    grid = s.contour(points=81)
    segs = contour_lines(grid["r2dz_x"], grid["r2yz_dx"], grid["adjusted_estimate"], 0.0)
    near = min(abs(a[0] - a[1]) + abs(a[0] - s.rv_q) for seg in segs for a in seg)
    assert near < 0.01
    svg = contour_svg(s)
    xml.dom.minidom.parseString(svg)
    assert "stroke-dasharray" in svg and "(zero)" in svg
    assert "+: the estimate keeps its sign" in contour_text(s)


def test_diff_with_data(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "heart_drug.csv", tmp_path)
    new = HEART.read_text(encoding="utf-8").replace("ward <-> drug", "").replace(
        "{age, ward} -> severity", "age -> severity")
    (tmp_path / "new.causal").write_text(new, encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["diff", str(HEART), str(tmp_path / "new.causal"), "--data"])
    assert out.exit_code == 0, out.output
    assert "Implications on the data, before and after" in out.output
    assert "new, rejected" in out.output and "drug ⊥ ward" in out.output
    js = runner.invoke(main, ["diff", str(HEART), str(tmp_path / "new.causal"), "--data",
                              "--format", "json"])
    data = json.loads(js.output)["implications_on_data"]
    assert data["rejected_before"] == 0 and data["rejected_after"] == 2
    md = runner.invoke(main, ["diff", str(HEART), str(tmp_path / "new.causal"), "--data",
                              "--format", "markdown"])
    assert "| drug ⊥ ward | new, rejected |" in md.output


def _doc_blocks(kind: str) -> list[str]:
    text = (ROOT / "docs" / "assumptions.md").read_text(encoding="utf-8")
    return [m.group(2) for m in re.finditer(r"^```([\w-]*)\n(.*?)^```$", text, re.S | re.M)
            if m.group(1) == kind]


def test_docs_examples_match_the_output(tmp_path: Path) -> None:
    texts = _doc_blocks("text")
    run_block = next(b for b in texts if "Sensitivity to unmeasured confounding" in b)
    diff_block = next(b for b in texts if "Implications on the data" in b)
    # the documented lines are those the heart-drug ATT with ties = "first" prints
    src = HEART.read_text(encoding="utf-8").replace(
        "using matching(caliper = 0.2)", 'using matching(caliper = 0.2, ties = "first")')
    shutil.copy(ROOT / "examples" / "heart_drug.csv", tmp_path)
    (tmp_path / "h.causal").write_text(src, encoding="utf-8")
    text = causal_dsl.load(tmp_path / "h.causal").run().format("text", verbose=True)
    flat = " ".join(text.split())
    for item in run_block.split("    - ")[1:]:
        assert " ".join(item.split()) in flat
    new = HEART.read_text(encoding="utf-8").replace("ward <-> drug", "").replace(
        "{age, ward} -> severity", "age -> severity")
    (tmp_path / "new.causal").write_text(new, encoding="utf-8")
    out = CliRunner().invoke(main, ["diff", str(HEART), str(tmp_path / "new.causal"), "--data"])
    for line in diff_block.splitlines():
        assert line.strip() in out.output or " ".join(line.split()) in " ".join(
            out.output.split())
    # the documented study parses and gives 1:1 pairs
    study = causal_dsl.parse(next(b for b in _doc_blocks("causal") if "paired" in b))
    assert study.query("paired").method.name == "matching"
