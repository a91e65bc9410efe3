"""Edits the server proposes: rename, quick fixes for diagnostics, and code lenses.

In: an `Analysis`, protocol diagnostics sent back by the client (their `data` carries the code
and help the server put there), and a new name. Out: `lsprotocol` workspace edits, code actions
and code lenses. Raises `ValueError` for a new name that cannot be a name at all (the server
turns it into an LSP error).

Quick fixes are offered only where a diagnostic has exactly one fix:

* any diagnostic whose help is ``did you mean 'x'?`` (unknown variable E201, type E214,
  estimand E208, method E209, option E210, misspelt keyword, lint) → replace the span by ``x``;
* an unknown variable (E201) → add ``var name: continuous`` after the last declaration (the
  type is a guess, so the fix says so and is not the preferred one when a suggestion exists).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types as lsp

from ..errors import CausalError
from ..fmt import quote_name
from ..syntax import DataStmt, LatentStmt, StudyStmt, VarStmt
from .analysis import Analysis
from .convert import UTF16, to_range
from .hover import verdict
from .index import Occurrence

_DID_YOU_MEAN = re.compile(r"^did you mean '([^']+)'\?")
_UNKNOWN_VARIABLE = re.compile(r"^unknown variable '(.+)'$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|`[^`\n]+`")
IDENTIFY_COMMAND = "causal.identify"


def rename_edit(analysis: Analysis, uri: str, occ: Occurrence, new_name: str,
                encoding: str = UTF16) -> lsp.WorkspaceEdit:
    """Replace every occurrence of `occ`'s name (declaration and uses, never comments)."""
    new_name = new_name.strip()
    if not _NAME.fullmatch(new_name):
        raise ValueError(f"'{new_name}' is not a name: use letters, digits, '_' and '.', "
                         "or write it in backquotes")
    text = quote_name(new_name.strip("`"))
    lines = analysis.lines
    edits = [lsp.TextEdit(to_range(o.span, lines, encoding), text)
             for o in analysis.index.references(occ.name, occ.kind)]
    return lsp.WorkspaceEdit(changes={uri: edits})


def quick_fixes(analysis: Analysis, uri: str, diagnostics: Sequence[lsp.Diagnostic]
                ) -> list[lsp.CodeAction]:
    actions = []
    for d in diagnostics:
        data = d.data if isinstance(d.data, dict) else {}
        help_text = data.get("help") or ""
        suggestion = _DID_YOU_MEAN.match(help_text)
        if suggestion:
            word = suggestion.group(1)
            actions.append(lsp.CodeAction(
                title=f"Replace with '{word}'", kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[d], is_preferred=True,
                edit=lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(d.range,
                                                                    _as_written(word, d))]}),
            ))
        unknown = _UNKNOWN_VARIABLE.match(d.message.split("\n", 1)[0])
        if data.get("code") == "E201" and unknown:
            actions.append(_declare(analysis, uri, unknown.group(1), d,
                                    preferred=not suggestion))
    return actions


def _as_written(word: str, d: lsp.Diagnostic) -> str:
    """A suggested variable is written as a name must be; keywords and types stay bare."""
    return quote_name(word) if d.code == "E201" else word


def _declare(analysis: Analysis, uri: str, name: str, d: lsp.Diagnostic,
             preferred: bool) -> lsp.CodeAction:
    """``var name: continuous`` on a new line after the last declaration (or the header)."""
    after = 0
    for s in analysis.syntax.statements if analysis.syntax else ():
        if isinstance(s, VarStmt | LatentStmt | StudyStmt | DataStmt):
            after = max(after, s.span.end_line)
    position = lsp.Position(after, 0)
    text = f"var {quote_name(name)}: continuous\n"
    return lsp.CodeAction(
        title=f"Declare '{name}' (as continuous: check the type)",
        kind=lsp.CodeActionKind.QuickFix, diagnostics=[d], is_preferred=preferred,
        edit=lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(lsp.Range(position, position),
                                                            text)]}),
    )


def code_lenses(analysis: Analysis, uri: str, encoding: str = UTF16) -> list[lsp.CodeLens]:
    """One lens above each query: its verdict and recommended set, or why there is none.

    Clicking it runs `IDENTIFY_COMMAND`, which shows the full ``causal identify`` text.
    """
    lenses = []
    lines = analysis.lines
    for name, stmt in analysis.index.queries.items():
        found = analysis.identification(name)
        if found is None:
            title = "identification: fix the study's errors first"
        elif isinstance(found, CausalError):
            title = "cannot identify: " + found.diagnostics[0].message
        else:
            title = verdict(found)
        lenses.append(lsp.CodeLens(
            range=to_range(stmt.span, lines, encoding),
            command=lsp.Command(title=title, command=IDENTIFY_COMMAND, arguments=[uri, name]),
        ))
    return lenses


def identification_text(analysis: Analysis, query: str) -> str:
    """What the lens's command shows: ``causal identify`` for one query."""
    found = analysis.identification(query)
    if found is None:
        return f"query {query}: the study has errors, or no such query"
    if isinstance(found, CausalError):
        return found.render()
    return str(found)
