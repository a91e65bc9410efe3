"""Hover text: what a variable is and what part it plays in each query; what a query concludes.

In: an `Analysis` and the occurrence under the cursor. Out: Markdown. Raises nothing.

For a variable: its type (or "latent", or "selection node"), label, data column and levels from
its declaration — for a derived treatment, how the tool builds it (``from first_treated = ...``,
``when ...``) instead of a column; for a selection node, what conditioning on it means; its
parents, children, ``<->`` neighbours and ``layout`` position from the statements as written
(so hover works while the model has errors); and, when the study is valid, its role in every
query — treatment, outcome, in the recommended adjustment set, mediator (on a directed path
from treatment to outcome), collider on a listed backdoor path. For a query: the estimand, the
verdict of identification and the recommended set, as ``causal identify`` prints them.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..conditions import read_derivation
from ..errors import CausalError, DiagnosticSink
from ..model import ESTIMANDS
from ..syntax import LatentStmt, SelectedStmt, Value, VarStmt
from .analysis import Analysis
from .index import Occurrence

if TYPE_CHECKING:
    from ..identify import Identification

_SHOWN = 12  # names listed before "... (+N more)"


def hover_markdown(analysis: Analysis, occ: Occurrence) -> str:
    if occ.kind == "query":
        return query_markdown(analysis, occ.name)
    return variable_markdown(analysis, occ.name)


def names(items: set[str] | frozenset[str] | list[str]) -> str:
    shown = sorted(items)
    text = ", ".join(f"`{n}`" for n in shown[:_SHOWN])
    if len(shown) > _SHOWN:
        text += f", ... (+{len(shown) - _SHOWN} more)"
    return text or "none"


def variable_markdown(analysis: Analysis, name: str) -> str:
    """The hover of a variable.

    >>> from causal_dsl.lsp.analysis import analyze
    >>> a = analyze('var x: binary "Exposed"\\nvar y: count\\nx -> y\\n')
    >>> print(variable_markdown(a, "x"))
    **x** · `binary` · observed
    <BLANKLINE>
    Exposed
    <BLANKLINE>
    - data column: `x`
    - parents: none
    - children: `y`
    """
    ix = analysis.index
    decl = ix.declarations.get(name)
    if decl is None:
        head = f"**{name}** · *not declared*"
    elif isinstance(decl, LatentStmt):
        head = f"**{name}** · latent" + (" (invariant within a unit)" if decl.invariant else "")
    elif isinstance(decl, SelectedStmt):
        head = f"**{name}** · selection node"
    else:
        head = f"**{name}** · `{decl.type_name.text}` · " + (
            "derived" if decl.derivation is not None else "observed")
    out = [head]
    if decl is not None and decl.label:
        out += ["", decl.label]
    facts: list[str] = []
    if isinstance(decl, SelectedStmt):
        out += ["", f"The data holds only the rows with `{name}` = 1, so every analysis is "
                "conditioned on it; it is not a column, and cannot be a treatment, an outcome "
                "or in `never adjust for`. Adjustment sets must block the paths it opens "
                "(DAGitty's criterion under selection)."]
    elif isinstance(decl, VarStmt) and decl.derivation is not None:
        out += ["", derivation_markdown(decl)]
    elif isinstance(decl, VarStmt):
        facts.append(f"data column: `{decl.column or name}`")
        if decl.levels and decl.type_name.text.lower() == "binary":
            facts.append("codes: " + _codes(decl.levels))
        elif decl.levels:
            facts.append("levels: " + ", ".join(str(v.value) for v in decl.levels))
    facts.append(f"parents: {names(ix.parents.get(name, set()))}")
    facts.append(f"children: {names(ix.children.get(name, set()))}")
    if isinstance(decl, SelectedStmt) and not ix.parents.get(name):
        facts.append("nothing drawn decides selection: draw it (`x -> " + name + "`; lint L111)")
    if ix.confounded.get(name):
        facts.append(f"hidden common cause with (`<->`): {names(ix.confounded[name])}")
    if name in ix.layout:
        facts.append("drawn at ({}, {})".format(*ix.layout[name]))
    out += ["", *(f"- {f}" for f in facts)]
    roles = query_roles(analysis, name)
    if roles:
        out += ["", "**In the queries**", ""]
        out += [f"- `{q}`: {'; '.join(r)}" for q, r in roles]
    if analysis.study is not None and any(
            analysis.identification(q.name, compute=False) is None
            for q in analysis.study.queries):
        out += ["", "*Identification is still running: adjustment sets and colliders are "
                "shown once it has finished.*"]
    return "\n".join(out)


def derivation_markdown(decl: VarStmt) -> str:
    """What a derived treatment is, in words, with the construct as the tool reads it.

    >>> from causal_dsl.syntax import parse_syntax
    >>> [s] = parse_syntax('var d: binary when year >= 2011 and state == "CA"\\n').statements
    >>> print(derivation_markdown(s))  # doctest: +ELLIPSIS
    Built by the tool, ...: 1 in the rows where `year >= 2011 and state == "CA"` holds, else 0...
    """
    assert decl.derivation is not None
    derived = read_derivation(decl.derivation, DiagnosticSink())
    if derived is None:  # an unknown `from` form: the diagnostics say which
        return "Built by the tool, not read from a column (the derivation has an error)."
    if derived.first_treated is not None:
        return (f"Built by the tool, not read from a column: 1 from each unit's first treated "
                f"period on, else 0 — `{derived}`: the column `{derived.first_treated}` gives "
                "each unit's first treated period (0 = never treated, the `did` package's "
                "`gname`), compared with the panel's `time` column. Needs "
                "`panel(unit = ..., time = ...)`.")
    return (f"Built by the tool, not read from a column: 1 in the rows where "
            f"`{derived.condition}` holds, else 0 (a row with a missing operand gets a missing "
            "value). Names are data columns; the condition is read, never run as code.")


def _codes(levels: tuple[Value, ...]) -> str:
    """``binary("F", "M")``: the first code is 0; ``binary(treated = "t", control = "c")``: by
    name, in either order."""
    keyed = {v.value[0].text: v.value[1].value for v in levels if v.kind == "keyed"}
    if keyed:
        return ", ".join(f"`{keyed[k]}` is {n}" for k, n in (("control", 0), ("treated", 1))
                         if k in keyed)
    return ", ".join(f"`{v.value}` is {n}" for n, v in enumerate(levels))


def query_roles(analysis: Analysis, name: str) -> list[tuple[str, list[str]]]:
    """For each query of a valid study, what `name` is to it (queries where it is nothing
    are left out)."""
    study = analysis.study
    if study is None:
        return []
    out = []
    for q in study.queries:
        roles = []
        if name == q.treatment:
            roles.append("treatment")
        if name == q.outcome:
            roles.append("outcome")
        # Only what the server's second pass has computed: a hover never waits for a slow
        # identification of another query on a large study.
        found = analysis.identification(q.name, compute=False)
        if found is not None and not isinstance(found, CausalError):
            if found.adjustment_set is not None and name in found.adjustment_set:
                roles.append("in the recommended adjustment set")
            collider_on = [p for p in (*found.backdoor_paths, *found.obstructions)
                           if _is_collider(p.nodes, p.arrows, name)]
            if collider_on:
                roles.append(f"collider on `{collider_on[0].short()}`"
                             + (f" (+{len(collider_on) - 1} more paths)"
                                if len(collider_on) > 1 else ""))
        if name not in (q.treatment, q.outcome) and name in _causal_nodes(analysis, q.treatment,
                                                                         q.outcome):
            roles.append("mediator (on a causal path: do not adjust for it)")
        if q.adjusting is not None and name in q.adjusting:
            roles.append("in the proposed `adjusting` set")
        if name in q.include:
            roles.append("forced in (`adjust for`)")
        if name in q.exclude:
            roles.append("kept out (`never adjust for`)")
        if roles:
            out.append((q.name, roles))
    return out


def _is_collider(nodes: tuple[str, ...], arrows: tuple[str, ...], name: str) -> bool:
    """Whether `name` is an inner node of the path with both arrows pointing into it."""
    for i in range(1, len(nodes) - 1):
        if nodes[i] == name and arrows[i - 1] in ("->", "<->") and arrows[i] in ("<-", "<->"):
            return True
    return False


def _reach(start: str, step: dict[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in step.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _causal_nodes(analysis: Analysis, t: str, y: str) -> frozenset[str]:
    """Descendants of `t` that are ancestors of `y` (kept per analysis: a hover on a large
    study would otherwise walk the graph twice per query)."""
    key = ("causal_nodes", t, y)
    found = analysis.cache.get(key)
    if found is None:
        ix = analysis.index
        found = analysis.cache[key] = frozenset(_reach(t, ix.children) & _reach(y, ix.parents))
    return found


def query_markdown(analysis: Analysis, name: str) -> str:
    """The hover of a query: its question, then the verdict of identification."""
    stmt = analysis.index.queries.get(name)
    if stmt is None:
        return f"**query {name}**"
    estimand = stmt.estimand.text
    out = [f"**query {name}** · {estimand}({stmt.treatment.text} -> {stmt.outcome.text})",
           "", ESTIMANDS.get(estimand, "unknown estimand").capitalize()]
    found = analysis.identification(name)
    if found is None:
        out += ["", "*Identification is shown once the study has no errors.*"]
    elif isinstance(found, CausalError):
        out += ["", "**Cannot be identified as asked:** " + found.diagnostics[0].message]
    else:
        out += ["", verdict(found, markdown=True)]
        if found.reasons:
            out += ["", *(f"- {r}" for r in found.reasons)]
    return "\n".join(out)


def verdict(found: Identification, markdown: bool = False) -> str:
    """One line: ``identifiable · adjust for {a, b}`` or ``not identifiable by adjustment``."""
    if not found.identifiable or found.adjustment_set is None:
        return "not identifiable by adjustment"
    shown = "{" + ", ".join(sorted(found.adjustment_set)[:_SHOWN])
    if len(found.adjustment_set) > _SHOWN:
        shown += f", ... (+{len(found.adjustment_set) - _SHOWN} more)"
    shown += "}"
    what = "optimal set" if found.recommended == "optimal" else "smallest set"
    if markdown:
        return f"**identifiable** · adjust for `{shown}` ({what})"
    return f"identifiable · adjust for {shown} ({what})"
