"""Unit tests of the graph engine on textbook graphs (M-bias, butterfly, mediator, collider,
front door, the heart-drug story, bidirected edges) and of the `causal identify` verb."""

from __future__ import annotations

import json
import random
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.errors import GraphError
from causal_dsl.graph import CausalGraph, Implication
from causal_dsl.identify import fixed_effects_hint, identify_report
from causal_dsl.model import Query

HEADER = "var t: binary\nvar y: continuous\n"


def study(body: str, header: str = HEADER) -> causal_dsl.Study:
    return causal_dsl.parse(header + body)


def sets(it: object) -> set[frozenset[str]]:
    return {frozenset(s) for s in it}  # type: ignore[attr-defined]


# --- textbook graphs -------------------------------------------------------------------------
M_BIAS = """var a: continuous
var b: continuous
var m: continuous
t <- a -> m <- b -> y
t -> y
query q: ate(t -> y) adjusting {m}
"""


def test_m_bias_empty_set_is_valid_and_the_collider_is_not():
    s = study(M_BIAS)
    assert s.adjustment_sets("t", "y") == frozenset()
    assert sets(s.adjustment_sets("t", "y", kind="all_minimal")) == {frozenset()}
    assert s.adjustment_sets("t", "y", kind="smallest") == frozenset()
    # the O-set is pa(y) minus forbidden nodes: {b}, more efficient than the empty set
    assert s.adjustment_sets("t", "y", kind="optimal") == {"b"}
    r = s.identify("q")
    assert r.identifiable and r.adjustment_set == {"b"} and r.recommended == "optimal"
    assert r.proposed is not None and not r.proposed.valid
    assert any("conditioning on m opens it (m is a collider on it)" in p
               for p in r.proposed.problems)
    assert [str(p) for p in r.proposed.open_paths] == ["t <- a -> m <- b -> y"]
    # every backdoor path is blocked by the recommended set
    assert r.backdoor_paths and not any(p.open for p in r.backdoor_paths)


def test_m_bias_collider_plus_a_neighbour_is_valid_but_not_minimal():
    s = study(M_BIAS.replace("adjusting {m}", "adjusting {a, m}"))
    r = s.identify("q")
    assert r.proposed is not None and r.proposed.valid
    assert any("not minimal" in n for n in r.proposed.notes)


BUTTERFLY = """var a: continuous
var b: continuous
var m: continuous
a -> t
a -> m
b -> m
b -> y
m -> t
m -> y
t -> y
query q: ate(t -> y) adjusting {m}
"""


def test_butterfly_bias_needs_the_collider_and_one_parent():
    s = study(BUTTERFLY)
    assert sets(s.adjustment_sets("t", "y", kind="all_minimal")) == {
        frozenset({"a", "m"}), frozenset({"b", "m"})}
    assert len(s.adjustment_sets("t", "y", kind="smallest")) == 2
    assert s.adjustment_sets("t", "y", kind="optimal") == {"b", "m"}
    r = s.identify("q")
    assert r.proposed is not None and not r.proposed.valid
    assert [str(p) for p in r.proposed.open_paths] == ["t <- a -> m <- b -> y"]


MEDIATOR = """var m: continuous
var c: continuous
t -> m -> y
c -> t
c -> y
query q: ate(t -> y) adjusting {c, m}
"""


def test_mediator_is_never_in_a_set_and_is_explained():
    s = study(MEDIATOR)
    assert sets(s.adjustment_sets("t", "y", kind="all_minimal")) == {frozenset({"c"})}
    assert "m" in s.graph().forbidden("t", "y")
    assert s.graph().causal_nodes("t", "y") == {"m", "y"}
    r = s.identify("q")
    assert r.proposed is not None and not r.proposed.valid
    assert r.proposed.problems == ("m is a mediator, on the causal path t -> m -> y",)
    with pytest.raises(GraphError) as err:
        s.adjustment_sets("t", "y", include={"m"})
    assert err.value.diagnostics[0].code == "E306"
    assert "mediator" in err.value.diagnostics[0].message


def test_mediator_in_adjust_for_is_an_error_pointing_at_the_query():
    s = study(MEDIATOR.replace("adjusting {c, m}", "adjust for {m}"))
    with pytest.raises(GraphError) as err:
        s.identify("q")
    d = err.value.diagnostics[0]
    assert d.code == "E306" and d.span is not None and d.span.line == 8
    assert "query q" in err.value.render()  # the source line is shown


def test_descendant_of_the_outcome_is_forbidden():
    s = study("var k: continuous\nt -> y\nt -> k <- y\nquery q: ate(t -> y) adjusting {k}\n")
    assert s.adjustment_sets("t", "y") == frozenset()
    r = s.identify("q")
    assert r.proposed is not None and not r.proposed.valid
    assert r.proposed.problems == ("k is a descendant of the outcome (y -> k)",)


def test_descendant_of_a_mediator_is_forbidden_with_the_path():
    s = study("var m: continuous\nvar d: continuous\nt -> m -> y\nm -> d\n"
              "query q: ate(t -> y) adjusting {d}\n")
    r = s.identify("q")
    assert r.proposed is not None
    assert r.proposed.problems == ("d is a descendant of the mediator m (t -> m -> d)",)


def test_collider_child_of_treatment_can_be_adjusted_with_a_blocker():
    # t -> c <- u -> y: c is not forbidden (not on a causal path), but conditioning on it
    # opens a path that u then blocks: {c} alone is invalid, {c, u} is valid.
    s = study("var c: continuous\nvar u: continuous\nt -> y\nt -> c <- u -> y\n"
              "query q: ate(t -> y) adjusting {c}\n")
    g = s.graph()
    assert not g.is_adjustment_set("t", "y", {"c"})
    assert g.is_adjustment_set("t", "y", {"c", "u"})
    r = s.identify("q")
    assert r.proposed is not None and not r.proposed.valid
    assert "t -> c <- u -> y" in r.proposed.problems[0]
    assert "c is a collider" in r.proposed.problems[0]


FRONT_DOOR = """var m: continuous
latent u "unmeasured"
t -> m -> y
u -> {t, y}
query q: ate(t -> y)
"""


def test_front_door_is_not_identifiable_by_adjustment_and_says_why():
    s = study(FRONT_DOOR)
    assert s.adjustment_sets("t", "y") is None
    assert s.adjustment_sets("t", "y", kind="smallest") is None
    assert list(s.adjustment_sets("t", "y", kind="all_minimal")) == []
    r = s.identify("q")
    assert not r.identifiable and r.adjustment_set is None and r.recommended == ""
    assert [str(p) for p in r.obstructions] == ["t <- u -> y"]
    assert r.obstructions[0].unobserved == ("u",)
    text = "\n".join(r.reasons)
    assert "Not identifiable by covariate adjustment" in text
    assert "The path t <- u -> y stays open: u is latent (not in the data)." in text
    assert "identifiable by adjustment: no" in str(r)
    # ... but the front-door criterion holds through m
    assert r.front_door == {"m"} and "front-door adjustment through {m}" in text
    assert r.to_dict()["front_door"] == ["m"]


def test_bidirected_treatment_outcome_is_not_identifiable():
    s = study("var z: continuous\nz -> t -> y\nt <-> y\nquery q: ate(t -> y)\n")
    r = s.identify("q")
    assert not r.identifiable
    assert [str(p) for p in r.obstructions] == ["t <-> y"]
    assert any("t <-> y is an unobserved common cause" in x for x in r.reasons)
    # ... but z is an instrument (and there is no mediator for a front door)
    assert [str(i) for i in r.instruments] == ["z"] and r.front_door is None
    assert any("instrumental-variable" in x for x in r.reasons)


def test_bidirected_path_is_printed_as_such_and_blocked_by_its_observed_end():
    s = study("var w: continuous\nt <-> w -> y\nt -> y\nquery q: ate(t -> y)\n")
    paths = s.backdoor_paths("t", "y")
    assert [str(p) for p in paths] == ["t <-> w -> y"]
    assert paths.open == paths.paths
    assert s.backdoor_paths("t", "y", {"w"}).paths[0].blocked_by == ("w",)
    assert s.adjustment_sets("t", "y") == {"w"}
    # the O-set is pa(y) \ forb = {w}: observed and valid
    assert s.adjustment_sets("t", "y", kind="optimal") == {"w"}


def test_o_set_with_a_bidirected_parent_of_the_outcome_is_not_usable():
    s = study("var w: continuous\nvar c: continuous\nc -> t\nc -> y\nw <-> y\nt -> y\n"
              "query q: ate(t -> y)\n")
    opt = s.graph().optimal_set("t", "y")
    assert opt.set is None
    assert "unobserved common cause of w and y" in opt.note
    r = s.identify("q")
    assert r.recommended == "smallest" and r.adjustment_set == {"c"}


HEART = """var drug: binary
var severity: continuous
var age: continuous
var initial_health: continuous
latent frailty
age -> initial_health -> drug -> severity
initial_health -> severity
frailty -> {initial_health, severity}
query main: ate(drug -> severity) adjusting {age}
"""


def test_heart_drug_story():
    s = causal_dsl.parse(HEART)
    r = s.identify("main")
    # initial_health blocks both confounding paths, including the one through frailty
    assert r.identifiable and r.adjustment_set == {"initial_health"}
    assert r.minimal_sets == (frozenset({"initial_health"}),)
    # the O-set pa(severity) minus forbidden nodes is {initial_health, frailty}: not usable
    assert r.optimal is None and "latent variable frailty" in r.optimal_note
    assert r.recommended == "smallest"
    statuses = {str(p): p.status() for p in r.backdoor_paths}
    assert statuses == {
        "drug <- initial_health -> severity": "blocked by initial_health",
        "drug <- initial_health <- frailty -> severity": "blocked by initial_health",
    }
    # adjusting for age alone leaves the direct confounding path open
    assert r.proposed is not None and not r.proposed.valid
    assert any("drug <- initial_health -> severity stays open" in p for p in r.proposed.problems)
    # age -> initial_health <- frailty -> severity: conditioning on initial_health opens it,
    # but age is not connected to drug except through initial_health, so no harm
    assert s.graph().is_adjustment_set("drug", "severity", {"age", "initial_health"})


def test_example_file_heart_drug():
    path = Path(__file__).parent.parent / "examples" / "heart_drug.causal"
    s = causal_dsl.load(path, check_files=False)
    r = s.identify("main")
    assert r.identifiable and r.adjustment_set == {"initial_health", "ward"}
    assert "drug <-> ward -> severity" in {str(p) for p in r.backdoor_paths}


# --- include / exclude ------------------------------------------------------------------------
CHOICE = """var c1: continuous
var c2: continuous
c2 -> c1 -> t
c2 -> y
t -> y
"""


def test_include_and_exclude_are_honoured():
    s = study(CHOICE)
    assert sets(s.adjustment_sets("t", "y", kind="all_minimal")) == {
        frozenset({"c1"}), frozenset({"c2"})}
    assert sets(s.adjustment_sets("t", "y", kind="all_minimal", exclude={"c2"})) == {
        frozenset({"c1"})}
    assert s.adjustment_sets("t", "y", exclude={"c1"}) == {"c2"}
    assert s.adjustment_sets("t", "y", include={"c1"}) == {"c1"}
    assert s.adjustment_sets("t", "y", include={"c2"}, kind="smallest") == {"c2"}
    assert s.adjustment_sets("t", "y", exclude={"c1", "c2"}) is None
    # the O-set is {c2}; excluding it makes it unusable, with a reason
    g = s.graph()
    assert g.optimal_set("t", "y").set == {"c2"}
    assert "never adjust for" in g.optimal_set("t", "y", exclude={"c2"}).note
    assert "leaves out" in g.optimal_set("t", "y", include={"c1"}).note


def test_query_clauses_drive_identify():
    s = study(CHOICE + "query q: ate(t -> y) never adjust for {c2}\n"
              "query r: ate(t -> y) adjust for {c1}\n")
    q = s.identify("q")
    assert q.adjustment_set == {"c1"} and q.minimal_sets == (frozenset({"c1"}),)
    r = s.identify("r")
    assert r.adjustment_set == {"c1"}


def test_limit_on_all_minimal():
    body = "".join(f"var a{i}: continuous\nvar b{i}: continuous\n"
                   f"b{i} -> a{i} -> t\nb{i} -> y\n" for i in range(6)) + "t -> y\n"
    s = study(body)
    every = list(s.adjustment_sets("t", "y", kind="all_minimal"))
    assert len(every) == 2 ** 6 and len(set(every)) == 64
    assert len(list(s.adjustment_sets("t", "y", kind="all_minimal", limit=5))) == 5
    r = s.identify(Query("q", "ate", "t", "y"))
    assert len(r.minimal_sets) == 10 and r.minimal_sets_truncated
    assert "minimal sets (10+)" in str(r)


def test_api_errors_are_graph_errors_with_codes():
    g = CausalGraph(["t", "y", "m", "u"], [("t", "m"), ("m", "y"), ("u", "t"), ("u", "y")],
                    latents=["u"])
    cases = [
        (lambda: g.adjustment_sets("t", "yy"), "E301"),
        (lambda: g.adjustment_sets("u", "y"), "E302"),
        (lambda: g.adjustment_sets("t", "t"), "E303"),
        (lambda: g.adjustment_sets("t", "y", include={"m"}, exclude={"m"}), "E304"),
        (lambda: g.adjustment_sets("t", "y", include={"u"}), "E305"),
        (lambda: g.adjustment_sets("t", "y", include={"m"}), "E306"),
        (lambda: g.adjustment_sets("t", "y", include={"y"}), "E306"),
        (lambda: g.d_separated({"t"}, {"t"}), "E308"),
        (lambda: g.adjustment_sets("t", "y", kind="minimum"), "E309"),
        (lambda: CausalGraph(["a", "b"], [("a", "b"), ("b", "a")]), "E310"),
    ]
    for call, code in cases:
        with pytest.raises(GraphError) as err:
            call()
        assert err.value.diagnostics[0].code == code
    with pytest.raises(GraphError) as err:
        g.adjustment_sets("t", "yy")
    assert err.value.diagnostics[0].help == "did you mean 'y'?"


def test_assume_observed_lets_a_latent_be_adjusted_for():
    s = study("latent region invariant\nregion -> {t, y}\nt -> y\nquery q: ate(t -> y)\n")
    assert not s.identify("q").identifiable
    r = causal_dsl.identify.identify(s, s.query("q"), assume_observed={"region"})
    assert r.identifiable and r.adjustment_set == {"region"}
    assert r.assume_observed == {"region"}
    assert "assuming adjustable: {region}" in str(r)


def test_invariant_latent_confounding_gets_a_fixed_effects_hint():
    s = study("latent region invariant\nvar c: continuous\nregion -> {t, y}\nc -> t\n"
              "c -> y\nt -> y\nquery q: ate(t -> y)\n")
    r = s.identify("q")
    assert not r.identifiable
    hint = fixed_effects_hint(s, s.query("q"))
    assert hint is not None and "Absorbing the time-invariant {region} (unit fixed effects" in hint
    assert "adjusting for {c, region}" in hint
    assert not any("fixed effects" in x for x in r.reasons)  # the planner's question
    assert f"    - {hint}" in identify_report(s).splitlines()
    varying = study("latent region\nregion -> {t, y}\nt -> y\nquery q: ate(t -> y)\n")
    assert fixed_effects_hint(varying, varying.query("q")) is None


def test_no_causal_path_means_zero_effect():
    s = study("var c: continuous\nc -> t\nc -> y\nquery q: ate(t -> y)\n")
    r = s.identify("q")
    assert not r.causal_path and r.identifiable and r.adjustment_set == {"c"}
    assert r.optimal is None and "no directed path" in r.optimal_note
    assert any("the causal effect is zero" in x for x in r.reasons)
    assert r.instruments == ()


# --- d-separation, paths, implications, instruments -------------------------------------------
def test_d_separation_basics():
    g = CausalGraph(["a", "b", "c"], [("a", "b"), ("b", "c")])
    assert not g.d_separated("a", "c") and g.d_separated("a", "c", "b")
    fork = CausalGraph(["a", "b", "c"], [("b", "a"), ("b", "c")])
    assert fork.d_separated({"a"}, {"c"}, {"b"}) and not fork.d_separated({"a"}, {"c"})
    col = CausalGraph(["a", "b", "c", "d"], [("a", "b"), ("c", "b"), ("b", "d")])
    assert col.d_separated("a", "c") and not col.d_separated("a", "c", "d")
    bi = CausalGraph(["a", "b"], [], bidirected=[("a", "b")])
    assert not bi.d_separated("a", "b")


def test_backdoor_paths_limit_and_statuses():
    body = "".join(f"var c{i}: continuous\nc{i} -> t\nc{i} -> y\n" for i in range(8))
    s = study(body + "t -> y\n")
    paths = s.backdoor_paths("t", "y")
    assert len(paths) == 8 and not paths.truncated
    few = s.graph().backdoor_paths("t", "y", limit=3)
    assert len(few) == 3 and few.truncated
    given = s.backdoor_paths("t", "y", {"c0"})
    assert sum(not p.open for p in given) == 1
    assert "blocked by c0" in str(given)
    with pytest.raises(GraphError):
        s.backdoor_paths("t", "y", {"t"})


def test_paths_through_colliders_report_how_they_open():
    s = study(M_BIAS)
    paths = s.backdoor_paths("t", "y", {"m"})
    (p,) = paths
    assert p.open and p.opened_at == (("m", "m"),)
    assert p.status() == "open; m opened by conditioning on m"
    closed = s.backdoor_paths("t", "y").paths[0]
    assert not closed.open and closed.closed_at == ("m",)
    assert closed.status() == "blocked at collider m"


def test_implications_chain_and_heart_drug():
    chain = CausalGraph(["a", "b", "c"], [("a", "b"), ("b", "c")])
    assert list(chain.implications()) == [Implication("a", "c", frozenset({"b"}))]
    assert str(chain.implications()[0]) == "a ⊥ c | b"
    s = causal_dsl.parse(HEART)
    texts = [str(i) for i in s.implications()]
    # age and severity: initial_health must be conditioned on, which opens
    # age -> initial_health <- frailty -> severity; frailty is latent, so no observed set
    # separates them and the pair implies nothing testable.
    assert texts == ["age ⊥ drug | initial_health"]


def test_implications_skip_pairs_only_latents_separate_and_report_caps():
    g = CausalGraph(["a", "b", "u"], [("u", "a"), ("u", "b")], latents=["u"])
    imp = g.implications()
    assert len(imp) == 0 and imp.pairs == 1 and imp.complete
    big = CausalGraph([f"v{i}" for i in range(30)], [])
    capped = big.implications(limit=10)
    assert len(capped) == 10 and not capped.complete and capped.pairs == 435
    assert all(str(i).count("⊥") == 1 for i in capped)


def test_conditional_instrument():
    s = study("var z: continuous\nvar w: continuous\nw -> z -> t -> y\nw -> y\nt <-> y\n")
    ivs = s.instruments("t", "y")
    assert [(i.z, set(i.given)) for i in ivs] == [("z", {"w"})]
    assert str(ivs[0]) == "z given {w}"


# --- the identification result and the CLI --------------------------------------------------
def test_identification_to_json_round_trips():
    s = study(BUTTERFLY)
    data = json.loads(s.identify("q").to_json())
    assert data["identifiable"] is True and data["optimal"] == ["b", "m"]
    assert sorted(map(sorted, data["minimal_sets"])) == [["a", "m"], ["b", "m"]]
    assert data["proposed"]["valid"] is False


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.causal"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_identify_text_and_json(tmp_path: Path):
    path = write(tmp_path, HEADER + FRONT_DOOR + "query q2: ate(m -> y)\n")
    runner = CliRunner()
    out = runner.invoke(main, ["identify", path])
    assert out.exit_code == 0, out.output
    assert "query q: ate(t -> y)" in out.output and "query q2: ate(m -> y)" in out.output
    assert "testable implications" in out.output
    out = runner.invoke(main, ["identify", path, "--query", "q2", "--json"])
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert [q["query"] for q in data["queries"]] == ["q2"]
    assert data["queries"][0]["adjustment_set"] == ["t"]
    out = runner.invoke(main, ["identify", path, "--query", "q3"])
    assert out.exit_code == 2 and "no query named 'q3'" in out.output  # bad usage


def test_cli_identify_reports_graph_errors(tmp_path: Path):
    path = write(tmp_path, HEADER + MEDIATOR.replace("adjusting {c, m}", "adjust for {m}"))
    out = CliRunner().invoke(main, ["identify", path])
    assert out.exit_code == 1 and "E306" in out.output


def test_report_on_a_large_graph_is_capped():
    rng = random.Random(3)
    n = 2000
    lines = [f"var v{i}: continuous" for i in range(n)]
    for j in range(1, n):
        for i in rng.sample(range(max(0, j - 50), j), min(j, 2)):
            lines.append(f"v{i} -> v{j}")
    lines.append(f"query q: ate(v{n // 2} -> v{n - 1})")
    s = causal_dsl.parse("\n".join(lines) + "\n")
    text = identify_report(s)
    assert "more not shown" in text
    implications = [line for line in text.splitlines() if "⊥" in line]
    assert len(implications) == 50
    r = s.identify("q")
    assert r.identifiable and len(r.minimal_sets) <= 10
    g = nx.DiGraph(s.dag())
    assert s.graph().is_adjustment_set(f"v{n // 2}", f"v{n - 1}", r.adjustment_set)
    assert all(z in g for z in r.adjustment_set)
