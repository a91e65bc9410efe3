"""What every verb of the ``causal`` command shares: how a problem is printed and how it exits.

In: a `CausalError` raised by the public API, or a verb function to wrap. Out: diagnostics on
stderr (or JSON on stdout) and the exit status: 1 for problems in the input, 2 for bad usage
(an unknown ``--query``). `data_options` adds the data-reading flags to a verb. Raises nothing;
it exits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from . import load
from .errors import CausalError
from .study import Study

FORMATS = click.Choice(["text", "json"])


# Diagnostics that mean the command line asked for something the file does not have: bad
# usage (exit 2), like any other bad option, not a problem in the input (exit 1).
USAGE_CODES = frozenset({"E223"})


def fail(error: CausalError, fmt: str = "text", path: str | None = None) -> NoReturn:
    """Print a `CausalError` (as text on stderr, or JSON on stdout) and exit 1 (2 when the
    problem is the command line's, e.g. an unknown ``--query``)."""
    if fmt == "json":
        click.echo(json.dumps({"ok": False, "path": path, "diagnostics": error.to_dict()},
                              indent=2))
    else:
        click.echo(error.render(), err=True)
    usage = error.diagnostics and all(d.code in USAGE_CODES for d in error.diagnostics)
    sys.exit(2 if usage else 1)


def load_or_fail(path: str, fmt: str = "text") -> Study:
    try:
        return load(path)
    except CausalError as error:
        fail(error, fmt, path)


def guarded(fmt_arg: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a `CausalError` escaping a verb into rendered diagnostics and exit status 1."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        import functools

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except CausalError as error:
                fmt = kwargs.get(fmt_arg, "text") if fmt_arg else "text"
                fail(error, "json" if fmt == "json" else "text")

        return wrapper

    return decorate


def data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--allow-data-outside`` and ``--drop-nonfinite`` for a verb that reads data: the verb
    runs inside `causal_dsl.datafiles.reading`, so every read below it honours them."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, allow_data_outside: bool, drop_nonfinite: bool, **kwargs: Any
                ) -> Any:
        from .datafiles import reading  # no pandas: `causal check` and `lint` stay light

        with reading(allow_outside=allow_data_outside or None,
                     drop_nonfinite=drop_nonfinite or None):
            return func(*args, **kwargs)

    wrapper = click.option(
        "--drop-nonfinite", is_flag=True,
        help="Treat infinite values (inf, 1e309) in declared columns as missing: counted "
        "and dropped like missing values, instead of refusing the file.")(wrapper)
    return click.option(
        "--allow-data-outside", is_flag=True,
        help="Read a data file outside the study's folder and repository (also "
        "CAUSAL_ALLOW_DATA_OUTSIDE=1).")(wrapper)
