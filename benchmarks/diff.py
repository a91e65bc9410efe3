"""Speed of `causal diff` on two 10,000-variable studies.

In: nothing (the studies are generated, seeded). Out: timings on stdout for three edits of a
study with 10,000 variables, 30,000 arrows and 20 queries, and the ratio to the target (the
diff itself, parsing excluded, within 2 s; the whole command within a few):

* ``reordered``  the same study written in another order (no semantic change);
* ``local``      a handful of arrows added, removed and reversed, a variable made observed, a
                 label and a query changed, all downstream (the usual pull request);
* ``upstream``   one arrow added near the roots, so that most of the graph is downstream of
                 the change: the implication comparison hits its budget and says so.

For each: parse of both sides, `semantic_diff` (split into identification and the rest by
counting), text/Markdown/JSON rendering, what was found, and the end-to-end command run in a
subprocess. Run from the repository root:

    python benchmarks/diff.py [--variables 10000] [--arrows 30000] [--repeat 3]

Not a test: the figures depend on the machine (CPU time is printed beside wall time because
other processes may share the cores).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import causal_dsl
from causal_dsl import diff as diff_module
from causal_dsl.diff import semantic_diff

TARGET_SECONDS = 2.0


def generate(n_variables: int, n_arrows: int, seed: int = 11) -> list[str]:
    """The statement lines of a large study; arrows go from lower to higher numbers (a DAG)
    and mostly between nearby numbers, like real studies built up layer by layer."""
    rng = random.Random(seed)
    latent = set(rng.sample(range(n_variables), n_variables // 20))
    lines = ['study "Benchmark: a large study"', 'data "big.csv"']
    for i in range(n_variables):
        if i in latent:
            lines.append(f'latent v{i} "hidden {i}"')
        else:
            lines.append(f'var v{i}: {("binary", "continuous", "count")[i % 3]} "variable {i}"')
    seen: set[tuple[int, int]] = set()
    while len(seen) < n_arrows:
        a = rng.randrange(n_variables - 1)
        b = min(n_variables - 1, a + 1 + int(rng.expovariate(1 / 40)))
        if (a, b) in seen:
            continue
        seen.add((a, b))
        lines.append(f"v{a} <-> v{b}" if rng.random() < 0.03 else f"v{a} -> v{b}")
    observed = [i for i in range(n_variables) if i not in latent]
    for q in range(20):
        t = observed[rng.randrange(len(observed) // 2, len(observed) - 200)]
        y = next(o for o in observed if o > t + rng.randrange(5, 100))
        lines.append(f"query q{q}: ate(v{t} -> v{y})")
    return lines


def edit_local(lines: list[str], n_variables: int, seed: int = 3) -> list[str]:
    """Changes in the last fifth of the graph, as a typical review would see them."""
    import networkx as nx

    rng = random.Random(seed)
    out = list(lines)
    arrows = [i for i, line in enumerate(out) if " -> " in line and "query" not in line]
    late = [i for i in arrows if int(out[i].split()[0][1:]) > n_variables * 0.8]
    picked = rng.sample(late, 40)
    for i in picked[:5]:  # remove five arrows
        out[i] = ""
    graph = nx.DiGraph(tuple(line.split()[::2]) for line in out if " -> " in line
                       and "query" not in line)
    reversed_ = 0
    for i in picked[5:]:  # reverse two, where no other path would close a cycle
        a, _, b = out[i].split()
        graph.remove_edge(a, b)
        if reversed_ < 2 and not nx.has_path(graph, a, b):
            out[i] = f"{b} -> {a}"
            graph.add_edge(b, a)
            reversed_ += 1
        else:
            graph.add_edge(a, b)
    added = 0
    while added < 5:  # add five new arrows (forward, so no cycle)
        a = rng.randrange(int(n_variables * 0.8), n_variables - 10)
        b = a + rng.randrange(2, 9)
        if not graph.has_edge(f"v{a}", f"v{b}") and not graph.has_edge(f"v{b}", f"v{a}") \
                and not nx.has_path(graph, f"v{b}", f"v{a}"):
            graph.add_edge(f"v{a}", f"v{b}")
            out.append(f"v{a} -> v{b}")
            added += 1
    latent = next(i for i, line in enumerate(out)
                  if line.startswith("latent v") and int(line.split()[1][1:]) > n_variables * 0.9)
    name = out[latent].split()[1]
    out[latent] = f'var {name}: continuous "now measured"'
    label = next(i for i, line in enumerate(out) if line.startswith("var v9"))
    out[label] = out[label].replace('"variable', '"renamed variable')
    query = next(i for i, line in enumerate(out) if line.startswith("query q3:"))
    out[query] = out[query].replace("ate(", "att(")
    return [line for line in out if line]


def edit_upstream(lines: list[str]) -> list[str]:
    return [*lines, "v1 -> v60"]


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall time and the CPU time of that run, and the result."""
    best = (float("inf"), 0.0)
    result = None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = func()
        elapsed = (time.perf_counter() - start, time.process_time() - cpu)
        best = min(best, elapsed)
    return best[0], best[1], result


def count_identification(func: Callable[[], Any]) -> tuple[Any, float, int]:
    """Run `func` while timing (CPU) the identification it asks for."""
    original = diff_module._identified
    spent = [0.0, 0]

    def wrapped(*args: Any, **kw: Any) -> Any:
        start = time.process_time()
        try:
            return original(*args, **kw)
        finally:
            spent[0] += time.process_time() - start
            spent[1] += 1

    diff_module._identified = wrapped  # type: ignore[assignment]
    try:
        result = func()
    finally:
        diff_module._identified = original  # type: ignore[assignment]
    return result, spent[0], int(spent[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variables", type=int, default=10_000)
    parser.add_argument("--arrows", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    base = generate(args.variables, args.arrows)
    shuffled = base[:2] + random.Random(5).sample(base[2:], len(base) - 2)
    edits = {
        "reordered": shuffled,
        "local": edit_local(base, args.variables),
        "upstream": edit_upstream(base),
    }
    old_text = "\n".join(base) + "\n"
    print(f"study: {args.variables:,} variables, {args.arrows:,} arrows, 20 queries; "
          f"best of {args.repeat}")
    parse_s, parse_cpu, old = timed(lambda: causal_dsl.parse(old_text), args.repeat)
    print(f"parse one side: {parse_s:.2f} s (cpu {parse_cpu:.2f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        old_path = Path(tmp) / "old.causal"
        old_path.write_text(old_text)
        for name, lines in edits.items():
            new_text = "\n".join(lines) + "\n"
            new = causal_dsl.parse(new_text)
            seconds, cpu, d = timed(lambda new=new: semantic_diff(old, new), args.repeat)
            _, ident_s, ident_n = count_identification(lambda new=new: semantic_diff(old, new))
            render_s, _, _ = timed(lambda d=d: (str(d), d.to_markdown(), d.to_json()), 1)
            new_path = Path(tmp) / f"{name}.causal"
            new_path.write_text(new_text)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "causal_dsl.cli", "diff", str(old_path),
                            str(new_path)], check=True, capture_output=True)
            command_s = time.perf_counter() - start
            print(f"\n{name}: {d.summary()}")
            if d.implications_note:
                print(f"  implications: {d.implications_note}")
            print(f"  semantic_diff: {seconds:.3f} s (cpu {cpu:.3f} s), ratio to the "
                  f"{TARGET_SECONDS:.0f} s target: {seconds / TARGET_SECONDS:.2f}")
            print(f"    identification (graph engine): cpu {ident_s:.3f} s for {ident_n} query "
                  f"side(s); everything else: cpu {max(0.0, cpu - ident_s):.3f} s")
            print(f"  render text + markdown + json: {render_s:.3f} s")
            print(f"  `causal diff OLD NEW` end to end (two parses included): {command_s:.2f} s")


if __name__ == "__main__":
    main()
