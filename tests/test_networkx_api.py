"""The engine for networkx users (`causal_dsl.graph.networkx_api`, `causal_dsl.from_networkx`,
`Study.to_networkx`): hand-built graphs and their errors, then property tests on the random
graphs of test_identify_properties.py against networkx's own `is_d_separator`,
`find_minimal_d_separator` and `is_minimal_d_separator`, against brute force, and against the
``.causal`` path (the same graph written as a study and identified)."""

from __future__ import annotations

import doctest
import itertools
import re
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_identify_properties import (
    QUIET,
    SETTINGS,
    Case,
    brute_force,
    cases,
    confounded_cases,
    minimal_of,
    reference,
)

import causal_dsl
import causal_dsl.graph as cg
from causal_dsl.errors import CausalError, GraphError
from causal_dsl.graph import CausalGraph, CausalGraphError, CausalNodeNotFound

ROOT = Path(__file__).resolve().parent.parent


def confounded() -> nx.DiGraph:
    """t <- c -> y, t -> m -> y, and a latent u -> c, u -> y."""
    G = nx.DiGraph([("c", "t"), ("c", "y"), ("t", "m"), ("m", "y"), ("u", "c"), ("u", "y")])
    G.nodes["u"]["latent"] = True
    return G


# --- hand-built graphs -----------------------------------------------------------------------
def test_the_functions_on_one_graph() -> None:
    G = confounded()
    assert cg.minimal_adjustment_set(G, "t", "y") == {"c"}
    assert isinstance(cg.minimal_adjustment_set(G, "t", "y"), set)
    assert list(cg.all_minimal_adjustment_sets(G, "t", "y")) == [{"c"}]
    assert cg.optimal_adjustment_set(G, "t", "y") is None  # the O-set {m's parent t..} has u
    assert cg.is_adjustment_set(G, "t", "y", {"c"})
    assert not cg.is_adjustment_set(G, "t", "y", {"c", "m"})
    assert cg.adjustment_set_reason(G, "t", "y", {"c", "m"}) == (
        "m is a mediator, on the causal path t -> m -> y")
    assert cg.adjustment_set_reason(G, "t", "y", set()) == "the path t <- c -> y stays open"
    assert [str(p) for p in cg.backdoor_paths(G, "t", "y")] == [
        "t <- c -> y", "t <- c <- u -> y"]
    assert [(i.x, i.y, set(i.given)) for i in cg.implications(G)] == [
        ("c", "m", {"t"}), ("t", "y", {"c", "m"})]
    assert cg.is_d_separator(G, "t", "y", {"c", "m", "u"})
    assert not cg.is_d_separator(G, {"t"}, {"y"}, {"c", "u"})  # t -> m -> y


def test_latent_marks_and_the_latent_argument() -> None:
    G = nx.DiGraph([("u", "t"), ("u", "y"), ("t", "y")])
    assert cg.minimal_adjustment_set(G, "t", "y") == {"u"}  # nothing marked: u is observed
    G.nodes["u"]["hidden"] = True
    assert cg.minimal_adjustment_set(G, "t", "y", latent="hidden") is None
    assert cg.minimal_adjustment_set(G, "t", "y") == {"u"}


def test_bidirected_edges_three_ways_give_the_same_answers() -> None:
    edges = [("a", "t"), ("t", "y"), ("a", "y")]
    as_graph = nx.Graph([("t", "y")])
    as_parent = nx.DiGraph([*edges, ("h", "t"), ("h", "y")])
    as_parent.nodes["h"]["latent"] = True
    G = nx.DiGraph(edges)
    for kw in ({"bidirected": as_graph}, {"bidirected": [("y", "t")]}):
        assert cg.minimal_adjustment_set(G, "t", "y", **kw) is None
        assert not cg.is_d_separator(G, "t", "y", {"a"}, **kw)
    assert cg.minimal_adjustment_set(as_parent, "t", "y") is None
    assert cg.minimal_adjustment_set(G, "t", "y") == {"a"}


def test_included_and_restricted_follow_networkx() -> None:
    G = nx.DiGraph([("a", "t"), ("a", "b"), ("b", "y"), ("t", "y"), ("c", "y")])
    assert cg.minimal_adjustment_set(G, "t", "y", restricted={"b", "c"}) == {"b"}
    assert cg.minimal_adjustment_set(G, "t", "y", included={"c"}) in ({"a", "c"}, {"b", "c"})
    assert cg.minimal_adjustment_set(G, "t", "y", restricted={"c"}) is None
    assert sorted(map(sorted, cg.all_minimal_adjustment_sets(G, "t", "y"))) == [["a"], ["b"]]
    assert cg.optimal_adjustment_set(G, "t", "y") == {"b", "c"}  # y's parents but t
    assert cg.optimal_adjustment_set(G, "t", "y", restricted={"a"}) is None
    with pytest.raises(CausalGraphError, match="not in `restricted`") as info:
        cg.minimal_adjustment_set(G, "t", "y", included={"a"}, restricted={"b"})
    assert info.value.diagnostics[0].code == "E304"


def test_all_minimal_sets_are_lazy_and_checked_eagerly() -> None:
    # confounding chains: 3 ** 4 minimal sets, taken two at a time
    G = nx.DiGraph([("t", "y")])
    for i in range(4):
        G.add_edges_from([(f"c{i}_0", "t"), (f"c{i}_0", f"c{i}_1"), (f"c{i}_1", f"c{i}_2"),
                          (f"c{i}_2", "y")])
    sets = cg.all_minimal_adjustment_sets(G, "t", "y")
    assert len(list(itertools.islice(sets, 2))) == 2
    assert len(list(sets)) == 3**4 - 2
    with pytest.raises(CausalNodeNotFound):
        cg.all_minimal_adjustment_sets(G, "t", "nope")  # before any set is asked for


def test_nodes_of_any_hashable_type() -> None:
    G = nx.DiGraph([(0, 1), (0, 2), (1, 2), ((3, "x"), 1)])
    assert cg.minimal_adjustment_set(G, 1, 2) == {0}
    assert cg.is_d_separator(G, 0, (3, "x"), set())
    assert cg.backdoor_paths(G, 1, 2).paths[0].nodes == (1, 0, 2)
    assert str(cg.backdoor_paths(G, 1, 2)).splitlines()[1].split() == ["1", "<-", "0", "->", "2",
                                                                       "open"]
    assert cg.adjustment_set_reason(G, 1, 2, set()) == "the path 1 <- 0 -> 2 stays open"
    assert cg.optimal_adjustment_set(G, 1, 2) == {0} and cg.front_door_sets(G, 1, 2).reason
    assert all(type(v) is int for v in cg.minimal_adjustment_set(G, 1, 2) or ())
    with pytest.raises(CausalNodeNotFound, match="the node 9"):
        cg.minimal_adjustment_set(G, 1, 9)


def test_multidigraph_is_read_as_its_arrows() -> None:
    G = nx.MultiDiGraph([("a", "t"), ("a", "t"), ("a", "y"), ("t", "y")])
    assert cg.minimal_adjustment_set(G, "t", "y") == {"a"}
    assert cg.front_door_sets(G, "t", "y").largest is None


def test_errors_are_networkx_errors_and_causal_errors() -> None:
    cyclic = nx.DiGraph([("a", "b"), ("b", "a"), ("b", "y")])
    with pytest.raises(nx.NetworkXError, match="cycle") as info:
        cg.is_d_separator(cyclic, "a", "y", set())
    assert isinstance(info.value, CausalError) and info.value.diagnostics[0].code == "E310"
    with pytest.raises(nx.NodeNotFound) as found:
        cg.minimal_adjustment_set(confounded(), "t", "yy")
    assert isinstance(found.value, GraphError) and isinstance(found.value, nx.NetworkXError)
    assert found.value.diagnostics[0].help == "did you mean 'y'?"
    with pytest.raises(CausalNodeNotFound):
        cg.is_d_separator(confounded(), "t", "y", {"nope"})
    with pytest.raises(CausalNodeNotFound):
        cg.minimal_adjustment_set(nx.DiGraph([("t", "y")]), "t", "y", bidirected=[("t", "q")])
    with pytest.raises(CausalGraphError, match="not disjoint"):
        cg.is_d_separator(confounded(), "t", "y", {"t"})
    with pytest.raises(CausalGraphError, match="directed graph") as undirected:
        cg.minimal_adjustment_set(nx.Graph([("t", "y")]), "t", "y")
    assert undirected.value.diagnostics[0].code == "E311"
    with pytest.raises(CausalGraphError, match="latent") as latent:
        cg.minimal_adjustment_set(confounded(), "u", "y")
    assert latent.value.diagnostics[0].code == "E302"
    with pytest.raises(CausalGraphError) as included:
        cg.minimal_adjustment_set(confounded(), "t", "y", included={"m"})
    d = included.value.diagnostics[0]
    assert d.code == "E306" and "mediator" in d.message and "`included`" in (d.help or "")
    with pytest.raises(CausalGraphError) as hidden:
        cg.minimal_adjustment_set(confounded(), "t", "y", included={"u"})
    assert hidden.value.diagnostics[0].code == "E305"
    assert "latent attribute" in (hidden.value.diagnostics[0].help or "")
    with pytest.raises(CausalGraphError, match="itself"):
        cg.minimal_adjustment_set(nx.DiGraph([("t", "y")]), "t", "y", bidirected=[("t", "t")])


def test_instruments_and_the_front_door() -> None:
    G = nx.DiGraph([("z", "t"), ("t", "m"), ("m", "y"), ("u", "t"), ("u", "y")])
    G.nodes["u"]["latent"] = True
    assert [(i.z, set(i.given)) for i in cg.instruments(G, "t", "y")] == [("z", set())]
    assert cg.instruments(G, "t", "y", exclude={"z"}) == ()
    found = cg.front_door_sets(G, "t", "y")
    assert found.small == {"m"} and found.largest == {"m"} and found.natural_valid
    assert cg.front_door_sets(G, "t", "y", restricted={"z"}).largest is None
    G.add_edge("t", "y")
    none = cg.front_door_sets(G, "t", "y")
    assert none.small is None and "directly" in none.reason


def test_a_causal_graph_is_accepted_as_is() -> None:
    G = confounded()
    g = cg.to_causal_graph(G)
    assert cg.to_causal_graph(g) is g
    assert cg.minimal_adjustment_set(g, "t", "y") == cg.minimal_adjustment_set(G, "t", "y")
    with pytest.raises(CausalGraphError, match="its own"):
        cg.minimal_adjustment_set(g, "t", "y", bidirected=[("t", "y")])


def test_the_package_names_still_answer_for_a_causal_graph() -> None:
    # is_adjustment_set & co. at `causal_dsl.graph` are the networkx versions, which on a
    # CausalGraph answer as the engine's own functions
    from causal_dsl.graph import adjustment, paths

    g = CausalGraph("ctmy", [("c", "t"), ("c", "y"), ("t", "m"), ("m", "y")])
    for z in (set(), {"c"}, {"c", "m"}):
        assert cg.is_adjustment_set(g, "t", "y", z) is adjustment.is_adjustment_set(
            g, "t", "y", z)
        assert cg.adjustment_set_reason(g, "t", "y", z) == paths.adjustment_set_reason(
            g, "t", "y", z)
    assert cg.backdoor_paths(g, "t", "y", {"c"}) == paths.backdoor_paths(g, "t", "y", {"c"})
    assert cg.implications(g) == g.implications()
    assert cg.instruments(g, "t", "y") == g.instruments("t", "y")


# --- conversions -----------------------------------------------------------------------------
STUDY = """\
study "heart"
var drug: binary "Drug"
var severity: continuous
var ward: categorical
var age: count
latent frailty
drug -> severity
age -> {drug, severity}
frailty -> {drug, severity}
drug <-> ward
ward -> severity
query main: ate(drug -> severity)
"""


def _same_engine(a: CausalGraph, b: CausalGraph) -> None:
    assert a._names == b._names and a._pa == b._pa and a._ch == b._ch
    assert a._latent == b._latent and a._hidden == b._hidden and a._topo == b._topo


def test_to_networkx_rebuilds_exactly_the_engine_of_the_study() -> None:
    s = causal_dsl.parse(STUDY)
    G = s.to_networkx()
    assert G.nodes["frailty"] == {"latent": True}
    assert G.nodes["drug"] == {"latent": False, "type": "binary", "label": "Drug"}
    assert G.nodes["drug<->ward"] == {"latent": True, "bidirected": True}
    assert nx.utils.graphs_equal(s.dag(), G)
    _same_engine(cg.to_causal_graph(G), s.graph())
    r = s.identify("main")
    assert cg.minimal_adjustment_set(G, "drug", "severity") == r.adjustment_set
    assert [str(p) for p in cg.backdoor_paths(G, "drug", "severity")] == [
        str(p) for p in r.backdoor_paths]


def test_from_networkx_writes_a_study_that_formats_and_saves(tmp_path: Path) -> None:
    s = causal_dsl.parse(STUDY)
    back = causal_dsl.from_networkx(s.to_networkx(), title="heart", treatment="drug",
                                    outcome="severity", label="label")
    assert isinstance(back, causal_dsl.Study)
    assert back.variables == s.variables and set(back.edges) == set(s.edges)
    assert back.identify().adjustment_set == s.identify("main").adjustment_set
    text = back.to_causal_text()
    assert causal_dsl.fmt.format_text(text) == text
    assert "drug <-> ward" in text and "latent frailty" in text
    path = back.save(tmp_path / "heart.causal")
    assert causal_dsl.load(path).same_as(back)
    assert "digraph" in back.to_dot()


def test_from_networkx_reads_types_labels_and_awkward_names() -> None:
    G = nx.DiGraph([(1, "not plain"), ("for", 1)])
    G.nodes[1]["type"] = "count"
    G.nodes["for"]["label"] = 'say "hi"'
    s = causal_dsl.from_networkx(G, bidirected=[(1, "for")])
    text = s.to_causal_text()
    assert "var `1`: count" in text and "var `not plain`: continuous" in text
    assert 'var `for`: continuous  "say \\"hi\\""' in text and "`1` <-> `for`" in text
    assert s.variable("for").label == 'say "hi"'


@pytest.mark.parametrize(("graph", "words"), [
    (nx.DiGraph([("a", "b"), ("b", "a")]), "cycle"),
    (nx.DiGraph([(1, "1")]), "as the node"),
    (nx.DiGraph([("a`b", "c")]), "backquote"),
    (nx.Graph([("a", "b")]), "directed graph"),
])
def test_from_networkx_refuses_graphs_that_cannot_be_studies(graph: nx.Graph,
                                                             words: str) -> None:
    with pytest.raises(CausalGraphError, match=words):
        causal_dsl.from_networkx(graph)


def test_from_networkx_refuses_unknown_types_and_queries() -> None:
    G = nx.DiGraph([("t", "y")])
    G.nodes["t"]["type"] = "binnary"
    with pytest.raises(CausalGraphError, match="not a variable type") as info:
        causal_dsl.from_networkx(G)
    assert info.value.diagnostics[0].help == "did you mean 'binary'?"
    with pytest.raises(CausalNodeNotFound):
        causal_dsl.from_networkx(nx.DiGraph([("t", "y")]), treatment="t", outcome="x")
    marked = nx.DiGraph([("h", "a")])
    marked.nodes["h"].update(latent=True, bidirected=True)
    with pytest.raises(CausalGraphError, match="marked bidirected") as bad:
        cg.to_causal_graph(marked)
    assert bad.value.diagnostics[0].code == "E312"


def test_to_causal_text_writes_a_study_without_source() -> None:
    s = causal_dsl.parse(STUDY + 'query q2: att(drug -> severity) adjusting {age} '
                         'never adjust for {ward} using ols(se = "HC3")\n')
    bare = causal_dsl.Study.of(causal_dsl.Model(
        title=s.title, variables=s.variables, edges=s.edges, queries=s.queries))
    assert bare.source is None
    assert causal_dsl.parse(bare.to_causal_text()).same_as(s)


# --- property tests --------------------------------------------------------------------------
def nx_graph(case: Case, bidirected: str) -> tuple[nx.DiGraph, list[tuple[str, str]] | None]:
    """The case as a DiGraph with latent marks; bidirected edges as latent parents
    ("parents") or as a separate list ("list")."""
    if bidirected == "parents":
        G = case.dag()
        for v in G:
            G.nodes[v]["latent"] = v in case.latents or v.startswith("U[")
        return G, None
    G = nx.DiGraph()
    G.add_nodes_from(case.names)
    G.add_edges_from(case.directed)
    for v in case.latents:
        G.nodes[v]["latent"] = True
    return G, list(case.bidirected)


def study_text(case: Case) -> str:
    lines = [f"latent {v}" if v in case.latents else f"var {v}: continuous"
             for v in case.names]
    lines += [f"{a} -> {b}" for a, b in case.directed]
    lines += [f"{a} <-> {b}" for a, b in case.bidirected]
    lines.append(f"query q: ate({case.t} -> {case.y})")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(cases(constraints=False), st.data(), st.sampled_from(["parents", "list"]))
def test_d_separation_agrees_with_networkx(case: Case, data: st.DataObject, form: str) -> None:
    G, bidirected = nx_graph(case, form)
    names = list(case.names)
    x, y = data.draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
    rest = [v for v in names if v not in (x, y)]
    z = set(data.draw(st.lists(st.sampled_from(rest), unique=True))) if rest else set()
    assert cg.is_d_separator(G, x, y, z, bidirected=bidirected) == nx.is_d_separator(
        case.dag(), x, y, z)


@SETTINGS
@given(st.one_of(cases(), confounded_cases()), st.sampled_from(["parents", "list"]))
def test_adjustment_sets_agree_with_networkx_and_brute_force(case: Case, form: str) -> None:
    ref = reference(case)
    if case.include & ref.forbidden:
        return  # an error case, tested above
    G, bidirected = nx_graph(case, form)
    kw = {"included": set(case.include), "restricted": set(ref.candidates) | case.include,
          "bidirected": bidirected}
    ours = cg.minimal_adjustment_set(G, case.t, case.y, **kw)
    valid = brute_force(case, ref)
    assert (ours is None) == (not valid)
    assert set(map(frozenset, cg.all_minimal_adjustment_sets(G, case.t, case.y, **kw))) == (
        minimal_of(valid, case.include))
    # networkx answers the same question on the proper backdoor graph (the DAG itself when
    # there is no causal path), over the same allowed nodes
    restricted = set(ref.candidates) | case.include | {case.t, case.y}
    theirs = nx.find_minimal_d_separator(ref.pbd, case.t, case.y, included=set(case.include),
                                         restricted=restricted)
    assert (theirs is None) == (ours is None)
    if ours is not None:
        assert nx.is_minimal_d_separator(ref.pbd, case.t, case.y, ours,
                                         included=set(case.include), restricted=restricted)
        assert cg.is_adjustment_set(G, case.t, case.y, ours, bidirected=bidirected)
        assert cg.adjustment_set_reason(G, case.t, case.y, ours, bidirected=bidirected) is None
    o = cg.optimal_adjustment_set(G, case.t, case.y, **kw)
    assert o is None or ref.valid(case, frozenset(o))


@SETTINGS
@given(st.one_of(cases(constraints=False), confounded_cases()), st.data())
def test_the_networkx_path_agrees_with_the_causal_path(case: Case, data: st.DataObject) -> None:
    s = causal_dsl.parse(study_text(case))
    G = s.to_networkx()
    _same_engine(cg.to_causal_graph(G), s.graph())
    r = s.identify("q")
    t, y = case.t, case.y
    ours = cg.minimal_adjustment_set(G, t, y)
    assert (ours is not None) == r.identifiable
    assert cg.optimal_adjustment_set(G, t, y) == (None if r.optimal is None else set(r.optimal))
    if r.adjustment_set is not None:
        assert cg.is_adjustment_set(G, t, y, r.adjustment_set)
    assert set(map(frozenset, cg.all_minimal_adjustment_sets(G, t, y))) >= set(r.minimal_sets)
    others = [v for v in case.observed if v not in (t, y)]
    z = set(data.draw(st.lists(st.sampled_from(others), unique=True))) if others else set()
    assert cg.is_adjustment_set(G, t, y, z) == s.graph().is_adjustment_set(t, y, z)
    assert [str(i) for i in cg.implications(G)] == [str(i) for i in s.implications()]
    assert cg.instruments(G, t, y) == s.instruments(t, y)
    # and the graph written back as a study is the same study
    assert causal_dsl.from_networkx(G).same_as(
        causal_dsl.parse(study_text(case).rsplit("query", 1)[0]))


@settings(max_examples=100, deadline=None, suppress_health_check=QUIET)
@given(cases(max_nodes=7, constraints=False))
def test_front_door_sets_match_brute_force(case: Case) -> None:
    G, bidirected = nx_graph(case, "list")
    found = cg.front_door_sets(G, case.t, case.y, bidirected=bidirected)
    dag = case.dag()
    allowed = [v for v in case.observed if v not in (case.t, case.y)]

    def front_door(z: set[str]) -> bool:
        cut = dag.copy()
        cut.remove_nodes_from(z)
        no_t = dag.copy()
        no_t.remove_edges_from(list(dag.out_edges(case.t)))
        no_z = dag.copy()
        no_z.remove_edges_from([e for v in z for e in dag.out_edges(v)])
        return (not nx.has_path(cut, case.t, case.y)
                and nx.is_d_separator(no_t, {case.t}, z, set())
                and nx.is_d_separator(no_z, z, {case.y}, {case.t}))

    every = [set(z) for k in range(len(allowed) + 1)
             for z in itertools.combinations(allowed, k) if front_door(set(z))]
    assert (found.largest is not None) == bool(every)
    if found.largest is not None and found.small is not None:
        assert front_door(set(found.small)) and front_door(set(found.largest))
        assert all(z <= found.largest for z in every)


# --- the documentation's example -------------------------------------------------------------
def test_the_from_networkx_section_of_the_docs_runs() -> None:
    text = (ROOT / "docs" / "identification.md").read_text(encoding="utf-8")
    section = text.split("## From networkx", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```pycon\n(.*?)^```", section, re.S | re.M)
    assert blocks, "docs/identification.md: the From networkx section has no pycon example"
    parser = doctest.DocTestParser()
    test = parser.get_doctest("\n".join(blocks), {}, "identification.md", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 3
