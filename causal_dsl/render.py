"""DAG diagrams of a study: Graphviz DOT (built with pydot), SVG/PNG through a Graphviz engine,
and Mermaid text that GitHub renders natively.

In: a `Study`, optionally the name of one of its queries and a highlight mode. Out: DOT or Mermaid
text, SVG/PNG bytes from an external Graphviz engine, or a file written by `render_file`.
Raises `RenderError` (codes E6xx): E601 unknown query, E602 no Graphviz engine found, E603 the
engine failed (its stderr is in the message), E604 the engine timed out, E605 unknown output
format, E606 the output file could not be written. Errors from identification (`GraphError`)
propagate unchanged.

The diagram is drawn left to right. The treatment and outcome of the chosen query are filled,
latent variables are dashed ellipses, bidirected edges (a hidden common cause) are dashed with two
heads, the adjustment set has a double border, and a declared label is shown under the name.
With ``highlight="paths"`` the backdoor paths are coloured: red where they stay open given the
adjustment set (why an effect is not identifiable), orange where the set blocks them.

Layout is Graphviz's job: we only write DOT. Engines are looked up in this order: an explicit
``engine`` argument (a path or a program name), the ``CAUSAL_DOT_ENGINE`` environment variable,
``dot`` on PATH, then ``graphviz-pure`` next to the running interpreter or on PATH.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydot

from .errors import CausalError, Diagnostic, RenderError, suggest
from .model import Query, Study

Highlight = Literal["adjustment", "paths", "none"]
HIGHLIGHTS: tuple[str, ...] = ("adjustment", "paths", "none")
FORMATS: tuple[str, ...] = ("dot", "svg", "png", "mermaid")
EXTENSIONS: Mapping[str, str] = {
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
}
ENGINE_ENV = "CAUSAL_DOT_ENGINE"
DEFAULT_TIMEOUT = 120.0  # seconds; a 500-variable model takes well under 5 s with either engine

# Colours chosen to stay distinguishable for the common colour-vision deficiencies (blue/orange,
# not red/green), with role also carried by shape, fill or border so print in grey still works.
COLOURS: Mapping[str, str] = {
    "treatment_fill": "#cfe2ff",
    "treatment_line": "#1f4e9e",
    "outcome_fill": "#ffe0b8",
    "outcome_line": "#a34f00",
    "adjust_fill": "#e6f4ea",
    "adjust_line": "#2e7d32",
    "latent_line": "#666666",
    "edge": "#444444",
    "open_path": "#d62728",
    "blocked_path": "#f0a030",
}
LABEL_WIDTH = 28  # characters per line of a variable's label under its name
# Above this many variables, bound Graphviz's network-simplex and crossing-minimisation passes:
# at 500 variables the x-coordinate pass alone took 4.8 of dot's 6.5 CPU seconds, and
# nslimit = mclimit = 0.5 brings the whole layout to about 1 s (benchmarks/render.py).
LARGE_GRAPH = 150


# ---------------------------------------------------------------------------------------------
# what the diagram shows
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DiagramPath:
    """One backdoor path as the diagram colours it: its nodes in order, and for each step
    whether it is bidirected; `open_given_set` says whether the adjustment set leaves it open."""

    nodes: tuple[str, ...]
    bidirected: tuple[bool, ...]
    open_given_set: bool

    def steps(self) -> Iterable[tuple[str, str, bool]]:
        """The edges of the path as ``(a, b, bidirected)`` in the order walked."""
        for i, bi in enumerate(self.bidirected):
            yield self.nodes[i], self.nodes[i + 1], bi


@dataclass(frozen=True, slots=True)
class Roles:
    """Everything about the chosen query that changes how a node or an edge is drawn."""

    query: Query | None = None
    treatment: str | None = None
    outcome: str | None = None
    adjustment: frozenset[str] = frozenset()
    identifiable: bool | None = None  # None when identification did not run
    paths: tuple[DiagramPath, ...] = ()
    highlight: str = "adjustment"

    def edge_colour(self, a: str, b: str, bidirected: bool) -> str | None:
        """The path colour of an edge (open beats blocked), or None when on no coloured path."""
        colour = None
        for p in self.paths:
            for x, y, bi in p.steps():
                if bi == bidirected and {x, y} == {a, b}:
                    if p.open_given_set:
                        return COLOURS["open_path"]
                    colour = COLOURS["blocked_path"]
        return colour

    def node_colour(self, name: str) -> str | None:
        """The path colour of a node on a coloured path (open beats blocked), or None for the
        treatment, the outcome, members of the adjustment set and nodes on no coloured path."""
        if name in (self.treatment, self.outcome) or name in self.adjustment:
            return None  # the path is blocked (or carried) here: the role style says more
        colour = None
        for p in self.paths:
            if name in p.nodes:
                if p.open_given_set:
                    return COLOURS["open_path"]
                colour = COLOURS["blocked_path"]
        return colour


def pick_query(study: Study, query: str | Query | None) -> Query | None:
    """The query a diagram is about: the one named, or the first; None when there is none.

    An unknown name is a `RenderError` (E601) with a suggestion.
    """
    if isinstance(query, Query):
        return query
    if not study.queries:
        if query is None:
            return None
        raise RenderError(Diagnostic("E601", f"unknown query '{query}': the study has no query",
                                     help="add a query, or leave out --query"))
    try:
        return study.query(query)
    except KeyError:
        names = [q.name for q in study.queries]
        hint = suggest(str(query), names)
        raise RenderError(
            Diagnostic(
                "E601",
                f"unknown query '{query}'",
                help=(hint + "; " if hint else "") + "the queries are: " + ", ".join(names),
            )
        ) from None


def identification_of(study: Study, query: Query) -> Any | None:
    """``study.identify(query)``, or None while the graph engine is not installed.

    Diagrams degrade to "no adjustment set" rather than fail when `causal_dsl.identify` is
    missing; a `GraphError` about the query itself still propagates.
    """
    try:
        return study.identify(query)
    except ImportError:
        return None


def diagram_roles(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    identification: Any | None = None,
) -> Roles:
    """Work out treatment, outcome, adjustment set and coloured paths for one query."""
    if highlight not in HIGHLIGHTS:
        raise RenderError(
            Diagnostic("E605", f"unknown highlight '{highlight}'",
                       help="use one of: " + ", ".join(HIGHLIGHTS))
        )
    q = pick_query(study, query)
    if q is None:
        return Roles(highlight=highlight)
    ident = identification if identification is not None else (
        identification_of(study, q) if highlight != "none" else None
    )
    if ident is None:
        return Roles(query=q, treatment=q.treatment, outcome=q.outcome, highlight=highlight)
    adjustment = marked_set(q, ident)
    paths = coloured_paths(study, q, ident, adjustment) if highlight == "paths" else ()
    return Roles(
        query=q,
        treatment=q.treatment,
        outcome=q.outcome,
        adjustment=adjustment if highlight != "none" else frozenset(),
        identifiable=bool(getattr(ident, "identifiable", False)),
        paths=paths,
        highlight=highlight,
    )


def marked_set(query: Query, ident: Any) -> frozenset[str]:
    """The set drawn with a double border: the query's own `adjusting` set when it proposes one
    (that is what the user asked to be checked), else the recommended set (empty if none)."""
    if query.adjusting is not None:
        return frozenset(query.adjusting)
    chosen = getattr(ident, "adjustment_set", None)
    return frozenset(chosen) if chosen else frozenset()


def coloured_paths(
    study: Study, query: Query, ident: Any, adjustment: frozenset[str]
) -> tuple[DiagramPath, ...]:
    """The paths ``highlight="paths"`` colours, as computed by the graph engine.

    Red: backdoor paths the marked set leaves open (or opens at a collider); when the effect
    is not identifiable and the query proposes no set, the engine's obstructions instead (open
    paths no observed set can block). Orange: the other backdoor paths that are open when
    nothing is adjusted for — the confounding the set removes (or could remove). Paths closed
    at a collider either way are not confounding and stay uncoloured.
    """
    t, y = query.treatment, query.outcome
    try:
        unadjusted = study.backdoor_paths(t, y)
        adjusted = study.backdoor_paths(t, y, adjustment) if adjustment else unadjusted
    except CausalError:
        # A proposed set the engine rejects as a conditioning set (it holds the treatment or
        # the outcome): the query's own diagnostics say so; draw the unadjusted paths.
        unadjusted = adjusted = study.backdoor_paths(t, y)
    seen: dict[str, DiagramPath] = {}

    def add(p: Any, still_open: bool) -> None:
        key = str(p)
        if key in seen and (seen[key].open_given_set or not still_open):
            return
        seen[key] = DiagramPath(tuple(p.nodes), tuple(a == "<->" for a in p.arrows), still_open)

    if not getattr(ident, "identifiable", True) and query.adjusting is None:
        # Nothing is marked: red is what no set can block, orange what some set could.
        for p in getattr(ident, "obstructions", ()):
            add(p, True)
    else:
        for p in adjusted:
            if p.open:
                add(p, True)
    for p in unadjusted:
        if p.open:
            add(p, False)
    return tuple(seen.values())


# ---------------------------------------------------------------------------------------------
# safe identifiers
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


def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines += textwrap.wrap(para, LABEL_WIDTH, break_long_words=True) or [""]
    return lines


# ---------------------------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------------------------
def _html(text: str) -> str:
    """Escape text for a Graphviz HTML-like label: entities for markup (a numeric one for the
    apostrophe, which Graphviz does not know as ``&#x27;``), and a doubled backslash, because
    Graphviz expands ``\\N`` (node name) and ``\\G`` even in HTML labels, entities included."""
    return html.escape(text.replace("\\", "\\\\"), quote=True).replace("&#x27;", "&#39;")


def _dot_string(text: str, *, tooltip: bool = False) -> str:
    """Quote text as a DOT string ourselves: pydot leaves a value that starts with ``<`` and
    ends with ``>`` unquoted (an HTML label), so a title ``<b>`` would become markup.

    A backslash is doubled, as DOT's escString wants (``\\N`` alone would print the node name);
    Graphviz expands ``\\N`` in tooltips even after a doubled backslash, so there a backslash
    becomes U+29F5 (reverse solidus operator), which looks the same.
    """
    flat = " ".join(text.split())
    flat = flat.replace("\\", "\u29f5") if tooltip else flat.replace("\\", "\\\\")
    return '"' + flat.replace('"', '\\"') + '"'


def build_dot(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    identification: Any | None = None,
    title: bool = True,
    roles: Roles | None = None,
) -> pydot.Dot:
    """The study's DAG as a `pydot.Dot` with styles for the chosen query's roles."""
    r = roles if roles is not None else diagram_roles(study, query, highlight, identification)
    ids = safe_ids([v.name for v in study.variables])
    g = pydot.Dot("causal", graph_type="digraph", strict=False)
    g.set("rankdir", "LR")
    g.set("fontname", "Helvetica")
    g.set("nodesep", "0.35")
    g.set("ranksep", "0.6")
    if len(study.variables) > LARGE_GRAPH:
        g.set("nslimit", "0.5")
        g.set("mclimit", "0.5")
    if title and study.title:
        g.set("label", _dot_string(study.title))
        g.set("labelloc", "t")
        g.set("fontsize", "16")
    g.set_node_defaults(fontname="Helvetica", fontsize="12", shape="box", style="rounded",
                        color=COLOURS["edge"], margin="0.12,0.06")
    g.set_edge_defaults(color=COLOURS["edge"], arrowsize="0.8")
    for v in study.variables:
        attrs: dict[str, Any] = {"label": _node_label(v.name, v.label)}
        style = ["rounded"]
        if v.latent:
            attrs["shape"] = "ellipse"
            style = ["dashed"]
            attrs["color"] = COLOURS["latent_line"]
            attrs["fontcolor"] = COLOURS["latent_line"]
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
        attrs["tooltip"] = _dot_string(_tooltip(study, v.name), tooltip=True)
        g.add_node(pydot.Node(ids[v.name], **attrs))
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


def _node_label(name: str, label: str | None) -> str:
    parts = [f"<b>{_html(name)}</b>"]
    if label:
        small = "<br/>".join(_html(line) for line in _wrap(label))
        parts.append(f'<font point-size="10">{small}</font>')
    return "<" + "<br/>".join(parts) + ">"


def _tooltip(study: Study, name: str) -> str:
    v = study.variable(name)
    kind = ("latent (time-invariant)" if v.invariant else "latent") if v.latent else str(v.type)
    return f"{name}: {kind}" + (f" — {v.label}" if v.label else "")


def to_dot(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    identification: Any | None = None,
    title: bool = True,
) -> str:
    """The study's DAG as DOT text (what ``causal render --format dot`` prints)."""
    g = build_dot(study, query, highlight, identification=identification, title=title)
    return g.to_string()


# ---------------------------------------------------------------------------------------------
# Mermaid
# ---------------------------------------------------------------------------------------------
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


def to_mermaid(
    study: Study,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    identification: Any | None = None,
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


# ---------------------------------------------------------------------------------------------
# engines
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Engine:
    """A Graphviz-compatible layout program: `name` is how it was found, `path` what runs."""

    name: str
    path: Path

    def __str__(self) -> str:
        return f"{self.name} ({self.path})"


def _resolve_program(program: str | Path) -> Path | None:
    p = Path(program)
    if p.parent != Path(".") or p.is_absolute():
        return p if p.is_file() and os.access(p, os.X_OK) else None
    found = shutil.which(str(program))
    return Path(found) if found else None


def _candidates() -> list[tuple[str, Path | None]]:
    here = Path(sys.executable).parent
    names = ["graphviz-pure", "graphviz-pure.exe"]
    beside = [here / n for n in names if (here / n).is_file()]
    return [
        ("dot", _resolve_program("dot")),
        ("graphviz-pure", beside[0] if beside else _resolve_program("graphviz-pure")),
    ]


def available_engines() -> tuple[Engine, ...]:
    """Every engine found on this machine, in lookup order (the environment variable aside)."""
    return tuple(Engine(n, p) for n, p in _candidates() if p is not None)


def find_engine(engine: str | Path | Engine | None = None) -> Engine:
    """The engine to run: `engine` (a path or program name), else ``$CAUSAL_DOT_ENGINE``,
    else ``dot`` on PATH, else ``graphviz-pure``. Nothing found is a `RenderError` (E602)."""
    if isinstance(engine, Engine):
        return engine
    for given, where in ((engine, "--engine"), (os.environ.get(ENGINE_ENV) or None, ENGINE_ENV)):
        if given is None:
            continue
        path = _resolve_program(given)
        if path is None:
            raise RenderError(
                Diagnostic(
                    "E602",
                    f"Graphviz engine '{given}' (from {where}) not found or not executable",
                    help="give the path of `dot` or `graphviz-pure`, or unset it to search",
                )
            )
        return Engine(Path(str(given)).name, path)
    found = available_engines()
    if found:
        return found[0]
    raise RenderError(
        Diagnostic(
            "E602",
            "no Graphviz engine found (looked for `dot` on PATH and `graphviz-pure` next to "
            f"{sys.executable} and on PATH)",
            help="install Graphviz (e.g. `apt-get install graphviz`) or `pip install "
            "graphviz-pure`, or set CAUSAL_DOT_ENGINE; --format dot and mermaid need no engine",
        )
    )


def run_engine(
    dot_text: str,
    fmt: str,
    engine: str | Path | Engine | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Lay out `dot_text` with a Graphviz engine and return its `-T<fmt>` output.

    The engine runs as a subprocess on the DOT text (not pydot's ``create``, which prints to
    stdout and relies on ``assert``). Failures become `RenderError` with the engine's stderr.
    """
    eng = find_engine(engine)
    try:
        proc = subprocess.run(
            [str(eng.path), f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            Diagnostic("E604", f"{eng} did not finish within {timeout:g} s",
                       help="the graph may be too large for this engine; try another with "
                       "--engine, or --format dot / mermaid")
        ) from None
    except OSError as error:
        raise RenderError(
            Diagnostic("E602", f"cannot run {eng}: {error.strerror or error}",
                       help="check the engine path, or set CAUSAL_DOT_ENGINE")
        ) from None
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not proc.stdout:
        raise RenderError(
            Diagnostic(
                "E603",
                f"{eng} failed to render {fmt} (exit status {proc.returncode})",
                notes=tuple(stderr.splitlines()[:20]) or ("the engine printed nothing",),
                help="try another engine with --engine, or --format dot to inspect the input",
            )
        )
    return proc.stdout


# ---------------------------------------------------------------------------------------------
# files, bytes, Jupyter
# ---------------------------------------------------------------------------------------------
def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The output format: `fmt` when given, else from the file extension (E605 if unknown)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise RenderError(Diagnostic("E605", f"unknown format '{fmt}'",
                                         help="use one of: " + ", ".join(FORMATS)))
        return fmt
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise RenderError(
            Diagnostic(
                "E605",
                f"cannot tell the format from '{Path(path).name}'",
                help="use an extension among " + ", ".join(EXTENSIONS)
                + " or give --format " + "|".join(FORMATS),
            )
        )
    return EXTENSIONS[ext]


def render_bytes(
    study: Study,
    fmt: str,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    engine: str | Path | Engine | None = None,
    identification: Any | None = None,
    title: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """The diagram in `fmt` (dot, svg, png, mermaid) as bytes."""
    fmt = format_for("", fmt)
    if fmt == "mermaid":
        return to_mermaid(study, query, highlight, identification=identification,
                          title=title).encode("utf-8")
    dot = to_dot(study, query, highlight, identification=identification, title=title)
    if fmt == "dot":
        return dot.encode("utf-8")
    return run_engine(dot, fmt, engine, timeout=timeout)


def render_file(
    study: Study,
    path: str | Path,
    query: str | Query | None = None,
    highlight: str = "adjustment",
    *,
    format: str | None = None,  # mirrors the CLI's --format
    engine: str | Path | Engine | None = None,
    identification: Any | None = None,
    title: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Write the diagram to `path` (format from `format` or the extension); return the path."""
    out = Path(path)
    data = render_bytes(study, format_for(out, format), query, highlight, engine=engine,
                        identification=identification, title=title, timeout=timeout)
    return write_output(out, data)


def write_output(path: str | Path, content: bytes | str) -> Path:
    """Write a diagram or a report (text as UTF-8); a failure is `RenderError` E606."""
    out = Path(path)
    try:
        if isinstance(content, bytes):
            out.write_bytes(content)
        else:
            out.write_text(content, encoding="utf-8")
    except OSError as error:
        raise RenderError(
            Diagnostic("E606", f"cannot write {out}: {error.strerror or error}",
                       help="check that the directory exists and is writable")
        ) from None
    return out


def svg_fragment(svg: bytes | str) -> str:
    """An engine's SVG without the XML declaration, DOCTYPE and comments, for inline HTML."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    return re.sub(r"<!--.*?-->\n?", "", text, flags=re.DOTALL).strip()


def repr_svg(study: Study) -> str | None:
    """Jupyter's SVG view of a study; None (so Jupyter falls back) when no engine can draw it."""
    try:
        return svg_fragment(render_bytes(study, "svg", timeout=30))
    except CausalError:
        return None


def repr_html(study: Study) -> str | None:
    """Jupyter's HTML view: the SVG diagram over the one-screen summary; None when no engine
    can draw it (Jupyter then uses the Markdown view, whose Mermaid diagram needs no engine)."""
    svg = repr_svg(study)
    if svg is None:
        return None
    title = f"<h4>{html.escape(study.title)}</h4>" if study.title else ""
    return (f'{title}<div style="max-width:100%;overflow-x:auto">{svg}</div>'
            f"<pre>{html.escape(study.summary())}</pre>")


def repr_markdown(study: Study) -> str:
    """Jupyter's Markdown view: title, the one-screen summary, and the Mermaid diagram."""
    try:
        diagram = to_mermaid(study)
    except CausalError:
        diagram = to_mermaid(study, highlight="none")
    head = f"**{markdown_escape(study.title)}**\n\n" if study.title else ""
    summary = "\n".join("    " + line for line in study.summary().splitlines())
    return f"{head}```mermaid\n{diagram}```\n\n{summary}\n"


# Characters that start inline Markdown anywhere in a line; an underscore only at a word edge
# (GitHub ignores intraword underscores, so `initial_health` stays readable).
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_escape(text: str) -> str:
    """Escape user text for inline Markdown (one line, placed after our own prefix such as a
    bullet or a table pipe): HTML-escape it, so ``<script>`` is text even where raw HTML is
    allowed, and backslash the characters that start emphasis, code, links, tables or
    strike-through.

    >>> print(markdown_escape("a <b>*c*</b> | _x_ initial_health"))
    a &lt;b&gt;\\*c\\*&lt;/b&gt; \\| \\_x\\_ initial_health
    """
    escaped = html.escape(" ".join(text.split()), quote=False)
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), escaped)
