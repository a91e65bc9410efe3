"""Identification speed on random sparse DAGs of 100 to 100,000 variables.

In: nothing (graphs are generated with a fixed seed). Out: timings on stdout, and ratios to
networkx's ``find_minimal_d_separator`` on the same moralised problem, and to DoWhy's
``identify_effect`` and pgmpy's adjustment-set functions when those are installed
(``pip install .[bench]``, or ``--python`` naming an interpreter that has them). Run from the
repository root:

    python benchmarks/identify.py [--sizes 100,1000,10000,100000] [--list 100]
                                  [--nx-max 20000] [--timeout 30] [--python PATH]

The generator: variables ``v0 .. v{n-1}`` in topological order; each picks 0-3 parents (1.5 on
average, so the average degree is 3) among the 100 variables before it (``--window``). That
makes the ancestral set of a late variable nearly everything before it: the hard case for
separator search, which works on the ancestors of the treatment and the outcome. With
``--window 0`` parents are drawn from all earlier variables: ancestral sets then stay small
and every answer is quick. 10% of the variables are latent and n/100 bidirected edges are
added. The query is the effect of an observed variable in the middle on the last observed
variable that descends from it.

The networkx-graph entry points (`causal_dsl.graph.is_d_separator`, `minimal_adjustment_set`)
are timed on the same `networkx.DiGraph` objects as networkx's own `is_d_separator` and
`find_minimal_d_separator`, conversion included, each cell in a fresh process (the graph is
built there before the clock starts): d-separation of a pair given a separator, a minimal
d-separator of a pair with no directed path between them (the same question for both), and one
adjustment set (networkx: the forbidden set, the proper backdoor graph, then its search), plus
the conversion alone (`to_causal_graph`). Ratios are networkx / ours.

Target: one minimal adjustment set for 100,000 variables in under 1 s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from causal_dsl.graph import CausalGraph, problem
from causal_dsl.identify import identify
from causal_dsl.model import Model, Query

TARGET_SECONDS = 1.0


def random_graph(n: int, seed: int = 1, window: int | None = 100
                 ) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    """Variables in topological order, each with 0-3 parents (1.5 on average) drawn among the
    `window` previous variables (all of them when `window` is None)."""
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(n)]
    directed = []
    for j in range(1, n):
        lo = 0 if window is None else max(0, j - window)
        k = min(j - lo, rng.choice((0, 1, 1, 2, 2, 3)))
        for i in rng.sample(range(lo, j), k):
            directed.append((names[i], names[j]))
    latents = [names[i] for i in rng.sample(range(n), n // 10)]
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < n // 100:
        a, b = sorted(rng.sample(range(n), 2))
        pairs.add((names[a], names[b]))
    return names, directed, sorted(pairs), latents


def pick_query(g: CausalGraph) -> tuple[str, str]:
    """An observed treatment near the middle and the last observed variable below it; among
    the first candidates, one that is confounded (its minimal sets are not empty)."""
    n = len(g.variables)
    latent = g.latents
    fallback = None
    for start in range(n // 2, n):
        t = f"v{start}"
        if t in latent:
            continue
        below = g.descendants(t)
        y = next((f"v{j}" for j in range(n - 1, start, -1)
                  if f"v{j}" in below and f"v{j}" not in latent), None)
        if y is None:
            continue
        fallback = fallback or (t, y)
        if g.adjustment_sets(t, y):
            return t, y
        if start > n // 2 + 20:
            break
    if fallback is None:
        raise SystemExit("no query found")
    return fallback


def timed(func: Callable[[], Any], repeat: int = 3, reset: Callable[[], None] | None = None
          ) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        if reset:
            reset()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


WORKER = r'''
import json, sys, time
spec = json.load(open(sys.argv[1]))
tool = sys.argv[2]
edges = [tuple(e) for e in spec["directed"]]
latents = set(spec["latents"])
for a, b in spec["bidirected"]:  # an explicit latent parent per bidirected edge
    u = f"U_{a}_{b}"
    edges += [(u, a), (u, b)]
    latents.add(u)
t, y = spec["t"], spec["y"]
start = time.perf_counter()
if tool == "dowhy":
    import networkx as nx
    import pandas as pd
    from dowhy import CausalModel
    g = nx.DiGraph(edges)
    g.add_nodes_from(spec["names"])
    observed = [v for v in g.nodes if v not in latents]
    data = pd.DataFrame([[0.0] * len(observed)], columns=observed)
    start = time.perf_counter()
    model = CausalModel(data=data, treatment=t, outcome=y, graph=g)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    answer = sorted(estimand.get_backdoor_variables() or [])
elif tool == "pgmpy":
    try:
        from pgmpy.models import DiscreteBayesianNetwork as Network
    except ImportError:  # pgmpy < 1.0
        from pgmpy.models import BayesianNetwork as Network
    from pgmpy.inference import CausalInference
    model = Network(edges, latents=latents)
    model.add_nodes_from(spec["names"])
    start = time.perf_counter()
    found = CausalInference(model).get_minimal_adjustment_set(t, y)
    answer = None if found is None else sorted(found)
else:
    raise SystemExit(f"unknown tool {tool}")
print(json.dumps({"seconds": time.perf_counter() - start, "answer": answer}))
'''


NX_WORKER = r'''
import json, sys, time
sys.path.insert(0, sys.argv[3])
import networkx as nx
import scipy.sparse.csgraph  # imported before the clock: a start-up cost, not the search
import causal_dsl.graph as cg
spec = json.load(open(sys.argv[1]))
cell = sys.argv[2]
G = nx.DiGraph()
G.add_nodes_from(spec["names"])
G.add_edges_from(tuple(e) for e in spec["directed"])
for v in spec["latents"]:
    G.nodes[v]["latent"] = True
for a, b in spec["bidirected"]:  # the same DiGraph for both: explicit latent parents
    u = f"U_{a}_{b}"
    G.add_edges_from([(u, a), (u, b)])
    G.nodes[u]["latent"] = True
t, y, a, b, zab = spec["t"], spec["y"], spec["a"], spec["b"], set(spec["zab"])
observed = {v for v, lat in G.nodes(data="latent", default=False) if not lat}


def nx_adjustment():
    """What a networkx user writes for one adjustment set: the causal nodes, the forbidden
    set, the proper backdoor graph, then networkx's minimal separator over what is left."""
    cn = nx.descendants(G, t) & (nx.ancestors(G, y) | {y})
    forb, stack = {t} | cn, list(cn)
    while stack:
        for c in G.succ[stack.pop()]:
            if c not in forb:
                forb.add(c)
                stack.append(c)
    pbd = G.copy()
    pbd.remove_edges_from([(t, c) for c in cn if G.has_edge(t, c)])
    return nx.find_minimal_d_separator(pbd, t, y, restricted=(observed - forb) | {t, y})


cells = {
    "convert": lambda: cg.to_causal_graph(G).n,
    "ours_dsep": lambda: cg.is_d_separator(G, a, b, zab),
    "nx_dsep": lambda: nx.is_d_separator(G, a, b, zab),
    "ours_sep": lambda: cg.minimal_adjustment_set(G, a, b),
    "nx_sep": lambda: nx.find_minimal_d_separator(G, a, b, restricted=observed),
    "ours_adj": lambda: cg.minimal_adjustment_set(G, t, y),
    "nx_adj": nx_adjustment,
}
start = time.perf_counter()
answer = cells[cell]()
seconds = time.perf_counter() - start
shown = sorted(answer) if isinstance(answer, set) else answer
print(json.dumps({"seconds": seconds, "answer": shown}))
'''


def pick_pair(g: CausalGraph, y: str) -> tuple[str, str]:
    """Two observed late variables with no directed path between them either way and no
    arrow between them: their separators live in large ancestral sets."""
    above = g.ancestors(y)
    latent = g.latents
    n = len(g.variables)
    for j in range(n - 2, 0, -1):
        a = f"v{j}"
        if a in latent or a in above or y in g.ancestors(a) or a in g.parents(y):
            continue
        return a, y
    raise SystemExit("no pair found")


def run_nx_cell(cell: str, spec_path: Path, timeout: float) -> tuple[float | None, str, Any]:
    """One networkx-graph cell in a fresh process: (seconds or None, what to print, answer)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(NX_WORKER)
        worker = f.name
    root = str(Path(__file__).resolve().parent.parent)
    try:
        done = subprocess.run([sys.executable, worker, str(spec_path), cell, root],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"> {timeout:.0f} s", None
    finally:
        Path(worker).unlink(missing_ok=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"failed: {last[:80]}", None
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["seconds"], f"{out['seconds']:.3f} s", out["answer"]


def bench_networkx(g: CausalGraph, spec: dict[str, Any], args: argparse.Namespace) -> None:
    """The networkx-graph functions against networkx's own, on the same DiGraph."""
    n = len(g.variables)
    a, b = pick_pair(g, spec["y"])
    zab = g.adjustment_sets(a, b)  # a minimal separator of the pair (no causal path a -> b)
    spec = {**spec, "a": a, "b": b, "zab": sorted(zab or [])}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        path = Path(f.name)
    print(f"  networkx DiGraph in, conversion included (each cell its own process; pair {a}, {b})")
    _, took, _ = run_nx_cell("convert", path, args.timeout)
    print(f"    convert (to_causal_graph)     {took:>9}")
    rows = (("d-separation of the pair", "dsep"), ("minimal d-separator of the pair", "sep"),
            ("one minimal adjustment set", "adj"))
    for label, cell in rows:
        ours_s, ours, ours_answer = run_nx_cell(f"ours_{cell}", path, args.timeout)
        if n > args.nx_max and cell != "dsep":
            print(f"    {label:<30}{ours:>9}  (networkx skipped above {args.nx_max:,}: "
                  "quadratic)")
            continue
        nx_s, theirs, nx_answer = run_nx_cell(f"nx_{cell}", path, args.timeout)
        ratio = "" if ours_s is None or nx_s is None else f"ratio {nx_s / max(ours_s, 1e-6):7.1f}x"
        same = (ours_answer is None) == (nx_answer is None) if cell != "dsep" else (
            ours_answer == nx_answer)
        print(f"    {label:<30}{ours:>9}  networkx {theirs:>9}  {ratio}  agree: {same}")
    path.unlink(missing_ok=True)


def has_module(python: str, module: str) -> bool:
    probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=120)
    return probe.returncode == 0


def run_tool(python: str, tool: str, spec_path: Path, timeout: float
             ) -> tuple[float | None, str, list[str] | None]:
    """(seconds or None, what to print, the adjustment set the tool returned)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(WORKER)
        worker = f.name
    try:
        done = subprocess.run([python, worker, str(spec_path), tool], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"> {timeout:.0f} s (stopped)", None
    finally:
        Path(worker).unlink(missing_ok=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"failed: {last[:120]}", None
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["seconds"], f"{out['seconds']:.3f} s", out["answer"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--list", type=int, default=100, help="how many minimal sets to list")
    ap.add_argument("--window", type=int, default=100,
                    help="parents are drawn among this many previous variables (0: all)")
    ap.add_argument("--nx-max", type=int, default=20_000,
                    help="largest size to run networkx's quadratic search on")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds allowed to DoWhy / pgmpy per graph")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter for the DoWhy / pgmpy comparisons")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    others = {tool: has_module(args.python, tool) for tool in ("dowhy", "pgmpy")}
    for tool, ok in others.items():
        if not ok:
            print(f"# {tool}: not installed for {args.python} (pip install .[bench])")
    for n in sizes:
        bench_size(n, args, others)


def bench_size(n: int, args: argparse.Namespace, others: dict[str, bool]) -> None:
    """Time everything on one random graph of `n` variables and print the figures."""
    import networkx as nx

    names, directed, bidirected, latents = random_graph(n, window=args.window or None)
    t0 = time.perf_counter()
    g = CausalGraph(names, directed, bidirected, latents)
    build = time.perf_counter() - t0
    t, y = pick_query(g)
    ancestral = len(g.ancestors([t, y]))
    print(f"\n== {n:,} variables, {len(directed):,} arrows, {len(bidirected):,} bidirected, "
          f"query {t} -> {y} ({ancestral:,} ancestors)")
    print(f"  build the graph                 {build:8.3f} s")

    def reset(graph: CausalGraph = g) -> None:
        graph.forget()  # time the forbidden set and backdoor graph too

    one_s, one = timed(lambda: g.adjustment_sets(t, y), reset=reset)
    verdict = "no valid set" if one is None else f"{len(one)} variables"
    flag = "" if n < 100_000 else (
        f"  (target < {TARGET_SECONDS:.0f} s: {'met' if one_s < TARGET_SECONDS else 'MISSED'},"
        f" {one_s / TARGET_SECONDS:.2f}x)")
    print(f"  one minimal set                 {one_s:8.3f} s  ({verdict}){flag}")
    small_s, small = timed(lambda: g.adjustment_sets(t, y, kind="smallest"), reset=reset)
    print(f"  a smallest set                  {small_s:8.3f} s  "
          f"({'none' if small is None else len(small)})")
    opt_s, opt = timed(lambda: g.optimal_set(t, y), reset=reset)
    print(f"  the O-set                       {opt_s:8.3f} s  "
          f"({'usable' if opt.set is not None else 'not usable: latent parents'})")
    repeat = 1 if n >= 100_000 else 3
    list_s, listed = timed(
        lambda: list(islice(g.adjustment_sets(t, y, kind="all_minimal"), args.list)),
        repeat=repeat, reset=reset)
    per = list_s / max(1, len(listed))
    print(f"  first {args.list} minimal sets         {list_s:8.3f} s  "
          f"({len(listed)} listed, {per * 1000:.1f} ms each)")
    if n <= 10_000:
        ident_s, _ = timed(lambda: identify(Model(), Query("q", "ate", t, y), graph=g), repeat=1,
                               reset=reset)
        print(f"  full identify() report          {ident_s:8.3f} s")
        imp_s, _ = timed(lambda: g.implications(limit=1000), repeat=1)
        print(f"  1,000 testable implications     {imp_s:8.3f} s")
    # networkx on the same moralised problem: the proper backdoor graph, same allowed set
    p = problem(g, t, y)
    if n <= args.nx_max:
        full = g.latent_projection_dag()
        pbd = full.copy()
        causal = g.causal_nodes(t, y)
        pbd.remove_edges_from([(t, c) for c in causal if pbd.has_edge(t, c)])
        observed = g.observed
        allowed = {v for v in observed if v not in (t, y) and not p.is_forbidden(v)}
        nx_s, nx_set = timed(
            lambda: nx.find_minimal_d_separator(pbd, t, y, restricted=allowed), repeat=1)
        same = (nx_set is None) == (one is None)
        print(f"  networkx find_minimal_d_separator {nx_s:6.3f} s  "
              f"(ratio networkx/ours {nx_s / one_s:6.1f}x; agree on existence: {same})")
        if one is not None and n <= 10_000:
            ok = nx.is_d_separator(pbd, {t}, {y}, set(one))
            print(f"  our set checked with networkx.is_d_separator: {ok}")
    else:
        print(f"  networkx find_minimal_d_separator skipped above {args.nx_max:,} "
              "variables (quadratic)")
    bench_networkx(g, {"names": names, "directed": directed, "bidirected": bidirected,
                       "latents": latents, "t": t, "y": y}, args)
    if any(others.values()):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"names": names, "directed": directed, "bidirected": bidirected,
                       "latents": latents, "t": t, "y": y}, f)
            spec = Path(f.name)
        for tool, ok in others.items():
            if ok:
                label = {"dowhy": "DoWhy identify_effect",
                         "pgmpy": "pgmpy get_minimal_adjustment_set"}[tool]
                seconds, took, answer = run_tool(args.python, tool, spec, args.timeout)
                ratio = ""
                if seconds is not None:
                    ratio = f"  (ratio {tool}/ours {seconds / max(one_s, 1e-4):9.1f}x"
                    if answer is not None:
                        ok = g.is_adjustment_set(t, y, answer)
                        ratio += f"; its {len(answer)}-variable set valid by our criterion: {ok}"
                    ratio += ")"
                print(f"  {label:<34}{took:>8}{ratio}")
        spec.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
