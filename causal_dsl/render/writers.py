"""The diagram as text: Graphviz DOT (built with pydot) and Mermaid, with the escaping each
format needs (one helper per format) and ids safe in both.

In: a `Study` and its `Roles` (or a query and highlight, from which they are worked out).
Out: DOT or Mermaid text. Raises what `roles.diagram_roles` raises.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pydot

from ..model import Model, Query, Variable
from .layout import Positions, pinned_positions, study_positions
from .roles import COLOURS, DAGITTY, Roles, diagram_roles

if TYPE_CHECKING:
    from ..identify import Identification
    from ..study import Study

LABEL_WIDTH = 28  # characters per line of a variable's label under its name
# Above this many variables, bound Graphviz's network-simplex and crossing-minimisation passes:
# at 500 variables the x-coordinate pass alone took 4.8 of dot's 6.5 CPU seconds, and
# nslimit = mclimit = 0.5 brings the whole layout to about 1 s (benchmarks/render.py).
LARGE_GRAPH = 150


# ---------------------------------------------------------------------------------------------
# escaping and ids (DOT and Mermaid)
# ---------------------------------------------------------------------------------------------
def safe_ids(names: Sequence[str]) -> dict[str, str]:
    """A DOT/Mermaid-safe id for each name: ``v_`` + the name with anything but ASCII letters,
    digits and ``_`` turned into ``_``, plus ``_2``, ``_3``... on collisions.

    The ``v_`` prefix keeps ids clear of keywords (``end``, ``node``, ``graph``, ``subgraph``)
    and of Mermaid's edge syntax (an id starting with ``o`` or ``x`` after ``--``).

    >>> safe_ids(["end", "a b", "a_b", "node"])
    {'end': 'v_end', 'a b': 'v_a_b', 'a_b': 'v_a_b_2', 'node': 'v_node'}
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = "v_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate)
        out[name] = candidate
    return out


def dot_html(text: str) -> str:
    """Escape text for a Graphviz HTML-like label: entities for markup (a numeric one for the
    apostrophe, which Graphviz does not know as ``&#x27;``), and a doubled backslash, because
    Graphviz expands ``\\N`` (node name) and ``\\G`` even in HTML labels, entities included."""
    return html.escape(text.replace("\\", "\\\\"), quote=True).replace("&#x27;", "&#39;")


def dot_string(text: str, *, tooltip: bool = False) -> str:
    """Quote text as a DOT string ourselves: pydot leaves a value that starts with ``<`` and
    ends with ``>`` unquoted (an HTML label), so a title ``<b>`` would become markup.

    A backslash is doubled, as DOT's escString wants (``\\N`` alone would print the node name);
    Graphviz expands ``\\N`` in tooltips even after a doubled backslash, so there a backslash
    becomes U+29F5 (reverse solidus operator), which looks the same.
    """
    flat = " ".join(text.split())
    flat = flat.replace("\\", "\u29f5") if tooltip else flat.replace("\\", "\\\\")
    return '"' + flat.replace('"', '\\"') + '"'


def mermaid_text(text: str) -> str:
    """Escape text for a quoted Mermaid label with Mermaid's ``#name;`` entity codes.

    ``#`` goes first (our own escapes use it), then the characters that end a label (``"``) or
    would be read as HTML (``<``, ``>``, ``&``), ``:`` (Mermaid strips the last character of a
    line matching ``style…:…#…;``), and ``%``, ``{``, ``}`` (Mermaid reads ``%%{init: …}%%``
    anywhere in the text as a configuration directive). Mermaid turns ``#lt;`` into ``&lt;``,
    so text shows as written.

    >>> mermaid_text('say "hi" <b>#1</b>')
    'say #quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt;'
    """
    out = text.replace("#", "#35;")
    for ch, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
                     (":", "#58;"), ("`", "#96;"), ("%", "#37;"), ("{", "#123;"),
                     ("}", "#125;")):
        out = out.replace(ch, code)
    return " ".join(out.split())  # a newline would end the statement


# ---------------------------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------------------------
def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines += textwrap.wrap(para, LABEL_WIDTH, break_long_words=True) or [""]
    return lines


def build_dot(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    identification: Identification | None = None,
    title: bool = True,
    roles: Roles | None = None,
    positions: Positions | None = None,
) -> pydot.Dot:
    """The study's DAG as a `pydot.Dot` with styles for the chosen query's roles.

    Laid out left to right in ranks, the treatment on the left and the outcome on the right;
    or, when the study has `layout` positions (or `positions` is given), at those positions
    (DAGitty's coordinates, y pointing down), scaled so that no two boxes overlap: the
    ``layout=neato`` attribute and pinned ``pos="x,y!"`` (inches) make any Graphviz program
    honour them.
    """
    r = roles if roles is not None else diagram_roles(study, query, highlight, identification)
    ids = safe_ids([v.name for v in study.variables])
    given = study_positions(study) if positions is None else dict(positions)
    g = pydot.Dot("causal", graph_type="digraph", strict=False)
    if given:
        g.set("layout", "neato")
        g.set("splines", "true")
    else:
        g.set("rankdir", "LR")
    g.set("fontname", "Helvetica")
    if not given:
        # Dense graphs: dot keeps nodesep between the virtual nodes of long edges too, so at
        # 20 nodes and 60 arrows 0.35 in made the drawing 18 in tall; 0.15 halves it.
        dense = len(study.edges) >= 2 * len(study.variables)
        g.set("nodesep", "0.15" if dense else "0.35")
        g.set("ranksep", "0.6")
    if len(study.variables) > LARGE_GRAPH:
        g.set("nslimit", "0.5")
        g.set("mclimit", "0.5")
    if title and study.title:
        g.set("label", dot_string(study.title))
        g.set("labelloc", "t")
        g.set("fontsize", "16")
    g.set_node_defaults(fontname="Helvetica", fontsize="12", shape="box", style="rounded",
                        color=COLOURS["edge"], margin="0.12,0.06")
    g.set_edge_defaults(color=COLOURS["edge"], arrowsize="0.8")
    pins = pinned_positions(study, given, node_size) if given else {}
    for v in study.variables:
        attrs = node_attrs(v, r)
        if v.name in pins:
            attrs["pos"] = '"{:.3f},{:.3f}!"'.format(*pins[v.name])
        attrs["tooltip"] = dot_string(_tooltip(study, v.name), tooltip=True)
        g.add_node(pydot.Node(ids[v.name], **attrs))
    if not given:
        _rank_hints(g, study, r, ids)
    for e in study.edges:
        eattrs: dict[str, Any] = {}
        if e.bidirected:
            # constraint=false: a hidden common cause says nothing about left-to-right order.
            eattrs.update(dir="both", style="dashed", constraint="false")
        colour = r.edge_colour(e.source, e.target, e.bidirected)
        if colour is not None:
            eattrs.update(color=colour, penwidth="2.5")
        g.add_edge(pydot.Edge(ids[e.source], ids[e.target], **eattrs))
    return g


def node_attrs(v: Variable, r: Roles) -> dict[str, Any]:
    """How one variable is drawn (without its tooltip and position): the shape and border of its
    kind (latent: dashed ellipse; time-invariant latent: also double and grey-filled; selected:
    double border, like DAGitty's), the fill of its role, and with ``highlight="dagitty"``
    DAGitty's fills by ancestry."""
    attrs: dict[str, Any] = {"label": _node_label(v.name, v.label)}
    if v.selected:  # the data is conditioned on it: drawn boxed twice, like DAGitty's
        attrs["peripheries"] = "2"
    style = ["rounded"]
    if v.latent:
        attrs["shape"] = "ellipse"
        style = ["dashed"]
        attrs["color"] = COLOURS["latent_line"]
        attrs["fontcolor"] = COLOURS["latent_line"]
        if v.invariant:
            style.append("filled")
            attrs.update(peripheries="2", fillcolor=COLOURS["invariant_fill"])
    if r.dagitty is not None:
        return _dagitty_attrs(v, r, attrs, style)
    if v.name == r.treatment:
        style.append("filled")
        attrs.update(fillcolor=COLOURS["treatment_fill"], color=COLOURS["treatment_line"],
                     penwidth="2")
    elif v.name == r.outcome:
        style.append("filled")
        attrs.update(fillcolor=COLOURS["outcome_fill"], color=COLOURS["outcome_line"],
                     penwidth="2")
    elif v.name in r.adjustment:
        style.append("filled")
        attrs.update(fillcolor=COLOURS["adjust_fill"], color=COLOURS["adjust_line"])
    if v.name in r.adjustment:
        attrs["peripheries"] = "2"
    path_colour = r.node_colour(v.name)
    if path_colour is not None:
        attrs["color"] = path_colour
        attrs["penwidth"] = "2"
    attrs["style"] = ",".join(style)
    return attrs


def _dagitty_attrs(v: Variable, r: Roles, attrs: dict[str, Any], style: list[str]
                   ) -> dict[str, Any]:
    # DAGitty's precedence: exposure, outcome, adjusted, latent, then ancestry.
    assert r.dagitty is not None
    if "filled" not in style:
        style.append("filled")
    if v.name == r.treatment:
        attrs.update(fillcolor=DAGITTY["exposure"], color="#000000", penwidth="2.5")
    elif v.name == r.outcome:
        attrs.update(fillcolor=DAGITTY["outcome"], color="#000000", penwidth="2.5")
    elif v.name in r.adjustment:
        attrs.update(fillcolor=DAGITTY["adjusted"], color="#000000", peripheries="2")
    elif v.latent:
        if not v.invariant:
            attrs["fillcolor"] = DAGITTY["latent_fill"]
        attrs["color"] = DAGITTY["latent_line"]
    else:
        kind = r.dagitty.ancestry.get(v.name, "other")
        attrs.update(fillcolor=DAGITTY[kind], color=DAGITTY[kind])
    attrs["style"] = ",".join(style)
    return attrs


def _rank_hints(g: pydot.Dot, study: Model, r: Roles, ids: Mapping[str, str]) -> None:
    """Treatment left, outcome right: the two share a `group` (dot keeps them on one line), an
    invisible heavy treatment -> outcome edge orders them when no path does (unless the outcome
    causes the treatment), and a parentless treatment / childless outcome takes the first /
    last rank."""
    t, y = r.treatment, r.outcome
    if t is None or y is None or t == y:
        return
    directed = [(e.source, e.target) for e in study.edges if not e.bidirected]
    for name in (t, y):
        g.get_node(ids[name])[0].set("group", "axis")
    down: dict[str, list[str]] = {}
    for a, b in directed:
        down.setdefault(a, []).append(b)
    seen, todo = {y}, [y]
    while todo:
        for w in down.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    if t not in seen and (t, y) not in directed:
        g.add_edge(pydot.Edge(ids[t], ids[y], style="invis", weight="4"))
    if not any(b == t for _, b in directed):
        g.add_subgraph(_rank("min", ids[t]))
    if not any(a == y for a, _ in directed):
        g.add_subgraph(_rank("max", ids[y]))


def _rank(kind: str, node_id: str) -> pydot.Subgraph:
    sub = pydot.Subgraph(f"rank_{kind}", rank=kind)
    sub.add_node(pydot.Node(node_id))
    return sub


def node_size(v: Variable) -> tuple[float, float]:
    """An estimate of a node's width and height in inches (Helvetica: bold 12 pt names, 10 pt
    labels; box margins 0.12 x 0.06 in; an ellipse is sqrt(2) larger), erring on the large side,
    for scaling `layout` positions before Graphviz has measured anything."""
    lines = [(len(v.name), 12.0 * 0.66)] + [(len(s), 10.0 * 0.6) for s in
                                             (_wrap(v.label) if v.label else [])]
    width = max(n * w for n, w in lines) / 72 + 0.24
    height = (14.5 + 12.0 * (len(lines) - 1)) / 72 + 0.12
    if v.latent:
        width, height = width * 1.42, height * 1.42
    return max(width, 0.75), max(height, 0.5)


def _node_label(name: str, label: str | None) -> str:
    parts = [f"<b>{dot_html(name)}</b>"]
    if label:
        small = "<br/>".join(dot_html(line) for line in _wrap(label))
        parts.append(f'<font point-size="10">{small}</font>')
    return "<" + "<br/>".join(parts) + ">"


def _tooltip(study: Model, name: str) -> str:
    v = study.variable(name)
    kind = ("latent (time-invariant)" if v.invariant else "latent") if v.latent else str(v.type)
    return f"{name}: {kind}" + (f" — {v.label}" if v.label else "")


def to_dot(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    identification: Identification | None = None,
    title: bool = True,
    positions: Positions | None = None,
) -> str:
    """The study's DAG as DOT text (what ``causal render --format dot`` prints)."""
    g = build_dot(study, query, highlight, identification=identification, title=title,
                  positions=positions)
    return g.to_string()


# ---------------------------------------------------------------------------------------------
# Mermaid
# ---------------------------------------------------------------------------------------------
def to_mermaid(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    identification: Identification | None = None,
    title: bool = True,
    roles: Roles | None = None,
) -> str:
    """The study's DAG as a Mermaid flowchart (for GitHub Markdown, ``.mmd`` files).

    Roles are classes (``treatment``, ``outcome``, ``adjust``, ``latent``); the adjustment set
    also uses the double-sided "subroutine" shape, latent variables the rounded one; bidirected
    edges are ``<-.->``; coloured paths are ``linkStyle`` lines.
    """
    r = roles if roles is not None else diagram_roles(study, query, highlight, identification)
    ids = safe_ids([v.name for v in study.variables])
    lines = ["flowchart LR"]
    if study.layout:
        lines.append("    %% layout positions are not used: Mermaid places nodes itself")
    if title and study.title:
        # A comment, not front matter: YAML quoting of arbitrary titles is a trap of its own.
        # `%`, `{` and `}` go: `%%{...}%%` is a directive wherever it appears.
        lines.insert(0, "%% " + " ".join(re.sub(r"[%{}]", " ", study.title).split()))
    for v in study.variables:
        text = mermaid_text(v.name)
        if v.label:
            text += "<br/><small>" + "<br/>".join(mermaid_text(s) for s in _wrap(v.label))
            text += "</small>"
        if v.latent:
            lines.append(f'    {ids[v.name]}("{text}")')
        elif v.name in r.adjustment:
            lines.append(f'    {ids[v.name]}[["{text}"]]')
        else:
            lines.append(f'    {ids[v.name]}["{text}"]')
    link_styles: list[str] = []
    for i, e in enumerate(study.edges):
        arrow = "<-.->" if e.bidirected else "-->"
        lines.append(f"    {ids[e.source]} {arrow} {ids[e.target]}")
        colour = r.edge_colour(e.source, e.target, e.bidirected)
        if colour is not None:
            link_styles.append(f"    linkStyle {i} stroke:{colour},stroke-width:3px")
    lines += [
        f"    classDef treatment fill:{COLOURS['treatment_fill']},"
        f"stroke:{COLOURS['treatment_line']},stroke-width:2px",
        f"    classDef outcome fill:{COLOURS['outcome_fill']},"
        f"stroke:{COLOURS['outcome_line']},stroke-width:2px",
        f"    classDef adjust fill:{COLOURS['adjust_fill']},stroke:{COLOURS['adjust_line']},"
        "stroke-width:2px",
        f"    classDef latent fill:#ffffff,stroke:{COLOURS['latent_line']},"
        f"stroke-dasharray:5 4,color:{COLOURS['latent_line']}",
    ]
    groups: dict[str, list[str]] = {}
    path_styles: list[str] = []
    for v in study.variables:
        if v.name == r.treatment:
            groups.setdefault("treatment", []).append(ids[v.name])
        elif v.name == r.outcome:
            groups.setdefault("outcome", []).append(ids[v.name])
        elif v.name in r.adjustment:
            groups.setdefault("adjust", []).append(ids[v.name])
        elif v.latent:
            groups.setdefault("latent", []).append(ids[v.name])
        colour = r.node_colour(v.name)
        if colour is not None:
            # `style` adds to the node's class, so a latent node on a path stays dashed.
            path_styles.append(f"    style {ids[v.name]} stroke:{colour},stroke-width:3px")
    for role in ("treatment", "outcome", "adjust", "latent"):
        if role in groups:
            lines.append(f"    class {','.join(groups[role])} {role}")
    lines += path_styles
    lines += link_styles
    return "\n".join(lines) + "\n"
