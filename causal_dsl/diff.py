"""`causal diff`: what changed in the causal assumptions between two versions of a study.

In: two resolved `Study` values (old, new). Out: a `StudyDiff` (frozen) listing the *semantic*
changes — layout, order and comments are ignored — and what they do to each query:

* arrows added, removed and reversed; variables added, removed, retyped, relabelled, moved
  between latent and observed; queries added, removed and changed; title and data binding;
* per query, identification before → after: identifiable or not, the recommended adjustment
  set (the O-set when usable, else a smallest set, as ``causal identify`` recommends), whether a
  proposed ``adjusting`` set is still valid, whether a directed path still exists;
* testable implications (one minimal ``x ⊥ y | Z`` per non-adjacent observed pair, the basis
  ``causal identify`` lists) added and removed. A pair is compared by whether it is separable
  and by the minimal set found from its upstream end (its ancestor, else the first by name):
  that choice depends on nothing but the pair's ancestors, so an edit elsewhere never shows up
  as the same independence with another set.

Only what a change can affect is recomputed, so a small edit of a 10,000-variable study is
diffed in well under a second (``benchmarks/diff.py``). The implication of a pair and the
identification of a query depend only on the ancestors of the variables involved; they can
change only when a changed arrow points into (or a variable that appeared, vanished or became
latent/observed is) one of those ancestors. So we collect those "touched" variables, take their
descendants in both graphs, and re-examine only queries and pairs that reach into that set.
The two ends of each changed arrow are always compared; other pairs nearest-to-the-change first,
within a budget; when it runs out the diff says how many pairs were left unexamined instead of
pretending to be complete.

Renders as text (`str`), Markdown for a pull-request comment (`to_markdown`, with a Mermaid
diagram of the new DAG where added arrows are green, removed ones red and dashed, reversed
ones orange) and JSON (`to_json`). Raises nothing for valid studies; the command raises
`ReviewError` (E702-E704) when a file or git revision cannot be read.
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import separators as sep
from .errors import CausalError
from .fmt import quote_name, quote_string
from .identify import Implication
from .model import OptionValue, Query, Study, Variable

# Work allowed for comparing testable implications, in ancestor nodes searched (each pair costs
# a few linear searches over the pair's ancestors). A budget of work, not time, so the output
# does not depend on the machine; benchmarks/diff.py measures what it costs.
IMPLICATION_BUDGET = 250_000
# Pairs whose ancestors number more than this are searched with the vectorised (numpy/scipy)
# separator searches, which cost one pass over the whole graph whatever the pair.
VECTORISE_ABOVE = 3_000
# The Markdown diagram: GitHub refuses Mermaid graphs over 500 edges; past this many arrows
# only the neighbourhood of the changes is drawn.
DIAGRAM_MAX_ARROWS = 150
LIST_MAX = 50  # implications listed in text and Markdown (JSON has all)

_ADDED, _REMOVED, _REVERSED = "#2da44e", "#cf222e", "#d4a72c"


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FieldChange:
    """One attribute that changed: ``label: "Age" → "Age in years"``."""

    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field} {_show(self.field, self.old)} → {_show(self.field, self.new)}"

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": _jsonable(self.old), "new": _jsonable(self.new)}


@dataclass(frozen=True, slots=True)
class NamedChange:
    """Everything that changed about one variable or query."""

    name: str
    changes: tuple[FieldChange, ...]

    def __str__(self) -> str:
        return f"{self.name}: " + "; ".join(str(c) for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "changes": [c.to_json() for c in self.changes]}


@dataclass(frozen=True, slots=True)
class Identified:
    """The parts of a query's identification that a reviewer compares."""

    identifiable: bool
    adjustment_set: frozenset[str] | None
    causal_path: bool
    proposed_valid: bool | None = None  # None when the query proposes no set
    reason: str | None = None  # why not identifiable, or the error that stopped the analysis
    error: bool = False

    def describe(self) -> str:
        if self.error:
            return f"error: {self.reason}"
        if not self.identifiable:
            return "not identifiable"
        assert self.adjustment_set is not None
        if not self.adjustment_set:
            return "identifiable, nothing to adjust for"
        return "identifiable, adjust for " + _fmt_set(self.adjustment_set)

    def to_json(self) -> dict[str, Any]:
        return {
            "identifiable": self.identifiable,
            "adjustment_set": None if self.adjustment_set is None else sorted(self.adjustment_set),
            "causal_path": self.causal_path,
            "proposed_valid": self.proposed_valid,
            "reason": self.reason,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class IdentificationChange:
    """A query whose identification differs (``before`` is None for a new query)."""

    query: str
    question: str  # "ate(drug -> severity)" as asked now
    before: Identified | None
    after: Identified

    def lines(self) -> list[str]:
        b, a = self.before, self.after
        if b is None:
            return [f"new query: {a.describe()}"]
        out = []
        if b.error or a.error:
            out.append(f"{b.describe()} → {a.describe()}")
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

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "question": self.question,
            "before": None if self.before is None else self.before.to_json(),
            "after": self.after.to_json(),
        }


@dataclass(frozen=True)
class StudyDiff:
    """The semantic difference between two studies; see the module docstring."""

    old_name: str | None
    new_name: str | None
    title: FieldChange | None = None
    data: tuple[FieldChange, ...] = ()
    variables_added: tuple[Variable, ...] = ()
    variables_removed: tuple[Variable, ...] = ()
    variables_changed: tuple[NamedChange, ...] = ()
    arrows_added: tuple[Any, ...] = ()  # Edge
    arrows_removed: tuple[Any, ...] = ()
    arrows_reversed: tuple[Any, ...] = ()  # as they are in the new study
    queries_added: tuple[Query, ...] = ()
    queries_removed: tuple[Query, ...] = ()
    queries_changed: tuple[NamedChange, ...] = ()
    identification: tuple[IdentificationChange, ...] = ()
    implications_added: tuple[Implication, ...] = ()
    implications_removed: tuple[Implication, ...] = ()
    implications_complete: bool = True
    implications_note: str | None = None
    old: Study | None = field(default=None, compare=False, repr=False)
    new: Study | None = field(default=None, compare=False, repr=False)

    @property
    def changed(self) -> bool:
        """Did anything change in what the study says (not only in how it is written)?"""
        return bool(
            self.title or self.data or self.variables_added or self.variables_removed
            or self.variables_changed or self.arrows_added or self.arrows_removed
            or self.arrows_reversed or self.queries_added or self.queries_removed
            or self.queries_changed
        )

    def summary(self) -> str:
        """One line: ``2 arrows added, 1 removed; 1 variable changed; ...``."""
        parts = []
        for what, counts in (
            ("arrow", (len(self.arrows_added), len(self.arrows_removed),
                       len(self.arrows_reversed))),
            ("variable", (len(self.variables_added), len(self.variables_removed),
                          len(self.variables_changed))),
            ("query", (len(self.queries_added), len(self.queries_removed),
                       len(self.queries_changed))),
        ):
            words = [f"{n} {verb}" for n, verb in zip(
                counts, ("added", "removed", "reversed" if what == "arrow" else "changed"),
                strict=True) if n]
            if words:
                noun = "queries" if what == "query" else what + "s"
                parts.append(f"{noun}: " + ", ".join(words))
        if self.title:
            parts.append("title changed")
        if self.data:
            parts.append("data binding changed")
        if self.identification:
            n = len(self.identification)
            parts.append(f"identification of {n} quer{'y' if n == 1 else 'ies'} changed")
        if self.implications_added or self.implications_removed:
            parts.append(f"testable implications: {len(self.implications_added)} new, "
                         f"{len(self.implications_removed)} gone")
        return "; ".join(parts) if parts else "no semantic change"

    # --- text --------------------------------------------------------------------------------
    def __str__(self) -> str:
        head = f"causal diff {self.old_name or '(old)'} → {self.new_name or '(new)'}"
        if not self.changed:
            return f"{head}\nno semantic change (layout, order and comments are ignored)\n"
        lines = [head, self.summary()]
        if self.title:
            lines.append(str(self.title))
        for c in self.data:
            lines.append(f"data: {c}")
        section = self._variable_lines() + self._arrow_lines() + self._query_lines()
        lines += section
        if self.identification:
            lines.append("identification:")
            for change in self.identification:
                lines.append(f"  {change.query}: {change.question}")
                lines += [f"    {line}" for line in change.lines()]
        lines += self._implication_lines(markdown=False)
        return "\n".join(lines) + "\n"

    def _variable_lines(self) -> list[str]:
        if not (self.variables_added or self.variables_removed or self.variables_changed):
            return []
        lines = ["variables:"]
        lines += [f"  + {declaration(v)}" for v in self.variables_added]
        lines += [f"  - {declaration(v)}" for v in self.variables_removed]
        lines += [f"  ~ {c}" for c in self.variables_changed]
        return lines

    def _arrow_lines(self) -> list[str]:
        if not (self.arrows_added or self.arrows_removed or self.arrows_reversed):
            return []
        lines = ["arrows:"]
        lines += [f"  + {_arrow(e)}" for e in self.arrows_added]
        lines += [f"  - {_arrow(e)}" for e in self.arrows_removed]
        lines += [f"  ~ {_arrow(e)}  (reversed: was {quote_name(e.target)} -> "
                  f"{quote_name(e.source)})" for e in self.arrows_reversed]
        return lines

    def _query_lines(self) -> list[str]:
        if not (self.queries_added or self.queries_removed or self.queries_changed):
            return []
        lines = ["queries:"]
        lines += [f"  + {query_text(q)}" for q in self.queries_added]
        lines += [f"  - {query_text(q)}" for q in self.queries_removed]
        lines += [f"  ~ {c}" for c in self.queries_changed]
        return lines

    def _implication_lines(self, markdown: bool) -> list[str]:
        added, removed = self.implications_added, self.implications_removed
        if not (added or removed or self.implications_note):
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
        if self.implications_note:
            lines.append(f"{bullet}note: {self.implications_note}")
        return lines

    # --- Markdown ----------------------------------------------------------------------------
    def to_markdown(self) -> str:
        """A pull-request comment: summary, tables of changes, and a Mermaid diagram."""
        title = f"### Causal assumptions: {_code(self.new_name or 'study')}"
        if not self.changed:
            return (f"{title}\n\nNo semantic change: only layout, order or comments differ.\n")
        out = [title, "", f"**{_md(self.summary())}**", ""]
        if self.title or self.data:
            out += ["#### Study", ""]
            if self.title:
                out.append(f"- {_md(str(self.title))}")
            out += [f"- data: {_md(str(c))}" for c in self.data]
            out.append("")
        if self.arrows_added or self.arrows_removed or self.arrows_reversed:
            out += ["#### Arrows", "", "| change | arrow |", "| --- | --- |"]
            out += [f"| ➕ added | {_code(_arrow(e), True)} |" for e in self.arrows_added]
            out += [f"| ➖ removed | {_code(_arrow(e), True)} |" for e in self.arrows_removed]
            out += [f"| 🔄 reversed | {_code(_arrow(e), True)} (was {_code(_reverse(e), True)}) |"
                    for e in self.arrows_reversed]
            out.append("")
        if self.variables_added or self.variables_removed or self.variables_changed:
            out += ["#### Variables", ""]
            out += [f"- ➕ {_code(declaration(v))}" for v in self.variables_added]
            out += [f"- ➖ {_code(declaration(v))}" for v in self.variables_removed]
            out += [f"- ✏️ {_code(c.name)}: {_md('; '.join(str(x) for x in c.changes))}"
                    for c in self.variables_changed]
            out.append("")
        if self.queries_added or self.queries_removed or self.queries_changed:
            out += ["#### Queries", ""]
            out += [f"- ➕ {_code(query_text(q))}" for q in self.queries_added]
            out += [f"- ➖ {_code(query_text(q))}" for q in self.queries_removed]
            out += [f"- ✏️ {_code(c.name)}: {_md('; '.join(str(x) for x in c.changes))}"
                    for c in self.queries_changed]
            out.append("")
        if self.identification:
            out += ["#### Identification", "", "| query | before | after |",
                    "| --- | --- | --- |"]
            for change in self.identification:
                before = "(new query)" if change.before is None else _md(change.before.describe())
                after = _md(change.after.describe())
                if change.before is not None and change.before.identifiable \
                        and not change.after.identifiable:
                    after = f"**{after}**"
                out.append(f"| {_code(change.query, True)}: {_code(change.question, True)} "
                           f"| {before} | {after} |")
            reasons = [(c.query, c.after.reason) for c in self.identification
                       if c.after.reason and not c.after.identifiable]
            if reasons:
                out.append("")
                out += [f"- {_code(q)}: {_md(r)}" for q, r in reasons if r]
            out.append("")
        implications = self._implication_lines(markdown=True)
        if implications:
            out += ["#### Testable implications", "",
                    "Conditional independences the data should show (`x ⊥ y | z`):", ""]
            out += implications
            out.append("")
        if self.new is not None:
            diagram, note = self.mermaid()
            out += ["#### The new DAG", ""]
            if note:
                out += [_md(note), ""]
            out += ["```mermaid", diagram.rstrip("\n"), "```", "",
                    "Green: added arrows · red, dashed: removed · orange: reversed · "
                    "rounded, dashed boxes: latent · struck-through boxes: removed variables.",
                    ""]
        return "\n".join(out)

    def mermaid(self) -> tuple[str, str | None]:
        """The new DAG with the changes marked, and a note when only a part is drawn."""
        from .render import mermaid_text, safe_ids

        assert self.new is not None
        new_edges = list(self.new.edges)
        removed = list(self.arrows_removed)
        added = {_edge_key(e) for e in self.arrows_added}
        reversed_ = {_edge_key(e) for e in self.arrows_reversed}
        note = None
        if len(new_edges) + len(removed) > DIAGRAM_MAX_ARROWS:
            # Draw the changed arrows and the arrows touching their ends (and changed variables).
            focus = {e.source for e in (*self.arrows_added, *removed, *self.arrows_reversed)}
            focus |= {e.target for e in (*self.arrows_added, *removed, *self.arrows_reversed)}
            focus |= {v.name for v in self.variables_added} | {c.name for c in
                                                               self.variables_changed}
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
            names |= {v.name for v in self.new.variables}
        names |= {v.name for v in self.variables_added}
        by_name = {v.name: v for v in self.new.variables}
        gone = {v.name: v for v in self.variables_removed}
        order = [v.name for v in self.new.variables if v.name in names]
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
        added_vars = {v.name for v in self.variables_added}
        changed_vars = {c.name for c in self.variables_changed}
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
    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old_name,
            "new": self.new_name,
            "changed": self.changed,
            "summary": self.summary(),
            "title": None if self.title is None else self.title.to_json(),
            "data": [c.to_json() for c in self.data],
            "variables": {
                "added": [_variable_json(v) for v in self.variables_added],
                "removed": [_variable_json(v) for v in self.variables_removed],
                "changed": [c.to_json() for c in self.variables_changed],
            },
            "arrows": {
                "added": [_edge_json(e) for e in self.arrows_added],
                "removed": [_edge_json(e) for e in self.arrows_removed],
                "reversed": [_edge_json(e) for e in self.arrows_reversed],
            },
            "queries": {
                "added": [_query_json(q) for q in self.queries_added],
                "removed": [_query_json(q) for q in self.queries_removed],
                "changed": [c.to_json() for c in self.queries_changed],
            },
            "identification": [c.to_json() for c in self.identification],
            "implications": {
                "added": [i.to_json() for i in self.implications_added],
                "removed": [i.to_json() for i in self.implications_removed],
                "complete": self.implications_complete,
                "note": self.implications_note,
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


# --- computing the diff ------------------------------------------------------------------------
def semantic_diff(
    old: Study,
    new: Study,
    old_name: str | None = None,
    new_name: str | None = None,
    *,
    implication_budget: int = IMPLICATION_BUDGET,
) -> StudyDiff:
    """The semantic difference between `old` and `new` (names default to their paths).

    >>> import causal_dsl
    >>> a = causal_dsl.parse('var x: binary\\nvar y: count\\nvar z: count\\nx -> y\\nz -> y\\n')
    >>> b = causal_dsl.parse('var z: count\\nvar x: binary "X"\\nvar y: count\\ny <- x\\n'
    ...                      'z -> x\\n')
    >>> d = semantic_diff(a, b)
    >>> [str(e) for e in d.arrows_added], [str(e) for e in d.arrows_removed]
    (['z -> x'], ['z -> y'])
    >>> [str(c) for c in d.variables_changed]
    ['x: label none → "X"']
    >>> [str(i) for i in d.implications_added], [str(i) for i in d.implications_removed]
    (['y ⊥ z | x'], ['x ⊥ z'])
    """
    old_vars = {v.name: v for v in old.variables}
    new_vars = {v.name: v for v in new.variables}
    variables_changed = tuple(
        NamedChange(name, changes)
        for name, v in new_vars.items()
        if name in old_vars and (changes := _variable_changes(old_vars[name], v))
    )
    old_edges = {(e.source, e.target, e.bidirected): e for e in old.edges}
    new_edges = {(e.source, e.target, e.bidirected): e for e in new.edges}
    # Set differences run in C; the loops below touch only what changed, in written order.
    only_new, only_old = new_edges.keys() - old_edges.keys(), old_edges.keys() - new_edges.keys()
    reversed_keys = {k for k in only_new if not k[2] and (k[1], k[0], False) in only_old}
    was_reversed = {(k[1], k[0], False) for k in reversed_keys}
    arrows_added = tuple(new_edges[k] for k in new_edges if k in only_new
                         and k not in reversed_keys) if only_new else ()
    arrows_removed = tuple(old_edges[k] for k in old_edges if k in only_old
                           and k not in was_reversed) if only_old else ()
    arrows_reversed = tuple(new_edges[k] for k in new_edges if k in reversed_keys) \
        if reversed_keys else ()

    old_q = {q.name: q for q in old.queries}
    new_q = {q.name: q for q in new.queries}
    queries_changed = tuple(
        NamedChange(name, changes)
        for name, q in new_q.items()
        if name in old_q and (changes := _query_changes(old_q[name], q))
    )

    # Variables whose ancestors' graph changed: the heads of changed arrows and every variable
    # that appeared, vanished or switched between latent and observed.
    touched = {e.target for e in (*arrows_added, *arrows_removed, *arrows_reversed)}
    touched |= {e.source for e in (*arrows_added, *arrows_removed, *arrows_reversed)
                if e.bidirected}
    touched |= {e.source for e in arrows_reversed}
    touched |= set(old_vars) ^ set(new_vars)
    touched |= {n for n in set(old_vars) & set(new_vars)
                if old_vars[n].latent != new_vars[n].latent}
    old_index, new_index = _LazyIndex(old), _LazyIndex(new)
    affected = (old_index.get().descendants(touched) | new_index.get().descendants(touched)) \
        if touched else set()

    identification = []
    for name, q in new_q.items():
        before_q = old_q.get(name)
        involved = {q.treatment, q.outcome} | set(q.include) | set(q.adjusting or ())
        if before_q is not None:
            involved |= {before_q.treatment, before_q.outcome} | set(before_q.include) | set(
                before_q.adjusting or ())
        if before_q == q and not (involved & affected):
            continue  # nothing the answer depends on has changed
        after = _identified(new, q, new_index.get())
        before = _identified(old, before_q, old_index.get()) if before_q is not None else None
        if before != after:
            identification.append(IdentificationChange(name, _question(q), before, after))

    added_i: tuple[Implication, ...] = ()
    removed_i: tuple[Implication, ...] = ()
    complete, note = True, None
    if affected:
        ends = [(e.source, e.target) for e in (*arrows_added, *arrows_removed,
                                                   *arrows_reversed)]
        added_i, removed_i, complete, note = _implication_changes(
            old_index.get(), new_index.get(), affected, touched, implication_budget, ends)
    return StudyDiff(
        old_name=old_name if old_name is not None else old.path,
        new_name=new_name if new_name is not None else new.path,
        title=FieldChange("title", old.title, new.title) if old.title != new.title else None,
        data=_data_changes(old, new),
        variables_added=tuple(v for n, v in new_vars.items() if n not in old_vars),
        variables_removed=tuple(v for n, v in old_vars.items() if n not in new_vars),
        variables_changed=variables_changed,
        arrows_added=arrows_added,
        arrows_removed=arrows_removed,
        arrows_reversed=arrows_reversed,
        queries_added=tuple(q for n, q in new_q.items() if n not in old_q),
        queries_removed=tuple(q for n, q in old_q.items() if n not in new_q),
        queries_changed=queries_changed,
        identification=tuple(identification),
        implications_added=added_i,
        implications_removed=removed_i,
        implications_complete=complete,
        implications_note=note,
        old=old,
        new=new,
    )


def _variable_changes(a: Variable, b: Variable) -> tuple[FieldChange, ...]:
    out = []
    if a.latent != b.latent:
        out.append(FieldChange("kind", _kind(a), _kind(b)))
    elif a.type != b.type:
        out.append(FieldChange("type", str(a.type), str(b.type)))
    if a.latent and b.latent and a.invariant != b.invariant:
        out.append(FieldChange("invariant", a.invariant, b.invariant))
    if a.levels != b.levels:
        out.append(FieldChange("levels", a.levels, b.levels))
    if not a.latent and not b.latent and a.data_column != b.data_column:
        out.append(FieldChange("column", a.data_column, b.data_column))
    if a.label != b.label:
        out.append(FieldChange("label", a.label, b.label))
    return tuple(out)


def _query_changes(a: Query, b: Query) -> tuple[FieldChange, ...]:
    out = []
    for label, x, y in (
        ("estimand", a.estimand, b.estimand),
        ("treatment", a.treatment, b.treatment),
        ("outcome", a.outcome, b.outcome),
        ("adjusting", a.adjusting, b.adjusting),
        ("adjust for", a.include or None, b.include or None),
        ("never adjust for", a.exclude or None, b.exclude or None),
        ("method", str(a.method), str(b.method)),
    ):
        if x != y:
            out.append(FieldChange(label, x, y))
    return tuple(out)


def _data_changes(old: Study, new: Study) -> tuple[FieldChange, ...]:
    a, b = old.data, new.data
    if a is None and b is None:
        return ()
    if a is None or b is None:
        return (FieldChange("binding", a.source if a else None, b.source if b else None),)
    out = []
    for label, x, y in (("file", a.source, b.source), ("panel unit", a.unit, b.unit),
                        ("panel time", a.time, b.time)):
        if x != y:
            out.append(FieldChange(label, x, y))
    return tuple(out)


def _identified(study: Study, q: Query, index: _Index) -> Identified:
    """Identification as `causal identify` recommends it, without its extras (paths listing,
    every minimal set, instruments), which a diff does not show and which dominate its cost."""
    causal_path = q.outcome in index.descendants({q.treatment})
    sets = functools.partial(study.adjustment_sets, q.treatment, q.outcome,
                             include=q.include, exclude=q.exclude)
    try:
        proposed = None
        if q.adjusting is not None:
            proposed = bool(study._graph().is_adjustment_set(q.treatment, q.outcome,
                                                             q.adjusting))
        # The O-set is returned only when it is valid, so finding it settles identifiability
        # in one search; the minimal-set search is needed only when it is unusable.
        chosen = sets(kind="optimal")
        if chosen is None and sets(kind="minimal") is not None:
            chosen = sets(kind="smallest")
        if chosen is None:
            full = study.identify(q)  # rare: worth the full analysis to say why
            reason = next((r for r in full.reasons[1:] if r), None) or (
                full.reasons[0] if full.reasons else None)
            return Identified(False, None, causal_path, proposed, reason)
        return Identified(True, frozenset(chosen), causal_path, proposed)
    except CausalError as error:
        return Identified(False, None, causal_path, None, error.diagnostics[0].message, True)


# --- testable implications ---------------------------------------------------------------------
class _LazyIndex:
    """Builds a study's `_Index` the first time it is needed (never, when nothing in the graph
    changed: reordering a 30,000-arrow file costs only the comparison)."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.index: _Index | None = None

    def get(self) -> _Index:
        if self.index is None:
            self.index = _Index(self.study)
        return self.index


class _Index:
    """A study's graph as integer adjacency lists (a bidirected edge is a hidden parent of both
    ends, as in `causal_dsl.identify`) for the separator algorithms, built once per diff."""

    def __init__(self, study: Study) -> None:
        self.names = [v.name for v in study.variables]
        index = self.index = {name: i for i, name in enumerate(self.names)}
        n = len(self.names)
        pa: list[list[int]] = [[] for _ in range(n)]
        ch: list[list[int]] = [[] for _ in range(n)]
        for e in study.edges:
            s, t = index[e.source], index[e.target]
            if e.bidirected:
                h = len(pa)
                pa.append([])
                ch.append([s, t])
                pa[s].append(h)
                pa[t].append(h)
            else:
                pa[t].append(s)
                ch[s].append(t)
        self.pa, self.ch, self.n = pa, ch, len(pa)
        # Edge arrays switch the separator searches to their vectorised form on large graphs.
        self.edges = sep.edge_arrays(pa, self.n) if self.n >= sep.FAST_MIN else None
        self.observed = bytearray(self.n)
        for v in study.variables:
            if not v.latent:
                self.observed[index[v.name]] = 1

    def adjacent(self, i: int, j: int) -> bool:
        """Joined by an arrow either way or by a bidirected edge (a shared hidden parent)."""
        if i in self.pa[j] or j in self.pa[i]:
            return True
        count = len(self.names)
        return any(h >= count and j in self.ch[h] for h in self.pa[i])

    def is_observed(self, name: str) -> bool:
        i = self.index.get(name)
        return i is not None and bool(self.observed[i])

    def descendants(self, names: Iterable[str]) -> set[str]:
        """The named variables that exist here and all their descendants (by name)."""
        seeds = [self.index[n] for n in names if n in self.index]
        reach = sep.closure(seeds, self.ch, self.n)
        count = len(self.names)
        return {self.names[i] for i in sep._ones(reach) if i < count}

    def neighbours(self, name: str) -> Iterable[str]:
        i = self.index.get(name)
        if i is None:
            return ()
        count = len(self.names)
        out = []
        for j in (*self.pa[i], *self.ch[i]):
            if j < count:
                out.append(self.names[j])
            else:  # a hidden node: its other child is the neighbour
                out += [self.names[k] for k in self.ch[j] if k != i]
        return out

    def implication(self, a: str, b: str) -> tuple[Implication | None, int]:
        """``a ⊥ b | Z`` with Z minimal and observed, or None (adjacent, inseparable, or a
        variable that is not observed here); and the work done (nodes searched)."""
        i, j = self.index.get(a), self.index.get(b)
        if i is None or j is None or not self.observed[i] or not self.observed[j]:
            return None, 0
        if self.adjacent(i, j):
            return None, 1
        # Which end the separator is found from matters (FINDMINSEP returns the minimal set
        # nearest to X). The ancestor goes first, as in any topological order; otherwise the
        # name decides. Both rules look only at the pair's ancestors, so a change elsewhere in
        # the graph cannot flip them and show the same independence with another set.
        above_j = sep.closure((j,), self.pa, self.n)
        above_i = sep.closure((i,), self.pa, self.n)
        size_j, size_i = above_j.count(1), above_i.count(1)
        if above_j[i]:
            x, y = i, j
        elif above_i[j]:
            x, y = j, i
        else:
            x, y = (i, j) if a < b else (j, i)
        # The searches cost the size of the pair's ancestral set in Python, or a flat pass over
        # the whole graph vectorised: use the vectorised form only when that is cheaper.
        vectorised = self.edges is not None and size_i + size_j > VECTORISE_ABOVE
        allowed = self.observed
        allowed[i] = allowed[j] = 0  # the pair itself is never part of its separator
        try:
            problem = sep.SeparationProblem.build(self.pa, self.ch, self.n, (x,), (y,), (),
                                                  allowed, self.edges if vectorised else None)
            found = problem.minimal()
        finally:
            allowed[i] = allowed[j] = 1
        work = size_i + size_j + (3 * self.n if vectorised else 3 * problem.in_a.count(1))
        if found is None:
            return None, work
        first, second = sorted((a, b))
        return Implication(first, second, frozenset(self.names[k] for k in found)), work


def _implication_changes(
    old: _Index,
    new: _Index,
    affected: set[str],
    touched: set[str],
    budget: int,
    direct: Iterable[tuple[str, str]] = (),
) -> tuple[tuple[Implication, ...], tuple[Implication, ...], bool, str | None]:
    """Implications that differ, examining pairs with a member in `affected`, nearest first.

    The `direct` pairs (the two ends of each changed arrow: where an independence appears or
    disappears outright) are examined first and whatever the budget."""
    observed = [n for n in dict.fromkeys([*old.names, *new.names])
                if old.is_observed(n) or new.is_observed(n)]
    hot = [n for n in observed if n in affected]
    if not hot:
        return (), (), True, None
    added: list[Implication] = []
    removed: list[Implication] = []
    done: set[tuple[str, str]] = set()
    work = 0

    def examine(a: str, b: str) -> None:
        nonlocal work
        done.add((a, b) if a < b else (b, a))
        (before, cost_before), (after, cost_after) = old.implication(a, b), \
            new.implication(a, b)
        work += cost_before + cost_after
        if before != after:
            if before is not None:
                removed.append(before)
            if after is not None:
                added.append(after)

    for a, b in direct:
        if a != b and (min(a, b), max(a, b)) not in done:
            examine(a, b)
    # Then every pair with a member in `affected`, by distance from the change in either
    # graph (breadth-first over both), until the budget is spent.
    distance: dict[str, int] = {n: 0 for n in touched}
    queue = deque(touched)
    while queue:
        u = queue.popleft()
        for w in (*old.neighbours(u), *new.neighbours(u)):
            if w not in distance:
                distance[w] = distance[u] + 1
                queue.append(w)
    far = len(distance) + 1
    order = sorted(observed, key=lambda n: (distance.get(n, far), n))
    total_pairs = _pairs(len(observed)) - _pairs(len(observed) - len(hot))
    seen_hot: list[str] = []
    complete = True
    for k, b in enumerate(order):
        partners: Sequence[str] = order[:k] if b in affected else seen_hot
        for a in partners:
            if (a, b) in done or (b, a) in done:
                continue
            if work >= budget:
                complete = False
                break
            examine(a, b)
        if not complete:
            break
        if b in affected:
            seen_hot.append(b)
    key = lambda i: (i.x, i.y, sorted(i.given))  # noqa: E731
    note = None
    if not complete:
        note = (f"compared the {len(done):,} variable pairs nearest the changes out of "
                f"{total_pairs:,} that the changes could affect; the others were not compared "
                "(the graph is large)")
    return tuple(sorted(added, key=key)), tuple(sorted(removed, key=key)), complete, note


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


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
    text = f"query {quote_name(q.name)}: {_question(q)}"
    for words, names in (("adjusting", q.adjusting), ("adjust for", q.include or None),
                         ("never adjust for", q.exclude or None)):
        if names is not None:
            text += f" {words} " + _fmt_set(names, quote=True)
    if q.method.name != "auto" or q.method.options:
        text += f" using {q.method}"
    return text


def _question(q: Query) -> str:
    return f"{q.estimand}({quote_name(q.treatment)} -> {quote_name(q.outcome)})"


def _arrow(e: Any) -> str:
    return f"{quote_name(e.source)} {'<->' if e.bidirected else '->'} {quote_name(e.target)}"


def _reverse(e: Any) -> str:
    return f"{quote_name(e.target)} -> {quote_name(e.source)}"


def _edge_key(e: Any) -> tuple[str, str, bool]:
    return (e.source, e.target, e.bidirected)


def _kind(v: Variable) -> str:
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


def _md(text: str) -> str:
    from .render import markdown_escape

    return markdown_escape(text)


def _code(text: str, table: bool = False) -> str:
    """An inline code span: doubled backquotes when the text has one (a quoted name), and in a
    table cell the pipe escaped (GitHub splits cells on it even inside code)."""
    text = " ".join(text.split())
    if table:
        text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


# --- where the two versions come from (files, git revisions, git's diff driver) -----------------
@dataclass(frozen=True, slots=True)
class Version:
    """One side of a diff: its text (None when the file does not exist on that side, as git
    says with /dev/null) and the name shown for it."""

    text: str | None
    name: str

    def study(self) -> Study:
        """The resolved study (empty when absent); the data file need not exist."""
        from . import parse

        if self.text is None:
            return Study(path=self.name)
        return parse(self.text, self.name, check_files=False)


def file_version(path: str, name: str | None = None) -> Version:
    """A version read from disk (``/dev/null`` is the absent file)."""
    from .fmt import read_source

    if path == "/dev/null":
        return Version(None, name or path)
    return Version(read_source(path), name or path)


def git_version(revision: str, path: str) -> Version:
    """`path` as it was at `revision` (``git show REV:./path``, run next to the file so that
    the path may be relative to the current directory)."""
    import subprocess
    from pathlib import Path

    from .errors import Diagnostic, ReviewError

    p = Path(path)
    where = p.parent if str(p.parent) not in ("", ".") else Path(".")
    try:
        shown = subprocess.run(
            ["git", "show", f"{revision}:./{p.name}"], cwd=where, capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise ReviewError(Diagnostic("E702", "git is not installed",
                                     help="install git, or compare two files: causal diff OLD "
                                     "NEW")) from None
    except NotADirectoryError:
        shown = None
    if shown is None or shown.returncode != 0:
        reason = shown.stderr.decode("utf-8", "replace").strip() if shown else "no directory"
        if "does not exist in" in reason or "exists on disk, but not in" in reason:
            return Version(None, f"{revision}:{path}")  # the file is new since that revision
        first = reason.splitlines()[0] if reason else "git failed"
        raise ReviewError(Diagnostic(
            "E702", f"cannot read {path} at revision '{revision}': {first}",
            help="check the revision (git log --oneline) and that the file is in a git "
            "repository",
        ))
    try:
        return Version(shown.stdout.decode("utf-8"), f"{revision}:{path}")
    except UnicodeDecodeError as error:
        raise ReviewError(Diagnostic("E700", f"{revision}:{path} is not UTF-8 text "
                                     f"({error.reason})")) from None


def text_fallback(old: Version, new: Version, error: CausalError) -> str:
    """What the git driver prints when a side does not parse: the error and a line diff."""
    import difflib

    lines = [f"causal diff: cannot compare {old.name} and {new.name} semantically:",
             error.render(), "", "text diff:"]
    lines += [line.rstrip("\n") for line in difflib.unified_diff(
        (old.text or "").splitlines(keepends=True), (new.text or "").splitlines(keepends=True),
        fromfile=old.name, tofile=new.name)]
    return "\n".join(lines) + "\n"


def render(d: StudyDiff, fmt: str) -> str:
    if fmt == "markdown":
        return d.to_markdown()
    if fmt == "json":
        return d.to_json()
    return str(d)
