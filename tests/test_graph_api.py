"""The public surface of `causal_dsl.graph`: the one recommendation policy, adjustment-set
checks with their reasons, paths, neighbourhoods and single-pair implications, checked on
hand-built graphs and against networkx on random ones."""

from __future__ import annotations

import itertools
import json
import random

import networkx as nx
import pytest

import causal_dsl
import causal_dsl.graph as graph
from causal_dsl.errors import GraphError
from causal_dsl.graph import (
    CausalGraph,
    adjustment_set_reason,
    directed_path,
    is_adjustment_set,
    pair_implication,
    problem,
    recommend,
)
from causal_dsl.identify import identify
from causal_dsl.model import Model, Query


def test_public_names_exist_and_say_why() -> None:
    for name in graph.__all__:
        value = getattr(graph, name)
        if callable(value):
            assert value.__doc__, f"{name} has no docstring"


# --- recommend(): the O-set when observable, else a smallest set ---------------------------
def test_recommend_takes_the_o_set_when_it_is_observed() -> None:
    # the O-set {a, c} (parents of the causal nodes) beats the smallest set {a}
    g = CausalGraph("atcy", [("a", "t"), ("a", "y"), ("t", "y"), ("c", "y")])
    r = recommend(g, "t", "y")
    assert r.kind == "optimal" and r.set == {"a", "c"} and r.identifiable
    assert r.optimal.set == r.set and "is the O-set" in r.optimal.note


def test_recommend_falls_back_to_a_smallest_set_when_the_o_set_is_latent() -> None:
    # y's parent u is latent: the O-set {u} cannot be used; {a} blocks t <- a <- u -> y
    g = CausalGraph("uaty", [("u", "a"), ("a", "t"), ("u", "y"), ("t", "y")], latents=["u"])
    r = recommend(g, "t", "y")
    assert r.kind == "smallest" and r.set == {"a"}
    assert r.optimal.set is None and "latent variable u" in r.optimal.note


def test_recommend_says_when_nothing_works() -> None:
    g = CausalGraph("uty", [("u", "t"), ("u", "y"), ("t", "y")], latents=["u"])
    r = recommend(g, "t", "y")
    assert r.set is None and r.kind == "" and not r.identifiable


def test_recommend_honours_the_query_sets_and_raises_graph_errors() -> None:
    g = CausalGraph("abty", [("a", "t"), ("a", "y"), ("b", "a"), ("b", "y"), ("t", "y")])
    assert recommend(g, "t", "y").set == {"a", "b"}
    r = recommend(g, "t", "y", exclude={"b"})  # {a} still blocks t <- a <- b -> y
    assert (r.set, r.kind) == ({"a"}, "smallest") and "never adjust for" in r.optimal.note
    assert recommend(g, "t", "y", exclude={"a"}).set is None
    with pytest.raises(GraphError) as err:
        recommend(g, "t", "y", include={"y"})
    assert err.value.diagnostics[0].code == "E306"


def _random_graph(seed: int) -> tuple[CausalGraph, nx.DiGraph, str, str]:
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(7)]
    edges = [(names[i], names[j]) for i, j in itertools.combinations(range(7), 2)
             if rng.random() < 0.35]
    latents = [v for v in names[1:-1] if rng.random() < 0.2]
    dag = nx.DiGraph(edges)
    dag.add_nodes_from(names)
    observed = [v for v in names if v not in latents]
    t, y = rng.sample(observed, 2)
    return CausalGraph(names, edges, latents=latents), dag, t, y


@pytest.mark.parametrize("seed", range(60))
def test_recommend_is_what_identify_reports_and_is_valid_and_small(seed: int) -> None:
    g, _, t, y = _random_graph(seed)
    r = recommend(g, t, y)
    ident = identify(Model(), Query("q", "ate", t, y), graph=g)
    assert (r.set, r.kind) == (ident.adjustment_set, ident.recommended)
    if r.set is None:
        return
    assert is_adjustment_set(g, t, y, r.set) and not r.set & g.latents
    if r.kind == "smallest":  # no valid observed set is smaller
        candidates = sorted(g.observed - {t, y} - g.forbidden(t, y))
        for k in range(len(r.set)):
            for z in itertools.combinations(candidates, k):
                assert not is_adjustment_set(g, t, y, z)


# --- is_adjustment_set, with the reason when it fails --------------------------------------
def test_reasons_name_the_mediator_the_open_path_and_the_opened_collider() -> None:
    g = CausalGraph("ctmyabk", [("c", "t"), ("c", "y"), ("t", "m"), ("m", "y"), ("a", "t"),
                                ("a", "k"), ("b", "k"), ("b", "y")])
    assert adjustment_set_reason(g, "t", "y", {"c", "m"}) == (
        "m is a mediator, on the causal path t -> m -> y")
    assert adjustment_set_reason(g, "t", "y", set()) == "the path t <- c -> y stays open"
    assert adjustment_set_reason(g, "t", "y", {"c", "k"}) == (
        "conditioning on k opens the path t <- a -> k <- b -> y (k is a collider on it)")
    assert adjustment_set_reason(g, "t", "y", {"c", "k", "b"}) is None
    with pytest.raises(GraphError):
        adjustment_set_reason(g, "t", "y", {"nope"})


@pytest.mark.parametrize("seed", range(60))
def test_a_reason_is_given_exactly_when_the_set_is_not_valid(seed: int) -> None:
    g, dag, t, y = _random_graph(seed)
    rng = random.Random(seed)
    others = [v for v in g.variables if v not in (t, y)]
    for _ in range(5):
        z = set(rng.sample(others, rng.randint(0, len(others))))
        valid = is_adjustment_set(g, t, y, z)
        assert (adjustment_set_reason(g, t, y, z) is None) == valid
        # the criterion, independently: no forbidden member, and z d-separates t and y
        # once the first edge of every causal path is removed
        causal = nx.descendants(dag, t) & (nx.ancestors(dag, y) | {y})
        forb = set().union(*(nx.descendants(dag, c) | {c} for c in causal)) | {t}
        pbd = dag.copy()
        pbd.remove_edges_from([(t, c) for c in causal if pbd.has_edge(t, c)])
        assert valid == (not z & forb and nx.is_d_separator(pbd, {t}, {y}, z))


def test_the_problem_answers_in_names() -> None:
    g = CausalGraph("ctmy", [("c", "t"), ("c", "y"), ("t", "m"), ("m", "y")])
    p = problem(g, "t", "y")
    assert (p.treatment, p.outcome, p.causal_path) == ("t", "y", True)
    assert p.is_forbidden("m") and not p.is_forbidden("c")
    assert p.separates({"c"}) and not p.separates(set())
    assert p.minimal() == {"c"} and p.smallest() == {"c"} and p.largest() == {"c"}
    assert list(p.all_minimal()) == [frozenset({"c"})]
    assert problem(g, "t", "y") is p  # asked again: the same (cached) question


# --- views, paths and implications ---------------------------------------------------------
@pytest.mark.parametrize("seed", range(30))
def test_neighbourhoods_and_directed_paths_agree_with_networkx(seed: int) -> None:
    g, dag, t, y = _random_graph(seed)
    assert g.descendants(t) == nx.descendants(dag, t) | {t}
    assert g.ancestors(y) == nx.ancestors(dag, y) | {y}
    assert set(g.children(t)) == set(dag.successors(t))
    assert set(g.parents(y)) == set(dag.predecessors(y))
    path = directed_path(g, t, y)
    if nx.has_path(dag, t, y):
        assert path is not None and len(path) == nx.shortest_path_length(dag, t, y) + 1
        assert all(dag.has_edge(a, b) for a, b in itertools.pairwise(path))
    else:
        assert path is None
    assert "v0" in g and "nope" not in g


def test_pair_implications_are_true_minimal_and_skip_adjacent_pairs() -> None:
    g = CausalGraph("abcd", [("a", "b"), ("b", "c"), ("a", "d"), ("d", "c")])
    found, work = pair_implication(g, "c", "a")
    assert found is not None and str(found) == "a ⊥ c | b, d" and work > 0
    assert g.d_separated({"a"}, {"c"}, found.given)
    assert all(not g.d_separated({"a"}, {"c"}, found.given - {z}) for z in found.given)
    assert pair_implication(g, "a", "b") == (None, 1)  # adjacent
    assert pair_implication(g, "a", "nope") == (None, 0)


def test_values_give_data_and_json_strings() -> None:
    s = causal_dsl.parse("var c: binary\nvar t: binary\nvar y: count\nc -> {t, y}\nt -> y\n")
    g = s.graph()
    path = g.backdoor_paths("t", "y").paths[0]
    assert path.to_dict()["path"] == "t <- c -> y"
    assert json.loads(path.to_json()) == path.to_dict()
    imp = graph.Implication("a", "b", frozenset({"c"}))
    assert json.loads(imp.to_json()) == {"x": "a", "y": "b", "given": ["c"], "text": "a ⊥ b | c"}
    assert json.loads(graph.Instrument("z").to_json()) == {"instrument": "z", "given": []}
