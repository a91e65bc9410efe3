"""DAGitty model code ⇄ the `.causal` language.

In (import): the text of a DAGitty model, as shown in dagitty.net's "Model code" box or passed to
the R package's ``dagitty()``::

    dag {
    bb="0,0,1,1"
    E [exposure,pos="0.1,0.5"]
    D [outcome]
    U [latent]
    E -> D <- U -> {Z W}
    }

Out: `.causal` source text (`from_dagitty`) that `causal_dsl.parse` accepts: one ``var`` (type
``continuous`` by default: DAGitty has no types) or ``latent`` per node, one arrow per line, and
one ``query`` per exposure/outcome pair with the ``adjusted`` nodes as ``adjust for {...}``.
Raises `ParseError` with positions in the DAGitty text (codes E150-E154): a syntax error, an edge
that a DAG cannot hold (``--`` and the PAG marks ``@->`` ...), a graph type that is not a DAG
(pdag, mag, pag, graph), a self-loop or cycle, or a name `.causal` cannot spell.

In (export): a `Study`. Out: DAGitty model code (`to_dagitty`) with the first query's treatment
and outcome as exposure and outcome, its ``adjust for`` set as ``[adjusted]``, latent nodes,
labels and bidirected edges. Raises `RenderError` (E155) for a name DAGitty cannot hold.

The DAGitty parser is written by hand (a tokenizer and a recursive-descent parser) after
DAGitty's own PEG grammar (``jslib/parser/GraphDotParser.pegjs``): identifiers are barewords
``-?[0-9A-Za-z_.]+`` or ``"strings"`` (``\\"`` escapes a quote, ``"a" + "b"`` concatenates);
spaces, newlines and ``;`` separate statements; ``{a b}`` is a group (commas accepted too).
"""

from __future__ import annotations

import re
import textwrap
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Diagnostic, ParseError, RenderError, Span
from .model import Study

# Words of the .causal grammar that a plain name would collide with; such names are emitted in
# backquotes. (tests/test_dagitty.py checks this list against the grammar's own terminals.)
CAUSAL_KEYWORDS = frozenset({
    "study", "data", "var", "latent", "query", "panel", "as", "invariant", "adjusting",
    "adjust", "for", "never", "using",
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


class _Parser:
    def __init__(self, src: _Source) -> None:
        self.src = src
        self.tokens = _tokenize(src)
        self.i = 0
        self.graph = DagittyGraph()
        self.problems: list[Diagnostic] = []

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
            members = self.statements(closing="}", in_group=True)
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
            # pos and any other attribute: layout or DAGitty-internal, nothing to import.


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


# --- import: DAGitty → .causal text -------------------------------------------------------------
def causal_name(name: str, span: Span | None = None, source: dict[str | None, str] | None = None
                ) -> str:
    """`name` as the .causal language spells it: plain, or in backquotes when it is not an
    identifier or is a keyword.

    >>> causal_name("age"), causal_name("body mass"), causal_name("data"), causal_name("1x")
    ('age', '`body mass`', '`data`', '`1x`')
    """
    if _CAUSAL_NAME.fullmatch(name) and name not in CAUSAL_KEYWORDS:
        return name
    if name and "`" not in name and "\n" not in name and "\r" not in name:
        return f"`{name}`"
    what = "an empty name" if not name else f"the name {name!r}"
    raise ParseError(
        Diagnostic(
            "E154", f"{what} cannot be written in .causal", span,
            help="a .causal name in backquotes holds any text but a backquote or a line "
            "break; rename the variable in DAGitty (its 'label' attribute can keep the text)",
        ),
        source or {},
    )


def causal_string(value: str) -> str:
    r"""A .causal ``"string"`` literal for `value`.

    >>> print(causal_string('say "hi"\n'))
    "say \"hi\"\n"
    """
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def _query_name(treatment: str, outcome: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", f"effect_{treatment}_{outcome}").strip("_")
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def from_dagitty(text: str, path: str | None = None) -> str:
    """Translate DAGitty model code into `.causal` source text.

    Every observed node becomes ``var NAME: continuous`` (review the types), latent nodes
    ``latent NAME``, a ``label`` attribute the variable's label; each exposure/outcome pair a
    query (named ``effect`` when there is one pair) with the ``adjusted`` nodes as
    ``adjust for {...}``. Layout (``pos``, ``bb``) is dropped.

    >>> print(from_dagitty('dag { x [exposure] y [outcome] x -> y <- z }'))
    # Imported from DAGitty by `causal import dagitty`.
    # DAGitty has no variable types: every observed variable below is declared continuous.
    # Review each type (binary, count, categorical(...), ordinal(...)) and bind the data
    # with: data "file.csv"
    <BLANKLINE>
    var x: continuous
    var y: continuous
    var z: continuous
    <BLANKLINE>
    x -> y
    z -> y
    <BLANKLINE>
    query effect: ate(x -> y)
    <BLANKLINE>
    """
    graph = read_dagitty(text, path)
    sources = {path: text}

    def show(name: str) -> str:
        return causal_name(name, graph.nodes[name].span, sources)

    origin = f" ({Path(path).name})" if path else ""
    out = [
        f"# Imported from DAGitty{origin} by `causal import dagitty`.",
        "# DAGitty has no variable types: every observed variable below is declared continuous.",
        "# Review each type (binary, count, categorical(...), ordinal(...)) and bind the data",
        '# with: data "file.csv"',
    ]
    if graph.name:
        out += ["", f"study {causal_string(graph.name)}"]
    if graph.nodes:
        out.append("")
    for node in graph.nodes.values():
        label = f" {causal_string(node.label)}" if node.label else ""
        if "latent" in node.roles:
            out.append(f"latent {show(node.name)}{label}")
        else:
            out.append(f"var {show(node.name)}: continuous{label}")
    if graph.edges:
        out.append("")
    for e in graph.edges:
        out.append(f"{show(e.source)} {'<->' if e.bidirected else '->'} {show(e.target)}")
    out.extend(_queries(graph, show))
    return "\n".join(out) + "\n"


def _queries(graph: DagittyGraph, show: Callable[[str], str]) -> list[str]:
    nodes = graph.nodes.values()
    exposures = [n for n in nodes if "exposure" in n.roles]
    outcomes = [n for n in nodes if "outcome" in n.roles]
    adjusted = [n for n in nodes if "adjusted" in n.roles]
    notes: list[str] = []
    for n in nodes:
        if "selected" in n.roles:
            notes.append(f"# DAGitty marks {n.name} as selected (the sample is conditioned on "
                         "it); .causal has no selection nodes: review.")
    for n in adjusted:
        if "latent" in n.roles:
            notes.append(f"# DAGitty marks {n.name} as adjusted, but it is latent: left out of "
                         "'adjust for'.")
    pairs = []
    for x in exposures:
        for y in outcomes:
            if x.name == y.name:
                notes.append(f"# {x.name} is both an exposure and an outcome: no query for it.")
            elif "latent" in x.roles or "latent" in y.roles:
                hidden = x.name if "latent" in x.roles else y.name
                notes.append(f"# No query for {x.name} -> {y.name}: {hidden} is latent, and "
                             "effects are estimated between observed variables.")
            else:
                pairs.append((x, y))
    if exposures and not outcomes:
        notes.append("# DAGitty names an exposure but no outcome: no query written.")
    if outcomes and not exposures:
        notes.append("# DAGitty names an outcome but no exposure: no query written.")
    if len(pairs) > 1:
        notes.append("# DAGitty asks for the joint effect of all exposures on all outcomes; a "
                     ".causal query asks about one pair, so there is one query per pair.")
    lines: list[str] = []
    if notes or pairs:
        lines.append("")
    for note in notes:
        lines.extend(textwrap.wrap(note, width=96, subsequent_indent="# "))
    taken: set[str] = set()
    for x, y in pairs:
        name = "effect" if len(pairs) == 1 else _query_name(x.name, y.name, taken)
        include = [n for n in adjusted
                   if "latent" not in n.roles and n.name not in (x.name, y.name)]
        clause = ""
        if include:
            clause = " adjust for {" + ", ".join(show(n.name) for n in include) + "}"
        lines.append(f"query {name}: ate({show(x.name)} -> {show(y.name)}){clause}")
    return lines


# --- export: Study → DAGitty text ---------------------------------------------------------------
def _dagitty_id(name: str, what: str = "variable") -> str:
    """A DAGitty identifier: a bareword when it is one, else a quoted string."""
    if name in ("graph", "node") and what == "variable":
        raise RenderError(Diagnostic(
            "E155", f"DAGitty does not allow a variable named '{name}'",
            help=f"rename '{name}' in the .causal file (e.g. {name}_) before exporting",
        ))
    if _DAGITTY_BAREWORD.fullmatch(name):
        return name
    return _dagitty_string(name, what)


def _dagitty_string(value: str, what: str) -> str:
    # DAGitty strings hold no control characters and escape only the quote: a backslash right
    # before a quote (or at the very end) cannot be written at all.
    if what == "label":
        value = re.sub(r"[\x00-\x1f\x7f]+", " ", value)
    if re.search(r"[\x00-\x1f\x7f]", value) or value.endswith("\\") or '\\"' in value:
        raise RenderError(Diagnostic(
            "E155", f"the {what} {value!r} cannot be written in DAGitty",
            help="DAGitty names and labels hold no tabs or line breaks and no backslash before "
            'a quote; rename it before exporting',
        ))
    return '"' + value.replace('"', '\\"') + '"'


def to_dagitty(study: Study) -> str:
    r"""The study's DAG as DAGitty model code (paste it into dagitty.net's "Model code" box).

    >>> import causal_dsl
    >>> s = causal_dsl.parse('var x: binary\nvar y: continuous "Outcome"\nlatent u\n'
    ...                      'u -> {x, y}\nx -> y\nquery q: ate(x -> y)\n')
    >>> print(to_dagitty(s))
    dag {
    x [exposure]
    y [outcome,label="Outcome"]
    u [latent]
    u -> x
    u -> y
    x -> y
    }
    <BLANKLINE>
    """
    query = study.queries[0] if study.queries else None
    title = study.title or ""
    # DAGitty's graph name must be a single word (its loader matches `dag\s+\w+\s*{`).
    header = f"dag {title} {{" if re.fullmatch(r"[A-Za-z0-9_]+", title) else "dag {"
    lines = [header]
    for v in study.variables:
        attrs = []
        if query is not None and v.name == query.treatment:
            attrs.append("exposure")
        if query is not None and v.name == query.outcome:
            attrs.append("outcome")
        if query is not None and v.name in query.include:
            attrs.append("adjusted")
        if v.latent:
            attrs.append("latent")
        if v.label:
            attrs.append(f"label={_dagitty_string(v.label, 'label')}")
        suffix = f" [{','.join(attrs)}]" if attrs else ""
        lines.append(f"{_dagitty_id(v.name)}{suffix}")
    for e in study.edges:
        op = "<->" if e.bidirected else "->"
        lines.append(f"{_dagitty_id(e.source)} {op} {_dagitty_id(e.target)}")
    lines.append("}")
    return "\n".join(lines) + "\n"
