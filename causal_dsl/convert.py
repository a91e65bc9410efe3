"""Between networkx graphs, models and ``.causal`` text (under `causal_dsl.from_networkx` and
`Study.to_networkx` / `to_causal_text` / `save`).

In: a `networkx.DiGraph` (`networkx_model`; latent nodes marked by a node attribute, variable
types and labels read from node attributes, bidirected edges as an `nx.Graph` / list of pairs
or as marked latent parents), or a `Model` (`to_networkx`, `causal_text`). Out: a `Model`
resolved from generated ``.causal`` text in the canonical layout (so a graph built in code can
be rendered, linted, formatted and saved like any file), a DiGraph, or text. Raises
`CausalGraphError` (a `networkx.NetworkXError`) E310-E312 for a graph that cannot be a study
(a cycle, not directed, a node that cannot be written as a variable), `CausalNodeNotFound` for a
bidirected edge or query on an unknown node, and `ModelError` for a model that the generated
text would not reproduce.

The graph is written as ``.causal`` text and read back through the parser and resolver, not
assembled as a `Model` by hand: the study then has a source (`Study.to_causal_text`, `save`),
and it passes exactly the checks a file passes.

>>> import networkx as nx
>>> G = nx.DiGraph([("age", "drug"), ("age", "recovery"), ("drug", "recovery")])
>>> G.nodes["drug"]["type"] = "binary"
>>> model = networkx_model(G, treatment="drug", outcome="recovery")
>>> print(causal_text(model), end="")
var age: continuous
var drug: binary
var recovery: continuous
<BLANKLINE>
age -> drug
age -> recovery
drug -> recovery
<BLANKLINE>
query effect: ate(drug -> recovery)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import fields
from typing import Any

import networkx as nx

from .errors import Diagnostic, ModelError, suggest
from .fmt import format_text, quote_name, quote_string
from .graph.networkx_api import (
    Bidirected,
    CausalGraphError,
    CausalNodeNotFound,
    to_causal_graph,
)
from .model import Model, VarType
from .resolve import resolve
from .syntax import parse_syntax

GENERATED = "<networkx graph>"  # the path shown in messages about the generated text
TYPES = tuple(t.value for t in VarType)


def networkx_model(
    G: nx.DiGraph,
    *,
    bidirected: Bidirected = None,
    latent: str = "latent",
    type: str = "type",  # named after the attribute, as networkx names such arguments
    label: str = "label",
    default_type: str = "continuous",
    title: str | None = None,
    treatment: Hashable | None = None,
    outcome: Hashable | None = None,
    estimand: str = "ate",
) -> Model:
    """The study of `G`: one variable per node (latent when its `latent` attribute is true,
    otherwise of the type in its `type` attribute, `default_type` when it has none), its
    arrows, the `bidirected` edges, and, with `treatment` and `outcome`, one query
    ``effect``. Node names are written as ``.causal`` names (``str(node)`` for other types,
    backquoted when needed).
    """
    g = to_causal_graph(G, bidirected, latent=latent)  # a DAG, and every bidirected node known
    names: dict[Any, str] = {}
    seen: dict[str, Any] = {}
    for v in g.variables:
        name = str(v)  # a plain str (a `NodeLabel` compares as its node)
        if not name or "`" in name or "\n" in name or "\r" in name:
            raise _bad_node(v, "its name cannot be written in a .causal file (empty, or with a "
                            "backquote or a line break)", "relabel it: nx.relabel_nodes(G, ...)")
        if name in seen:
            raise _bad_node(v, f"it is written '{name}', as the node {seen[name]!r} is",
                            "relabel one of them: nx.relabel_nodes(G, ...)")
        names[v] = name
        seen[name] = v
    lines = [] if title is None else [f"study {quote_string(title)}"]
    for v in g.variables:
        attrs = G.nodes[v]
        text = attrs.get(label)
        tail = "" if text is None else f" {quote_string(str(text))}"
        if g.is_latent(v):
            lines.append(f"latent {quote_name(names[v])}{tail}")
            continue
        kind = attrs.get(type, default_type)
        if kind not in TYPES:
            raise _bad_node(v, f"its {type!r} attribute is {kind!r}, not a variable type",
                            suggest(str(kind), TYPES) or f"use one of: {', '.join(TYPES)}")
        lines.append(f"var {quote_name(names[v])}: {kind}{tail}")
    lines += [f"{quote_name(names[g._names[p]])} -> {quote_name(names[g._names[c]])}"
              for p in range(len(g.variables)) for c in g._ch[p]]  # G.edges' order
    lines += [f"{quote_name(names[g._names[a]])} <-> {quote_name(names[g._names[b]])}"
              for a, b in g._hidden.values()]
    if treatment is not None or outcome is not None:
        for node, role in ((treatment, "treatment"), (outcome, "outcome")):
            if node is None or node not in names:
                raise CausalNodeNotFound(Diagnostic(
                    "E301", f"the {role} {node!r} is not a node of the graph",
                    help="give both `treatment` and `outcome`, nodes of G"))
        lines.append(f"query effect: {estimand}({quote_name(names[treatment])} -> "
                     f"{quote_name(names[outcome])})")
    text = format_text("\n".join(lines) + "\n", GENERATED)
    return resolve(parse_syntax(text, GENERATED), check_files=False)


def _bad_node(v: Any, why: str, help_: str) -> CausalGraphError:
    return CausalGraphError(Diagnostic("E312", f"the node {v!r} cannot be a variable: {why}",
                                       help=help_))


def to_networkx(model: Model) -> nx.DiGraph:
    """The study's graph as a DiGraph: every variable a node (attributes ``latent``, and
    ``type`` / ``label`` when set), the arrows in the order written, and each bidirected edge
    ``a <-> b`` a latent parent ``a<->b`` of both (attributes ``latent=True,
    bidirected=True``), so that networkx's own d-separation sees the same graph and the
    functions of `causal_dsl.graph` give the answers of ``causal identify``.

    >>> import causal_dsl
    >>> s = causal_dsl.parse("var t: binary\\nvar y: continuous\\nt -> y\\nt <-> y\\n")
    >>> G = to_networkx(s)
    >>> sorted(G.edges), G.nodes["t<->y"]
    ([('t', 'y'), ('t<->y', 't'), ('t<->y', 'y')], {'latent': True, 'bidirected': True})
    """
    G = nx.DiGraph()
    for v in model.variables:
        attrs: dict[str, Any] = {"latent": v.latent}
        if v.type is not None:
            attrs["type"] = v.type.value
        if v.label is not None:
            attrs["label"] = v.label
        G.add_node(v.name, **attrs)
    G.add_edges_from((e.source, e.target) for e in model.directed_edges)
    for e in model.bidirected_edges:  # after the arrows: the engine's order of parents
        hidden = f"{e.source}<->{e.target}"
        while hidden in G:
            hidden += "'"
        G.add_node(hidden, latent=True, bidirected=True)
        G.add_edges_from([(hidden, e.source), (hidden, e.target)])
    return G


def causal_text(model: Model) -> str:
    """The study as ``.causal`` text in the canonical layout: its own source formatted when it
    has one (comments kept), else text written from the model (title, data, declarations,
    arrows, queries), checked to read back as the same model."""
    if model.source is not None:
        return format_text(model.source, model.path)
    lines = [] if model.title is None else [f"study {quote_string(model.title)}"]
    if model.data is not None:
        d = model.data
        panel = "" if not d.is_panel else (
            f" panel(unit = {quote_name(d.unit or '')}, time = {quote_name(d.time or '')})")
        lines.append(f"data {quote_string(d.source)}{panel}")
    for v in model.variables:
        tail = "" if v.label is None else f" {quote_string(v.label)}"
        if v.latent:
            lines.append(f"latent {quote_name(v.name)}{' invariant' if v.invariant else ''}"
                         f"{tail}")
            continue
        assert v.type is not None
        levels = "" if not v.levels else "(" + ", ".join(map(quote_string, v.levels)) + ")"
        alias = "" if v.column is None else f" as {quote_string(v.column)}"
        lines.append(f"var {quote_name(v.name)}: {v.type.value}{levels}{alias}{tail}")
    lines += [f"{quote_name(e.source)} {'<->' if e.bidirected else '->'} {quote_name(e.target)}"
              for e in model.edges]
    for q in model.queries:
        line = (f"query {quote_name(q.name)}: {q.estimand}({quote_name(q.treatment)} -> "
                f"{quote_name(q.outcome)})")
        for words, names in (("adjusting", q.adjusting), ("adjust for", q.include),
                             ("never adjust for", q.exclude)):
            if names or (words == "adjusting" and names is not None):
                line += f" {words} {{{', '.join(quote_name(n) for n in sorted(names))}}}"
        if q.method.name != "auto" or q.method.options:
            options = ", ".join(f"{k} = {_option(v)}" for k, v in q.method.options)
            line += f" using {q.method.name}" + (f"({options})" if options else "")
        lines.append(line)
    text = format_text("\n".join(lines) + "\n", GENERATED)
    back = resolve(parse_syntax(text, GENERATED), check_files=False)
    as_given = type(model)(**{f.name: getattr(back, f.name) for f in fields(Model)})
    if not as_given.same_as(model):  # (a `Study` equals only a `Study`)
        raise ModelError(Diagnostic(
            "E313", "this study cannot be written as .causal text without changing it",
            help="build it from .causal text (causal_dsl.parse) to keep every detail"))
    return text


def _option(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, tuple):
        return "{" + ", ".join(quote_name(str(v)) for v in value) + "}"
    return str(value)  # a number, or a model formula (which prints as written)
