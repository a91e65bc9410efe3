"""Graphviz engines: finding one, and running it on DOT text.

In: an engine (a path, a program name, or None to search) and DOT text. Out: the engine's
output bytes. Engines are looked up in this order: an explicit ``engine`` argument, the
``CAUSAL_DOT_ENGINE`` environment variable, ``dot`` on PATH, then ``graphviz-pure`` next to the
running interpreter or on PATH. Raises `RenderError`: E602 no engine found (or it cannot run),
E603 the engine failed (its stderr is in the message), E604 it timed out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic, RenderError

ENGINE_ENV = "CAUSAL_DOT_ENGINE"
DEFAULT_TIMEOUT = 120.0  # seconds; a 500-variable model takes well under 5 s with either engine


@dataclass(frozen=True, slots=True)
class Engine:
    """A Graphviz-compatible layout program: `name` is how it was found, `path` what runs."""

    name: str
    path: Path

    def __str__(self) -> str:
        return f"{self.name} ({self.path})"


def _resolve_program(program: str | Path) -> Path | None:
    p = Path(program)
    if p.parent != Path(".") or p.is_absolute():
        return p if p.is_file() and os.access(p, os.X_OK) else None
    found = shutil.which(str(program))
    return Path(found) if found else None


def _candidates() -> list[tuple[str, Path | None]]:
    here = Path(sys.executable).parent
    names = ["graphviz-pure", "graphviz-pure.exe"]
    beside = [here / n for n in names if (here / n).is_file()]
    return [
        ("dot", _resolve_program("dot")),
        ("graphviz-pure", beside[0] if beside else _resolve_program("graphviz-pure")),
    ]


def available_engines() -> tuple[Engine, ...]:
    """Every engine found on this machine, in lookup order (the environment variable aside)."""
    return tuple(Engine(n, p) for n, p in _candidates() if p is not None)


def find_engine(engine: str | Path | Engine | None = None) -> Engine:
    """The engine to run: `engine` (a path or program name), else ``$CAUSAL_DOT_ENGINE``,
    else ``dot`` on PATH, else ``graphviz-pure``. Nothing found is a `RenderError` (E602)."""
    if isinstance(engine, Engine):
        return engine
    for given, where in ((engine, "--engine"), (os.environ.get(ENGINE_ENV) or None, ENGINE_ENV)):
        if given is None:
            continue
        path = _resolve_program(given)
        if path is None:
            raise RenderError(
                Diagnostic(
                    "E602",
                    f"Graphviz engine '{given}' (from {where}) not found or not executable",
                    help="give the path of `dot` or `graphviz-pure`, or unset it to search",
                )
            )
        return Engine(Path(str(given)).name, path)
    found = available_engines()
    if found:
        return found[0]
    raise RenderError(
        Diagnostic(
            "E602",
            "no Graphviz engine found (looked for `dot` on PATH and `graphviz-pure` next to "
            f"{sys.executable} and on PATH)",
            help="install Graphviz (e.g. `apt-get install graphviz`) or `pip install "
            "graphviz-pure`, or set CAUSAL_DOT_ENGINE; --format dot and mermaid need no engine",
        )
    )


def run_engine(
    dot_text: str,
    fmt: str,
    engine: str | Path | Engine | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    args: Sequence[str] = (),
) -> bytes:
    """Lay out `dot_text` with a Graphviz engine and return its `-T<fmt>` output; `args` are
    more command-line options (``-Kneato``, ``-n2``, ``-Gdpi=192``).

    The engine runs as a subprocess on the DOT text (not pydot's ``create``, which prints to
    stdout and relies on ``assert``). Failures become `RenderError` with the engine's stderr.
    """
    eng = find_engine(engine)
    try:
        proc = subprocess.run(
            [str(eng.path), f"-T{fmt}", *args],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            Diagnostic("E604", f"{eng} did not finish within {timeout:g} s",
                       help="the graph may be too large for this engine; try another with "
                       "--engine, or --format dot / mermaid")
        ) from None
    except OSError as error:
        raise RenderError(
            Diagnostic("E602", f"cannot run {eng}: {error.strerror or error}",
                       help="check the engine path, or set CAUSAL_DOT_ENGINE")
        ) from None
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not proc.stdout:
        raise RenderError(
            Diagnostic(
                "E603",
                f"{eng} failed to render {fmt} (exit status {proc.returncode})",
                notes=tuple(stderr.splitlines()[:20]) or ("the engine printed nothing",),
                help="try another engine with --engine, or --format dot to inspect the input",
            )
        )
    return proc.stdout
