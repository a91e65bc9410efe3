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

In (export): a `Model`. Out: DAGitty model code (`to_dagitty`) with the first query's treatment
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
from collections.abc import Callable
from pathlib import Path

from ..errors import Diagnostic, ParseError, RenderError, Span
from ..model import Model
from .reader import (
    _CAUSAL_NAME,
    _DAGITTY_BAREWORD,
    CAUSAL_KEYWORDS,
    DagittyGraph,
    read_dagitty,
)

__all__ = ["CAUSAL_KEYWORDS", "DagittyGraph", "causal_name", "causal_string", "from_dagitty",
           "read_dagitty", "to_dagitty"]


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
    ``adjusting {...}`` (DAGitty checks the set it is given, and so does `identify`);
    ``[selected]`` nodes become ``selected NAME`` declarations and ``pos="x,y"`` a
    ``layout NAME = (x, y)`` line (DAGitty's coordinates, y pointing down).

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
        if "selected" in node.roles and "latent" not in node.roles:
            out.append(f"selected {show(node.name)}{label}")
        elif "latent" in node.roles:
            out.append(f"latent {show(node.name)}{label}")
        else:
            out.append(f"var {show(node.name)}: continuous{label}")
    if graph.edges:
        out.append("")
    for e in graph.edges:
        out.append(f"{show(e.source)} {'<->' if e.bidirected else '->'} {show(e.target)}")
    out.extend(_queries(graph, show))
    placed = [n for n in graph.nodes.values() if n.pos is not None]
    if placed:
        out.append("")
    for n in placed:
        assert n.pos is not None
        out.append(f"layout {show(n.name)} = ({n.pos[0]:g}, {n.pos[1]:g})")
    return "\n".join(out) + "\n"


def _queries(graph: DagittyGraph, show: Callable[[str], str]) -> list[str]:
    nodes = graph.nodes.values()
    exposures = [n for n in nodes if "exposure" in n.roles]
    outcomes = [n for n in nodes if "outcome" in n.roles]
    adjusted = [n for n in nodes if "adjusted" in n.roles]
    notes: list[str] = []
    for n in nodes:
        if "selected" in n.roles and "latent" in n.roles:
            notes.append(f"# DAGitty marks {n.name} as selected and latent: kept latent.")
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
        include = [n for n in adjusted if "latent" not in n.roles and "selected" not in n.roles
                   and n.name not in (x.name, y.name)]
        clause = ""
        if include:  # the proposed set DAGitty checks, not a forced `adjust for`
            clause = " adjusting {" + ", ".join(show(n.name) for n in include) + "}"
        lines.append(f"query {name}: ate({show(x.name)} -> {show(y.name)}){clause}")
    return lines


# --- export: Model → DAGitty text ---------------------------------------------------------------
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


def export_notes(study: Model) -> tuple[str, ...]:
    r"""What `to_dagitty` leaves out, one sentence each (the CLI prints them on stderr): model
    formulas, weights and derived treatments have no DAGitty form, nor do queries after the
    first.

    >>> import causal_dsl
    >>> s = causal_dsl.parse('data "f.csv" weights(w, kind = "survey")\nvar x: binary\n')
    >>> export_notes(s)
    ('weights(w, kind = "survey") dropped: DAGitty has no weights',)
    """
    notes = []
    if study.data is not None and study.data.weights is not None:
        notes.append(f'weights({study.data.weights}, kind = "{study.data.weight_kind}") '
                     "dropped: DAGitty has no weights")
    for v in study.variables:
        if v.derived is not None:
            notes.append(f"'{v.name}' is derived ({v.derived}): exported as a plain node")
    for q in study.queries:
        for key, value in q.method.options:
            if not isinstance(value, str | int | float | bool | tuple):  # a model formula
                notes.append(f"query {q.name}: {key} = {value} dropped (DAGitty has no "
                             "functional forms)")
    if len(study.queries) > 1:
        notes.append(f"only the first query ({study.queries[0].name}) is exported: DAGitty "
                     "has one exposure/outcome question")
    return tuple(notes)


def to_dagitty(study: Model) -> str:
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
    positions = {name: (x, y) for name, x, y in study.layout}
    for v in study.variables:
        attrs = []
        if query is not None and v.name == query.treatment:
            attrs.append("exposure")
        if query is not None and v.name == query.outcome:
            attrs.append("outcome")
        proposed = query.adjusting if query is not None and query.adjusting is not None else (
            query.include if query is not None else frozenset())
        if v.name in proposed:
            attrs.append("adjusted")
        if v.selected:
            attrs.append("selected")
        if v.latent:
            attrs.append("latent")
        if v.name in positions:
            x, y = positions[v.name]
            attrs.append(f'pos="{x:g},{y:g}"')
        if v.label:
            attrs.append(f"label={_dagitty_string(v.label, 'label')}")
        suffix = f" [{','.join(attrs)}]" if attrs else ""
        lines.append(f"{_dagitty_id(v.name)}{suffix}")
    for e in study.edges:
        op = "<->" if e.bidirected else "->"
        lines.append(f"{_dagitty_id(e.source)} {op} {_dagitty_id(e.target)}")
    lines.append("}")
    return "\n".join(lines) + "\n"
