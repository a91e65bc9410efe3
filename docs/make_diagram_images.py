"""Draw the diagram images of docs/rendering.md from the real renderer (run from the repo root:
``python docs/make_diagram_images.py``). Writes docs/img/dag-*.png."""

from __future__ import annotations

import random
from pathlib import Path

import causal_dsl
from causal_dsl import render
from causal_dsl.dagitty import from_dagitty

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"


def dense_dagitty(n: int = 20, m: int = 60, seed: int = 15) -> str:
    """The dense model of tests/test_diagrams.py: 20 nodes, 60 arrows."""
    rng = random.Random(seed)
    pairs = rng.sample([(i, j) for i in range(n) for j in range(i + 1, n)], m)
    lines = ["dag {", "x1 [exposure]", f"x{n} [outcome]"]
    lines += [f"x{i + 1} -> x{j + 1}" for i, j in sorted(pairs)]
    return "\n".join([*lines, "}"]) + "\n"


def main() -> None:
    heart = causal_dsl.load(ROOT / "examples" / "heart_drug.causal")
    render.render_file(heart, IMG / "dag-paths.png", highlight="paths", scale=1.5)
    render.render_file(heart, IMG / "dag-dagitty.png", highlight="dagitty", scale=1.5)
    fastfood = causal_dsl.load(ROOT / "examples" / "fastfood.causal")
    render.render_file(fastfood, IMG / "dag-invariant.png", scale=1.5)
    dense = causal_dsl.parse(from_dagitty(dense_dagitty()))
    render.render_file(dense, IMG / "dag-dense.png", highlight="dagitty")


if __name__ == "__main__":
    main()
