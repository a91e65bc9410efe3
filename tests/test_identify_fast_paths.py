"""The vectorised searches of issue 16 against their plain twins, on random graphs small enough
to search both ways: the node-filtered breadth-first search (`Csr.reach`), the distances that
bound the path listing (`distances_np`), the listing itself, and the minimum cut laid out
directly as a compressed matrix. Each must give exactly the plain search's answer (the same
set, the same paths in the same order), since ``causal identify`` prints them."""

from __future__ import annotations

import random

import numpy as np
import pytest

import causal_dsl.graph.separators as sep
from causal_dsl.graph import CausalGraph
from causal_dsl.graph.arrays import distances_np
from causal_dsl.graph.mincut import min_vertex_cut, min_vertex_cut_np
from causal_dsl.graph.pathsearch import _distances, enumerate_paths


def _graph(seed: int, n: int = 60) -> CausalGraph:
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(n)]
    directed = {(names[a], names[b]) for a in range(n) for b in range(a + 1, min(n, a + 7))
                if rng.random() < 0.3}
    bidirected = {(names[a], names[a + rng.randrange(1, 5)]) for a in range(n - 5)
                  if rng.random() < 0.08}
    latents = [names[i] for i in range(n) if rng.random() < 0.1]
    return CausalGraph(names, sorted(directed), sorted(bidirected), latents)


def _mask(found: np.ndarray) -> bytearray:
    return bytearray(found.view(np.uint8).tobytes())


@pytest.fixture
def vectorised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sep, "FAST_MIN", 0)
    monkeypatch.setattr(sep, "SMALL_REGION", 0)
    import causal_dsl.graph.pathsearch as ps
    monkeypatch.setattr(ps, "FAST_MIN", 0)


@pytest.mark.parametrize("seed", range(10))
def test_node_filtered_reach_is_the_arc_filtered_search(seed: int, vectorised: None) -> None:
    """A node that may not be entered is reached but never left, then dropped: the same set
    as removing every arc into it (a plain walk over the arcs kept)."""
    g = _graph(seed)
    edges = g._edges()
    assert edges is not None
    n = g.n
    hub = sep.as_edge_arrays(edges).adjacency("hub", n)
    rng = np.random.default_rng(seed)
    arcs = list(zip(hub.rows.tolist(), hub.indices[:hub.m].tolist(), strict=True))
    for _ in range(8):
        expandable = rng.random(2 * n) < 0.8
        enterable = rng.random(2 * n) < 0.8
        starts = rng.choice(2 * n, size=3, replace=False).tolist()
        seen = set(starts)
        stack = list(starts)
        while stack:
            u = stack.pop()
            if not expandable[u]:
                continue
            for a, w in arcs:
                if a == u and enterable[w] and w not in seen:
                    seen.add(w)
                    stack.append(w)
        got = hub.reach(starts, expandable, enterable)
        assert set(np.flatnonzero(got).tolist()) == seen
        only_in = hub.reach(starts, None, enterable)
        assert set(np.flatnonzero(only_in).tolist()) >= set(starts)


@pytest.mark.parametrize("seed", range(10))
def test_vectorised_distances_and_paths(seed: int, vectorised: None) -> None:
    g = _graph(seed)
    edges = g._edges()
    assert edges is not None
    rng = random.Random(seed)
    observed = [i for i in range(g._n_vars) if not g._latent[i]]
    for _ in range(6):
        x, y = sorted(rng.sample(observed, 2))
        allowed = sep.closure((x, y), g._pa, g.n) if rng.random() < 0.5 else None
        enterable = sep._bools(allowed, g.n)
        enterable[x] = False
        assert distances_np(edges, g.n, y, enterable) == _distances(
            g._pa, g._ch, g.n, x, y, allowed)
        given = sep.mask(g.n, rng.sample(observed, 3))
        given[x] = given[y] = 0
        for backdoor_only, open_only in ((True, False), (False, True)):
            kw = {"backdoor_only": backdoor_only, "open_only": open_only, "given": given,
                  "allowed": allowed, "limit": 7, "budget": 400}
            assert enumerate_paths(g._pa, g._ch, g.n, x, y, edges=edges, **kw) == \
                enumerate_paths(g._pa, g._ch, g.n, x, y, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(12))
def test_minimum_cut_is_the_plain_cut(seed: int, vectorised: None) -> None:
    """The source side of the cut nearest to X is the same for every maximum flow, so the
    compiled and the plain augmenting-path cut are the same set, and a separator."""
    g = _graph(seed)
    rng = random.Random(seed)
    observed = [i for i in range(g._n_vars) if not g._latent[i]]
    checked = 0
    for _ in range(8):
        t, y = sorted(rng.sample(observed, 2))
        allowed = bytearray(1 - b for b in g._latent)
        allowed[t] = allowed[y] = 0
        inc = [v for v in rng.sample(observed, 2) if v not in (t, y)][:1]
        p = sep.SeparationProblem.build(g._pa, g._ch, g.n, (t,), (y,), inc, allowed,
                                        g._edges())
        if not p.exists():
            continue
        assert p.arcs is not None
        fast = min_vertex_cut_np(p)
        assert fast == min_vertex_cut(p)
        z = sep.mask(g.n, [*fast, *inc])
        assert sep.d_separated((t,), (y,), z, g._pa, g._ch, g.n)
        checked += 1
    assert checked


@pytest.mark.parametrize("seed", range(10))
def test_treks_are_the_nodes_dconnected_given_nothing(seed: int, vectorised: None) -> None:
    from causal_dsl.graph.adjustment import problem
    from causal_dsl.graph.instruments import treks

    g = _graph(seed)
    edges = g._edges()
    assert edges is not None
    none = bytearray(g.n)
    for v in range(0, g.n, 3):
        assert _mask(treks(v, edges, g.n)) == sep.dconnected((v,), none, g._pa, g._ch, g.n)
    observed = [i for i in range(g._n_vars) if not g._latent[i]]
    t, y = observed[0], observed[-1]
    p = problem(g, g._names[t], g._names[y])
    assert p.edges is not None
    assert _mask(treks(y, p.edges, g.n)) == sep.dconnected((y,), none, p.pa, p.ch, g.n)
