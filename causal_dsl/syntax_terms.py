"""Building the parts of a statement that nest: levels, model formulas and conditions.

In: a line's tokens and sub-results, handed over rule by rule by `causal_dsl.syntax._ToSyntax`
(which inherits `TermBuilder`). Out: `Value`, `FormulaNode` and `CondNode` trees with spans.
Raises nothing: the grammar has already accepted the line; meaning is checked later
(`causal_dsl.terms`, `causal_dsl.conditions`, `causal_dsl.resolve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import Span
from .syntax_tree import CondNode, FormulaNode, Ident, Value

if TYPE_CHECKING:
    from .syntax import _Tok

# `_new(Span, (...))` builds a named tuple without the Python-level `__new__` that
# `Span(...)` runs: the parser builds hundreds of thousands of tokens and spans.
_new = tuple.__new__


def _span(token: _Tok, path: str | None) -> Span:
    # A _Tok is on one line and its positions are 1-based: no fallbacks needed.
    line = token.line
    return _new(Span, (path, line, token.column, line, token.end_column))


def _unquote_string(raw: str) -> str:
    """Decode a "..." literal: \\" \\\\ \\n \\t \\r \\uXXXX; any other escape is kept as written.

    >>> _unquote_string(r'"a \\"b\\" \\u00e9"')
    'a "b" é'
    """
    body = raw[1:-1]
    if "\\" not in body:  # the usual case: nothing to decode
        return body
    out: list[str] = []
    i = 0
    simple = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/"}
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "u" and _is_hex(body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            out.append(ch + nxt)
            i += 2
    return "".join(out)


def _is_hex(s: str) -> bool:
    return len(s) == 4 and all(c in "0123456789abcdefABCDEF" for c in s)


def _number(raw: str) -> int | float:
    try:
        return int(raw)
    except ValueError:
        return float(raw)


class TermBuilder:
    """The rule methods for names, values, levels, formulas and conditions."""

    path: str | None
    line_span: Span

    def _ident(self, token: _Tok) -> Ident:
        line = token.line
        span = _new(Span, (self.path, line, token.column, line, token.end_column))
        if token.type == "QUOTED_NAME":
            return Ident(token.value[1:-1], span, True)
        return Ident(token.value, span, False)

    def _value(self, item: Any) -> Value:
        if isinstance(item, Value):
            return item
        if isinstance(item, FormulaNode):
            return Value("formula", item, item.span)
        span = _span(item, self.path)
        if item.type == "STRING":
            return Value("string", _unquote_string(str(item)), span)
        if item.type == "NUMBER":
            return Value("number", _number(str(item)), span)
        return Value("name", self._ident(item).text, span)

    def levels(self, items: list[Any]) -> tuple[tuple[Value, ...], Span]:
        values = tuple(self._value(i) for i in items if i is not None)
        span = values[0].span.cover(values[-1].span) if values else self.line_span
        return values, span

    def level_key(self, items: list[Any]) -> Value:
        key, level = items
        ident = self._ident(key)
        value = self._value(level)
        return Value("keyed", (ident, value), ident.span.cover(value.span))

    # model formulas: each rule's operands are tokens or the nodes built below
    def _fnode(self, item: Any) -> FormulaNode:
        if isinstance(item, FormulaNode):
            return item
        if item.type == "NUMBER":
            return FormulaNode("number", (item.value,), _span(item, self.path))
        ident = self._ident(item)
        return FormulaNode("name", (ident,), ident.span)

    def _binary(self, op: str, items: list[Any]) -> FormulaNode:
        left, right = self._fnode(items[0]), self._fnode(items[1])
        return FormulaNode(op, (left, right), left.span.cover(right.span))

    def f_add(self, items: list[Any]) -> FormulaNode:
        return self._binary("+", items)

    def f_cross(self, items: list[Any]) -> FormulaNode:
        return self._binary("*", items)

    def f_inter(self, items: list[Any]) -> FormulaNode:
        return self._binary(":", items)

    def f_pow(self, items: list[Any]) -> FormulaNode:
        return self._binary("^", items)

    def f_paren(self, items: list[Any]) -> FormulaNode:
        (inner,) = items
        node = self._fnode(inner)
        return FormulaNode("()", (node,), node.span)

    def f_call(self, items: list[Any]) -> FormulaNode:
        name, *args = items
        ident = self._ident(name)
        nodes = tuple(self._fnode(a) for a in args if a is not None)
        span = ident.span.cover(nodes[-1].span) if nodes else ident.span
        return FormulaNode("call", (ident, *nodes), span)

    # conditions (`when year >= 2011 and state == "CA"`): operands are tokens
    def c_compare(self, items: list[Any]) -> CondNode:
        left, op, right = items
        a, b = self._value(left), self._value(right)
        return CondNode(str(op), (a, b), a.span.cover(b.span))

    def _cond(self, op: str, items: list[Any]) -> CondNode:
        nodes = tuple(i for i in items if isinstance(i, CondNode))
        return CondNode(op, nodes, nodes[0].span.cover(nodes[-1].span))

    def c_or(self, items: list[Any]) -> CondNode:
        return self._cond("or", items)

    def c_and(self, items: list[Any]) -> CondNode:
        return self._cond("and", items)

    def c_not(self, items: list[Any]) -> CondNode:
        return self._cond("not", items)

    def c_paren(self, items: list[Any]) -> CondNode:
        return self._cond("()", items)
