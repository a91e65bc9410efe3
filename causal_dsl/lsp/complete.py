"""Completion: what may be typed at the cursor, read from the text of the line before it.

In: an `Analysis` (for the declared names and their labels), the line's text and the 1-based
cursor column. Out: `lsprotocol` completion items. Raises nothing.

The language is one statement per line, so the words before the cursor on its line say what
comes next: a statement keyword or a variable at the start of a line; after ``data``, an engine
(``duckdb(``, ``spark(``), then ``panel`` and ``weights``, their options and the weight kinds
(`causal_dsl.model.WEIGHT_KINDS`); a type after ``var name:``, then ``as``, ``from`` and
``when`` (the two derivations for a binary), ``first_treated`` after ``from``, the codes'
``control =``/``treated =`` inside ``binary(``, and inside a condition columns, ``not``, the
comparisons and ``and``/``or``; an estimand after ``query name:``, a method after ``using``, that
method's options inside its parentheses (each with its one-line doc, read from
`causal_dsl.model.METHOD_OPTIONS` itself), and in a formula-valued option (``score =``,
``outcome =``) the formula functions of `causal_dsl.terms.FUNCTIONS` and the observed
variables; the query clauses after ``(t -> y)``; declared variables after an arrow, a brace, a
comma or ``layout``. Nothing is offered inside a string or a comment (but the weight kind is
offered inside the quotes of ``kind = "``).
"""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from ..conditions import FROM_FORMS
from ..model import ESTIMANDS, METHOD_OPTIONS, PANEL_OPTIONS, WEIGHT_KINDS, VarType
from ..resolve_engine import ENGINE_OPTIONS, ENGINES
from ..syntax import LatentStmt, SelectedStmt
from ..terms import FUNCTIONS
from .analysis import Analysis

STATEMENTS: dict[str, str] = {
    "study": 'study "Title" — the study\'s title',
    "data": 'data "file.csv" [panel(unit = u, time = t)] [weights(w, kind = "analytic")] — the '
            'dataset, relative to this file (or a glob, a folder, duckdb(...), spark(...))',
    "var": 'var name: type [(levels)] [as "column"] [from first_treated = c | when condition] '
           '["label"] — an observed or derived variable',
    "latent": 'latent name [invariant] ["label"] — an unobserved variable',
    "selected": 'selected name ["label"] — a selection node: the data holds only its rows = 1',
    "layout": "layout name = (x, y) — where a drawing puts the variable",
    "query": "query name: estimand(treatment -> outcome) [clauses] — a causal question",
}
CLAUSES: dict[str, str] = {
    "adjusting": "adjusting {a, b} — propose an adjustment set, to be checked",
    "adjust for": "adjust for {a} — variables every returned set must contain",
    "never adjust for": "never adjust for {m} — variables no returned set may contain",
    "using": "using method(option = value) — choose the estimator (default: auto)",
}
TYPES: dict[str, str] = {
    VarType.BINARY.value: 'two values: 0/1, true/false, yes/no, or two codes: binary("F", "M")',
    VarType.CONTINUOUS.value: "a real number",
    VarType.COUNT.value: "a whole number ≥ 0",
    VarType.CATEGORICAL.value: 'unordered levels, listed: categorical("a", "b")',
    VarType.ORDINAL.value: 'ordered levels, listed low to high: ordinal("low", "high")',
}
VAR_CLAUSES: dict[str, str] = {
    "as": 'as "column" — the data column, when it is not the variable\'s name',
    "from": "from first_treated = column — a treatment built from each unit's first treated "
            "period (needs a panel)",
    "when": 'when year >= 2011 and state == "CA" — a treatment that is 1 where the condition '
            "holds",
}
FROM_DOCS: dict[str, str] = {
    "first_treated": "the column of each unit's first treated period (0 = never treated); the "
                     "indicator is 1 from that period on",
}
CODES: dict[str, str] = {
    "control": 'control = "code" — the code read as 0',
    "treated": 'treated = "code" — the code read as 1',
}
COMPARISONS: dict[str, str] = {
    "==": "equal", "!=": "not equal", "<": "less than", "<=": "at most",
    ">": "greater than", ">=": "at least",
}
LOGIC: dict[str, str] = {
    "and": "both conditions hold (binds tighter than or)",
    "or": "either condition holds",
}
NOT: dict[str, str] = {"not": "the condition does not hold (binds tightest)"}

_N = r"(?:[A-Za-z_][A-Za-z0-9_.]*|`[^`]*`)"
_PARTIAL = re.compile(r"`?[A-Za-z0-9_.]*$")
MAX_VARIABLES = 200
_VAR = rf"^\s*var\s+{_N}\s*:\s*"
_VAR_TYPE = re.compile(rf"{_VAR}\w*$")
_CODES = re.compile(rf"{_VAR}binary\s*\(([^)]*)$", re.I)
_AFTER_TYPE = re.compile(rf'{_VAR}(\w+)(\s*\([^)]*\))?(\s+as\s+"[^"]*")?\s+\w*$')
_FROM_FORM = re.compile(rf"{_VAR}\w+\s+from\s+\w*$")
_FROM_COLUMN = re.compile(rf"{_VAR}\w+\s+from\s+\w+\s*=\s*`?[\w.]*$")
_WHEN = re.compile(rf"{_VAR}\w+\s+when\b(.*)$")
_LATENT = re.compile(rf"^\s*latent\s+{_N}\s+\w*$")
_LAYOUT_NAME = re.compile(r"^\s*layout\s+`?[\w.]*$")
_ESTIMAND = re.compile(rf"^\s*query\s+{_N}\s*:\s*\w*$")
_METHOD = re.compile(r"^\s*query\b.*\busing\s+\w*$")
_USING = re.compile(r"\busing\s+(\w+)\s*\(")
_SOURCE = r'(?:"[^"]*"|\w+\s*\([^)]*\))'
_ENGINE = re.compile(r"^\s*data\s+\w*$")
_ENGINE_OPTIONS = re.compile(r"^\s*data\s+\w+\s*\(([^)]*)$")
_PANEL = re.compile(rf"^\s*data\s+{_SOURCE}\s*panel\s*\(([^)]*)$")
_WEIGHTS = re.compile(rf"^\s*data\s+{_SOURCE}.*\bweights\s*\(([^)]*)$")
_WEIGHT_KIND = re.compile(r'^\s*data\b.*\bweights\s*\([^)]*\bkind\s*=\s*("?)[A-Za-z]*$')
_AFTER_DATA = re.compile(rf"^\s*data\s+{_SOURCE}(.*)\s\w*$")
_CLAUSE = re.compile(rf"^\s*query\s+{_N}\s*:\s*\w+\s*\([^)]*\)([^{{]*|.*\}}[^{{]*)$")
_NAME_SLOT = re.compile(r"(->|<-|<->|\{|,|\(|=)\s*[A-Za-z0-9_.`]*$")
_COMPARISON = re.compile(r"(==|!=|<=|>=|<|>)")


def completions(analysis: Analysis, line_text: str, column: int) -> lsp.CompletionList:
    """The items to offer at 1-based `column` of `line_text`; the list is marked incomplete
    when more variables match than `MAX_VARIABLES`, so that the client asks again as the
    word grows.

    >>> from causal_dsl.lsp.analysis import analyze
    >>> a = analyze("var drug: binary\\n")
    >>> [i.label for i in completions(a, "var x: co", 10).items]
    ['binary', 'continuous', 'count', 'categorical', 'ordinal']
    >>> labels = [i.label for i in completions(a, "query q: ate(drug -> y) using matching(k = 1, ",
    ...                                                47).items]
    >>> "caliper" in labels, "drug" in labels
    (True, False)
    """
    prefix = line_text[: max(0, column - 1)]
    items = _items_at(analysis, prefix)
    variables = [i for i in items if i.kind == lsp.CompletionItemKind.Variable]
    if len(variables) > MAX_VARIABLES:  # `_variables` gives one more than it may show
        items.remove(variables[-1])
        return lsp.CompletionList(is_incomplete=True, items=items)
    return lsp.CompletionList(is_incomplete=False, items=items)


def _items_at(analysis: Analysis, prefix: str) -> list[lsp.CompletionItem]:
    m = _WEIGHT_KIND.match(prefix)
    if m:  # inside or before the quotes of kind = "..."
        return _items(WEIGHT_KINDS, lsp.CompletionItemKind.EnumMember,
                      quote=not m.group(1))
    if _in_string_or_comment(prefix):
        return []
    found = _data_items(analysis, prefix)
    if found is None:
        found = _var_items(analysis, prefix)
    if found is None:
        found = _query_items(analysis, prefix)
    if found is not None:
        return found
    if _LATENT.match(prefix):
        return _items({"invariant": "constant over time within a unit (absorbed by fixed "
                       "effects)"}, lsp.CompletionItemKind.Keyword)
    if _LAYOUT_NAME.match(prefix):
        return _variables(analysis, prefix)
    if re.match(r"^\s*(layout|selected)\b", prefix):
        return []  # a position (numbers), or a new name and its label
    if re.fullmatch(r"\s*(?:[A-Za-z_][A-Za-z0-9_.]*|`[^`]*)?", prefix):
        return _items(STATEMENTS, lsp.CompletionItemKind.Keyword) + _variables(analysis, prefix)
    if _NAME_SLOT.search(prefix):
        return _variables(analysis, prefix)
    return []


def _data_items(analysis: Analysis, prefix: str) -> list[lsp.CompletionItem] | None:
    """Completions on a ``data`` line; None when `prefix` is not one."""
    if not re.match(r"^\s*data\b", prefix):
        return None
    if _ENGINE.match(prefix):
        return _items(ENGINES, lsp.CompletionItemKind.Function, suffix="(")
    m = _ENGINE_OPTIONS.match(prefix)
    if m:
        if "=" in m.group(1).split(",")[-1]:
            return []
        return _items(ENGINE_OPTIONS, lsp.CompletionItemKind.Property, suffix=" = ")
    m = _PANEL.match(prefix)
    if m:
        if "=" in m.group(1).split(",")[-1]:
            return []  # a column name: the server does not read the data to offer them
        return _items(PANEL_OPTIONS, lsp.CompletionItemKind.Property, suffix=" = ")
    m = _WEIGHTS.match(prefix)
    if m:
        if "," not in m.group(1):  # the column of weights; declared variables are columns
            return _variables(analysis, prefix, observed=True)
        if "=" in m.group(1).split(",")[-1]:
            return []
        return _items({"kind": "what the weights mean: " + ", ".join(WEIGHT_KINDS)},
                      lsp.CompletionItemKind.Property, suffix=" = ")
    m = _AFTER_DATA.match(prefix)
    if m:
        offered = {"panel": "panel(unit = u, time = t): the data is a panel",
                   "weights": 'weights(column, kind = "analytic" | "frequency" | "survey"): '
                              "row weights"}
        if re.search(r"\bweights\s*\(", m.group(1)):
            return []  # panel(...) comes before weights(...)
        return _items({k: v for k, v in offered.items()
                       if not re.search(rf"\b{k}\s*\(", m.group(1))},
                      lsp.CompletionItemKind.Keyword)
    return []


def _var_items(analysis: Analysis, prefix: str) -> list[lsp.CompletionItem] | None:
    """Completions on a ``var`` line after its colon; None when `prefix` is not one."""
    if not re.match(_VAR, prefix):
        return None
    if _VAR_TYPE.match(prefix):
        return _items(TYPES, lsp.CompletionItemKind.TypeParameter)
    m = _CODES.match(prefix)
    if m:
        if "=" in m.group(1).split(",")[-1]:
            return []
        return _items(CODES, lsp.CompletionItemKind.Property, suffix=" = ")
    if _FROM_FORM.match(prefix):
        return _items({k: FROM_DOCS.get(k, k) for k in FROM_FORMS},
                      lsp.CompletionItemKind.Keyword, suffix=" = ")
    if _FROM_COLUMN.match(prefix):
        return _variables(analysis, prefix, observed=True)
    m = _WHEN.match(prefix)
    if m:
        return _condition_items(analysis, prefix, m.group(1))
    m = _AFTER_TYPE.match(prefix)
    if m:
        if m.group(3):  # `as "column"` given: a derived variable takes no column
            return []
        derivable = m.group(1).lower() == VarType.BINARY.value and not m.group(2)
        offered = VAR_CLAUSES if derivable else {"as": VAR_CLAUSES["as"]}
        return _items(offered, lsp.CompletionItemKind.Keyword)
    return []


def _condition_items(analysis: Analysis, prefix: str, condition: str
                     ) -> list[lsp.CompletionItem]:
    """Inside ``when ...``: an operand (a column, or ``not``), a comparison after a lone
    operand, or ``and``/``or`` after a whole comparison."""
    partial = _PARTIAL.search(condition)
    before = condition[: partial.start() if partial else len(condition)].rstrip()
    words = before.split()
    last = words[-1] if words else ""
    if not words or last in ("and", "or", "not") or last.endswith("("):
        return (_items(NOT, lsp.CompletionItemKind.Keyword)
                + _variables(analysis, prefix, observed=True))
    if _COMPARISON.fullmatch(last) or re.search(r"(==|!=|<=|>=|<|>)$", before):
        return _variables(analysis, prefix, observed=True)
    # After an operand: a comparison if the current one has none yet, else and / or.
    current = re.split(r"\b(?:and|or|not)\b|\(", before)[-1]
    if _COMPARISON.search(current):
        return _items(LOGIC, lsp.CompletionItemKind.Keyword)
    return _items(COMPARISONS, lsp.CompletionItemKind.Operator)


def _query_items(analysis: Analysis, prefix: str) -> list[lsp.CompletionItem] | None:
    """Completions on a ``query`` line; None when `prefix` is not one."""
    if not re.match(r"^\s*query\b", prefix):
        return None
    if _ESTIMAND.match(prefix):
        return _items(ESTIMANDS, lsp.CompletionItemKind.EnumMember)
    if _METHOD.match(prefix):
        return [_method_item(m) for m in METHOD_OPTIONS]
    using = _open_using(prefix)
    if using is not None:
        return _option_items(analysis, prefix, *using)
    m = _CLAUSE.match(prefix)
    if m and not _NAME_SLOT.search(m.group(1)):
        return _items(CLAUSES, lsp.CompletionItemKind.Keyword)
    if _NAME_SLOT.search(prefix):
        return _variables(analysis, prefix)
    return []


def _open_using(prefix: str) -> tuple[str, str] | None:
    """The method and the option being written when the cursor is inside the parentheses of
    ``using method(...)`` (at any depth: ``score = ns(age, 3) + ...``), else None."""
    found = list(_USING.finditer(prefix))
    if not found:
        return None
    m = found[-1]
    depth, start, in_string = 1, m.end(), False
    rest = prefix[m.end():]
    for i, ch in enumerate(rest):
        if in_string:
            in_string = ch != '"'
        elif ch == '"':
            in_string = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return None  # closed: the clauses go on
        elif ch == "," and depth == 1:
            start = m.end() + i + 1
    return m.group(1).lower(), prefix[start:]


def _in_call(value: str) -> bool:
    """Whether the innermost open parenthesis of a formula is a function's (``ns(``), not a
    group's (``(a + b)``)."""
    opened: list[bool] = []
    for m in re.finditer(r"(\w\s*)?\(|\)", value):
        if m.group(0) == ")":
            if opened:
                opened.pop()
        else:
            opened.append(m.group(1) is not None)
    return bool(opened) and opened[-1]


def _option_items(analysis: Analysis, prefix: str, method: str, option: str
                  ) -> list[lsp.CompletionItem]:
    key, eq, value = option.partition("=")
    schema = METHOD_OPTIONS.get(method, {})
    if not eq:
        docs = {k: f"{v[1]} (type: {_type_name(v[0])})" for k, v in schema.items()}
        return _items(docs, lsp.CompletionItemKind.Property, suffix=" = ")
    kind = schema.get(key.strip(), ("name", ""))[0]
    if kind in ("formula", "score formula"):
        if re.search(r"\^\s*\w*$", value):
            return []  # a power: a number
        if not re.search(r"(^|[=+*:(,])\s*`?[A-Za-z0-9_.]*$", value):
            return []
        variables = _variables(analysis, prefix, observed=True)
        if _in_call(value):  # poly(age, ...), I(...): the arguments are variables
            return variables
        return _items(FUNCTIONS, lsp.CompletionItemKind.Function, suffix="(") + variables
    if kind is bool:
        return _items({"true": "yes", "false": "no"}, lsp.CompletionItemKind.Value)
    if kind in (tuple, "name"):
        return _variables(analysis, prefix)  # exact = {ward}, cluster = ward
    return []


def _in_string_or_comment(prefix: str) -> bool:
    """Whether the cursor is inside a "string", a `quoted name` or after a # comment."""
    in_string = in_quote = False
    i = 0
    while i < len(prefix):
        ch = prefix[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif in_quote:
            in_quote = ch != "`"
        elif ch == '"':
            in_string = True
        elif ch == "`":
            in_quote = True
        elif ch == "#":
            return True
        i += 1
    return in_string


def _items(docs: dict[str, str], kind: lsp.CompletionItemKind, suffix: str = "",
           quote: bool = False) -> list[lsp.CompletionItem]:
    """One item per entry; `quote` inserts the label as a "string"."""
    return [
        lsp.CompletionItem(
            label=label, kind=kind, detail=doc,
            documentation=lsp.MarkupContent(lsp.MarkupKind.Markdown, doc),
            insert_text=f'"{label}"' if quote else (label + suffix if suffix else None),
        )
        for label, doc in docs.items()
    ]


def _method_item(name: str) -> lsp.CompletionItem:
    options = METHOD_OPTIONS[name]
    doc = (f"**{name}**" + (" — chosen by the planner from the graph and the data"
                             if name == "auto" else ""))
    if options:
        doc += "\n\n" + "\n".join(f"- `{k}`: {v[1]}" for k, v in options.items())
    return lsp.CompletionItem(
        label=name, kind=lsp.CompletionItemKind.Function,
        detail="options: " + (", ".join(options) or "none"),
        documentation=lsp.MarkupContent(lsp.MarkupKind.Markdown, doc),
    )


def _variables(analysis: Analysis, prefix: str, observed: bool = False
               ) -> list[lsp.CompletionItem]:
    """The declared variables starting with the word being typed (with `observed`, only those
    that are columns of the data: not latent, not a selection node), and one more than
    `MAX_VARIABLES` at most: a 10,000-variable study would otherwise send 10,000 items on
    every keystroke (`completions` cuts the list and marks it incomplete)."""
    word = _PARTIAL.search(prefix)
    typed = word.group(0).lstrip("`").lower() if word else ""
    items: list[lsp.CompletionItem] = []
    for name, decl in analysis.index.declarations.items():
        if typed and not name.lower().startswith(typed):
            continue
        if observed and isinstance(decl, LatentStmt | SelectedStmt):
            continue
        if len(items) > MAX_VARIABLES:
            break
        detail = ("latent" if isinstance(decl, LatentStmt) else "selected"
                  if isinstance(decl, SelectedStmt) else decl.type_name.text)
        items.append(lsp.CompletionItem(
            label=name, kind=lsp.CompletionItemKind.Variable, detail=detail,
            documentation=decl.label,
            insert_text=None if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name) else f"`{name}`",
        ))
    return items


def _type_name(kind: type | str) -> str:
    if isinstance(kind, str):
        return "a column name"
    return {bool: "true or false", int: "whole number", float: "number", str: '"string"',
            tuple: "set of variables {a, b}"}.get(kind, kind.__name__)
