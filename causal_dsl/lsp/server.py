"""The language server: `pygls` wiring of the features over stdio.

In: LSP messages from an editor (``causal lsp`` reads stdin, writes stdout). Out: diagnostics
published after every change, and answers to hover, definition, references, rename,
completion, formatting, code-action, code-lens, document-symbol and ``causal.identify``
requests. Raises nothing to the client but protocol errors (an invalid new name for rename);
every `CausalError` in the user's text is a diagnostic, and any other exception is a bug that
pygls reports to the client's log with its traceback.

Never blocking typing: a change is analysed only after `DEBOUNCE_SECONDS` without another
change (a newer change cancels the pending analysis), analyses run on a worker thread so that
the event loop keeps answering requests, and a result whose buffer has changed meanwhile is
dropped instead of published. Requests are answered from the latest finished analysis; only
the very first request on a buffer waits for one.

The pause is ``initializationOptions.debounce`` (seconds) when the client sends one.

The cyclic garbage collector runs only after a pause in typing (see `main`).

Data checks (reading the whole table, E4xx) run when a file is opened or saved, not while
typing; their diagnostics are kept with the buffer until the next save.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..errors import Diagnostic, ParseError
from ..fmt import format_text
from ..syntax import LatentStmt, QueryStmt, SelectedStmt, VarStmt
from .analysis import Analysis, analyze, graph_diagnostics
from .complete import completions
from .convert import UTF16, client_column, from_position, to_lsp, to_range
from .edits import IDENTIFY_COMMAND, code_lenses, identification_text, quick_fixes, rename_edit
from .hover import hover_markdown
from .index import Occurrence

DEBOUNCE_SECONDS = 0.3
SETTLE_SECONDS = 0.5
IDLE_GC_SECONDS = 2.0
log = logging.getLogger(__name__)
T = TypeVar("T")
PositionParams = (lsp.HoverParams | lsp.DefinitionParams | lsp.ReferenceParams
                  | lsp.PrepareRenameParams | lsp.RenameParams)


class CausalServer(LanguageServer):
    """A `LanguageServer` that keeps one `Analysis` per open buffer."""

    def __init__(self, debounce: float = DEBOUNCE_SECONDS) -> None:
        super().__init__("causal-dsl", __version__)
        self.debounce = debounce
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.data_diagnostics: dict[str, list[Diagnostic]] = {}
        # One worker: analyses of one buffer are ordered, and a stale one never races a newer.
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="causal-analysis",
                                         initializer=_lower_priority)
        self.idle_gc = False  # `main` turns the collector off and sets this
        self.gc_task: asyncio.Task[None] | None = None

    @property
    def encoding(self) -> str:
        encoding = self.workspace.position_encoding
        return str(getattr(encoding, "value", encoding) or UTF16)

    async def off_loop(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.worker, func, *args)

    # --- analysis ----------------------------------------------------------------------------
    def schedule(self, uri: str, delay: float, check_data: bool = False) -> None:
        """Analyse `uri` after `delay` seconds unless another change comes first."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(
            self._analyse(uri, delay, check_data))

    async def _analyse(self, uri: str, delay: float, check_data: bool) -> None:
        if delay:
            await asyncio.sleep(delay)
        document = self.workspace.get_text_document(uri)
        text, version = document.source, document.version

        def stale() -> bool:
            current = self.workspace.text_documents.get(uri)
            return current is None or current.version != version

        try:
            result = await self.off_loop(_analyze_for, text, _path(uri), check_data)
            if stale():
                return  # closed or changed while analysing: a newer analysis is on its way
            if result.data_checked:
                self.data_diagnostics[uri] = [d for d in result.diagnostics
                                              if d.code.startswith("E4")]
            elif result.study is not None:
                result.diagnostics.extend(self.data_diagnostics.get(uri, []))
            self.analyses[uri] = result
            self.publish(uri, result, version)
            # Second pass: identification, for the graph errors (E3xx). It is the slow part
            # on a large study, so the first diagnostics do not wait for it, and a newer
            # change stops it between two queries.
            graph = await self.off_loop(graph_diagnostics, result, stale)
        except Exception:  # a bug, not the user's text: keep the traceback, tell the user
            log.exception("analysis of %s failed", uri)
            self.window_show_message(lsp.ShowMessageParams(
                lsp.MessageType.Error,
                "causal lsp: internal error while analysing this file (traceback in the "
                "server's log); please report it"))
            return
        if graph and not stale():
            result.diagnostics.extend(graph)
            result.diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span
                                    else (0, 0))
            self.publish(uri, result, version)
        self.collect_when_idle()

    def collect_when_idle(self) -> None:
        """Collect cyclic garbage once no buffer has changed for `IDLE_GC_SECONDS`."""
        if not self.idle_gc:
            return
        if self.gc_task is not None:
            self.gc_task.cancel()

        async def collect() -> None:
            await asyncio.sleep(IDLE_GC_SECONDS)
            await self.off_loop(gc.collect)

        self.gc_task = asyncio.get_running_loop().create_task(collect())

    async def settled(self, uri: str, timeout: float = SETTLE_SECONDS) -> None:
        """Wait a little for the running analysis of `uri` (identifications included), so that
        a hover on a small study is complete; a large one answers with what is known."""
        pending = self.pending.get(uri)
        if pending is not None and not pending.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(pending), timeout)

    def publish(self, uri: str, result: Analysis, version: int | None) -> None:
        lines = result.lines
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, version=version,
            diagnostics=[to_lsp(d, lines, self.encoding) for d in result.diagnostics],
        ))

    async def analysis(self, uri: str) -> Analysis:
        """The latest analysis of `uri`; the first request on a buffer waits for one."""
        found = self.analyses.get(uri)
        if found is not None:
            return found
        pending = self.pending.get(uri)
        if pending is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(pending)
            if uri in self.analyses:
                return self.analyses[uri]
        document = self.workspace.get_text_document(uri)
        return await self.off_loop(_analyze_for, document.source, _path(uri), False)

    async def occurrence(self, params: PositionParams) -> tuple[Analysis, Occurrence | None]:
        result = await self.analysis(params.text_document.uri)
        line, column = from_position(params.position, result.lines, self.encoding)
        return result, result.index.at(line, column)


def _lower_priority() -> None:
    """Run the analysis thread at a lower OS priority (Linux nices threads one by one): when
    the machine is busy, the thread answering the editor is scheduled first."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _path(uri: str) -> str | None:
    return to_fs_path(uri) if uri.startswith("file:") else None


def _analyze_for(text: str, path: str | None, check_data: bool) -> Analysis:
    return analyze(text, path, check_data=check_data, identify=False)


def create_server(debounce: float = DEBOUNCE_SECONDS) -> CausalServer:
    """A server with every feature registered (a new one per call: tests run several)."""
    server = CausalServer(debounce)

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: CausalServer, params: lsp.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("debounce"), int | float):
            ls.debounce = max(0.0, float(options["debounce"]))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: CausalServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0, check_data=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: CausalServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: CausalServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0, check_data=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: CausalServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.analyses.pop(uri, None)
        ls.data_diagnostics.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: CausalServer, params: lsp.HoverParams) -> lsp.Hover | None:
        await ls.settled(params.text_document.uri)
        result, occ = await ls.occurrence(params)
        if occ is None:
            return None
        text = await ls.off_loop(hover_markdown, result, occ)
        return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text),
                         to_range(occ.span, result.lines, ls.encoding))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: CausalServer, params: lsp.DefinitionParams
                         ) -> lsp.Location | None:
        result, occ = await ls.occurrence(params)
        target = result.index.definition(occ.name, occ.kind) if occ else None
        if target is None:
            return None
        return lsp.Location(params.text_document.uri,
                            to_range(target.span, result.lines, ls.encoding))

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: CausalServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        result, occ = await ls.occurrence(params)
        if occ is None:
            return []
        return [lsp.Location(params.text_document.uri,
                             to_range(o.span, result.lines, ls.encoding))
                for o in result.index.references(occ.name, occ.kind)
                if params.context.include_declaration or not o.definition]

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    async def prepare_rename(ls: CausalServer, params: lsp.PrepareRenameParams
                             ) -> lsp.PrepareRenamePlaceholder | None:
        result, occ = await ls.occurrence(params)
        if occ is None:
            return None
        return lsp.PrepareRenamePlaceholder(to_range(occ.span, result.lines, ls.encoding),
                                            occ.name)

    @server.feature(lsp.TEXT_DOCUMENT_RENAME)
    async def rename(ls: CausalServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
        result, occ = await ls.occurrence(params)
        if occ is None:
            return None
        try:
            return rename_edit(result, params.text_document.uri, occ, params.new_name,
                               ls.encoding)
        except ValueError as error:
            raise JsonRpcInvalidParams(str(error)) from None

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[":", "(", "{", ","]))
    async def completion(ls: CausalServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        result = await ls.analysis(params.text_document.uri)
        document = ls.workspace.get_text_document(params.text_document.uri)
        lines = document.source.split("\n")  # the live text: the analysis may lag a keystroke
        line, column = from_position(params.position, lines, ls.encoding)
        text = lines[line - 1] if line <= len(lines) else ""
        return completions(result, text, column)

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    async def formatting(ls: CausalServer, params: lsp.DocumentFormattingParams
                         ) -> list[lsp.TextEdit] | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        text = document.source
        try:
            formatted = await ls.off_loop(format_text, text, _path(params.text_document.uri))
        except ParseError:
            return None  # the diagnostics already say why; nothing is rewritten
        if formatted == text:
            return []
        lines = text.split("\n")
        end = lsp.Position(len(lines) - 1,
                           client_column(lines[-1], len(lines[-1]) + 1, ls.encoding))
        return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), formatted)]

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    async def code_action(ls: CausalServer, params: lsp.CodeActionParams
                          ) -> list[lsp.CodeAction]:
        result = await ls.analysis(params.text_document.uri)
        return quick_fixes(result, params.text_document.uri, params.context.diagnostics)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls: CausalServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
        result = await ls.analysis(params.text_document.uri)
        return await ls.off_loop(code_lenses, result, params.text_document.uri, ls.encoding)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def symbols(ls: CausalServer, params: lsp.DocumentSymbolParams
                      ) -> list[lsp.DocumentSymbol]:
        result = await ls.analysis(params.text_document.uri)
        out = []
        for s in result.syntax.statements if result.syntax else ():
            if isinstance(s, VarStmt | LatentStmt | SelectedStmt | QueryStmt):
                kind = (lsp.SymbolKind.Function if isinstance(s, QueryStmt)
                        else lsp.SymbolKind.Variable)
                detail = ("query" if isinstance(s, QueryStmt) else "latent"
                          if isinstance(s, LatentStmt) else "selected"
                          if isinstance(s, SelectedStmt) else s.type_name.text)
                out.append(lsp.DocumentSymbol(
                    name=s.name.text, kind=kind, detail=detail,
                    range=to_range(s.span, result.lines, ls.encoding),
                    selection_range=to_range(s.name.span, result.lines, ls.encoding)))
        return out

    @server.command(IDENTIFY_COMMAND)
    async def identify_command(ls: CausalServer, uri: str, query: str) -> str:
        result = await ls.analysis(uri)
        text = await ls.off_loop(identification_text, result, query)
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Info, text))
        return text

    return server


def main() -> None:
    """``causal lsp``: serve one editor over stdin/stdout until it says exit.

    The cyclic garbage collector is switched off for the life of the process and run by
    `CausalServer.collect_when_idle` instead: with a large study in memory a full collection
    walks millions of objects and holds the interpreter for up to a second (measured at 10,000
    variables), which would otherwise land in the middle of typing.
    """
    gc.disable()
    server = create_server()
    server.idle_gc = True
    server.start_io()
