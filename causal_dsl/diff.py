"""`causal diff`: what changed in the causal assumptions between two versions of a study.

In: two resolved `Model` values (old, new). Out: a `StudyDiff` (frozen) listing the *semantic*
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

The graph questions are the engine's (`causal_dsl.graph`: `recommend`, `is_adjustment_set`,
`implication_changes`); pass each side's `CausalGraph` in when you have it. Renders as text
(`str`), Markdown for a pull-request comment (`to_markdown`, with a Mermaid diagram of the new
DAG where added arrows are green, removed ones red and dashed, reversed ones orange) and JSON
(`to_json`, a string; `to_dict` for data), all drawn by `causal_dsl.present.diff`. Raises
nothing for valid studies; the command raises `ReviewError` (E702-E704) when a file or git
revision cannot be read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import CausalError
from .graph.adjustment import is_adjustment_set, recommend
from .graph.core import CausalGraph
from .graph.implications import implication_changes
from .graph.values import Implication
from .identify import identify
from .model import Model, Query, Variable
from .present.diff import (
    diff_dict,
    diff_markdown,
    diff_mermaid,
    diff_text,
    field_change_dict,
    field_change_text,
    identification_lines,
    identified_text,
    question,
    variable_kind,
)

if TYPE_CHECKING:
    from .checks import ImplicationChanges

# Work allowed for comparing testable implications, in ancestor nodes searched (each pair costs
# a few linear searches over the pair's ancestors). A budget of work, not time, so the output
# does not depend on the machine; benchmarks/diff.py measures what it costs.
IMPLICATION_BUDGET = 250_000


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- results -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FieldChange:
    """One attribute that changed: ``label: "Age" → "Age in years"``."""

    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return field_change_text(self)

    def to_dict(self) -> dict[str, Any]:
        return field_change_dict(self)

    def to_json(self) -> str:
        return _json(self.to_dict())


@dataclass(frozen=True, slots=True)
class NamedChange:
    """Everything that changed about one variable or query."""

    name: str
    changes: tuple[FieldChange, ...]

    def __str__(self) -> str:
        return f"{self.name}: " + "; ".join(str(c) for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "changes": [c.to_dict() for c in self.changes]}

    def to_json(self) -> str:
        return _json(self.to_dict())


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
        return identified_text(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identifiable": self.identifiable,
            "adjustment_set": None if self.adjustment_set is None else sorted(self.adjustment_set),
            "causal_path": self.causal_path,
            "proposed_valid": self.proposed_valid,
            "reason": self.reason,
            "error": self.error,
        }

    def to_json(self) -> str:
        return _json(self.to_dict())


@dataclass(frozen=True, slots=True)
class IdentificationChange:
    """A query whose identification differs (``before`` is None for a new query)."""

    query: str
    question: str  # "ate(drug -> severity)" as asked now
    before: Identified | None
    after: Identified

    def lines(self) -> list[str]:
        return identification_lines(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "question": self.question,
            "before": None if self.before is None else self.before.to_dict(),
            "after": self.after.to_dict(),
        }

    def to_json(self) -> str:
        return _json(self.to_dict())


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
    old: Model | None = field(default=None, compare=False, repr=False)
    new: Model | None = field(default=None, compare=False, repr=False)

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

    def __str__(self) -> str:
        return diff_text(self)

    def to_markdown(self) -> str:
        """A pull-request comment: summary, tables of changes, and a Mermaid diagram."""
        return diff_markdown(self)

    def mermaid(self) -> tuple[str, str | None]:
        """The new DAG with the changes marked, and a note when only a part is drawn."""
        return diff_mermaid(self)

    def to_dict(self) -> dict[str, Any]:
        return diff_dict(self)

    def to_json(self) -> str:
        return _json(self.to_dict())


# --- computing the diff ------------------------------------------------------------------------
def semantic_diff(
    old: Model,
    new: Model,
    old_name: str | None = None,
    new_name: str | None = None,
    *,
    implication_budget: int = IMPLICATION_BUDGET,
    old_graph: CausalGraph | None = None,
    new_graph: CausalGraph | None = None,
) -> StudyDiff:
    """The semantic difference between `old` and `new` (names default to their paths).

    `old_graph` / `new_graph` are the sides' graphs when the caller has them; otherwise each is
    built from its model the first time the diff needs it (never, when no arrow and no variable
    changed: reordering a 30,000-arrow file costs only the comparison).

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
                if old_vars[n].latent != new_vars[n].latent
                or old_vars[n].selected != new_vars[n].selected}
    selection_changed = old.selected != new.selected  # every query's answer may move
    old_g, new_g = _LazyGraph(old, old_graph), _LazyGraph(new, new_graph)
    affected = (_descendants(old_g.get(), touched) | _descendants(new_g.get(), touched)) \
        if touched else set()

    identification = []
    for name, q in new_q.items():
        before_q = old_q.get(name)
        involved = {q.treatment, q.outcome} | set(q.include) | set(q.adjusting or ())
        if before_q is not None:
            involved |= {before_q.treatment, before_q.outcome} | set(before_q.include) | set(
                before_q.adjusting or ())
        if before_q == q and not (involved & affected) and not selection_changed:
            continue  # nothing the answer depends on has changed
        after = _identified(new, q, new_g.get())
        before = _identified(old, before_q, old_g.get()) if before_q is not None else None
        if before != after:
            identification.append(IdentificationChange(name, question(q), before, after))

    added_i: tuple[Implication, ...] = ()
    removed_i: tuple[Implication, ...] = ()
    complete, note = True, None
    if affected:
        ends = [(e.source, e.target) for e in (*arrows_added, *arrows_removed,
                                                   *arrows_reversed)]
        added_i, removed_i, complete, note = implication_changes(
            old_g.get(), new_g.get(), affected, touched, implication_budget, ends)
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
    if a.latent != b.latent or a.selected != b.selected:
        out.append(FieldChange("kind", variable_kind(a), variable_kind(b)))
    elif a.type != b.type:
        out.append(FieldChange("type", str(a.type), str(b.type)))
    if a.latent and b.latent and a.invariant != b.invariant:
        out.append(FieldChange("invariant", a.invariant, b.invariant))
    if a.levels != b.levels:
        out.append(FieldChange("levels", a.levels, b.levels))
    if not a.latent and not b.latent and a.data_column != b.data_column:
        out.append(FieldChange("column", a.data_column, b.data_column))
    if a.derived != b.derived:  # `when ...` / `from first_treated = ...`: how it is built
        out.append(FieldChange("derived", str(a.derived) if a.derived else None,
                               str(b.derived) if b.derived else None))
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


def _data_changes(old: Model, new: Model) -> tuple[FieldChange, ...]:
    a, b = old.data, new.data
    if a is None and b is None:
        return ()
    if a is None or b is None:
        return (FieldChange("binding", a.source if a else None, b.source if b else None),)
    out = []
    weights_a = f"{a.weights} ({a.weight_kind})" if a.weights else None
    weights_b = f"{b.weights} ({b.weight_kind})" if b.weights else None
    for label, x, y in (("file", a.source, b.source), ("panel unit", a.unit, b.unit),
                        ("panel time", a.time, b.time), ("weights", weights_a, weights_b)):
        if x != y:
            out.append(FieldChange(label, x, y))
    return tuple(out)


def _identified(model: Model, q: Query, g: CausalGraph) -> Identified:
    """Identification as `causal identify` recommends it (`causal_dsl.graph.recommend`),
    without its extras (paths listing, every minimal set, instruments), which a diff does not
    show and which dominate its cost."""
    causal_path = q.treatment in g and q.outcome in g.descendants(q.treatment)
    try:
        if model.selected:  # selection: the one analysis that knows DAGitty's criterion
            full = identify(model, q, graph=g)
            reason = None if full.identifiable else full.reasons[-1]
            return Identified(full.identifiable, full.adjustment_set, causal_path,
                              None if full.proposed is None else full.proposed.valid, reason)
        proposed = None
        if q.adjusting is not None:
            proposed = is_adjustment_set(g, q.treatment, q.outcome, q.adjusting)
        chosen = recommend(g, q.treatment, q.outcome, q.include, q.exclude).set
        if chosen is None:
            full = identify(model, q, graph=g)  # rare: worth the full analysis to say why
            reason = next((r for r in full.reasons[1:] if r), None) or (
                full.reasons[0] if full.reasons else None)
            return Identified(False, None, causal_path, proposed, reason)
        return Identified(True, chosen, causal_path, proposed)
    except CausalError as error:
        return Identified(False, None, causal_path, None, error.diagnostics[0].message, True)


def _descendants(g: CausalGraph, names: set[str]) -> set[str]:
    """The named variables that are in `g` and all their descendants."""
    return set(g.descendants([n for n in names if n in g]))


class _LazyGraph:
    """A side's graph, built from its model the first time it is needed."""

    def __init__(self, model: Model, graph: CausalGraph | None) -> None:
        self.model = model
        self.graph = graph

    def get(self) -> CausalGraph:
        if self.graph is None:
            self.graph = CausalGraph.from_model(self.model)
        return self.graph



# --- where the two versions come from (files, git revisions, git's diff driver) -----------------
@dataclass(frozen=True, slots=True)
class Version:
    """One side of a diff: its text (None when the file does not exist on that side, as git
    says with /dev/null) and the name shown for it."""

    text: str | None
    name: str

    def study(self) -> Model:
        """The resolved study (empty when absent); the data file need not exist."""
        from . import parse

        if self.text is None:
            return Model(path=self.name)
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


def render_with_data(d: StudyDiff, changes: ImplicationChanges, fmt: str) -> str:
    """The diff, then which implications the new study's data rejects before and after the
    change (``causal diff --data``; `causal_dsl.checks.implications_on_data_of`): a section in
    text and Markdown, the key ``implications_on_data`` in JSON."""
    from .present.checks import implication_changes_markdown

    if fmt == "json":
        data = json.loads(d.to_json())
        data["implications_on_data"] = changes.to_dict()
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    extra = ("\n".join(implication_changes_markdown(changes)) if fmt == "markdown"
             else str(changes) + "\n")
    return render(d, fmt).rstrip("\n") + "\n\n" + extra
