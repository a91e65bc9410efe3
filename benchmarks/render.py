"""Rendering speed: DOT and Mermaid text, and SVG/PNG through each Graphviz engine found.

In: nothing (a sparse random study is generated, seeded: ~3 arrows per variable, 5% latent,
a few bidirected edges, labels on every third variable, one query). Out: timings on stdout —
identification plus text output (instant), and the engine's layout for SVG and PNG, with the
ratio of each engine's time to the target (a 500-variable model in a few seconds). Run from the
repository root:

    python benchmarks/render.py [--variables 100 500 1000] [--repeat 3] [--formats svg png]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import causal_dsl
from causal_dsl import render

TARGET_SECONDS = 5.0  # "a few seconds at most" for 500 variables to SVG


def generate(n: int, seed: int = 11) -> str:
    """A study with `n` variables in a layered random DAG (arrows from lower to higher index,
    mostly short-range so Graphviz sees a realistic, not a complete, graph)."""
    rng = random.Random(seed)
    latent = set(rng.sample(range(2, n), max(1, n // 20)))
    lines = [f'study "Render benchmark: {n} variables"']
    for i in range(n):
        label = f' "Variable number {i}"' if i % 3 == 0 else ""
        if i in latent:
            lines.append(f"latent v{i}{label}")
        else:
            kind = "binary" if i == 0 else "continuous"
            lines.append(f"var v{i}: {kind}{label}")
    arrows: set[tuple[int, int]] = set()
    for j in range(1, n):
        for _ in range(3):
            i = max(0, j - 1 - int(rng.expovariate(1 / 8)))
            if i != j and (i, j) not in arrows:
                arrows.add((i, j))
    arrows.add((0, n - 1))
    lines += [f"v{i} -> v{j}" for i, j in sorted(arrows)]
    observed = [i for i in range(1, n - 1) if i not in latent]
    for _ in range(max(1, n // 100)):
        a, b = rng.sample(observed, 2)
        if (a, b) not in arrows and (b, a) not in arrows:
            lines.append(f"v{min(a, b)} <-> v{max(a, b)}")
    lines.append(f"query q: ate(v0 -> v{n - 1})")
    return "\n".join(lines) + "\n"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall seconds and median CPU seconds (this process plus the engine it runs)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        before, start = os.times(), time.perf_counter()
        result = fn()
        wall, after = time.perf_counter() - start, os.times()
        cpus.append(sum(after[:4]) - sum(before[:4]))  # user+system, self and children
        walls.append(wall)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variables", type=int, nargs="+", default=[100, 500, 1000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", nargs="+", default=["svg", "png"])
    args = ap.parse_args()

    engines = render.available_engines()
    print(f"engines: {', '.join(str(e) for e in engines) or 'none found'}")
    print(f"target: {TARGET_SECONDS:g} s for 500 variables to SVG with each engine\n")
    print("wall = elapsed; cpu = user+system of this process and the engine (the honest figure "
          "on a busy machine)\n")
    header = (f"{'variables':>9}  {'arrows':>6}  {'what':<28}  {'wall s':>8}  {'cpu s':>8}  "
              f"{'cpu/target':>10}")
    print(header)
    print("-" * len(header))
    for n in args.variables:
        study = causal_dsl.parse(generate(n))
        arrows = len(study.edges)
        *ident_t, ident = timed(lambda s=study: s.identify(), args.repeat)

        def row(what: str, t: list[float], n: int = n, arrows: int = arrows) -> None:
            wall, cpu = t
            ratio = f"{cpu / TARGET_SECONDS:10.2f}" if n == 500 else " " * 10
            print(f"{n:>9}  {arrows:>6}  {what:<28}  {wall:8.3f}  {cpu:8.3f}  {ratio}")

        row("identify (first query)", ident_t)
        *t, dot = timed(lambda s=study, i=ident: s.to_dot(identification=i), args.repeat)
        row("DOT text (pydot)", t)
        *t, _ = timed(lambda s=study, i=ident: s.to_mermaid(identification=i), args.repeat)
        row("Mermaid text", t)
        *t, _ = timed(lambda s=study, i=ident: s.to_dot(highlight="paths", identification=i),
                      args.repeat)
        row("DOT text, --highlight paths", t)
        for engine in engines:
            for fmt in args.formats:
                *t, _ = timed(lambda d=dot, f=fmt, e=engine: render.run_engine(d, f, e),
                              args.repeat)
                row(f"{fmt.upper()} via {engine.name}", t)
        print()
    if len(engines) == 2 and 500 in args.variables:
        dot = causal_dsl.parse(generate(500)).to_dot()
        _, a, _ = timed(lambda: render.run_engine(dot, "svg", engines[0]), args.repeat)
        _, b, _ = timed(lambda: render.run_engine(dot, "svg", engines[1]), args.repeat)
        print(f"500 variables to SVG, cpu: {engines[1].name} / {engines[0].name} = {b / a:.2f}")
        # what the large-graph limits buy: the same DOT without nslimit/mclimit
        plain = dot.replace("nslimit=0.5;\n", "").replace("mclimit=0.5;\n", "")
        for engine in engines:
            _, c, _ = timed(lambda e=engine: render.run_engine(plain, "svg", e), 1)
            _, d, _ = timed(lambda e=engine: render.run_engine(dot, "svg", e), 1)
            print(f"  {engine.name}: without the large-graph limits {c:.2f} s cpu, with "
                  f"{d:.2f} s (x{c / d:.1f})")

if __name__ == "__main__":
    main()
