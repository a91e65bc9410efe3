"""`causal diff`: golden old/new pairs (text, Markdown, JSON), the semantic rules, properties
checked against the graph engine (implications and identification recomputed from scratch), the
command in all its modes including git's external diff driver.

Regenerate the golden files after an intended change with
``CAUSAL_UPDATE_GOLDEN=1 python -m pytest tests/test_diff.py -k golden`` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.diff import semantic_diff
from causal_dsl.fmt import format_text
from causal_dsl.graph import CausalGraph, pair_implication

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "diff"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
UPDATE = os.environ.get("CAUSAL_UPDATE_GOLDEN") == "1"


def load(path: Path) -> causal_dsl.Study:
    return causal_dsl.parse(path.read_text(), path.name, check_files=False)


def golden_diff(case: Path):  # type: ignore[no-untyped-def]
    return semantic_diff(load(case / "old.causal"), load(case / "new.causal"),
                         "old.causal", "new.causal")


# --- golden files ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
@pytest.mark.parametrize("kind", ["txt", "md", "json"])
def test_golden(case: Path, kind: str) -> None:
    d = golden_diff(case)
    produced = {"txt": str(d), "md": d.to_markdown(), "json": d.to_json()}[kind]
    expected = case / f"expected.{kind}"
    if UPDATE:
        expected.write_text(produced)
    assert produced == expected.read_text()


def test_golden_cases_cover_the_ground() -> None:
    assert len(CASES) >= 5
    diffs = {c.name: golden_diff(c) for c in CASES}
    assert not diffs["formatting_only"].changed
    assert any(d.arrows_reversed for d in diffs.values())
    assert any(d.data and d.title for d in diffs.values())
    assert any(c.before and c.before.identifiable and not c.after.identifiable
               for d in diffs.values() for c in d.identification)
    assert any(c.before and not c.before.identifiable and c.after.identifiable
               for d in diffs.values() for c in d.identification)
    # issue 12: weights, a derived treatment, a selection node and a functional form are
    # reviewable changes; a moved layout position is not
    d = diffs["issue12_constructs"]
    assert [c.field for c in d.data] == ["weights"]
    changed = {c.name: [f.field for f in c.changes] for c in d.variables_changed}
    assert changed == {"treated": ["derived"], "reported": ["kind", "label"]}
    assert [f.field for c in d.queries_changed for f in c.changes] == ["method"]
    assert not d.identification[0].after.identifiable  # selected on a child of the outcome


# --- what the diff says ------------------------------------------------------------------------
HEART = ROOT / "examples" / "heart_drug.causal"


def heart() -> causal_dsl.Study:
    return causal_dsl.parse(HEART.read_text(), check_files=False)


def edited(change: str, new: str) -> causal_dsl.Study:
    text = HEART.read_text()
    assert change in text
    return causal_dsl.parse(text.replace(change, new), check_files=False)


def test_layout_order_and_comments_are_not_changes() -> None:
    text = HEART.read_text()
    shuffled = "\n".join(reversed([line.split("#")[0] for line in text.splitlines()])) + "\n"
    for other in (format_text(text), shuffled):
        d = semantic_diff(heart(), causal_dsl.parse(other, check_files=False))
        assert not d.changed and d.summary() == "no semantic change"
        assert "no semantic change" in str(d) and "No semantic change" in d.to_markdown()
        assert json.loads(d.to_json())["changed"] is False


def test_reversed_arrow_is_one_change_not_add_and_remove() -> None:
    d = semantic_diff(heart(), edited("age -> initial_health -> drug",
                                      "initial_health -> age\ninitial_health -> drug"))
    assert [str(e) for e in d.arrows_reversed] == ["initial_health -> age"]
    assert d.arrows_added == () and d.arrows_removed == ()
    assert "reversed: was age -> initial_health" in str(d)


def test_latent_to_observed_changes_identification() -> None:
    new = HEART.read_text().replace("latent frailty ", "var frailty: continuous ")
    new = new.replace('"Unmeasured frailty"', '"Measured frailty"')
    d = semantic_diff(heart(), causal_dsl.parse(new, check_files=False))
    (change,) = d.variables_changed
    assert change.name == "frailty"
    assert [c.field for c in change.changes] == ["kind", "label"]
    assert str(change.changes[0]) == "kind latent → observed (continuous)"


def test_adding_a_confounder_breaks_identification_and_says_why() -> None:
    d = semantic_diff(heart(), edited("ward <-> drug", "ward <-> drug\ndrug <-> severity"))
    assert [str(e) for e in d.arrows_added] == ["drug <-> severity"]
    names = [c.query for c in d.identification]
    assert names == ["main", "treated", "linear"]
    for c in d.identification:
        assert c.before is not None and c.before.identifiable and not c.after.identifiable
        assert c.after.reason and "drug <-> severity" in c.after.reason
    assert "identifiable → NOT identifiable" in str(d)


def test_query_changes_and_proposed_set_validity() -> None:
    d = semantic_diff(heart(), edited("query main: ate(drug -> severity)",
                                      "query main: ate(drug -> severity) adjusting {age}"))
    (q,) = d.queries_changed
    assert str(q) == "main: adjusting none → {age}"
    (c,) = d.identification
    assert c.before is not None and c.before.proposed_valid is None
    assert c.after.proposed_valid is False
    assert "proposed set: none → NOT valid" in str(d)


def test_unaffected_queries_are_not_reidentified(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = causal_dsl.Study.adjustment_sets

    def spy(self, treatment, outcome, *a, **kw):  # type: ignore[no-untyped-def]
        calls.append(treatment)
        return original(self, treatment, outcome, *a, **kw)

    monkeypatch.setattr(causal_dsl.Study, "adjustment_sets", spy)
    # A new variable downstream of the outcome touches nothing the queries depend on.
    d = semantic_diff(heart(), edited("ward <-> drug", "ward <-> drug\nvar later: count\n"
                                      "severity -> later"))
    assert d.changed and d.identification == () and calls == []


def test_title_data_and_type_changes() -> None:
    d = semantic_diff(heart(), causal_dsl.parse(
        HEART.read_text().replace('"heart_drug.csv"', '"v2.csv" panel(unit = p, time = t)')
        .replace("var age: continuous", "var age: count").replace(
            'study "Heart drug and severity"', 'study "Heart drug"'), check_files=False))
    assert [str(c) for c in d.data] == ['file "heart_drug.csv" → "v2.csv"',
                                        "panel unit none → p", "panel time none → t"]
    assert str(d.title) == 'title "Heart drug and severity" → "Heart drug"'
    assert [str(c) for c in d.variables_changed] == ["age: type continuous → count"]


def test_empty_side_means_everything_added() -> None:
    d = semantic_diff(causal_dsl.Study(), heart())
    assert len(d.variables_added) == 6 and len(d.arrows_added) == 9 and len(d.queries_added) == 3
    assert all(c.before is None for c in d.identification)
    back = semantic_diff(heart(), causal_dsl.Study())
    assert len(back.variables_removed) == 6 and back.identification == ()


def test_markdown_diagram_marks_changes_and_escapes_names() -> None:
    d = golden_diff(GOLDEN / "awkward_names")
    md = d.to_markdown()
    diagram = md.split("```mermaid\n")[1].split("```")[0]
    assert "<script>" not in md
    edge_lines = [line for line in diagram.splitlines() if "-->" in line or "-.->" in line]
    styles = {int(line.split()[1]): line for line in diagram.splitlines()
              if line.strip().startswith("linkStyle")}
    for i, line in enumerate(edge_lines):
        if "-.->" in line and "<-.->" not in line:
            assert "#cf222e" in styles[i] and "dasharray" in styles[i]  # removed: red, dashed
    assert any("#2da44e" in s for s in styles.values())  # added: green
    # Node ids are safe words; labels are quoted and escaped.
    assert 'v_end["end"]' in diagram and 'v_x_y["x|y"]' in diagram
    assert 'v_age__years_["age (years)"]' in diagram


def test_big_diagram_is_cut_to_the_changes() -> None:
    n = 300
    lines = [f"var v{i}: continuous" for i in range(n)]
    lines += [f"v{i} -> v{i + 1}" for i in range(n - 1)]
    old = causal_dsl.parse("\n".join(lines) + "\n")
    new = causal_dsl.parse("\n".join(lines) + "\nv10 -> v20\n")
    md = semantic_diff(old, new).to_markdown()
    assert "Only the" in md and f"the new DAG has {n}" in md
    diagram = md.split("```mermaid\n")[1].split("```")[0]
    assert diagram.count("-->") < 20 and "v_v10 --> v_v20" in diagram


# --- properties against the graph engine ---------------------------------------------------------
@st.composite
def edit_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """A random small study and a random edit of it (arrows, latents, variables)."""
    n = draw(st.integers(3, 8))
    names = [f"v{i}" for i in range(n)]
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]

    def study(edges: list[tuple[str, str]], bidirected: list[tuple[str, str]],
              latent: set[str], present: list[str]) -> str:
        lines = [f"latent {v}" if v in latent else f"var {v}: continuous" for v in present]
        lines += [f"{a} -> {b}" for a, b in edges if a in present and b in present]
        lines += [f"{a} <-> {b}" for a, b in bidirected if a in present and b in present]
        observed = [v for v in present if v not in latent]
        if len(observed) >= 2:
            lines.append(f"query q: ate({observed[0]} -> {observed[-1]})")
        return "\n".join(lines) + "\n"

    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=12))
    bidirected = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=2))
    latent = set(draw(st.lists(st.sampled_from(names[1:-1]), unique=True, max_size=2)))
    edges2 = [e for e in edges if draw(st.integers(0, 5)) > 0]
    edges2 += draw(st.lists(st.sampled_from(pairs), unique=True, max_size=3))
    edges2 = list(dict.fromkeys(edges2))
    latent2 = set(latent) ^ set(draw(st.lists(st.sampled_from(names[1:-1]), unique=True,
                                              max_size=1)))
    present2 = names if draw(st.booleans()) else names[:-1]
    old = study(edges, bidirected, latent, names)
    new = study(edges2, bidirected if draw(st.booleans()) else [], latent2, present2)
    return old, new


def all_implications(s: causal_dsl.Study) -> set[str]:
    """Every pair's implication, computed from scratch (no pruning)."""
    g = CausalGraph.from_model(s)
    observed = [v.name for v in s.observed]
    found = (pair_implication(g, a, b)[0] for i, a in enumerate(observed)
             for b in observed[i + 1:])
    return {str(x) for x in found if x is not None}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit_pairs())
def test_property_incremental_diff_matches_recomputation(pair: tuple[str, str]) -> None:
    old, new = (causal_dsl.parse(t) for t in pair)
    d = semantic_diff(old, new)
    assert d.implications_complete
    # Only pairs a change can reach are re-examined; that must miss nothing.
    before, after = all_implications(old), all_implications(new)
    assert {str(i) for i in d.implications_added} == after - before
    assert {str(i) for i in d.implications_removed} == before - after
    # Each one is true, and minimal, according to the graph engine.
    for study, items in ((new, d.implications_added), (old, d.implications_removed)):
        g = CausalGraph.from_model(study)
        engine_pairs = {(i.x, i.y) for i in g.implications(limit=None)}
        for i in items:
            assert (i.x, i.y) in engine_pairs  # the engine finds the pair separable too
            assert g.d_separated({i.x}, {i.y}, i.given)
            for z in i.given:
                assert not g.d_separated({i.x}, {i.y}, i.given - {z})
    # Identification: whatever the diff says now agrees with the full engine.
    for q in new.queries:
        full = new.identify(q)
        change = next((c for c in d.identification if c.query == q.name), None)
        if change is not None:
            assert change.after.identifiable == full.identifiable
            if full.identifiable:
                assert change.after.adjustment_set == full.adjustment_set
        elif q.name in {x.name for x in old.queries}:
            past = old.identify(old.query(q.name))
            assert (past.identifiable, past.adjustment_set) == (full.identifiable,
                                                               full.adjustment_set)
    # Symmetry: swapping the sides swaps added and removed.
    back = semantic_diff(new, old)
    assert set(back.arrows_added) == set(d.arrows_removed)
    assert {str(i) for i in back.implications_added} == {str(i) for i in d.implications_removed}


def test_implications_agree_with_the_engine_on_the_examples() -> None:
    # Same pairs as `causal identify`; where the engine starts from the upstream end (always
    # for ancestor pairs) it finds the same set.
    for path in sorted((ROOT / "examples").glob("*.causal")):
        s = causal_dsl.parse(path.read_text(), check_files=False)
        ours = semantic_diff(causal_dsl.Study(), s).implications_added
        engine = CausalGraph.from_model(s).implications(limit=None)
        assert {(i.x, i.y) for i in ours} == {(i.x, i.y) for i in engine}
        assert {str(i) for i in ours} == {str(i) for i in engine}


def test_budget_cuts_implications_and_says_so() -> None:
    lines = [f"var v{i}: continuous" for i in range(40)]
    lines += [f"v{i} -> v{i + 1}" for i in range(39)]
    old = causal_dsl.parse("\n".join(lines) + "\n")
    new = causal_dsl.parse("\n".join(line for line in lines if line != "v0 -> v1") + "\n")
    full = semantic_diff(old, new)
    cut = semantic_diff(old, new, implication_budget=200)
    assert full.implications_complete and not cut.implications_complete
    assert cut.implications_note and "were not compared" in cut.implications_note
    assert "note: compared the " in str(cut) and " variable pairs nearest" in str(cut)
    # The pairs nearest the change come first: v0 and v1 are its two ends.
    assert "v0 ⊥ v1" in {str(i) for i in cut.implications_added}


# --- the command -------------------------------------------------------------------------------
def test_cli_two_files_formats_and_exit_code(tmp_path: Path) -> None:
    case = GOLDEN / "heart_edits"
    old, new = str(case / "old.causal"), str(case / "new.causal")
    run = CliRunner().invoke
    text = run(main, ["diff", old, new])
    assert text.exit_code == 0 and "arrows:" in text.output and "+ drug <-> severity" in \
        text.output
    assert run(main, ["diff", "--exit-code", old, new]).exit_code == 1
    assert run(main, ["diff", "--exit-code", old, old]).exit_code == 0
    md = run(main, ["diff", "--format", "markdown", old, new])
    assert md.output.startswith("### Causal assumptions") and "```mermaid" in md.output
    payload = json.loads(run(main, ["diff", "--format", "json", old, new]).output)
    assert payload["changed"] is True and payload["arrows"]["added"][0]["text"]


def test_cli_errors(tmp_path: Path) -> None:
    good = tmp_path / "a.causal"
    good.write_text("var x: binary\n")
    bad = tmp_path / "b.causal"
    bad.write_text("var x: binary\nx -> nope\n")
    run = CliRunner().invoke
    result = run(main, ["diff", str(good), str(bad)])
    assert result.exit_code == 1 and "E201" in result.output and "Traceback" not in result.output
    result = run(main, ["diff", "HEAD", str(good)])
    assert result.exit_code == 1 and f"causal diff HEAD -- {good}" in result.output
    assert run(main, ["diff", str(good)]).exit_code == 2


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.org")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "sub").mkdir()
    shutil.copy(GOLDEN / "heart_edits" / "old.causal", tmp_path / "sub" / "s.causal")
    (tmp_path / ".gitattributes").write_text("*.causal diff=causal\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    shutil.copy(GOLDEN / "heart_edits" / "new.causal", tmp_path / "sub" / "s.causal")
    return tmp_path


def test_cli_against_git_revisions(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    run = CliRunner().invoke
    result = run(main, ["diff", "HEAD", "--", "sub/s.causal"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("causal diff HEAD:sub/s.causal → sub/s.causal")
    assert "+ drug <-> severity" in result.output
    assert run(main, ["diff", "--", "sub/s.causal"]).output == result.output  # HEAD by default
    git(repo, "commit", "-qam", "two")
    both = run(main, ["diff", "HEAD~1", "HEAD", "--", "sub/s.causal"])
    assert both.exit_code == 0 and "+ drug <-> severity" in both.output
    missing = run(main, ["diff", "no-such-rev", "--", "sub/s.causal"])
    assert missing.exit_code == 1 and "E702" in missing.output
    (repo / "sub" / "new.causal").write_text("var x: binary\n")
    added = run(main, ["diff", "HEAD", "--", "sub/new.causal"])
    assert added.exit_code == 0 and "+ var x: binary" in added.output


def test_git_external_diff_driver(repo: Path) -> None:
    # The real thing: git runs the driver for *.causal files with its 7 arguments.
    driver = f"{sys.executable} -m causal_dsl.cli diff --git-driver"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(["git", "-c", f"diff.causal.command={driver}", "diff"], cwd=repo,
                         check=True, capture_output=True, text=True, env=env).stdout
    assert out.startswith("diff --causal a/sub/s.causal b/sub/s.causal\n")
    assert "+ drug <-> severity" in out and "identification:" in out
    # A side that does not parse: the error and a line diff, and git carries on (exit 0).
    (repo / "sub" / "s.causal").write_text("x ->\n")
    broken = subprocess.run(["git", "-c", f"diff.causal.command={driver}", "diff"], cwd=repo,
                            check=True, capture_output=True, text=True, env=env).stdout
    assert "cannot compare a/sub/s.causal and b/sub/s.causal semantically" in broken
    assert "+x ->" in broken


def test_git_driver_arguments_directly(tmp_path: Path) -> None:
    new = tmp_path / "n.causal"
    new.write_text("var x: binary\n")
    args = ["diff", "--git-driver", "s.causal", "/dev/null", "0" * 40, "100644", str(new),
            "1" * 40, "100644"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "+ var x: binary" in result.output
    odd = CliRunner().invoke(main, ["diff", "--git-driver", "s.causal"])
    assert odd.exit_code == 0 and "nothing compared" in odd.output
