"""Which implications the data rejects before and after a change to the graph (``causal diff
--data``).

In: the old and the new `Model`, the raw `DataFrame` bound to the NEW study, and each side's
implications (e.g. ``Study.implications()``). Both sides are tested on the same data with the
new study's declarations (`local_tests`, each side Holm-adjusted over its own implications), so
that a change of verdict comes from the graph, not from the data. Out: `ImplicationChanges`
(frozen, ``to_dict()``, ``str``): every implication of either side with its test before and
after, the ones whose verdict differs first, and a one-sentence verdict. Raises `DataError`
(E4xx) when a column does not fit the new declarations; an implication of the old study that
names a variable the new study no longer has is kept, untested, with the reason.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..model import Model
from .citests import LocalTest, LocalTests, local_tests


def _key(x: str, y: str, given: Iterable[str]) -> tuple[tuple[str, str], tuple[str, ...]]:
    a, b = sorted((x, y))
    return (a, b), tuple(sorted(given))


@dataclass(frozen=True, slots=True)
class ImplicationChange:
    """One implication on the data before and after (None: the side does not imply it)."""

    text: str
    before: LocalTest | None
    after: LocalTest | None
    note: str = ""  # why the old side's implication could not be tested

    @property
    def status(self) -> str:
        """"rejected before and after", "rejected before only", "new, rejected", ..."""
        b = self.before is not None and self.before.rejected
        a = self.after is not None and self.after.rejected
        if self.before is None and self.note:  # implied before, but not testable on new data
            return "rejected after, untested before" if a else "untested before"
        if self.before is None:
            return "new, rejected" if a else "new, not rejected"
        if self.after is None:
            return "dropped, was rejected" if b else "dropped, was not rejected"
        return ("rejected before and after" if a and b else "rejected before only" if b
                else "rejected after only" if a else "not rejected")

    @property
    def changed(self) -> bool:
        return self.status not in ("not rejected", "rejected before and after",
                                   "untested before")

    def to_dict(self) -> dict[str, Any]:
        return {"implication": self.text, "status": self.status,
                "before": None if self.before is None else self.before.to_dict(),
                "after": None if self.after is None else self.after.to_dict(),
                "note": self.note or None}


@dataclass(frozen=True, slots=True)
class ImplicationChanges:
    before: LocalTests
    after: LocalTests
    items: tuple[ImplicationChange, ...]
    source: str  # the data tested (the new study's)

    @property
    def verdict(self) -> str:
        nb, na = len(self.before.rejected), len(self.after.rejected)
        head = (f"on {self.source}, the data rejected {nb} of {len(self.before.items)} "
                f"implications before the change and {na} of {len(self.after.items)} after "
                f"(Holm-adjusted, α = {self.after.alpha:g})")
        fixed = [c.text for c in self.items if c.status in ("rejected before only",
                                                            "dropped, was rejected")]
        broken = [c.text for c in self.items if c.status in ("rejected after only",
                                                             "new, rejected",
                                                             "rejected after, untested before")]
        if fixed:
            head += "; no longer rejected: " + ", ".join(fixed)
        if broken:
            head += "; newly rejected: " + ", ".join(broken)
        return head

    def __str__(self) -> str:
        lines = ["Implications on the data, before and after",
                 *textwrap.wrap(f"{self.verdict}.", 96, initial_indent="  ",
                                subsequent_indent="    ")]
        for c in self.items:
            lines.append(f"  {c.status:<27} {c.text}  ({_cell(c.before)} -> {_cell(c.after)})")
            if c.note:
                lines.append(f"  {'':<27} {c.note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "data": self.source,
                "rejected_before": len(self.before.rejected),
                "rejected_after": len(self.after.rejected),
                "alpha": self.after.alpha, "adjustment": "holm",
                "implications": [c.to_dict() for c in self.items]}


def _cell(t: LocalTest | None) -> str:
    if t is None:
        return "not implied"
    return t.short() if t.tested else "not tested"


def implications_on_data(old: Model, new: Model, frame: pd.DataFrame,
                        old_implications: Iterable[Any], new_implications: Iterable[Any], *,
                        alpha: float = 0.05, source: str = "the new study's data"
                        ) -> ImplicationChanges:
    """Test both sides' implications on `frame` (the new study's data) and pair them up.

    >>> import numpy as np, pandas as pd, causal_dsl
    >>> decl = "var a: continuous\\nvar b: continuous\\nvar c: continuous\\n"
    >>> old, new = causal_dsl.parse(decl + "a -> b\\n"), causal_dsl.parse(decl + "a -> b -> c\\n")
    >>> rng = np.random.default_rng(0); a = rng.normal(size=300); b = a + rng.normal(size=300)
    >>> df = pd.DataFrame({"a": a, "b": b, "c": b + rng.normal(size=300)})
    >>> ch = implications_on_data(old, new, df, old.implications(), new.implications())
    >>> for c in ch.items: print(f"{c.text}: {c.status}")
    a ⊥ c: dropped, was rejected
    a ⊥ c | b: new, not rejected
    b ⊥ c: dropped, was rejected
    """
    known = {v.name for v in new.observed}
    olds = list(old_implications)
    testable = [i for i in olds if {i.x, i.y, *i.given} <= known]
    missing = {_key(i.x, i.y, i.given): sorted({i.x, i.y, *i.given} - known) for i in olds
               if i not in testable}
    before = local_tests(new, frame, testable, alpha=alpha)
    after = local_tests(new, frame, list(new_implications), alpha=alpha)
    b = {_key(t.x, t.y, t.given): t for t in before.items}
    a = {_key(t.x, t.y, t.given): t for t in after.items}
    keys = list(dict.fromkeys([*b, *missing, *a]))
    items = []
    for k in keys:
        (x, y), given = k
        text = f"{x} ⊥ {y}" + (f" | {', '.join(given)}" if given else "")
        note = (f"not tested before: {', '.join(missing[k])} not in the new study"
                if k in missing else "")
        items.append(ImplicationChange(text, b.get(k), a.get(k), note))
    items.sort(key=lambda c: (not c.changed, c.text))
    return ImplicationChanges(before, after, tuple(items), source)


def implications_on_data_of(old: Model, new: Model, *, alpha: float = 0.05
                            ) -> ImplicationChanges:
    """`implications_on_data` on the data bound to `new` (read and checked once), each side's
    implications from its own graph engine. Raises `DataError` when `new` binds no data."""
    from ..data import check_data, load_data
    from ..errors import DataError, Diagnostic
    from ..graph import CausalGraph

    if new.data is None:
        raise DataError(Diagnostic(
            "E401", "--data needs data bound to the new study", None,
            help='add a line such as data "file.csv" to the new file'))
    frame = load_data(new)
    check_data(new, frame)
    return implications_on_data(old, new, frame, CausalGraph.from_model(old).implications(),
                                CausalGraph.from_model(new).implications(), alpha=alpha,
                                source=new.data.source)
