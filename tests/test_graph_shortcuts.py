"""The shortcuts that let a large graph skip a vectorised search (issue 16) must give the
answer of the search they skip: `open_trek` may only claim d-connections that networkx's
`is_d_separator` confirms, `d_separated` must agree with the plain Bayes-ball with it in
front, and the plain-first X-side pass of a `SeparationProblem` must give the vectorised
pass's boundary."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

import causal_dsl.graph.separators as sep
from causal_dsl.graph import CausalGraph
from causal_dsl.graph.adjustment import problem


def _dag(seed: int, n: int) -> tuple[list[list[int]], list[list[int]]]:
    rng = random.Random(seed)
    pa: list[list[int]] = [[] for _ in range(n)]
    ch: list[list[int]] = [[] for _ in range(n)]
    for a in range(n):
        for b in range(a + 1, min(n, a + 6)):
            if rng.random() < 0.35:
                pa[b].append(a)
                ch[a].append(b)
    return pa, ch


def _nx(pa: list[list[int]]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(len(pa)))
    g.add_edges_from((p, c) for c, ps in enumerate(pa) for p in ps)
    return g


@pytest.mark.parametrize("seed", range(30))
def test_an_open_trek_is_a_d_connection(seed: int) -> None:
    n = 30
    pa, ch = _dag(seed, n)
    g = _nx(pa)
    rng = random.Random(seed)
    claimed = 0
    for _ in range(20):
        x, y = rng.sample(range(n), 2)
        z = [v for v in rng.sample(range(n), rng.randrange(0, 6)) if v not in (x, y)]
        if sep.open_trek([x], [y], sep.mask(n, z), pa, ch):
            claimed += 1
            assert not nx.is_d_separator(g, {x}, {y}, set(z))
    assert claimed > 0


def test_an_open_trek_never_passes_a_collider_or_a_conditioned_node() -> None:
    # a -> c <- b: only through the collider c; a -> m -> b: through m
    pa = [[], [], [0, 1]]
    ch = [[2], [2], []]
    assert not sep.open_trek([0], [1], bytearray(3), pa, ch)
    assert not sep.open_trek([0], [1], sep.mask(3, [2]), pa, ch)  # open, but not a trek
    pa, ch = [[], [0], [1]], [[1], [2], []]
    assert sep.open_trek([0], [2], bytearray(3), pa, ch)
    assert not sep.open_trek([0], [2], sep.mask(3, [1]), pa, ch)
    assert not sep.open_trek([0], [2], sep.mask(3, [2]), pa, ch)  # a conditioned target


@pytest.mark.parametrize("seed", range(20))
def test_d_separation_with_the_shortcut_agrees_with_the_plain_search(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sep, "FAST_MIN", 0)
    monkeypatch.setattr(sep, "SMALL_REGION", 0)
    n = 40
    pa, ch = _dag(seed, n)
    src = np.array([p for c, ps in enumerate(pa) for p in ps], dtype=np.int64)
    dst = np.array([c for c, ps in enumerate(pa) for _ in ps], dtype=np.int64)
    edges = sep.EdgeArrays(src, dst)
    rng = random.Random(seed)
    for _ in range(15):
        x, y = rng.sample(range(n), 2)
        given = sep.mask(n, [v for v in rng.sample(range(n), rng.randrange(0, 8))
                             if v not in (x, y)])
        plain = not sep.dconnected([x], given, pa, ch, n)[y]
        assert sep.d_separated([x], [y], given, pa, ch, n, edges) == plain
        assert sep.d_separated([x], [y], given, pa, ch, n, edges, try_small=False) == plain


@pytest.mark.parametrize("seed", range(15))
def test_the_plain_first_x_pass_matches_the_vectorised_one(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # FAST_MIN = 10: vectorised searches on these graphs, and a plain attempt of 11 visits
    monkeypatch.setattr(sep, "FAST_MIN", 10)
    rng = random.Random(seed)
    n = 50
    names = [f"v{i}" for i in range(n)]
    directed = sorted({(names[a], names[b]) for a in range(n) for b in range(a + 1, min(n, a + 7))
                       if rng.random() < 0.3})
    g = CausalGraph(names, directed, latents=[names[i] for i in range(n) if rng.random() < 0.15])
    observed = sorted(g.observed)
    plain_used = 0
    for _ in range(6):
        t, y = sorted(rng.sample(observed, 2), key=g.variables.index)
        s = problem(g, t, y).separation()
        if s.arcs is None:  # a small ancestral set: no vectorised search to compare with
            continue
        plain_used += sep._moral_search(s.pa, s.ch, s.n, s.in_a, s.xs, s.cand, s.removed,
                                        None, 11) is not None
        seen, boundary = s._from_x()
        vec_seen, vectorised = s._search(s.xs, s.cand)
        assert boundary == vectorised
        assert [seen[v] for v in s.ys] == [vec_seen[v] for v in s.ys]
    assert plain_used  # the plain attempt ran (and was compared)
