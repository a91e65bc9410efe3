"""Jupyter's rich display for value types, without an upward import.

Result values (`results`, `identify`, `diff`) are data; drawing them as HTML or Markdown is the
job of `causal_dsl.present`, a later stage they must not import. So each value's
``_repr_html_`` asks this table, and `causal_dsl.present` fills it when it is imported (the
`Study` façade imports it before it hands out a result). Keyed by (format, type name) so that
this module imports nothing.

In: a value and a format name. Out: the text, or None when no presenter is registered (Jupyter
then falls back to the plain ``repr``). Raises nothing.
"""

from __future__ import annotations

from collections.abc import Callable

# (format, class name) -> presenter; filled by causal_dsl.present.register()
PRESENTERS: dict[tuple[str, str], Callable[[object], str]] = {}


def register(fmt: str, type_name: str, presenter: Callable[[object], str]) -> None:
    """Make `presenter` draw values of the class called `type_name` in format `fmt`."""
    PRESENTERS[(fmt, type_name)] = presenter


def show(fmt: str, value: object) -> str | None:
    """The value drawn in `fmt` by its registered presenter, or None."""
    presenter = PRESENTERS.get((fmt, type(value).__name__))
    return None if presenter is None else presenter(value)
