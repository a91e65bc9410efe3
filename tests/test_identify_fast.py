"""The separator search shares its two FINDSEP passes between `exists`, `minimal`,
`all_minimal` and `smallest` (issue 16): the answers must not depend on which is asked first,
nor on whether the passes were searched before, on the plain and on the vectorised path."""

from __future__ import annotations

import random

import pytest

import causal_dsl.graph.separators as sep
from causal_dsl.graph import CausalGraph


def _graph(seed: int, n: int = 40) -> CausalGraph:
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(n)]
    directed = {(names[a], names[b]) for a in range(n) for b in range(a + 1, min(n, a + 6))
                if rng.random() < 0.35}
    bidirected = {(names[a], names[a + rng.randrange(1, 5)]) for a in range(n - 5)
                  if rng.random() < 0.08}
    latents = [names[i] for i in range(n) if rng.random() < 0.1]
    return CausalGraph(names, sorted(directed), sorted(bidirected), latents)


def _problem(g: CausalGraph, t: int, y: int) -> sep.SeparationProblem:
    allowed = bytearray(1 - b for b in g._latent)
    allowed[t] = allowed[y] = 0
    return sep.SeparationProblem.build(g._pa, g._ch, g.n, (t,), (y,), (), allowed, g._edges())


ORDERS = [
    ("exists", "minimal", "all", "smallest"),
    ("all", "smallest", "minimal", "exists"),
    ("smallest", "all", "exists", "minimal"),
    ("minimal", "all", "all", "minimal"),
]


def _ask(p: sep.SeparationProblem, what: str) -> object:
    if what == "exists":
        return p.exists()
    if what == "minimal":
        return p.minimal()
    if what == "smallest":
        return p.smallest()
    return list(p.all_minimal())


@pytest.mark.parametrize("vectorised", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_answers_do_not_depend_on_the_order_asked(seed: int, vectorised: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if vectorised:
        monkeypatch.setattr(sep, "FAST_MIN", 0)
        monkeypatch.setattr(sep, "SMALL_REGION", 0)
    g = _graph(seed)
    rng = random.Random(seed)
    observed = [i for i in range(g._n_vars) if not g._latent[i]]
    checked = 0
    for _ in range(6):
        t, y = sorted(rng.sample(observed, 2))
        # each question asked of a fresh search: the reference answers
        fresh = {w: _ask(_problem(g, t, y), w) for w in ("exists", "minimal", "smallest", "all")}
        for order in ORDERS:
            p = _problem(g, t, y)
            for what in order:
                assert _ask(p, what) == fresh[what], (t, y, order, what)
        if fresh["exists"]:
            checked += 1
            minimal = fresh["minimal"]
            listed = fresh["all"]
            assert isinstance(listed, list) and minimal in listed
            assert len(listed) == len({tuple(z) for z in listed})  # each set once
            z = sep.mask(g.n, minimal)  # type: ignore[arg-type]
            assert sep.d_separated((t,), (y,), z, g._pa, g._ch, g.n)
    assert checked  # the graphs are built so that some pairs can be separated


def test_all_minimal_leaves_the_shared_pass_untouched() -> None:
    """`all_minimal` clears the separator out of the Y-side mask it starts from; it must do
    so on a copy, or a second listing would start from a changed state."""
    g = CausalGraph(["a", "b", "t", "y"], [("a", "t"), ("a", "y"), ("b", "t"), ("b", "y")])
    p = _problem(g, g._index["t"], g._index["y"])
    first = list(p.all_minimal())
    reached = bytes(p._from_y()[0])
    assert list(p.all_minimal()) == first == [[0, 1]]
    assert bytes(p._from_y()[0]) == reached
