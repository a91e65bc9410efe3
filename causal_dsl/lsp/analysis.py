"""One editor buffer analysed: syntax, model, diagnostics, index and (lazily) identifications.

In: the buffer's text and the path of the file (None for an unsaved buffer). Out: an `Analysis`
holding everything the language server's features read — the (possibly partial) syntax tree, the
resolved `Study` when the text is a valid study, every diagnostic (parse E1xx, model E2xx,
graph E3xx from identification, lint L1xx as warnings, and the data checks E4xx when asked for),
and the `Index` of names. Raises nothing: every `CausalError` becomes diagnostics, because an
editor shows problems instead of stopping. Any other exception is a bug and propagates.

No LSP types here: this module is the plain-Python half of the server, and is tested as such.

A file that does not parse still gets an index: the grammar is line-based, so the lines that
failed are blanked and the rest parsed again. Go to definition and hover thus keep working on
the other lines while one line is being typed.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import CausalError, Diagnostic, ParseError
from ..lint import lint
from ..resolve import resolve
from ..study import Study
from ..syntax import SyntaxFile, parse_syntax
from .index import Index, build_index

if TYPE_CHECKING:
    from ..identify import Identification

# Blank-and-retry rounds for a broken file: one normally suffices (every broken line is
# reported at once); a second catches a line whose error only shows once its neighbour is gone.
_RETRIES = 3


@dataclass
class Analysis:
    """The state of one buffer at one version."""

    text: str
    path: str | None
    syntax: SyntaxFile | None
    study: Study | None
    diagnostics: list[Diagnostic]
    index: Index
    partial: bool = False  # some lines did not parse and are missing from `syntax`
    data_checked: bool = False
    cache: dict[tuple[str, ...], Any] = field(default_factory=dict)  # for the features
    _identified: dict[str, Identification | CausalError] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @functools.cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def identification(self, query: str, compute: bool = True
                       ) -> Identification | CausalError | None:
        """The identification of `query` (computed once, then cached), the `CausalError` it
        raised, or None when the buffer has no valid study or no such query (or, with
        ``compute=False``, when it has not been computed yet)."""
        if self.study is None or query not in {q.name for q in self.study.queries}:
            return None
        if not compute:
            return self._identified.get(query)
        with self._lock:
            if query not in self._identified:
                try:
                    self._identified[query] = self.study.identify(query)
                except CausalError as error:
                    # Kept without its traceback: the frames would keep a whole
                    # identification's temporaries alive for as long as the buffer is open.
                    self._identified[query] = error.with_traceback(None)
            return self._identified[query]


def analyze(text: str, path: str | None = None, *, check_files: bool = True,
            check_data: bool = False, identify: bool = True) -> Analysis:
    """Parse, resolve, identify and lint `text`, collecting every problem as a diagnostic.

    `check_files` looks for the data file on disk and reads its header for lint; `check_data`
    also reads the whole table and checks every declared column (what saving a file does);
    `identify` runs each query through identification so that its graph errors (E3xx) are
    reported (the server does that in a second pass, `graph_diagnostics`, which a newer
    change can interrupt).

    >>> a = analyze("var x: binary\\nx -> y\\nquery q: ate(x -> )\\n")
    >>> [(d.code, d.span.line) for d in a.diagnostics], a.partial
    ([('E104', 3)], True)
    >>> [o.name for o in a.index.occurrences]
    ['x', 'x', 'y']
    """
    # As in `causal_dsl.parse`: a large study allocates a million small objects and no
    # cycles, and the cyclic collector would walk them again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = _analyze(text, path, check_files, check_data)
        if identify:
            result.diagnostics.extend(graph_diagnostics(result))
            result.diagnostics.sort(key=_position)
        return result
    finally:
        if enabled:
            gc.enable()


def graph_diagnostics(analysis: Analysis,
                      stop: Callable[[], bool] = lambda: False) -> list[Diagnostic]:
    """The graph errors (E3xx) of every query, identifying each one (the results are kept for
    hover and the code lens); `stop` is asked between queries, so that a newer version of
    the buffer does not wait for this one's identifications."""
    found: list[Diagnostic] = []
    for q in analysis.study.queries if analysis.study is not None else ():
        if stop():
            break
        result = analysis.identification(q.name)
        if isinstance(result, CausalError):
            found.extend(result.diagnostics)
    return found


def _analyze(text: str, path: str | None, check_files: bool, check_data: bool) -> Analysis:
    try:
        tree = parse_syntax(text, path)
    except ParseError as error:
        partial = _partial_syntax(text, path, error)
        index = build_index(partial) if partial is not None else Index()
        return Analysis(text, path, partial, None, list(error.diagnostics), index, partial=True)
    index = build_index(tree)
    try:
        study = Study.of(resolve(tree, check_files=check_files and path is not None))
    except CausalError as error:
        return Analysis(text, path, tree, None, list(error.diagnostics), index)
    result = Analysis(text, path, tree, study, [], index)
    try:
        result.diagnostics.extend(lint(study, tree, read_data=check_files and path is not None))
    except CausalError as error:  # lint raises only for bad `disable` codes; not reachable here
        result.diagnostics.extend(error.diagnostics)
    if check_data and study.data is not None and path is not None:
        result.diagnostics.extend(data_diagnostics(study))
        result.data_checked = True
    result.diagnostics.sort(key=_position)
    return result


def data_diagnostics(study: Study) -> list[Diagnostic]:
    """Read the bound table and check every declared column against its type (E4xx).

    pandas is imported here, not at module level: the first keystrokes never wait for it.
    """
    from ..data import check_data, load_data

    try:
        check_data(study, load_data(study))
    except CausalError as error:
        return list(error.diagnostics)
    return []


def _partial_syntax(text: str, path: str | None, error: ParseError) -> SyntaxFile | None:
    """The syntax of `text` with every line that failed to parse blanked out."""
    lines = text.split("\n")
    for _ in range(_RETRIES):
        for d in error.diagnostics:
            if d.span is not None and 1 <= d.span.line <= len(lines):
                lines[d.span.line - 1] = ""
        try:
            return parse_syntax("\n".join(lines), path)
        except ParseError as again:
            error = again
    return None


def _position(d: Diagnostic) -> tuple[int, int, str]:
    return ((d.span.line, d.span.column) if d.span else (0, 0)) + (d.code,)
