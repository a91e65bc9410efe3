"""Reading DAGitty model code: a tokenizer and a recursive-descent parser.

In: the text of a DAGitty model. Out: a `DagittyGraph` (nodes with their attributes, edges,
the graph type) with spans into that text. Raises `ParseError` (E150-E153) with positions: a
syntax error, an edge a DAG cannot hold, a graph type that is not a DAG, a self-loop or a cycle.

Written after DAGitty's own PEG grammar (``jslib/parser/GraphDotParser.pegjs``): identifiers
are barewords ``-?[0-9A-Za-z_.]+`` or ``"strings"`` (``\\"`` escapes a quote, ``"a" + "b"``
concatenates); spaces, newlines and ``;`` separate statements; ``{a b}`` is a group.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ..errors import Diagnostic, ParseError, Span

# Words of the .causal grammar that a plain name would collide with; such names are emitted in
# backquotes. (tests/test_dagitty.py checks this list against the grammar's own terminals.)
CAUSAL_KEYWORDS = frozenset({
    "study", "data", "var", "latent", "query", "panel", "as", "invariant", "adjusting",
    "adjust", "for", "never", "using", "weights", "from", "when", "and", "or", "not",
    "selected", "layout",
})
_CAUSAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_DAGITTY_BAREWORD = re.compile(r"[0-9A-Za-z_.]+")
_BAREWORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.")

# Node attributes DAGitty understands, with its one-letter and legacy synonyms
# (GraphParser.parseDotStatementArray). Anything else (pos, label handled apart) is ignored.
_ROLE_OF_ATTRIBUTE = {
    "exposure": "exposure", "e": "exposure", "source": "exposure",
    "outcome": "outcome", "o": "outcome", "target": "outcome",
    "latent": "latent", "l": "latent", "unobserved": "latent", "u": "latent",
    "adjusted": "adjusted", "a": "adjusted",
    "selected": "selected", "s": "selected",
}
_GRAPH_TYPES = {
    "dag": None,
    "digraph": None,
    "pdag": "a partially directed acyclic graph (a class of DAGs that fit the same data)",
    "mag": "a maximal ancestral graph",
    "pag": "a partial ancestral graph (a class of ancestral graphs)",
    "graph": "an undirected graph",
}
# Longest first, so that "<->" is not read as "<-" followed by ">".
_EDGE_OPS = ("@->", "<-@", "--@", "@-@", "@--", "<->", "->", "--", "<-")
_UNSUPPORTED_EDGES = {
    "--": "an undirected edge",
    "@->": "a partially directed edge (a PAG mark)",
    "<-@": "a partially directed edge (a PAG mark)",
    "--@": "a partially undirected edge (a PAG mark)",
    "@--": "a partially undirected edge (a PAG mark)",
    "@-@": "an edge of unspecified type (a PAG mark)",
}


# --- tokens -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "id", "edge", "{", "}", "[", "]", "=", ",", "eof"
    value: str
    start: int
    end: int
    quoted: bool = False


class _Source:
    """The DAGitty text with offset → (line, column) conversion for spans."""

    def __init__(self, text: str, path: str | None) -> None:
        self.text = text
        self.path = path
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(max(end, start + 1))
        return Span(self.path, line, column, end_line, end_column)

    def error(self, message: str, start: int, end: int, help: str | None = None,
              code: str = "E150") -> ParseError:
        return ParseError(Diagnostic(code, message, self.span(start, end), help=help),
                          {self.path: self.text})


def _tokenize(src: _Source) -> list[_Token]:
    text = src.text
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n;":  # DAGitty's whitespace rule includes ';'
            i += 1
            continue
        op = next((o for o in _EDGE_OPS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(_Token("edge", op, i, i + len(op)))
            i += len(op)
            continue
        if ch in _BAREWORD_CHARS or (ch == "-" and i + 1 < n and text[i + 1] in _BAREWORD_CHARS):
            j = i + 1
            while j < n and text[j] in _BAREWORD_CHARS:
                j += 1
            tokens.append(_Token("id", text[i:j], i, j))
            i = j
            continue
        if ch == '"':
            value, j = _string(src, i)
            # "a" + "b" concatenates, as in DAGitty (long labels are split that way).
            while True:
                k = j
                while k < n and text[k] in " \t\r\n":
                    k += 1
                if k < n and text[k] == "+":
                    k += 1
                    while k < n and text[k] in " \t\r\n":
                        k += 1
                    if k >= n or text[k] != '"':
                        at = k if k < n else j
                        raise src.error("'+' must be followed by a \"string\"", at, at + 1,
                                        help='DAGitty joins strings with +: "a" + "b"')
                    more, j = _string(src, k)
                    value += more
                    continue
                break
            tokens.append(_Token("id", value, i, j, quoted=True))
            i = j
            continue
        if ch in "{}[]=,":
            tokens.append(_Token(ch, ch, i, i + 1))
            i += 1
            continue
        raise src.error(f"unexpected character {ch!r}", i, i + 1, help=_character_help(ch))
    tokens.append(_Token("eof", "", n, n))
    return tokens


def _character_help(ch: str) -> str:
    if ch == "#" or ch == "/":
        return "DAGitty model code has no comments; remove them"
    if ch.isalnum():
        return f'DAGitty names are plain ASCII letters, digits, _ and .; quote this one: "…{ch}…"'
    return 'names with other characters are written in double quotes: "my name"'


def _string(src: _Source, start: int) -> tuple[str, int]:
    """Read the ``"..."`` at `start`; return its value and the offset after the closing quote.

    Like DAGitty: ``\\"`` is a quote, a backslash before a line break joins the lines, any
    other backslash is kept, and control characters (a raw line break) end nothing: an error.
    """
    text = src.text
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == '"':
                out.append('"')
                i += 2
                continue
            if nxt in "\r\n":
                i += 1
                while i < n and text[i] in "\r\n":
                    i += 1
                continue
            out.append("\\")
            i += 1
            continue
        if ord(ch) < 0x20 or ch == "\x7f":
            break
        out.append(ch)
        i += 1
    end = text.find("\n", start)
    raise src.error(
        "unterminated string", start, end if end >= 0 else n,
        help='close the string with " on the same line (write \\" for a quote inside it)',
    )


# --- the graph as read ------------------------------------------------------------------------
@dataclass(slots=True)
class _Node:
    name: str
    span: Span
    roles: set[str] = field(default_factory=set)
    label: str | None = None
    pos: tuple[float, float] | None = None  # pos="x,y": DAGitty's layout, y pointing down


@dataclass(frozen=True, slots=True)
class _Edge:
    source: str
    target: str
    bidirected: bool
    span: Span


@dataclass(slots=True)
class DagittyGraph:
    """A DAGitty model as read: nodes in order of first mention, edges in order written."""

    name: str | None = None
    nodes: dict[str, _Node] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)


MAX_GROUP_DEPTH = 50


class _Parser:
    def __init__(self, src: _Source) -> None:
        self.src = src
        self.tokens = _tokenize(src)
        self.i = 0
        self.graph = DagittyGraph()
        self.problems: list[Diagnostic] = []
        self.depth = 0  # groups open around the current token

    # -- helpers
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def expect(self, kind: str, what: str) -> _Token:
        tok = self.peek()
        if tok.kind != kind:
            raise self.unexpected(tok, what)
        return self.take()

    def unexpected(self, tok: _Token, expected: str) -> ParseError:
        if tok.kind == "eof":
            return self.src.error("unexpected end of the DAGitty model", tok.start, tok.end,
                                  help=f"expected {expected}")
        shown = f'"{tok.value}"' if tok.quoted else f"'{tok.value}'"
        return self.src.error(f"unexpected {shown}", tok.start, tok.end,
                              help=f"expected {expected}")

    def close(self, opening: _Token, what: str) -> None:
        """Take the '}' matching `opening`; at the end of the text, point at the '{'."""
        if self.peek().kind == "eof":
            line = self.src.position(opening.start)[0]
            raise self.src.error(
                f"the '{{' that opens {what} on line {line} is never closed", opening.start,
                opening.end, help="add '}' after the last statement",
            )
        self.expect("}", f"'}}' to close {what}")

    def span(self, tok: _Token) -> Span:
        return self.src.span(tok.start, tok.end)

    def node(self, tok: _Token) -> str:
        name = tok.value
        if name in ("graph", "node"):
            # DAGitty itself refuses these names (they are DOT keywords).
            raise self.src.error(
                f"DAGitty does not allow a variable named '{name}'", tok.start, tok.end,
                help="rename the variable (DAGitty's 'label' attribute can keep the old text)",
                code="E154",
            )
        if name not in self.graph.nodes:
            self.graph.nodes[name] = _Node(name, self.span(tok))
        return name

    # -- grammar
    def parse(self) -> DagittyGraph:
        first = self.peek()
        header = False
        if first.kind == "id" and not first.quoted and first.value.lower() == "strict":
            self.take()
            first = self.peek()
            header = True
        kind = first.value.lower() if first.kind == "id" and not first.quoted else ""
        if kind in _GRAPH_TYPES and (
            self.peek(1).kind == "{" or (self.peek(1).kind == "id" and self.peek(2).kind == "{")
        ):
            header = True
        if header:
            tok = self.expect("id", "a graph type: dag { ... }")
            kind = tok.value.lower()
            if kind not in _GRAPH_TYPES:
                raise self.src.error(f"unknown graph type '{tok.value}'", tok.start, tok.end,
                                     help="a DAGitty model starts with dag { ... }")
            if _GRAPH_TYPES[kind] is not None:
                raise self.src.error(
                    f"this DAGitty model is a '{kind}', {_GRAPH_TYPES[kind]}, not a DAG",
                    tok.start, tok.end, code="E152",
                    help="a .causal study holds one DAG: in DAGitty choose Model → Model type → "
                    "DAG (or pick one DAG of the class) and import that model code",
                )
            if self.peek().kind == "id":
                self.graph.name = self.take().value
            opening = self.expect("{", "'{' to open the model")
            self.statements(closing="}")
            self.close(opening, "the model")
            if self.peek().kind != "eof":
                tok = self.peek()
                raise self.src.error("text after the end of the model", tok.start, tok.end,
                                     help="a DAGitty model is one dag { ... } block")
        else:
            has_edges = any(t.kind == "edge" for t in self.tokens)
            if not has_edges and not self.graph.nodes:
                if first.kind == "eof":
                    raise self.src.error("empty DAGitty model", 0, 0,
                                         help="paste the model code: dag { x -> y }")
                if first.kind == "id" and not any(t.kind in ("[", "{", "=") for t in self.tokens):
                    # DAGitty reads arrow-less, header-less text as its legacy
                    # adjacency-list format ("E D\nA E Z"), which this importer does not.
                    raise self.src.error(
                        "this is not DAGitty model code (no 'dag {' and no arrows)",
                        first.start, first.end,
                        help="in dagitty.net, copy the text of the 'Model code' box, which "
                        "starts with dag {",
                    )
            self.statements(closing=None)
            if self.peek().kind != "eof":
                raise self.unexpected(self.peek(), "a node or an edge")
        return self.graph

    def statements(self, closing: str | None, in_group: bool = False) -> list[str]:
        """Statements up to `closing` (not consumed); returns the nodes they mention."""
        mentioned: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind == "eof" or (closing is not None and tok.kind == closing):
                return mentioned
            if tok.kind == "," and in_group:
                self.take()
                continue
            mentioned.extend(self.statement(in_group))

    def statement(self, in_group: bool) -> list[str]:
        tok = self.peek()
        if tok.kind == "id" and self.peek(1).kind == "=":
            # A graph attribute such as bb="0,0,1,1": layout only.
            self.take()
            self.take()
            self.expect("id", "a value after '='")
            return []
        if tok.kind not in ("id", "{"):
            expected = "a node, an edge or '}'" if not in_group else "a node name or '}'"
            raise self.unexpected(tok, expected)
        left, left_tok = self.operand()
        mentioned = list(left)
        if self.peek().kind != "edge":
            if left_tok is not None and self.peek().kind == "[":
                self.node_attributes(left[0])
            return mentioned
        while self.peek().kind == "edge":
            op = self.take()
            right, right_tok = self.operand()
            mentioned.extend(right)
            self.edge(op, left, right, left_tok, right_tok)
            left, left_tok = right, right_tok
        if self.peek().kind == "[":
            self.attributes()  # edge attributes (pos, beta, ...) are layout or SEM details
        return mentioned

    def operand(self) -> tuple[list[str], _Token | None]:
        tok = self.peek()
        if tok.kind == "id":
            self.take()
            return [self.node(tok)], tok
        if tok.kind == "{":
            opening = self.take()
            if self.depth >= MAX_GROUP_DEPTH:
                # a real model nests a group or two; this bound keeps the parser's recursion
                # (one Python frame per level) far from the interpreter's limit
                raise self.src.error(
                    f"groups nested more than {MAX_GROUP_DEPTH} deep", opening.start,
                    opening.end, help="write the group's members in one {a b c}: nesting "
                    "adds nothing")
            self.depth += 1
            members = self.statements(closing="}", in_group=True)
            self.depth -= 1
            self.close(opening, "the group")
            return list(dict.fromkeys(members)), None
        raise self.unexpected(tok, "a node name or a {group}")

    def edge(self, op: _Token, left: list[str], right: list[str], left_tok: _Token | None,
             right_tok: _Token | None) -> None:
        span = self.span(op)
        if left_tok is not None and right_tok is not None:
            span = self.src.span(left_tok.start, right_tok.end)
        if op.value in _UNSUPPORTED_EDGES:
            a = left[0] if len(left) == 1 else "{...}"
            b = right[0] if len(right) == 1 else "{...}"
            self.problems.append(Diagnostic(
                "E151", f"'{op.value}' is {_UNSUPPORTED_EDGES[op.value]}, which a DAG cannot hold",
                self.span(op),
                help=f"every edge of a DAG has a direction: write {a} -> {b} or {b} -> {a} (or "
                f"{a} <-> {b} for a hidden common cause) in DAGitty, then import again",
            ))
            return
        for a in left:
            for b in right:
                if op.value == "<-":
                    self.graph.edges.append(_Edge(b, a, False, span))
                else:
                    self.graph.edges.append(_Edge(a, b, op.value == "<->", span))

    def attributes(self) -> list[tuple[_Token, _Token | None]]:
        opening = self.expect("[", "'['")
        pairs: list[tuple[_Token, _Token | None]] = []
        while self.peek().kind != "]":
            if self.peek().kind != "id":
                line = self.src.position(opening.start)[0]
                raise self.unexpected(
                    self.peek(), f"an attribute (exposure, outcome, latent, pos=\"x,y\" ...) or "
                    f"']' to close the list opened on line {line}",
                )
            key = self.take()
            value = None
            if self.peek().kind == "=":
                self.take()
                value = self.expect("id", "a value after '='")
            pairs.append((key, value))
            if self.peek().kind == ",":
                self.take()
        self.take()
        return pairs

    def node_attributes(self, name: str) -> None:
        node = self.graph.nodes[name]
        for key, value in self.attributes():
            word = key.value
            if word in _ROLE_OF_ATTRIBUTE:
                node.roles.add(_ROLE_OF_ATTRIBUTE[word])
            elif word == "label" and value is not None:
                node.label = value.value
            elif word == "pos" and value is not None:
                node.pos = _position(value.value)
            # any other attribute: DAGitty-internal, nothing to import.


def _position(text: str) -> tuple[float, float] | None:
    """``pos="0.1,0.5"`` as two finite numbers; None (dropped) when it is not that."""
    import math

    parts = text.split(",")
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def read_dagitty(text: str, path: str | None = None) -> DagittyGraph:
    """Parse DAGitty model code into nodes and edges, checking that they form a DAG.

    >>> g = read_dagitty('dag { x [exposure] y [outcome] u [latent] x -> y <- u -> x }')
    >>> list(g.nodes), [(e.source, e.target) for e in g.edges]
    (['x', 'y', 'u'], [('x', 'y'), ('u', 'y'), ('u', 'x')])
    """
    src = _Source(text, path)
    parser = _Parser(src)
    graph = parser.parse()
    problems = parser.problems + _check_dag(graph)
    if problems:
        problems.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
        raise ParseError(problems, {path: text})
    # DAGitty keeps one edge per pair and kind: a repeated line adds nothing.
    seen: set[tuple[str, str, bool]] = set()
    unique = []
    for e in graph.edges:
        a, b = sorted((e.source, e.target)) if e.bidirected else (e.source, e.target)
        if (a, b, e.bidirected) not in seen:
            seen.add((a, b, e.bidirected))
            unique.append(e)
    graph.edges = unique
    return graph


def _check_dag(graph: DagittyGraph) -> list[Diagnostic]:
    import networkx as nx

    problems: list[Diagnostic] = []
    first_span: dict[tuple[str, str], Span] = {}
    for e in graph.edges:
        if e.source == e.target:
            problems.append(Diagnostic(
                "E153", f"'{e.source}' points to itself", e.span,
                help="a variable cannot cause itself; remove this edge",
            ))
        elif not e.bidirected:
            first_span.setdefault((e.source, e.target), e.span)
    g = nx.DiGraph(list(first_span))
    if nx.is_directed_acyclic_graph(g):
        return problems
    for component in nx.strongly_connected_components(g):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(g.subgraph(component))
        names = [a for a, _ in cycle] + [cycle[0][0]]
        help_text = (
            "a DAG has no cycles; remove or reverse one of these edges"
            if len(cycle) > 2
            else f"a DAG has one direction per pair; if both depend on a hidden common cause, "
            f"write {cycle[0][0]} <-> {cycle[0][1]}"
        )
        problems.append(Diagnostic(
            "E153", "the edges form a cycle: " + " -> ".join(names),
            first_span[cycle[0]], help=help_text,
        ))
    return problems

