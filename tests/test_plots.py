"""The plots (issue 15): love and overlap plots drawn from the very numbers of the balance table
and of the same fit, event-study and forest plots, as SVG files through ``causal plot``, in the
report and in Jupyter; a colour-blind-safe palette whose distinctions survive black and white;
and the report looked at in a real browser (headless Chromium) at report and notebook widths.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.present import balance
from causal_dsl.results import fmt

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HEART = EXAMPLES / "heart_drug.causal"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def heart() -> causal_dsl.RunResult:
    return causal_dsl.load(HEART).run()


def test_love_plot_reads_the_balance_table(heart: causal_dsl.RunResult) -> None:
    for r in (heart["main"], heart["treated"]):
        table = r.result.table("balance")
        assert table is not None
        points = balance.love_points(table)
        assert points is not None
        assert [p.covariate for p in points] == [row[0] for row in table.rows]  # table order
        for p, row in zip(points, table.rows, strict=True):
            assert p.before == abs(row[3]) and p.after == abs(row[6])  # the very cells
        svg = balance.love_svg(table)
        assert svg is not None
        tree = ET.fromstring(svg)
        titles = [t.text for t in tree.iter(f"{SVG}title")]
        assert titles == [f"{when}: {fmt(v, 3)}" for p in points
                          for when, v in (("before", p.before), ("after", p.after))]


def test_love_plot_threshold_and_positions(heart: causal_dsl.RunResult) -> None:
    table = heart["main"].result.table("balance")
    assert table is not None
    svg = balance.love_svg(table)
    assert svg is not None
    tree = ET.fromstring(svg)
    dashed = [e for e in tree.iter(f"{SVG}line") if e.get("stroke-dasharray") == "5 3"]
    circles = [e for e in tree.iter(f"{SVG}circle") if e.find(f"{SVG}title") is not None]
    squares = [e for e in tree.iter(f"{SVG}rect") if e.find(f"{SVG}title") is not None]
    # the axis: tick labels at their x; the threshold line where 0.1 falls between them
    ticks = [(float(e.get("x")), float(e.text)) for e in tree.iter(f"{SVG}text")
             if e.get("text-anchor") == "middle" and re.fullmatch(r"[0-9.]+", e.text or "")]
    (x0, v0), (xl, vl) = ticks[0], ticks[-1]
    x_threshold = x0 + (0.1 - v0) / (vl - v0) * (xl - x0)
    plot_line = [e for e in dashed if float(e.get("x1")) == float(e.get("x2"))]
    assert any(abs(float(e.get("x1")) - x_threshold) < 0.2 for e in plot_line)
    for circle, square, row in zip(circles, squares, table.rows, strict=True):
        x_before = x0 + (abs(row[3]) - v0) / (vl - v0) * (xl - x0)
        assert abs(float(circle.get("cx")) - x_before) < 0.2
        assert abs(float(square.get("x")) + 5 - (x0 + abs(row[6]) / vl * (xl - x0))) < 0.2
    assert len(circles) == len(squares) == len(table.rows)


def test_overlap_uses_the_fit(heart: causal_dsl.RunResult) -> None:
    r = heart["treated"]
    units = r.result.units
    assert units is not None
    table = r.result.table("balance")
    assert table is not None
    score_row = table.rows[0]
    d = units.rows["drug"].to_numpy()
    t, c = d == 1, d == 0
    assert units.distance[t].mean() == pytest.approx(score_row[1], rel=1e-12)  # mean T
    assert units.distance[c].mean() == pytest.approx(score_row[2], rel=1e-12)  # mean C
    w = units.weights
    assert np.average(units.distance[c], weights=w[c]) == pytest.approx(score_row[5], rel=1e-12)
    outside = r.result.detail("outside_support_treated") + r.result.detail(
        "outside_support_control")
    assert int(units.outside_support.sum()) == outside
    svg = balance.overlap_svg(units)
    assert svg is not None and f"{outside} outside the other arm" in svg
    ET.fromstring(svg)


def test_overlap_marks_units_dropped_by_the_caliper(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "heart_drug.csv", tmp_path / "heart_drug.csv")
    path = tmp_path / "h.causal"
    path.write_text(HEART.read_text(encoding="utf-8") + "query tight: att(drug -> severity) "
                    "using matching(caliper = 0.002)\n", encoding="utf-8")
    r = causal_dsl.load(path).estimate("tight")
    dropped = r.result.detail("dropped")["treated"]
    assert dropped > 0 and int(r.result.units.dropped.sum()) == dropped
    svg = balance.overlap_svg(r.result.units)
    assert svg is not None
    crosses = re.findall(r'<path d="M[^"]+" stroke="#D55E00"', svg)
    assert len(crosses) == dropped + 1  # one per dropped unit, one in the legend
    assert f"{dropped} unit(s) dropped by the caliper" in svg
    text = balance.overlap_text(r.result.units)
    assert text is not None and f"dropped by the caliper: {dropped}" in text


PALETTE = set(balance.OKABE_ITO.values())


@pytest.mark.parametrize("kind", ["love", "overlap"])
def test_colours_are_colour_blind_safe_and_shapes_differ(heart: causal_dsl.RunResult,
                                                         kind: str) -> None:
    r = heart["main"]
    table = r.result.table("balance")
    assert table is not None
    svg = balance.love_svg(table) if kind == "love" else balance.overlap_svg(r.result.units)
    assert svg is not None
    colours = {c.upper() for c in re.findall(r'(?:fill|stroke)="(#[0-9A-Fa-f]{6})"', svg)}
    greys = {c for c in colours if c[1:3] == c[3:5] == c[5:7]}
    assert colours - greys <= {c.upper() for c in PALETTE} | {"#8A5A00"}
    if kind == "love":  # before and after differ by shape and fill, not only by colour
        assert 'fill="white" stroke="#D55E00"' in svg and '<rect' in svg
    else:  # used and unused differ by pattern
        assert 'url(#hatch-t)' in svg and 'url(#hatch-c)' in svg


def test_text_love_plot(heart: causal_dsl.RunResult) -> None:
    table = heart["main"].result.table("balance")
    assert table is not None
    text = balance.love_text(table)
    assert text is not None
    lines = text.splitlines()
    assert len(lines) == len(table.rows) + 2
    assert lines[1].startswith("propensity score") and lines[1].endswith(
        f"{fmt(abs(table.rows[0][3]), 3)} -> {fmt(abs(table.rows[0][6]), 3)}")


# ---------------------------------------------------------------------------------------------
# causal plot
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("study", "kind", "query"), [
    ("heart_drug", "love", "main"), ("heart_drug", "overlap", "treated"),
    ("heart_drug", "forest", "linear"), ("fastfood", "event", None),
    ("mpdta", "event", None),
])
def test_plot_verb_writes_svg(tmp_path: Path, study: str, kind: str, query: str | None) -> None:
    out = tmp_path / f"{kind}.svg"
    args = ["plot", str(EXAMPLES / f"{study}.causal"), "--kind", kind, "-o", str(out)]
    result = CliRunner().invoke(main, args + (["--query", query] if query else []))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0"')
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg" and "<script" not in text
    assert f"wrote {out}" in result.stderr


def test_plot_verb_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    wrong = runner.invoke(main, ["plot", str(HEART), "--kind", "event"])
    assert wrong.exit_code == 1 and "E607" in wrong.stderr and "using did" in wrong.stderr
    png = runner.invoke(main, ["plot", str(HEART), "--kind", "love", "-o",
                               str(tmp_path / "x.png")])
    assert png.exit_code == 1 and "E605" in png.stderr and not (tmp_path / "x.png").exists()
    stdout = runner.invoke(main, ["plot", str(HEART), "--kind", "love"])
    assert stdout.exit_code == 0 and stdout.stdout.startswith("<?xml")


# ---------------------------------------------------------------------------------------------
# in the report and in Jupyter
# ---------------------------------------------------------------------------------------------
def test_plots_in_the_report_and_notebook(heart: causal_dsl.RunResult) -> None:
    from causal_dsl.report import build_report

    study = causal_dsl.load(HEART)
    page = build_report(study, run=heart).to_html()
    assert page.count('class="balance love"') == 2  # main and treated
    assert page.count('class="balance overlap"') == 2
    assert page.count('class="forest"') >= 3
    md = build_report(study, run=heart).to_markdown()
    assert md.count("**Love plot**") == 2 and md.count("**Overlap of the scores**") == 2
    view = heart["main"]._repr_html_()
    assert view is not None and 'class="balance love"' in view and 'class="balance overlap"' in view


# ---------------------------------------------------------------------------------------------
# a real browser
# ---------------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    """Headless Chromium's screenshot of `page` (the documented check of docs/rendering.md)."""
    assert CHROMIUM is not None
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--screenshot={png}", f"--window-size={width},{height}",
                    page.as_uri()], check=True, capture_output=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install -y chromium)")
@pytest.mark.parametrize("width", [1200, 760])  # a report window, a notebook cell
def test_report_in_a_real_browser(tmp_path: Path, width: int) -> None:
    from PIL import Image

    html = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(HEART), "-o", str(html)])
    assert result.exit_code == 0, result.output
    png = tmp_path / "shot.png"
    screenshot(html, png, width, 900)
    image = Image.open(png).convert("L")
    assert image.size == (width, 900)
    pixels = np.asarray(image)
    assert (pixels < 128).mean() > 0.005  # text and drawing, not a blank page
    # nothing wider than the window: the right-most column of pixels is background
    assert (pixels[:, -3:] > 240).all()
