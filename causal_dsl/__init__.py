"""causal-dsl: write a causal study as text, then check, identify, estimate, render and review it.

The public API is small: `parse` and `load` return a `Study`, and everything else is a method
of the study (``study.identify()``, ``study.run()``, ``study.to_mermaid()``, ...). Every problem a
user can cause is raised as a `CausalError` carrying diagnostics with source positions.

>>> import causal_dsl
>>> study = causal_dsl.parse("var x: binary\\nvar y: continuous\\nx -> y\\n")
>>> [str(e) for e in study.edges]
['x -> y']
"""

from __future__ import annotations

from pathlib import Path

# The presenters of result values (text, Markdown, HTML for Jupyter): a table of names only,
# no presenter module is imported here (`causal_dsl.present.register`).
from . import collector
from . import present as _present
from .errors import (
    CausalError,
    DataError,
    Diagnostic,
    EstimationError,
    GraphError,
    ModelError,
    ParseError,
    PlanError,
    RenderError,
    Span,
)
from .model import DataBinding, Edge, Method, Model, Query, Variable, VarType
from .study import Study, from_networkx

_present.register()

__version__ = "0.1.0"

__all__ = [
    "CausalError",
    "DataBinding",
    "DataError",
    "Diagnostic",
    "Edge",
    "EstimationError",
    "GraphError",
    "Method",
    "Model",
    "ModelError",
    "ParseError",
    "PlanError",
    "Query",
    "RenderError",
    "Span",
    "Study",
    "VarType",
    "Variable",
    "__version__",
    "from_networkx",
    "load",
    "parse",
]


def parse(text: str, path: str | Path | None = None, *, check_files: bool = True) -> Study:
    """Parse and check a study written in the `.causal` language.

    Raises `ParseError` when a line does not parse, `ModelError` for the other problems; both
    carry every diagnostic found, syntax and semantic, sorted by position
    (`causal_dsl.recover`). `path` is used in messages and to resolve the data file; the data
    file's existence is checked only when `path` is given (and `check_files` is true).

    >>> parse("var x: binary\\nx -> x\\n", "s.causal")
    Traceback (most recent call last):
    ...
    causal_dsl.errors.ModelError: s.causal:2:1: error[E203]: 'x' points to itself
    ...
    """
    from .recover import parse_model

    shown = None if path is None else str(path)
    # A large study allocates a million small objects and no cycles (`collector`)
    with collector.paused():
        # every problem at once: a line that does not parse does not hide the others
        model = parse_model(text, shown, check_files=check_files and path is not None)
        return Study.of(model)


def load(path: str | Path, *, check_files: bool = True) -> Study:
    """Read and parse a `.causal` file; problems are reported against that path.

    A file that cannot be read is `ModelError` E200, one that is not UTF-8 `ParseError` E100
    (`causal_dsl.files`, the one reader every verb uses).
    """
    from .files import read_text

    return parse(read_text(path), Path(path), check_files=check_files)
