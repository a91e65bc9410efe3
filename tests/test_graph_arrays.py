"""The compressed adjacencies of `causal_dsl.graph.arrays` (issue 16): a graph with edges
removed (`EdgeArrays.subset`, e.g. a proper backdoor graph) keeps its parent's arcs and sends
the removed ones to a dead end. Every search on it must answer what a graph rebuilt from the
remaining edges answers, and the minimum cut must match the plain augmenting-path one, with
either of scipy's maximum-flow methods."""

from __future__ import annotations

import gc
import random

import numpy as np
import pytest

import causal_dsl
import causal_dsl.graph.separators as sep
from causal_dsl.graph import CausalGraph
from causal_dsl.graph.adjustment import problem
from causal_dsl.graph.arrays import EdgeArrays, distances_np
from causal_dsl.graph.mincut import boundary_is_minimum, min_vertex_cut, min_vertex_cut_np
from causal_dsl.graph.pathsearch import _distances
from causal_dsl.identify import identify_report

KINDS = ("children", "parents", "skeleton", "hub", "ball")


def _dag(seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    pairs = sorted({(a, b) for a in range(n) for b in range(a + 1, min(n, a + 8))
                    if rng.random() < 0.3})
    return (np.array([a for a, _ in pairs], dtype=np.int64),
            np.array([b for _, b in pairs], dtype=np.int64))


def _size(kind: str, n: int) -> int:
    return 2 * n if kind in ("hub", "ball") else n


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", KINDS)
def test_subset_searches_match_a_rebuilt_graph(seed: int, kind: str) -> None:
    n = 60
    src, dst = _dag(seed, n)
    rng = np.random.default_rng(seed)
    keep = rng.random(len(src)) < 0.7
    full = EdgeArrays(src, dst)
    full.adjacency(kind, n)  # the parent's adjacency exists before the subset is taken
    derived = full.subset(keep).adjacency(kind, n)
    rebuilt = EdgeArrays(src[keep], dst[keep]).adjacency(kind, n)
    size = _size(kind, n)
    for _ in range(5):
        starts = rng.choice(size, size=3, replace=False).tolist()
        expandable = rng.random(size) < 0.8
        enterable = rng.random(size) < 0.8
        assert np.array_equal(derived.reach(starts), rebuilt.reach(starts))
        assert np.array_equal(derived.reach(starts, expandable, enterable),
                              rebuilt.reach(starts, expandable, enterable))
        assert np.array_equal(derived.reach(starts, None, enterable),
                              rebuilt.reach(starts, None, enterable))
        assert np.array_equal(derived.reach(starts, expandable, None),
                              rebuilt.reach(starts, expandable, None))


@pytest.mark.parametrize("seed", range(8))
def test_a_subset_of_a_subset_is_one_mask_over_the_root(seed: int) -> None:
    n = 60
    src, dst = _dag(seed, n)
    rng = np.random.default_rng(seed)
    first = rng.random(len(src)) < 0.8
    once = EdgeArrays(src, dst).subset(first)
    second = rng.random(len(once[0])) < 0.8
    twice = once.subset(second)
    rebuilt = EdgeArrays(src[first][second], dst[first][second])
    for kind in KINDS:
        starts = [0, 7, 30]
        assert np.array_equal(twice.adjacency(kind, n).reach(starts),
                              rebuilt.adjacency(kind, n).reach(starts))


@pytest.mark.parametrize("seed", range(8))
def test_distances_on_a_subset_match_the_plain_search(seed: int) -> None:
    n = 60
    src, dst = _dag(seed, n)
    keep = np.random.default_rng(seed).random(len(src)) < 0.7
    pa: list[list[int]] = [[] for _ in range(n)]
    ch: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(src[keep].tolist(), dst[keep].tolist(), strict=True):
        pa[b].append(a)
        ch[a].append(b)
    x, y = 3, n - 5
    enterable = np.ones(n, dtype=bool)
    enterable[x] = False
    got = distances_np(EdgeArrays(src, dst).subset(keep), n, y, enterable)
    assert got == _distances(pa, ch, n, x, y, None)


def _graph(seed: int, n: int = 45) -> CausalGraph:
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(n)]
    directed = {(names[a], names[b]) for a in range(n) for b in range(a + 1, min(n, a + 7))
                if rng.random() < 0.3}
    bidirected = {(names[a], names[a + rng.randrange(1, 5)]) for a in range(n - 5)
                  if rng.random() < 0.06}
    latents = [names[i] for i in range(n) if rng.random() < 0.1]
    return CausalGraph(names, sorted(directed), sorted(bidirected), latents)


@pytest.mark.parametrize("seed", range(25))
def test_minimum_cut_in_the_backdoor_graph_matches_the_plain_one(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sep, "FAST_MIN", 0)
    monkeypatch.setattr(sep, "SMALL_REGION", 0)
    g = _graph(seed)
    rng = random.Random(seed)
    observed = sorted(g.observed)
    for _ in range(4):
        t, y = sorted(rng.sample(observed, 2), key=g.variables.index)
        p = problem(g, t, y)
        s = p.separation()
        assert s.arcs is not None  # the vectorised path, on the backdoor graph's subset
        if not s.exists():
            continue
        plain = min_vertex_cut(s)
        assert min_vertex_cut_np(s) == plain  # Dinic
        assert min_vertex_cut_np(s, bound=1) == plain  # Edmonds-Karp: the same source side


@pytest.mark.parametrize("seed", range(40))
def test_disjoint_paths_certify_the_boundary_only_when_it_is_the_flow_cut(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # `boundary_is_minimum` lets `smallest` skip the flow: it may say True only when the
    # X-side boundary is the cut the flow returns, and must say False when a smaller cut exists
    monkeypatch.setattr(sep, "FAST_MIN", 0)
    monkeypatch.setattr(sep, "SMALL_REGION", 0)
    g = _graph(seed, 40 + seed % 3 * 10)
    rng = random.Random(seed)
    observed = sorted(g.observed)
    said = {True: 0, False: 0}
    for _ in range(6):
        t, y = sorted(rng.sample(observed, 2), key=g.variables.index)
        s = problem(g, t, y).separation()
        if not s.exists():
            continue
        boundary = s._from_x()[1]
        plain = min_vertex_cut(s)
        certified = boundary_is_minimum(s, boundary)
        said[certified] += 1
        if certified:
            assert plain == sorted(boundary)
        if len(plain) < len(boundary):
            assert not certified
        assert s.smallest() == sorted(set(plain) | set(s.include))
    assert sum(said.values()) > 0


def test_a_boundary_wider_than_the_cut_behind_it_is_not_certified(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # t's neighbours b1, b2 both lead to y only through c: the boundary {b1, b2} is a
    # separator, but {c} is the minimum cut
    monkeypatch.setattr(sep, "FAST_MIN", 0)
    monkeypatch.setattr(sep, "SMALL_REGION", 0)
    g = CausalGraph(["b1", "b2", "t", "c", "y"],
                    [("b1", "t"), ("b2", "t"), ("c", "b1"), ("c", "b2"), ("c", "y")])
    s = problem(g, "t", "y").separation()
    assert s.arcs is not None and s._from_x()[1] == [0, 1]
    assert not boundary_is_minimum(s, [0, 1])
    assert boundary_is_minimum(s, [3])  # c alone: one path t - b1 - c - y through it
    assert s.smallest() == [3] == min_vertex_cut(s)


STUDY = """var a: binary
var t: binary
var m: continuous
var y: continuous
a -> {t, y}
t -> m -> y
query q: ate(t -> y)
"""


def test_identify_report_leaves_the_collector_as_it_found_it() -> None:
    study = causal_dsl.parse(STUDY)
    before = gc.get_freeze_count()
    out = identify_report(study)
    assert "adjust for: {a}" in out
    assert gc.get_freeze_count() == before
    assert gc.isenabled()


def test_identify_report_keeps_the_hosts_own_freeze() -> None:
    study = causal_dsl.parse(STUDY)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        identify_report(study)
        assert gc.get_freeze_count() == frozen  # not unfrozen behind the host's back
    finally:
        gc.unfreeze()
