"""Text → model, reporting syntax and semantic problems together: a line that does not parse no
longer hides the semantic errors of the rest of the file.

In: source text and the path it came from. Out: the resolved `Model` when there is no problem.
Raises `ParseError` when any line does not parse, `ModelError` otherwise; either carries every
diagnostic found, syntax (E1xx) and semantic (E2xx) alike, sorted by position.

How: first `causal_dsl.parse_fast.fast_model` reads the common lines of a file in bulk and returns
the same model when nothing is wrong; otherwise (any problem at all) the exact path below runs from
the start, so every diagnostic comes from it. `causal_dsl.syntax.parse_recovering` keeps the
statements that parse; they are resolved (`causal_dsl.resolve.resolve`) with the names written on
the broken lines *assumed*: such a name may be declared there, so an "unknown variable" error about
it elsewhere would be a cascade of the one syntax error, and is left out. The syntax error then
says, in a note, which names of its line were assumed declared.
Semantic checks that need the whole file stay quiet about what the
broken lines might have said (a query on a broken line is simply not checked).
"""

from __future__ import annotations

import re
from dataclasses import replace

from .errors import Diagnostic, ModelError, ParseError
from .model import Model
from .parse_fast import fast_model
from .resolve import resolve
from .syntax import SyntaxFile, parse_recovering

# A name as the grammar writes it: NAME, or a `quoted name` (backticks).
_NAME = re.compile(r"`((?:[^`\\\n]|\\.)*)`?|([A-Za-z_][A-Za-z0-9_.]*)")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"?')


def parse_model(text: str, path: str | None = None, *, check_files: bool = True) -> Model:
    """The model of `text`, or every problem of it at once (syntax and semantic).

    >>> parse_model("var x: binary\\nvar y: continuos\\nx -> \\ny -> x\\n", "s.causal")
    Traceback (most recent call last):
    ...
    causal_dsl.errors.ParseError: s.causal:2:8: error[E214]: unknown variable type 'continuos'
    ...
    """
    fast = fast_model(text, path, check_files=check_files)  # the common lines, in bulk
    if fast is not None:
        return fast
    tree, syntax_problems = parse_recovering(text, path)
    if not syntax_problems:
        return resolve(tree, check_files=check_files)
    lines = tree.text.split("\n")
    on_line = {d.span.line: _names(lines[d.span.line - 1]) for d in syntax_problems
               if d.span is not None and 0 < d.span.line <= len(lines)}
    assumed = frozenset(n for names in on_line.values() for n in names)
    semantic: list[Diagnostic] = []
    try:
        resolve(tree, check_files=check_files, assumed=assumed)
    except ModelError as error:
        semantic = list(error.diagnostics)
    declared = _declared(tree)
    used = _used(tree)
    noted = []
    for d in syntax_problems:
        names = [n for n in on_line.get(d.span.line if d.span else 0, ())
                 if n in used and n not in declared]
        if names:
            listed = ", ".join(f"'{n}'" for n in names)
            d = replace(d, notes=(*d.notes, f"until this line parses, {listed} "
                                  + ("is" if len(names) == 1 else "are")
                                  + " taken as declared here: no 'unknown variable' error "
                                  "about " + ("it" if len(names) == 1 else "them")
                                  + " elsewhere"))
        noted.append(d)
    everything = sorted([*noted, *semantic], key=_position)
    raise ParseError(everything, {path: tree.text})


def _position(d: Diagnostic) -> tuple[int, int]:
    return (d.span.line, d.span.column) if d.span is not None else (0, 0)


def _names(line: str) -> list[str]:
    """The names written on a line, in order, once each (strings and comments left out)."""
    code = line.split("#", 1)[0] if '"' not in line else line
    code = _STRING.sub(" ", code).split("#", 1)[0]
    found: dict[str, None] = {}
    for m in _NAME.finditer(code):
        name = m.group(1) if m.group(1) is not None else m.group(2)
        if name:
            found[re.sub(r"\\(.)", r"\1", name) if m.group(1) is not None else name] = None
    return list(found)


def _declared(tree: SyntaxFile) -> set[str]:
    from .syntax import LatentStmt, SelectedStmt, VarStmt

    return {s.name.text for s in tree.statements
            if isinstance(s, VarStmt | LatentStmt | SelectedStmt)}


def _used(tree: SyntaxFile) -> set[str]:
    """The variables the parsed arrows, queries and layout lines refer to."""
    from .syntax import ArrowStmt, LayoutStmt, QueryStmt, SetClause

    found: set[str] = set()
    for s in tree.statements:
        if isinstance(s, ArrowStmt):
            found |= {i.text for term in s.terms for i in term.names}
        elif isinstance(s, QueryStmt):
            found |= {s.treatment.text, s.outcome.text}
            found |= {i.text for c in s.clauses if isinstance(c, SetClause) for i in c.names}
        elif isinstance(s, LayoutStmt):
            found.add(s.name.text)
    return found


__all__ = ["parse_model"]
