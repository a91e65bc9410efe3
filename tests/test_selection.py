"""Selection nodes (`selected s`): identification under selection follows DAGitty's criterion
(jslib GraphAnalyzer.isAdjustmentSet / listMsasTotalEffect): Z is valid iff no member is
forbidden, Z ∪ S d-separates t and y in the proper back-door graph, and y ⊥ S there given
nothing. Checked on hand-worked graphs, against a brute-force implementation of that rule on
random graphs, and on simulated data (an estimate in the selected sample covers the truth when
the criterion holds)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl.errors import ModelError


def _study(arrows: str, query: str = "query q: ate(t -> y)") -> causal_dsl.Study:
    names = sorted(set(arrows.replace("->", " ").replace("{", " ").replace("}", " ")
                       .replace(",", " ").split()) - {"s"})
    decls = "".join(f"var {n}: continuous\n" for n in names)
    return causal_dsl.parse(decls + "selected s\n" + arrows + "\n" + query + "\n")


@pytest.mark.parametrize(("arrows", "identifiable", "sets"), [
    ("t -> y\nt -> s", True, [set()]),  # selection on the treatment alone: harmless
    ("t -> y\ny -> s", False, None),  # selection on the outcome: never
    ("t -> y\nc -> {t, y}\nc -> s", False, None),  # y <- c -> s open given nothing
    ("t -> y\nc -> {t, y}\nt -> s", False, None),  # y <- c -> t -> s
    ("t -> y\nc -> {t, y, s}\nb -> s", False, None),
    ("t -> y\nc -> {t, y}\nb -> {t, s}", True, [{"c"}]),  # b: s–t only, y ⊥ s
])
def test_hand_worked(arrows: str, identifiable: bool, sets: list[set[str]] | None) -> None:
    ident = _study(arrows).identify()
    assert ident.identifiable is identifiable
    assert "selected on {s}" in ident.reasons[0]
    if sets is not None:
        assert [set(z) for z in ident.minimal_sets] == sets
        assert "s" not in (ident.adjustment_set or ())


def test_proposed_set_is_checked_under_selection() -> None:
    study = _study("t -> y\nc -> {t, y}\nb -> {t, s}",
                   "query q: ate(t -> y) adjusting {c}")
    ident = study.identify()
    assert ident.proposed is not None and ident.proposed.valid
    assert ident.proposed.adjusting == {"c"}


def test_selected_cannot_be_asked_about_or_kept_out() -> None:
    for query in ("query q: ate(s -> y)", "query q: ate(t -> y) never adjust for {s}"):
        with pytest.raises(ModelError) as info:
            _study("t -> y\nt -> s", query)
        assert info.value.diagnostics[0].code == "E229"


def _dagitty_rule(g: nx.DiGraph, t: str, y: str, s: set[str], z: set[str]) -> bool:
    """DAGitty's isAdjustmentSet, written out with networkx (an independent implementation)."""
    cn = {v for v in nx.descendants(g, t) if y in nx.descendants(g, v) or v == y}
    forb = {t} | cn | set().union(*(nx.descendants(g, v) for v in cn))
    if z & forb:
        return False
    pbd = g.copy()
    pbd.remove_edges_from([(t, c) for c in g.successors(t) if c in cn])
    if not nx.is_d_separator(pbd, {t}, {y}, z | s):
        return False
    return nx.is_d_separator(pbd, {y}, s, set())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.data())
def test_matches_the_dagitty_rule_by_brute_force(data: st.DataObject) -> None:
    n = data.draw(st.integers(4, 6))
    nodes = ["t", "y", "s"] + [f"v{i}" for i in range(n - 3)]
    order = data.draw(st.permutations(nodes))
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    edges = [p for p in pairs if data.draw(st.booleans())]
    g = nx.DiGraph(edges)
    g.add_nodes_from(nodes)
    if ("s", "t") in edges or ("s", "y") in edges or any(a == "s" for a, _ in edges):
        g.remove_edges_from([(a, b) for a, b in edges if a == "s"])
    text = "".join(f"var {v}: continuous\n" for v in nodes if v != "s") + "selected s\n"
    text += "".join(f"{a} -> {b}\n" for a, b in g.edges) + "query q: ate(t -> y)\n"
    ident = causal_dsl.parse(text).identify()
    others = [v for v in nodes if v not in ("t", "y", "s")]
    valid = [set(z) for k in range(len(others) + 1) for z in itertools.combinations(others, k)
             if _dagitty_rule(g, "t", "y", {"s"}, set(z))]
    assert ident.identifiable == bool(valid)
    if valid:
        assert set(ident.adjustment_set or ()) in valid
        for z in ident.minimal_sets:
            assert set(z) in valid


def test_estimate_in_the_selected_sample_covers_the_truth() -> None:
    # c confounds t and y; b causes t and selection; y ⊥ s in the back-door graph, so
    # adjusting for c in the selected rows recovers the effect 2.0.
    rng = np.random.default_rng(4)
    n = 20_000
    c, b = rng.normal(size=n), rng.normal(size=n)
    t = (c + b + rng.normal(size=n) > 0).astype(int)
    y = 2.0 * t + 1.5 * c + rng.normal(size=n)
    s = b + rng.normal(size=n) > 0
    frame = pd.DataFrame({"t": t, "y": y, "c": c, "b": b})[s]
    study = causal_dsl.parse("var t: binary\nvar y: continuous\nvar c: continuous\n"
                             "var b: continuous\nselected s\nc -> {t, y}\nb -> {t, s}\nt -> y\n"
                             "query q: ate(t -> y) using ols\n")
    result = study.estimate(data=frame)
    est = result.result.estimate
    assert est.ci_low < 2.0 < est.ci_high
    assert "s" not in result.plan.adjustment
