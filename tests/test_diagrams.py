"""Diagrams for papers: legends, PNG resolution, PDF without a system Graphviz, DAGitty's
highlighting (checked against DAGitty's rules on hand-worked graphs), time-invariant latents,
treatment-left/outcome-right ranks, `layout` positions, and a dense DAGitty model (20 nodes,
60 arrows) drawn without overlapping boxes at a reasonable size.
"""

from __future__ import annotations

import io
import random
import re
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

import causal_dsl
from causal_dsl import RenderError, render
from causal_dsl.dagitty import from_dagitty
from causal_dsl.render.highlights import dagitty_marks

SVG = "{http://www.w3.org/2000/svg}"
pytestmark = pytest.mark.skipif(not render.available_engines(), reason="no Graphviz engine")

HEART = "examples/heart_drug.causal"


def dense_dagitty(n: int = 20, m: int = 60, seed: int = 15) -> str:
    """A DAGitty model of `n` nodes and `m` arrows (each from an earlier to a later node)."""
    rng = random.Random(seed)
    pairs = rng.sample([(i, j) for i in range(n) for j in range(i + 1, n)], m)
    lines = ["dag {", "x1 [exposure]", f"x{n} [outcome]"]
    lines += [f"x{i + 1} -> x{j + 1}" for i, j in sorted(pairs)]
    return "\n".join([*lines, "}"]) + "\n"


def boxes(svg: bytes) -> dict[str, tuple[float, float, float, float]]:
    """Each node's bounding box (x0, y0, x1, y1) from its shapes in Graphviz's SVG."""
    out: dict[str, tuple[float, float, float, float]] = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") != "node":
            continue
        name = g.findtext(f"{SVG}title") or ""
        xs: list[float] = []
        ys: list[float] = []
        for shape in g.iter():
            if shape.tag == f"{SVG}ellipse":
                cx, cy = float(shape.get("cx", 0)), float(shape.get("cy", 0))
                rx, ry = float(shape.get("rx", 0)), float(shape.get("ry", 0))
                xs += [cx - rx, cx + rx]
                ys += [cy - ry, cy + ry]
            elif shape.tag in (f"{SVG}polygon", f"{SVG}path"):
                nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", shape.get("points")
                                                      or shape.get("d") or "")]
                xs += nums[0::2]
                ys += nums[1::2]
        if xs:
            out[name] = (min(xs), min(ys), max(xs), max(ys))
    return out


def overlapping(b: dict[str, tuple[float, float, float, float]]) -> list[tuple[str, str]]:
    """Pairs of overlapping boxes; the legend's frame may hold its own entries, nothing else."""
    names = sorted(b)
    return [(p, q) for i, p in enumerate(names) for q in names[i + 1:]
            if b[p][0] < b[q][2] and b[q][0] < b[p][2] and b[p][1] < b[q][3]
            and b[q][1] < b[p][3]
            and not (p == "legend_frame" and q.startswith("legend_"))]


def svg_size(svg: bytes) -> tuple[float, float]:
    root = ET.fromstring(svg)
    return (float(root.get("width", "0").rstrip("pt")), float(root.get("height", "0").rstrip("pt")))


# ---------------------------------------------------------------------------------------------
# the dense model
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("highlight", ["adjustment", "dagitty"])
def test_dense_dagitty_model_is_legible(highlight: str) -> None:
    study = causal_dsl.parse(from_dagitty(dense_dagitty()))
    assert len(study.variables) == 20 and len(study.edges) == 60
    svg = render.render_bytes(study, "svg", highlight=highlight)
    b = boxes(svg)
    variables = {n: v for n, v in b.items() if n.startswith("v_")}
    assert len(variables) == 20
    assert overlapping(b) == []  # legend entries included
    width, height = svg_size(svg)
    # a figure of at most about 18 x 14 inches at 1:1 (measured: 862 x 654 pt before the
    # legend); without the dense-graph spacing it was 862 x 1271
    assert 300 < width < 1300 and 200 < height < 1000, (width, height)
    centre = {n: (v[0] + v[2]) / 2 for n, v in variables.items()}
    assert centre["v_x1"] <= min(centre.values()) + 10  # the treatment in the first column
    assert centre["v_x20"] >= max(centre.values()) - 10  # the outcome in the last


# ---------------------------------------------------------------------------------------------
# legend, PNG, PDF
# ---------------------------------------------------------------------------------------------
def texts(svg: bytes) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_legend_names_what_the_drawing_shows() -> None:
    study = causal_dsl.load(HEART)
    shown = texts(render.render_bytes(study, "svg", highlight="paths"))
    for line in ("treatment", "outcome", "adjustment set (double border)",
                 "latent (unobserved)", "hidden common cause (<->)",
                 "backdoor path the set blocks"):
        assert line in shown
    assert "causal path" not in shown
    plain = texts(render.render_bytes(study, "svg", legend=False))
    assert "treatment" not in plain and "drug" in plain
    dag = texts(render.render_bytes(study, "svg", highlight="dagitty"))
    for line in ("exposure", "ancestor of the outcome", "ancestor of exposure and outcome",
                 "causal path", "biasing path (open, non-causal)"):
        assert line in dag


def test_invariant_latent_is_drawn_distinctly_and_explained() -> None:
    study = causal_dsl.load("examples/fastfood.causal")
    node = study.to_dot().split("v_economy [", 1)[1].split("];", 1)[0]
    assert "peripheries=2" in node and "fillcolor" in node and "dashed" in node
    assert "latent, constant within unit (double dashed)" in texts(
        render.render_bytes(study, "svg"))


def test_png_resolution() -> None:
    study = causal_dsl.load(HEART)
    sizes = {}
    for key, kw in {"base": {}, "dpi": {"dpi": 192}, "scale": {"scale": 2.0}}.items():
        png = render.render_bytes(study, "png", **kw)  # type: ignore[arg-type]
        sizes[key] = Image.open(io.BytesIO(png)).size
    assert sizes["dpi"] == sizes["scale"]
    assert abs(sizes["dpi"][0] / sizes["base"][0] - 2) < 0.02


@pytest.mark.parametrize("kw", [{"dpi": 0}, {"dpi": float("nan")}, {"scale": -1},
                                {"dpi": 100, "scale": 2}])
def test_bad_png_resolution_is_e605(kw: dict[str, float]) -> None:
    with pytest.raises(RenderError) as info:
        render.render_bytes(causal_dsl.load(HEART), "png", **kw)  # type: ignore[arg-type]
    assert info.value.diagnostics[0].code == "E605"


def test_dpi_and_legend_only_where_they_mean_something() -> None:
    study = causal_dsl.load(HEART)
    for fmt, kw in (("svg", {"dpi": 200}), ("mermaid", {"legend": True}),
                    ("dot", {"legend": True})):
        with pytest.raises(RenderError) as info:
            render.render_bytes(study, fmt, **kw)  # type: ignore[arg-type]
        assert info.value.diagnostics[0].code == "E605"


def test_pdf_without_a_system_graphviz(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("svglib")
    pure = [e for e in render.available_engines() if e.name == "graphviz-pure"]
    monkeypatch.setenv("PATH", "/nonexistent")  # no `dot`, no Cairo program either
    study = causal_dsl.load(HEART)
    out = render.render_file(study, tmp_path / "dag.pdf", engine=pure[0])
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    # PDF's own Helvetica (no font embedded), as the layout was measured
    assert b"/Helvetica" in data and b"/FontFile" not in data
    from svglib.svglib import svg2rlg

    drawing = svg2rlg(io.BytesIO(render.render_bytes(study, "svg", engine=pure[0])))
    assert drawing is not None
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", data)
    assert box is not None
    assert abs(float(box.group(1)) - drawing.width) < 1  # one page, the drawing's size


# ---------------------------------------------------------------------------------------------
# DAGitty's highlighting, by hand
# ---------------------------------------------------------------------------------------------
def model(text: str) -> causal_dsl.Study:
    return causal_dsl.parse(from_dagitty(text))


def test_dagitty_marks_by_hand() -> None:
    # x -> m -> y, c confounds, u -> x <- ..., collider k: x -> k <- y
    m = model("dag { x [exposure] y [outcome] x -> m -> y  c -> x  c -> y  a -> c  "
              "x -> k  y -> k  b -> y }")
    marks = dagitty_marks(m, "x", "y")
    assert marks.causal == {("x", "m", False), ("m", "y", False)}
    assert marks.biasing == {("c", "x", False), ("c", "y", False)}  # x -> k <- y closed
    assert marks.ancestry["c"] == "confounder" and marks.ancestry["a"] == "confounder"
    assert marks.ancestry["m"] == "outcome_ancestor"  # a mediator: x -> m cut in the bd graph
    assert marks.ancestry["b"] == "outcome_ancestor" and marks.ancestry["k"] == "other"
    # adjusting for the collider opens x -> k <- y; adjusting for m blocks the causal path
    opened = dagitty_marks(m, "x", "y", {"k"})
    assert {("x", "k", False), ("y", "k", False)} <= opened.biasing
    assert dagitty_marks(m, "x", "y", {"m", "c"}).causal == frozenset()
    assert dagitty_marks(m, "x", "y", {"c"}).biasing == frozenset()


def test_dagitty_marks_bidirected_and_exposure_ancestors() -> None:
    m = model("dag { x [exposure] y [outcome] z -> x -> y  x <-> y }")
    marks = dagitty_marks(m, "x", "y")
    assert marks.biasing == {("x", "y", True)} and marks.ancestry["z"] == "exposure_ancestor"


def test_dagitty_highlight_colours_in_dot() -> None:
    study = causal_dsl.load(HEART)
    dot = study.to_dot(highlight="dagitty")
    assert "#4dac26" in dot and "#d01c8b" in dot and "#bed403" in dot and "#00a2e0" in dot


# ---------------------------------------------------------------------------------------------
# positions
# ---------------------------------------------------------------------------------------------
def test_layout_positions_are_honoured_without_overlap() -> None:
    # DAGitty coordinates (y down), deliberately close together
    text = ('dag { x [exposure,pos="0,0.5"] y [outcome,pos="1,0.5"] c [pos="0.5,0"] '
            'm [pos="0.5,0.55"] c -> x c -> y x -> m -> y }')
    study = model(text)
    svg = render.render_bytes(study, "svg")
    b = boxes(svg)
    assert overlapping(b) == []
    centre = {n[2:]: ((v[0] + v[2]) / 2, (v[1] + v[3]) / 2) for n, v in b.items()
              if n.startswith("v_")}
    assert centre["x"][0] < centre["c"][0] < centre["y"][0]
    assert centre["c"][1] < centre["x"][1]  # c above (SVG y grows downwards, as DAGitty's)
    assert abs(centre["x"][1] - centre["y"][1]) < 1
    # the Python argument overrides the study's positions
    flipped = render.render_bytes(study, "svg", positions={"x": (1, 0), "y": (0, 0),
                                                          "c": (0.5, 1), "m": (0.5, 2)})
    c2 = {n[2:]: (v[0] + v[2]) / 2 for n, v in boxes(flipped).items() if n.startswith("v_")}
    assert c2["y"] < c2["x"]
    with pytest.raises(RenderError):
        render.render_bytes(study, "svg", positions={"nope": (0, 0)})


def test_partial_positions_place_the_rest_below() -> None:
    study = model('dag { x [exposure,pos="0,0"] y [outcome,pos="1,0"] z x -> y z -> y }')
    b = boxes(render.render_bytes(study, "svg", legend=False))
    assert overlapping(b) == [] and b["v_z"][1] > b["v_x"][3]
