"""The text, Markdown (with a Mermaid diagram) and JSON renderings of a `StudyDiff`.

In: a `StudyDiff` (`causal_dsl.diff`). Out: strings (`diff_text`, `diff_markdown`,
`diff_mermaid`) and plain data (`diff_dict`), byte for byte what ``causal diff --format
text|markdown|json`` prints. Raises nothing. Also the ``.causal`` spellings of declarations
and queries that the diff's lines quote (`declaration`, `query_text`).

The diff is the one result type that lives above the presenters (it compares two studies'
identifications), so its formats are drawn together here rather than spread over `text`,
`markdown` and `html`: one place per format still, and `causal_dsl.diff` stays computation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..fmt import quote_name, quote_string
from ..model import OptionValue, Query, Variable
from ..render import mermaid_text, safe_ids
from .markup import code_span
from .markup import markdown_escape as _md

if TYPE_CHECKING:
    from ..diff import FieldChange, IdentificationChange, Identified, StudyDiff

# The Markdown diagram: GitHub refuses Mermaid graphs over 500 edges; past this many arrows
# only the neighbourhood of the changes is drawn.
DIAGRAM_MAX_ARROWS = 150
LIST_MAX = 50  # implications listed in text and Markdown (JSON has all)

_ADDED, _REMOVED, _REVERSED = "#2da44e", "#cf222e", "#d4a72c"


def diff_text(d: StudyDiff) -> str:
    """What ``causal diff`` prints (text)."""
    head = f"causal diff {d.old_name or '(old)'} → {d.new_name or '(new)'}"
    if not d.changed:
        return f"{head}\nno semantic change (layout, order and comments are ignored)\n"
    lines = [head, d.summary()]
    if d.title:
        lines.append(str(d.title))
    for c in d.data:
        lines.append(f"data: {c}")
    section = _variable_lines(d) + _arrow_lines(d) + _query_lines(d)
    lines += section
    if d.identification:
        lines.append("identification:")
        for change in d.identification:
            lines.append(f"  {change.query}: {change.question}")
            lines += [f"    {line}" for line in change.lines()]
    lines += _implication_lines(d, markdown=False)
    return "\n".join(lines) + "\n"

def _variable_lines(d: StudyDiff) -> list[str]:
    if not (d.variables_added or d.variables_removed or d.variables_changed):
        return []
    lines = ["variables:"]
    lines += [f"  + {declaration(v)}" for v in d.variables_added]
    lines += [f"  - {declaration(v)}" for v in d.variables_removed]
    lines += [f"  ~ {c}" for c in d.variables_changed]
    return lines

def _arrow_lines(d: StudyDiff) -> list[str]:
    if not (d.arrows_added or d.arrows_removed or d.arrows_reversed):
        return []
    lines = ["arrows:"]
    lines += [f"  + {_arrow(e)}" for e in d.arrows_added]
    lines += [f"  - {_arrow(e)}" for e in d.arrows_removed]
    lines += [f"  ~ {_arrow(e)}  (reversed: was {quote_name(e.target)} -> "
              f"{quote_name(e.source)})" for e in d.arrows_reversed]
    return lines

def _query_lines(d: StudyDiff) -> list[str]:
    if not (d.queries_added or d.queries_removed or d.queries_changed):
        return []
    lines = ["queries:"]
    lines += [f"  + {query_text(q)}" for q in d.queries_added]
    lines += [f"  - {query_text(q)}" for q in d.queries_removed]
    lines += [f"  ~ {c}" for c in d.queries_changed]
    return lines

def _implication_lines(d: StudyDiff, markdown: bool) -> list[str]:
    added, removed = d.implications_added, d.implications_removed
    if not (added or removed or d.implications_note):
        return []
    code = (lambda s: f"`{s}`") if markdown else (lambda s: s)
    bullet = "- " if markdown else "  "
    lines = [] if markdown else ["testable implications (x ⊥ y | z: independent given z):"]
    shown = 0
    for sign, items in (("+", added), ("-", removed)):
        for item in items:
            if shown >= LIST_MAX:
                break
            word = ("new: " if sign == "+" else "gone: ") if markdown else f"{sign} "
            lines.append(f"{bullet}{word}{code(str(item))}")
            shown += 1
    hidden = len(added) + len(removed) - shown
    if hidden > 0:
        lines.append(f"{bullet}… and {hidden} more (see --format json)")
    if d.implications_note:
        lines.append(f"{bullet}note: {d.implications_note}")
    return lines

# --- Markdown ----------------------------------------------------------------------------
def diff_markdown(d: StudyDiff) -> str:
    """A pull-request comment: summary, tables of changes, and a Mermaid diagram."""
    title = f"### Causal assumptions: {_code(d.new_name or 'study')}"
    if not d.changed:
        return (f"{title}\n\nNo semantic change: only layout, order or comments differ.\n")
    out = [title, "", f"**{_md(d.summary())}**", ""]
    if d.title or d.data:
        out += ["#### Study", ""]
        if d.title:
            out.append(f"- {_md(str(d.title))}")
        out += [f"- data: {_md(str(c))}" for c in d.data]
        out.append("")
    if d.arrows_added or d.arrows_removed or d.arrows_reversed:
        out += ["#### Arrows", "", "| change | arrow |", "| --- | --- |"]
        out += [f"| ➕ added | {_code(_arrow(e), True)} |" for e in d.arrows_added]
        out += [f"| ➖ removed | {_code(_arrow(e), True)} |" for e in d.arrows_removed]
        out += [f"| 🔄 reversed | {_code(_arrow(e), True)} (was {_code(_reverse(e), True)}) |"
                for e in d.arrows_reversed]
        out.append("")
    if d.variables_added or d.variables_removed or d.variables_changed:
        out += ["#### Variables", ""]
        out += [f"- ➕ {_code(declaration(v))}" for v in d.variables_added]
        out += [f"- ➖ {_code(declaration(v))}" for v in d.variables_removed]
        out += [f"- ✏️ {_code(c.name)}: {_md('; '.join(str(x) for x in c.changes))}"
                for c in d.variables_changed]
        out.append("")
    if d.queries_added or d.queries_removed or d.queries_changed:
        out += ["#### Queries", ""]
        out += [f"- ➕ {_code(query_text(q))}" for q in d.queries_added]
        out += [f"- ➖ {_code(query_text(q))}" for q in d.queries_removed]
        out += [f"- ✏️ {_code(c.name)}: {_md('; '.join(str(x) for x in c.changes))}"
                for c in d.queries_changed]
        out.append("")
    if d.identification:
        out += ["#### Identification", "", "| query | before | after |",
                "| --- | --- | --- |"]
        for change in d.identification:
            before = "(new query)" if change.before is None else _md(identified_text(change.before))
            after = _md(identified_text(change.after))
            if change.before is not None and change.before.identifiable \
                    and not change.after.identifiable:
                after = f"**{after}**"
            out.append(f"| {_code(change.query, True)}: {_code(change.question, True)} "
                       f"| {before} | {after} |")
        reasons = [(c.query, c.after.reason) for c in d.identification
                   if c.after.reason and not c.after.identifiable]
        if reasons:
            out.append("")
            out += [f"- {_code(q)}: {_md(r)}" for q, r in reasons if r]
        out.append("")
    implications = _implication_lines(d, markdown=True)
    if implications:
        out += ["#### Testable implications", "",
                "Conditional independences the data should show (`x ⊥ y | z`):", ""]
        out += implications
        out.append("")
    if d.new is not None:
        diagram, note = diff_mermaid(d)
        out += ["#### The new DAG", ""]
        if note:
            out += [_md(note), ""]
        out += ["```mermaid", diagram.rstrip("\n"), "```", "",
                "Green: added arrows · red, dashed: removed · orange: reversed · "
                "rounded, dashed boxes: latent · struck-through boxes: removed variables.",
                ""]
    return "\n".join(out)

def diff_mermaid(d: StudyDiff) -> tuple[str, str | None]:
    """The new DAG with the changes marked, and a note when only a part is drawn."""
    assert d.new is not None
    new_edges = list(d.new.edges)
    removed = list(d.arrows_removed)
    added = {_edge_key(e) for e in d.arrows_added}
    reversed_ = {_edge_key(e) for e in d.arrows_reversed}
    note = None
    if len(new_edges) + len(removed) > DIAGRAM_MAX_ARROWS:
        # Draw the changed arrows and the arrows touching their ends (and changed variables).
        focus = {e.source for e in (*d.arrows_added, *removed, *d.arrows_reversed)}
        focus |= {e.target for e in (*d.arrows_added, *removed, *d.arrows_reversed)}
        focus |= {v.name for v in d.variables_added} | {c.name for c in
                                                           d.variables_changed}
        changed = [e for e in new_edges if _edge_key(e) in added | reversed_]
        nearby = [e for e in new_edges if _edge_key(e) not in added | reversed_
                  and (e.source in focus or e.target in focus)]
        budget = max(0, DIAGRAM_MAX_ARROWS - len(changed) - len(removed))
        kept = changed + nearby[:budget]
        note = (f"Only the {len(kept) + len(removed)} arrows at and around the changes are "
                f"drawn (the new DAG has {len(new_edges)}).")
        new_edges = kept
    names = {e.source for e in new_edges} | {e.target for e in new_edges}
    names |= {e.source for e in removed} | {e.target for e in removed}
    if note is None:
        names |= {v.name for v in d.new.variables}
    names |= {v.name for v in d.variables_added}
    by_name = {v.name: v for v in d.new.variables}
    gone = {v.name: v for v in d.variables_removed}
    order = [v.name for v in d.new.variables if v.name in names]
    order += [n for n in sorted(gone) if n in names]
    ids = safe_ids(order)
    lines = ["flowchart LR"]
    for name in order:
        text = mermaid_text(name)
        v = by_name.get(name)
        if v is not None and v.latent:
            lines.append(f'    {ids[name]}("{text}")')
        else:
            lines.append(f'    {ids[name]}["{text}"]')
    styles = []
    for i, e in enumerate([*new_edges, *removed]):
        is_removed = i >= len(new_edges)
        arrow = "<-.->" if e.bidirected else ("-.->" if is_removed else "-->")
        lines.append(f"    {ids[e.source]} {arrow} {ids[e.target]}")
        key = _edge_key(e)
        if is_removed:
            styles.append(f"    linkStyle {i} stroke:{_REMOVED},stroke-width:2px,"
                          "stroke-dasharray:6 4")
        elif key in added:
            styles.append(f"    linkStyle {i} stroke:{_ADDED},stroke-width:3px")
        elif key in reversed_:
            styles.append(f"    linkStyle {i} stroke:{_REVERSED},stroke-width:3px")
    lines += [
        "    classDef latent fill:#ffffff,stroke:#6e7781,stroke-dasharray:5 4",
        f"    classDef added fill:#dafbe1,stroke:{_ADDED},stroke-width:2px",
        f"    classDef changed fill:#fff8c5,stroke:{_REVERSED},stroke-width:2px",
        f"    classDef removed fill:#ffebe9,stroke:{_REMOVED},stroke-dasharray:4 3,"
        "color:#6e7781,text-decoration:line-through",
    ]
    classes: dict[str, list[str]] = {}
    added_vars = {v.name for v in d.variables_added}
    changed_vars = {c.name for c in d.variables_changed}
    for name in order:
        v = by_name.get(name)
        if name in gone and v is None:
            role = "removed"
        elif name in added_vars:
            role = "added"
        elif name in changed_vars:
            role = "changed"
        elif v is not None and v.latent:
            role = "latent"
        else:
            continue
        classes.setdefault(role, []).append(ids[name])
    for role in ("latent", "added", "changed", "removed"):
        if role in classes:
            lines.append(f"    class {','.join(classes[role])} {role}")
    lines += styles
    return "\n".join(lines) + "\n", note

# --- JSON --------------------------------------------------------------------------------
def diff_dict(d: StudyDiff) -> dict[str, Any]:
    """The diff as data (``causal diff --format json``)."""
    return {
        "old": d.old_name,
        "new": d.new_name,
        "changed": d.changed,
        "summary": d.summary(),
        "title": None if d.title is None else d.title.to_dict(),
        "data": [c.to_dict() for c in d.data],
        "variables": {
            "added": [_variable_json(v) for v in d.variables_added],
            "removed": [_variable_json(v) for v in d.variables_removed],
            "changed": [c.to_dict() for c in d.variables_changed],
        },
        "arrows": {
            "added": [_edge_json(e) for e in d.arrows_added],
            "removed": [_edge_json(e) for e in d.arrows_removed],
            "reversed": [_edge_json(e) for e in d.arrows_reversed],
        },
        "queries": {
            "added": [_query_json(q) for q in d.queries_added],
            "removed": [_query_json(q) for q in d.queries_removed],
            "changed": [c.to_dict() for c in d.queries_changed],
        },
        "identification": [c.to_dict() for c in d.identification],
        "implications": {
            "added": [i.to_dict() for i in d.implications_added],
            "removed": [i.to_dict() for i in d.implications_removed],
            "complete": d.implications_complete,
            "note": d.implications_note,
        },
    }


def field_change_text(c: FieldChange) -> str:
    """``label "Age" → "Age in years"``."""
    return f"{c.field} {_show(c.field, c.old)} → {_show(c.field, c.new)}"


def field_change_dict(c: FieldChange) -> dict[str, Any]:
    return {"field": c.field, "old": _jsonable(c.old), "new": _jsonable(c.new)}


def identified_text(i: Identified) -> str:
    """``identifiable, adjust for {a, b}``, ``not identifiable`` or ``error: ...``."""
    if i.error:
        return f"error: {i.reason}"
    if not i.identifiable:
        return "not identifiable"
    assert i.adjustment_set is not None
    if not i.adjustment_set:
        return "identifiable, nothing to adjust for"
    return "identifiable, adjust for " + _fmt_set(i.adjustment_set)


def identification_lines(c: IdentificationChange) -> list[str]:
    """What changed in one query's identification, one line each."""
    b, a = c.before, c.after
    if b is None:
        return [f"new query: {identified_text(a)}"]
    out = []
    if b.error or a.error:
        out.append(f"{identified_text(b)} → {identified_text(a)}")
    else:
        if b.identifiable != a.identifiable:
            now = "NOT identifiable" if not a.identifiable else "identifiable"
            out.append(f"{_ident_word(b)} → {now}")
        if b.adjustment_set != a.adjustment_set:
            out.append(f"adjustment set: {_fmt_opt(b.adjustment_set)} → "
                       f"{_fmt_opt(a.adjustment_set)}")
        if b.proposed_valid != a.proposed_valid and a.proposed_valid is not None:
            out.append(f"proposed set: {_valid_word(b.proposed_valid)} → "
                       f"{_valid_word(a.proposed_valid)}")
        if b.causal_path != a.causal_path:
            out.append("directed path from treatment to outcome: "
                       f"{'yes' if b.causal_path else 'none'} → "
                       f"{'yes' if a.causal_path else 'none (the effect is zero)'}")
    if a.reason and not a.identifiable and (b is None or b.identifiable or b.error):
        out.append(f"why: {a.reason}")
    return out


# --- printing helpers --------------------------------------------------------------------------
def declaration(v: Variable) -> str:
    """The `.causal` line that declares `v` (as `causal fmt` would print it, unaligned)."""
    if v.latent:
        text = f"latent {quote_name(v.name)}" + (" invariant" if v.invariant else "")
    else:
        text = f"var {quote_name(v.name)}: {v.type}"
        if v.levels:
            text += "(" + ", ".join(quote_string(x) for x in v.levels) + ")"
        if v.column is not None:
            text += f" as {quote_string(v.column)}"
    return text + (f" {quote_string(v.label)}" if v.label else "")


def query_text(q: Query) -> str:
    """The `.causal` line of a query."""
    text = f"query {quote_name(q.name)}: {question(q)}"
    for words, names in (("adjusting", q.adjusting), ("adjust for", q.include or None),
                         ("never adjust for", q.exclude or None)):
        if names is not None:
            text += f" {words} " + _fmt_set(names, quote=True)
    if q.method.name != "auto" or q.method.options:
        text += f" using {q.method}"
    return text


def question(q: Query) -> str:
    """``ate(drug -> severity)``: what a query asks, names quoted as in a `.causal` file."""
    return f"{q.estimand}({quote_name(q.treatment)} -> {quote_name(q.outcome)})"


def _arrow(e: Any) -> str:
    return f"{quote_name(e.source)} {'<->' if e.bidirected else '->'} {quote_name(e.target)}"


def _reverse(e: Any) -> str:
    return f"{quote_name(e.target)} -> {quote_name(e.source)}"


def _edge_key(e: Any) -> tuple[str, str, bool]:
    return (e.source, e.target, e.bidirected)


def variable_kind(v: Variable) -> str:
    """``latent``, ``latent, invariant``, ``selection node`` or ``observed (binary)``."""
    if v.selected:
        return "selection node (the data is conditioned on it)"
    if v.latent:
        return "latent, invariant" if v.invariant else "latent"
    return f"observed ({v.type})"


def _fmt_set(names: Iterable[str], quote: bool = False) -> str:
    shown = sorted(names)
    return "{" + ", ".join(quote_name(n) if quote else n for n in shown) + "}"


def _fmt_opt(names: frozenset[str] | None) -> str:
    return "none" if names is None else _fmt_set(names)


def _ident_word(i: Identified) -> str:
    return "identifiable" if i.identifiable else "not identifiable"


def _valid_word(valid: bool | None) -> str:
    return "none" if valid is None else ("valid" if valid else "NOT valid")


_QUOTED_FIELDS = frozenset({"title", "label", "file", "binding", "column"})


def _show(field_name: str, value: Any) -> str:
    """A changed value as it reads best: text the user wrote in quotes as a string literal,
    names, types and methods bare, sets in braces."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, frozenset):
        return _fmt_set(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(quote_string(str(x)) for x in value) + ")" if value else "none"
    if field_name in _QUOTED_FIELDS:
        return quote_string(str(value))
    if field_name in ("treatment", "outcome"):
        return quote_name(str(value))
    return str(value)


def _jsonable(value: OptionValue | frozenset[str] | None) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _variable_json(v: Variable) -> dict[str, Any]:
    return {
        "name": v.name,
        "kind": "latent" if v.latent else "observed",
        "type": None if v.type is None else str(v.type),
        "label": v.label,
        "column": v.data_column if not v.latent else None,
        "levels": list(v.levels),
        "invariant": v.invariant,
        "text": declaration(v),
    }


def _edge_json(e: Any) -> dict[str, Any]:
    return {"source": e.source, "target": e.target, "bidirected": e.bidirected,
            "text": _arrow(e)}


def _query_json(q: Query) -> dict[str, Any]:
    return {
        "name": q.name,
        "estimand": q.estimand,
        "treatment": q.treatment,
        "outcome": q.outcome,
        "adjusting": None if q.adjusting is None else sorted(q.adjusting),
        "adjust_for": sorted(q.include),
        "never_adjust_for": sorted(q.exclude),
        "method": str(q.method),
        "text": query_text(q),
    }


def _code(text: str, table: bool = False) -> str:
    return code_span(text, table=table)
