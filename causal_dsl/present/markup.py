"""Escaping and spelling shared by every presenter: one helper per job.

In: user text (names, labels, titles, messages that quote them) and sets of names. Out: strings
safe to place in Markdown or HTML, names backquoted as the language writes them, and sets
spelled ``{a, b}``. Raises nothing.

Every presenter escapes through these functions and nothing else, so a hostile name (``|``,
``*``, ``<script>``, backquotes) is handled the same way in every format. The escaping of the
diagram formats (DOT, Mermaid) lives with the diagrams in `causal_dsl.render`, a lower layer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from ..fmt import quote_name

__all__ = [
    "code_span",
    "html_escape",
    "markdown_escape",
    "quote_name",
    "spell_set",
]


# --- sets ----------------------------------------------------------------------------------
def spell_set(
    names: Iterable[str] | None,
    *,
    cap: int | None = None,
    quote: bool = False,
    empty: str | None = None,
    none: str = "—",
) -> str:
    """A set of names as people read it: sorted, in braces.

    `cap` shows at most that many names and then how many more; `quote` backquotes names that
    the language would (`quote_name`); `empty` replaces ``{}``; `none` is what None reads as.

    >>> spell_set({"b", "a"}), spell_set(["c", "a", "b"], cap=2), spell_set((), empty="∅")
    ('{a, b}', '{a, b, ... (+1 more)}', '∅')
    >>> spell_set({"my var", "x"}, quote=True), spell_set(None)
    ('{`my var`, x}', '—')
    """
    if names is None:
        return none
    items = sorted(names)
    if not items and empty is not None:
        return empty
    shown = [quote_name(n) if quote else n for n in items]
    if cap is not None and len(shown) > cap:
        return "{" + ", ".join(shown[:cap]) + f", ... (+{len(shown) - cap} more)" + "}"
    return "{" + ", ".join(shown) + "}"


# --- HTML ----------------------------------------------------------------------------------
def html_escape(text: object) -> str:
    """Any value as HTML text (quotes too, so it is safe inside an attribute).

    >>> html_escape('<a href="x">&')
    '&lt;a href=&quot;x&quot;&gt;&amp;'
    """
    return html.escape(str(text), quote=True)


# --- Markdown --------------------------------------------------------------------------------
# Characters that start inline Markdown anywhere in a line; an underscore only at a word edge
# (GitHub ignores intraword underscores, so `initial_health` stays readable).
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_escape(text: object) -> str:
    """Escape user text for inline Markdown (one line, placed after our own prefix such as a
    bullet or a table pipe): HTML-escape it, so ``<script>`` is text even where raw HTML is
    allowed, and backslash the characters that start emphasis, code, links, tables or
    strike-through.

    >>> print(markdown_escape("a <b>*c*</b> | _x_ initial_health"))
    a &lt;b&gt;\\*c\\*&lt;/b&gt; \\| \\_x\\_ initial_health
    """
    escaped = html.escape(" ".join(str(text).split()), quote=False)
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), escaped)


def code_span(text: str, *, table: bool = False) -> str:
    """An inline code span: doubled backquotes when the text has one, and in a table cell the
    pipe escaped (GitHub splits cells on it even inside code).

    >>> code_span("a|b"), code_span("a|b", table=True), code_span("`x y`")
    ('`a|b`', '`a\\\\|b`', '`` `x y` ``')
    """
    text = " ".join(text.split())
    if table:
        text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"
