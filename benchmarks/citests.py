"""Size and power of the implication tests (`causal_dsl.checks.local_tests`), and their cost.

In: nothing (data simulated with seeds 0..R−1). Out on stdout, for a mixed-type DAG
(continuous, binary, categorical):

* **size** — data simulated from the DAG itself: the share of replications in which each
  implication is rejected at the nominal α (unadjusted p; should be ≈ α), and the share in which
  Holm rejects anything (should be ≤ α);
* **power** — data simulated with one arrow the DAG lacks (``a -> d`` of strength `--effect`):
  the share of replications in which the implication it breaks (``a ⊥ d | b``) is rejected
  after Holm;
* **cost** — seconds per `local_tests` call at n and 10·n rows (linear in n).

Run from the repository root:

    python benchmarks/citests.py [--reps 200] [--n 1000] [--alpha 0.05] [--effect 0.1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import causal_dsl
from causal_dsl.checks import graph_answers, local_tests

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


def simulate(n: int, seed: int, a_to_d: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = (rng.random(n) < 1 / (1 + np.exp(-a))).astype(int)
    c = rng.choice(["x", "y", "z"], n)
    d = b + (c == "y") + a_to_d * a + rng.normal(size=n)
    e = (rng.random(n) < 1 / (1 + np.exp(-(a + (c == "z"))))).astype(int)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "e": e})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--effect", type=float, default=0.1)
    args = ap.parse_args()
    model = causal_dsl.parse(STUDY)
    implications, _ = graph_answers(model)
    print(f"{len(implications)} implications, {args.reps} replications of {args.n} rows, "
          f"alpha = {args.alpha}")
    raw: dict[str, int] = {}
    family = power = 0
    for seed in range(args.reps):
        res = local_tests(model, simulate(args.n, seed), implications, alpha=args.alpha)
        family += bool(res.rejected)
        for t in res.items:
            raw[t.text] = raw.get(t.text, 0) + bool((t.p_value or 1) < args.alpha)
        broken = local_tests(model, simulate(args.n, 10_000 + seed, args.effect), implications,
                             alpha=args.alpha)
        power += any(t.x == "a" and t.y == "d" for t in broken.rejected)
    print("size (DAG right), unadjusted rejection rate per implication:")
    for text, k in sorted(raw.items()):
        test = next(t.test for t in res.items if t.text == text)
        print(f"  {text:<18} {k / args.reps:6.3f}   {test}")
    print(f"  any rejection after Holm (family-wise): {family / args.reps:.3f}")
    print(f"power (missing arrow a -> d, effect {args.effect}): a ⊥ d | b rejected after Holm "
          f"in {power / args.reps:.3f}")
    for n in (args.n, 10 * args.n):
        df = simulate(n, 0)
        start = time.perf_counter()
        local_tests(model, df, implications)
        print(f"cost: {n:>7} rows: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
