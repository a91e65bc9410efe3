"""Presenters: every result value drawn in every format, one module per format.

In: result values (`causal_dsl.results`, `causal_dsl.identify`), reports and studies. Out:
text (`text`), Markdown (`markdown`), HTML (`html`), hand-drawn charts (`charts`), all escaped
through the one helper per format in `markup`. Raises nothing.

The values themselves hold data and cannot import this later stage, so ``str(result)``,
``summary()``, ``to_markdown()`` and Jupyter's ``_repr_html_`` ask the table in
`causal_dsl.display`; `register` fills it. It imports no presenter module (each entry loads its
module on first use), so calling it costs microseconds and keeps ``causal check`` light.

>>> from causal_dsl import display, present
>>> present.register()
>>> ("html", "QueryResult") in display.PRESENTERS
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .. import display

__all__ = ["PRESENTERS", "register"]

# (format, type name) -> (module under causal_dsl, function, keyword arguments)
PRESENTERS: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
    ("text", "Check"): ("present.text", "check_text", {}),
    ("text", "Plan"): ("present.text", "plan_text", {}),
    ("text", "QueryResult"): ("present.text", "query_result_text", {}),
    ("text", "RunResult"): ("present.text", "run_result_text", {}),
    ("text-verbose", "RunResult"): ("present.text", "run_result_text", {"verbose": True}),
    ("text", "Study"): ("present.text", "study_text", {}),
    ("markdown", "QueryResult"): ("present.markdown", "query_result_markdown", {}),
    ("markdown", "RunResult"): ("present.markdown", "run_result_markdown", {}),
    ("markdown-verbose", "RunResult"): ("present.markdown", "run_result_markdown",
                                        {"verbose": True}),
    ("markdown", "Report"): ("present.markdown", "report_markdown", {}),
    ("markdown", "Study"): ("present.markdown", "study_markdown", {}),
    ("html", "Identification"): ("present.html", "identification_html", {"heading": True}),
    ("html", "QueryResult"): ("present.html", "query_result_html", {}),
    ("html", "RunResult"): ("present.html", "run_result_html", {}),
    ("html", "Report"): ("present.html", "report_html", {}),
    ("html", "Study"): ("present.html", "study_html", {}),
    ("svg", "Study"): ("render", "repr_svg", {}),
}
_done = False


def _lazy(module: str, name: str, kwargs: dict[str, Any]) -> Callable[[object], str]:
    def draw(value: object) -> str:
        presenter = getattr(importlib.import_module(f"causal_dsl.{module}"), name)
        drawn: str = presenter(value, **kwargs)
        return drawn

    draw.__qualname__ = draw.__name__ = name
    return draw


def register() -> None:
    """Fill `causal_dsl.display`'s table with every presenter (once; later calls return at
    once)."""
    global _done
    if _done:
        return
    for (fmt, type_name), (module, name, kwargs) in PRESENTERS.items():
        display.register(fmt, type_name, _lazy(module, name, kwargs))
    _done = True
