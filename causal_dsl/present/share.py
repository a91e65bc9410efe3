"""Output meant to be shared names data files relative to the study, never by the machine's
absolute path.

In: a `RunResult` or `QueryResult` and the model (`Model`) they were computed from. Out: the
same values with every data path (the run's source, each sample's source and its notes)
written relative to the study file's folder, as the study's own ``data "..."`` line is — so a
report, a Markdown run or a JSON file pasted into a pull request reads the same on every
machine and discloses no home directory. Raises nothing: a path that cannot be made relative
(another drive) is shown by its file name.

>>> import os
>>> relative_source(os.path.abspath("examples/heart_drug.csv"), "examples/heart_drug.causal")
'heart_drug.csv'
>>> relative_source("<DataFrame>", "study.causal")
'<DataFrame>'
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ..model import Model
from ..results import QueryResult, RunResult

__all__ = ["relative_source", "shareable", "shareable_result"]


def relative_source(source: str, study_path: str | Path | None) -> str:
    """`source` relative to the folder of `study_path` (POSIX separators); unchanged when it
    is not an absolute path or the study has no location."""
    if not source or source.startswith("<") or not os.path.isabs(source):
        return source
    if study_path is None:
        return Path(source).name
    folder = Path(study_path).resolve().parent
    try:
        return Path(os.path.relpath(Path(source).resolve(), folder)).as_posix()
    except ValueError:  # another drive
        return Path(source).name


def shareable_result(r: QueryResult, model: Model) -> QueryResult:
    """One query's answer with its sample's data path relative to the study."""
    old = r.sample.source
    new = relative_source(old, model.path)
    if new == old:
        return r
    notes = tuple(n.replace(old, new) for n in r.sample.notes)
    return replace(r, sample=replace(r.sample, source=new, notes=notes))


def shareable(run: RunResult, model: Model) -> RunResult:
    """A run with every data path relative to the study (see the module docstring)."""
    return replace(run, source=relative_source(run.source, model.path),
                   results=tuple(shareable_result(r, model) for r in run.results))
