"""Progress of long work on the terminal: which phase is running, and k/N with an ETA.

In: calls from the stages that can take long (`phase` when a phase starts — loading, the score
model, matching; `step` inside a loop such as a bootstrap), and the CLI's `showing(...)` block
that decides whether anything is shown. Out: one line on standard error, rewritten in place
(``\\r``), cleared when the block ends; nothing at all outside a `showing` block, when the
stream is not a terminal, or with ``--quiet``. Standard output is never touched, so piped
results stay clean. Raises nothing.

Hand-written (some 100 lines) rather than `rich` or `tqdm`: the phases are few, the line is
one, and the review hooks install this package without its estimation stack, so a progress
library would be a dependency for one line. The reporter lives in a `ContextVar`, so library
users (and tests) calling the estimators see nothing unless they ask.

>>> import io
>>> class Tty(io.StringIO):
...     def isatty(self) -> bool: return True
>>> out = Tty()
>>> with showing(out, clock=iter(range(0, 100, 2)).__next__):
...     phase("matching")
...     step("bootstrap", 0, 10)
...     step("bootstrap", 5, 10)
>>> out.getvalue().split("\\r")[1:4]
['matching', 'bootstrap 0/10', 'bootstrap 5/10, about 2 s left']
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["Reporter", "clear", "phase", "showing", "step"]


@dataclass
class Reporter:
    """Writes the current phase to `stream`, at most every `interval` seconds for steps."""

    stream: TextIO
    clock: Callable[[], float] = time.monotonic
    interval: float = 0.1
    _width: int = 0
    _started: dict[str, float] = field(default_factory=dict)
    _last: float = -1e9

    def show(self, text: str) -> None:
        text = text[:99]
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def phase(self, name: str) -> None:
        self.show(name)

    def step(self, name: str, k: int, total: int) -> None:
        now = self.clock()
        start = self._started.setdefault(name, now)
        if k < total and now - self._last < self.interval:
            return
        self._last = now
        left = (now - start) / k * (total - k) if k > 0 else 0.0
        eta = f", about {_duration(left)} left" if k < total and now > start else ""
        self.show(f"{name} {k}/{total}{eta}")

    def clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


_CURRENT: ContextVar[Reporter | None] = ContextVar("causal_progress", default=None)


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s} s" if s < 120 else f"{s // 60} min {s % 60:02d} s"


@contextlib.contextmanager
def showing(stream: TextIO | None = None, *, enabled: bool = True,
            clock: Callable[[], float] = time.monotonic) -> Iterator[Reporter | None]:
    """Show progress on `stream` (default standard error) inside the block when `enabled`
    and the stream is a terminal; the line is cleared when the block ends, however it ends."""
    out = sys.stderr if stream is None else stream
    active = enabled and _isatty(out)
    reporter = Reporter(out, clock) if active else None
    token = _CURRENT.set(reporter)
    try:
        yield reporter
    finally:
        if reporter is not None:
            reporter.clear()
        _CURRENT.reset(token)


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def phase(name: str) -> None:
    """Say that a phase starts (shown only inside an enabled `showing` block)."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.phase(name)


def step(name: str, k: int, total: int) -> None:
    """Say that `k` of `total` steps of `name` are done (throttled; with an ETA)."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.step(name, k, total)


def clear() -> None:
    """Erase the progress line now (before printing a message on the same stream)."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.clear()
