"""Property tests of the graph engine on random small graphs, against brute force.

Every reference answer here is computed independently of `causal_dsl.graph.separators`: the
adjustment criterion is re-derived with networkx (descendants, ancestors, the proper backdoor
graph, `networkx.is_d_separator`) on a DAG where each bidirected edge is an explicit latent
parent, and "all minimal sets" is plain subset enumeration.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import networkx as nx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from causal_dsl.graph import CausalGraph
from causal_dsl.graph import separators as sep
from causal_dsl.identify import identify
from causal_dsl.model import Model, Query

# No deadline and no speed health checks: a shared CI machine must not turn load into failures.
QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=QUIET)


@dataclass(frozen=True)
class Case:
    names: tuple[str, ...]
    directed: tuple[tuple[str, str], ...]
    bidirected: tuple[tuple[str, str], ...]
    latents: frozenset[str]
    t: str
    y: str
    include: frozenset[str]
    exclude: frozenset[str]

    def graph(self) -> CausalGraph:
        return CausalGraph(self.names, self.directed, self.bidirected, self.latents)

    def dag(self) -> nx.DiGraph:
        """The reference DAG: bidirected edges become explicit latent parents."""
        g = nx.DiGraph()
        g.add_nodes_from(self.names)
        g.add_edges_from(self.directed)
        for a, b in self.bidirected:
            u = f"U[{a},{b}]"
            g.add_edges_from([(u, a), (u, b)])
        return g

    @property
    def observed(self) -> list[str]:
        return [v for v in self.names if v not in self.latents]


@st.composite
def cases(draw: st.DrawFn, max_nodes: int = 9, constraints: bool = True) -> Case:
    n = draw(st.sampled_from(range(4, max_nodes + 1)))
    names = tuple(f"v{i}" for i in range(n))
    order = draw(st.permutations(names))  # a random topological order

    forward = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)]
    # Edges come from a Random seeded by one draw: fast (one draw, not one per edge) and
    # uniform (hypothesis' own numbers favour 0, i.e. nearly empty or complete graphs).
    # Shrinking then only shrinks the seed, but the failing Case is printed in full.
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.25, 0.4, 0.6]))
    directed = tuple(e for e in forward if rnd.random() < density)
    bidirected = tuple(p for p in itertools.combinations(names, 2) if rnd.random() < 0.025)
    latents = frozenset(v for v in names if rnd.random() < 0.12)
    observed = [v for v in names if v not in latents]
    if len(observed) < 2:
        latents = frozenset()
        observed = list(names)
    t, y = draw(st.lists(st.sampled_from(observed), min_size=2, max_size=2, unique=True))
    if order.index(t) > order.index(y) and rnd.random() < 0.75:
        t, y = y, t  # mostly ask about an effect that can exist
    others = [v for v in observed if v not in (t, y)]
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    if constraints and others and rnd.random() < 0.5:
        exclude = frozenset(draw(st.lists(st.sampled_from(others), max_size=2, unique=True)))
        rest = [v for v in others if v not in exclude]
        if rest:
            include = frozenset(draw(st.lists(st.sampled_from(rest), max_size=1, unique=True)))
    return Case(names, directed, bidirected, latents, t, y, include, exclude)


@st.composite
def confounded_cases(draw: st.DrawFn) -> Case:
    """Graphs built from confounding chains ``t <- c0 ... ck -> y`` (each blocked by any one
    of its nodes, so minimal sets multiply), mediators, and random extra arrows: the random
    DAGs above rarely have more than one minimal set, these usually have several."""
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    while True:
        names: list[str] = []
        edges: list[tuple[str, str]] = []
        for i in range(rnd.randint(1, 3)):
            chain = [f"c{i}_{j}" for j in range(rnd.randint(2, 3))]
            names += chain
            edges.append((chain[0], "t"))
            for a, b in itertools.pairwise(chain):
                edges.append((b, a) if rnd.random() < 0.7 else (a, b))
            edges.append((chain[-1], "y"))
        mediators = [f"m{i}" for i in range(rnd.randint(0, 2))]
        names += ["t", *mediators, "y"]
        edges += [("t", m) for m in mediators] + [(m, "y") for m in mediators] + [("t", "y")]
        for a, b in itertools.combinations(names, 2):
            if rnd.random() < 0.08 and (a, b) not in edges and (b, a) not in edges:
                edges.append((a, b))
        g = nx.DiGraph(edges)
        if len(names) <= 11 and nx.is_directed_acyclic_graph(g):
            break
    latents = frozenset(v for v in names if v not in ("t", "y") and rnd.random() < 0.1)
    bidirected = tuple(p for p in itertools.combinations(sorted(names), 2)
                       if rnd.random() < 0.01)
    observed = [v for v in names if v not in latents and v not in ("t", "y")]
    exclude = frozenset(v for v in observed if rnd.random() < 0.1)
    include = frozenset(v for v in observed if v not in exclude and rnd.random() < 0.05)
    return Case(tuple(names), tuple(edges), bidirected, latents, "t", "y", include, exclude)


@dataclass(frozen=True)
class Reference:
    """The adjustment criterion computed with networkx only."""

    forbidden: frozenset[str]
    pbd: nx.DiGraph
    candidates: tuple[str, ...]  # R: observed, not forbidden, not excluded, not t or y

    def valid(self, case: Case, z: frozenset[str]) -> bool:
        return not (z & self.forbidden) and nx.is_d_separator(self.pbd, {case.t}, {case.y}, z)


def reference(case: Case) -> Reference:
    g = case.dag()
    de_t = nx.descendants(g, case.t)
    an_y = nx.ancestors(g, case.y) | {case.y}
    causal = de_t & an_y
    forbidden = {case.t} | causal | {d for c in causal for d in nx.descendants(g, c)}
    pbd = g.copy()
    pbd.remove_edges_from([(case.t, c) for c in causal if g.has_edge(case.t, c)])
    candidates = tuple(v for v in case.observed
                       if v not in forbidden and v not in case.exclude and v not in (case.t,
                                                                                   case.y))
    return Reference(frozenset(forbidden), pbd, candidates)


def brute_force(case: Case, ref: Reference) -> list[frozenset[str]]:
    """All valid sets Z with include ⊆ Z ⊆ R."""
    free = [v for v in ref.candidates if v not in case.include]
    if not case.include <= set(ref.candidates):
        return []
    out = []
    for k in range(len(free) + 1):
        for extra in itertools.combinations(free, k):
            z = frozenset(extra) | case.include
            if ref.valid(case, z):
                out.append(z)
    return out


def minimal_of(valid: list[frozenset[str]], include: frozenset[str]) -> set[frozenset[str]]:
    return {z for z in valid if not any(w < z and include <= w for w in valid)}


def kw(case: Case) -> dict[str, frozenset[str]]:
    return {"include": case.include, "exclude": case.exclude}


@SETTINGS
@given(st.one_of(cases(), confounded_cases()))
def test_adjustment_sets_match_brute_force(case: Case) -> None:
    g, ref = case.graph(), reference(case)
    if case.include & ref.forbidden:
        return  # an error case, tested in test_identify.py
    valid = brute_force(case, ref)
    minimal = minimal_of(valid, case.include)
    one = g.adjustment_sets(case.t, case.y, "minimal", **kw(case))
    assert (one is None) == (not valid)
    every = list(g.adjustment_sets(case.t, case.y, "all_minimal", **kw(case)))
    assert len(every) == len(set(every))  # each minimal set exactly once
    assert set(every) == minimal
    smallest = g.adjustment_sets(case.t, case.y, "smallest", **kw(case))
    if not valid:
        assert smallest is None
        return
    assert one in minimal
    # minimality by single removals as well (relative to the included variables)
    for v in one - case.include:
        assert not ref.valid(case, one - {v})
    assert ref.valid(case, smallest)
    assert case.include <= smallest and not smallest & case.exclude
    assert len(smallest) == min(len(z) for z in valid)


@SETTINGS
@given(st.one_of(cases(), confounded_cases()))
def test_optimal_set_is_valid_and_exists_without_latents(case: Case) -> None:
    g, ref = case.graph(), reference(case)
    if case.include & ref.forbidden:
        return
    opt = g.optimal_set(case.t, case.y, **kw(case))
    if opt.set is not None:
        assert ref.valid(case, opt.set)
        assert case.include <= opt.set and not opt.set & case.exclude
        assert not opt.set & case.latents
    else:
        assert opt.note
    # Henckel, Perković & Maathuis: in a DAG without latents, when the outcome descends from
    # the treatment and any valid set exists, the O-set is valid.
    plain = Case(case.names, case.directed, (), frozenset(), case.t, case.y, frozenset(),
                 frozenset())
    plain_ref = reference(plain)
    causal_path = nx.has_path(plain.dag(), plain.t, plain.y)
    if causal_path and brute_force(plain, plain_ref):
        o = plain.graph().optimal_set(plain.t, plain.y).set
        assert o is not None and plain_ref.valid(plain, o)


@SETTINGS
@given(cases(constraints=False), st.data())
def test_d_separated_agrees_with_networkx(case: Case, data: st.DataObject) -> None:
    g, dag = case.graph(), case.dag()
    names = list(case.names)
    x, y = data.draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
    rest = [v for v in names if v not in (x, y)]
    z = frozenset(data.draw(st.lists(st.sampled_from(rest), unique=True))) if rest else frozenset()
    assert g.d_separated({x}, {y}, z) == nx.is_d_separator(dag, {x}, {y}, z)


@SETTINGS
@given(cases(constraints=False), st.data())
def test_identify_agrees_with_the_criterion(case: Case, data: st.DataObject) -> None:
    g, ref = case.graph(), reference(case)
    others = [v for v in case.observed if v not in (case.t, case.y)]
    proposed = (frozenset(data.draw(st.lists(st.sampled_from(others), unique=True)))
                if others else frozenset())
    r = identify(Model(), Query("q", "ate", case.t, case.y, adjusting=proposed), graph=g)
    valid = brute_force(case, ref)
    assert r.identifiable == bool(valid)
    assert r.causal_path == nx.has_path(case.dag(), case.t, case.y)
    if r.identifiable:
        assert r.adjustment_set is not None and ref.valid(case, r.adjustment_set)
        assert not any(p.open for p in r.backdoor_paths)
        assert all(ref.valid(case, z) for z in r.minimal_sets)
    else:
        assert r.obstructions  # the reason is shown as at least one open path
        assert all(p.open for p in r.obstructions)
    assert r.proposed is not None
    assert r.proposed.valid == ref.valid(case, proposed)
    assert r.proposed.valid == (not r.proposed.problems)


def _path_open(dag: nx.DiGraph, path: list[str], z: frozenset[str]) -> bool:
    anc = set(z).union(*(nx.ancestors(dag, v) for v in z)) if z else set()
    for a, v, b in zip(path, path[1:], path[2:], strict=False):
        collider = dag.has_edge(a, v) and dag.has_edge(b, v)
        if collider and v not in anc:
            return False
        if not collider and v in z:
            return False
    return True


@settings(max_examples=100, deadline=None, suppress_health_check=QUIET)
@given(cases(max_nodes=7, constraints=False), st.data())
def test_backdoor_paths_match_enumeration(case: Case, data: st.DataObject) -> None:
    g, dag = case.graph(), case.dag()
    # the reference enumerates every simple path: keep the graphs sparse enough for it
    assume(len(case.directed) + 2 * len(case.bidirected) <= 2 * len(case.names))
    others = [v for v in case.names if v not in (case.t, case.y)]
    z = frozenset(data.draw(st.lists(st.sampled_from(others), unique=True))) if others else (
        frozenset())
    listed = g.backdoor_paths(case.t, case.y, z, limit=10_000)
    skeleton = dag.to_undirected()
    expected = []
    for path in nx.all_simple_paths(skeleton, case.t, case.y):
        if dag.has_edge(path[1], case.t):  # first edge points into the treatment
            shown = " ".join(
                [path[0]] + [
                    f"{'<->' if v.startswith('U[') else ('->' if dag.has_edge(a, v) else '<-')}"
                    f" {v}" for a, v in itertools.pairwise(path)
                ]
            )
            expected.append((shown, _path_open(dag, path, z)))
    # render hidden parents the way the engine does: "a <- U[a,b] -> b" is "a <-> b"
    def compress(text: str) -> str:
        words = text.split()
        out = [words[0]]
        i = 1
        while i < len(words):
            arrow, node = words[i], words[i + 1]
            if node.startswith("U["):
                out += ["<->", words[i + 3]]
                i += 4
            else:
                out += [arrow, node]
                i += 2
        return " ".join(out)

    assert not listed.truncated
    got = sorted((str(p), p.open) for p in listed)
    assert got == sorted((compress(s), o) for s, o in expected)


@settings(max_examples=100, deadline=None, suppress_health_check=QUIET)
@given(cases(max_nodes=8, constraints=False))
def test_implications_hold_and_are_minimal(case: Case) -> None:
    g, dag = case.graph(), case.dag()
    imp = g.implications(limit=None)
    assert imp.complete
    covered = set()
    for i in imp:
        assert i.x < i.y and not i.given & case.latents
        assert nx.is_d_separator(dag, {i.x}, {i.y}, set(i.given))
        for v in i.given:
            assert not nx.is_d_separator(dag, {i.x}, {i.y}, set(i.given - {v}))
        covered.add((i.x, i.y))
    # every separable non-adjacent observed pair has its implication
    adjacent = {frozenset(e) for e in case.directed} | {frozenset(e) for e in case.bidirected}
    for a, b in itertools.combinations(sorted(case.observed), 2):
        if frozenset((a, b)) in adjacent:
            continue
        rest = [v for v in case.observed if v not in (a, b)]
        separable = any(nx.is_d_separator(dag, {a}, {b}, set(s))
                        for k in range(len(rest) + 1) for s in itertools.combinations(rest, k))
        assert ((a, b) in covered) == separable


@settings(max_examples=80, deadline=None, suppress_health_check=QUIET)
@given(cases(max_nodes=7, constraints=False))
def test_instruments_are_sound_and_complete(case: Case) -> None:
    g, ref = case.graph(), reference(case)
    dag = case.dag()
    if not nx.has_path(dag, case.t, case.y):
        assert g.instruments(case.t, case.y) == ()
        return
    found = {i.z: i.given for i in g.instruments(case.t, case.y, limit=100)}

    def works(z: str, w: frozenset[str]) -> bool:
        return (not nx.is_d_separator(dag, {z}, {case.t}, set(w))
                and nx.is_d_separator(ref.pbd, {z}, {case.y}, set(w)))

    for z, w in found.items():
        assert z not in ref.forbidden and not w & ref.forbidden and z not in w
        assert works(z, w)
    # Completeness holds for existence (van der Zander, Textor & Liśkiewicz 2015: if any
    # conditional instrument exists, an ancestral one does), and per variable for the
    # ancestral form: W within the ancestors of the instrument and the outcome.
    anywhere = set()
    for z in ref.candidates:
        rest = [v for v in ref.candidates if v != z]
        if any(works(z, frozenset(s)) for k in range(len(rest) + 1)
               for s in itertools.combinations(rest, k)):
            anywhere.add(z)
        ancestral = [v for v in rest
                     if v in nx.ancestors(ref.pbd, z) | nx.ancestors(ref.pbd, case.y)]
        exists = any(works(z, frozenset(s)) for k in range(len(ancestral) + 1)
                     for s in itertools.combinations(ancestral, k))
        assert (z in found) == exists, z
    assert bool(found) == bool(anywhere)


@settings(max_examples=120, deadline=None, suppress_health_check=QUIET)
@given(st.one_of(cases(), confounded_cases()), st.data())
def test_vectorised_searches_agree_with_brute_force(case: Case, data: st.DataObject) -> None:
    """Large graphs run the searches vectorised (numpy + scipy); force that path here."""
    saved = sep.FAST_MIN
    sep.FAST_MIN = 0
    try:
        g, ref = case.graph(), reference(case)
        if case.include & ref.forbidden:
            return
        assert g.vectorised
        valid = brute_force(case, ref)
        assert set(g.adjustment_sets(case.t, case.y, "all_minimal", **kw(case))) == (
            minimal_of(valid, case.include))
        one = g.adjustment_sets(case.t, case.y, "minimal", **kw(case))
        smallest = g.adjustment_sets(case.t, case.y, "smallest", **kw(case))
        assert (one is None) == (smallest is None) == (not valid)
        if valid:
            assert ref.valid(case, one) and ref.valid(case, smallest)
            assert len(smallest) == min(len(z) for z in valid)
        names = list(case.names)
        x, y = data.draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
        rest = [v for v in names if v not in (x, y)]
        z = frozenset(data.draw(st.lists(st.sampled_from(rest), unique=True))) if rest else (
            frozenset())
        assert g.d_separated({x}, {y}, z) == nx.is_d_separator(case.dag(), {x}, {y}, z)
        r = identify(Model(), Query("q", "ate", case.t, case.y, include=case.include,
                                    exclude=case.exclude), graph=g)
        assert r.identifiable == bool(valid)
        if valid:
            assert r.adjustment_set is not None and ref.valid(case, r.adjustment_set)
    finally:
        sep.FAST_MIN = saved


@settings(max_examples=150, deadline=None, suppress_health_check=QUIET)
@given(cases(constraints=False))
def test_front_door_set_matches_the_criterion(case: Case) -> None:
    g, dag = case.graph(), case.dag()
    found = g.front_door_set(case.t, case.y)
    causal = nx.descendants(dag, case.t) & (nx.ancestors(dag, case.y) | {case.y})

    def criterion(m: set[str]) -> bool:
        if not m or m & case.latents or case.t in m or case.y in m:
            return False
        cut = dag.copy()
        cut.remove_nodes_from(m)
        no_t = dag.copy()
        no_t.remove_edges_from(list(dag.out_edges(case.t)))
        no_m = dag.copy()
        no_m.remove_edges_from([e for v in m for e in dag.out_edges(v)])
        return (not nx.has_path(cut, case.t, case.y)
                and nx.is_d_separator(no_t, {case.t}, m, set())
                and nx.is_d_separator(no_m, m, {case.y}, {case.t}))

    natural = {c for c in dag.successors(case.t) if c in causal and c != case.y}
    if criterion(natural):
        assert found == natural  # the natural candidate first
    elif found is not None:
        assert criterion(set(found))  # else whatever the complete search returns is valid
