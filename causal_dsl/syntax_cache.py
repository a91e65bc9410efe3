"""What the parser derives from the grammar with Lark, kept on disk between runs: with it, a file
whose lines all have shapes seen before is parsed without importing Lark at all.

In: the grammar's text, and `Tables` — the keywords, the ignored terminals, the blank and token
patterns of `causal_dsl.syntax._Grammar`, and its line shapes (a shape is a line's sequence of
terminal types; its template is Lark's tree for it with each token replaced by its position).
Out: the same `Tables` read back in a later process (`load`), or None. Nothing raises: a cache
that is missing, unreadable, unwritable, from another grammar or another Lark install, or that
does not validate, is ignored, and the parser builds Lark as it would without it.

Why: importing Lark (with the `regex` and `interegular` it brings) and loading its parser cost
35–45 ms of every `causal` command, a tenth of a small study's `causal run` and most of a
`causal fmt` in a pre-commit hook, for a few dozen line shapes that never change.

Where: one JSON file per grammar and Lark install in ``$CAUSAL_DSL_CACHE_DIR``, else
``$XDG_CACHE_HOME/causal-dsl``, else ``~/.cache/causal-dsl``; written atomically (not fsync'ed:
see `save`). JSON, not pickle: nothing read back is executed, and every template is checked
against the rules the builder knows (`load`'s `rules`) and against its shape's length before it
is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

FORMAT = 1  # bump when the layout of the file or of a template changes
MAX_SHAPES = 512  # shapes kept on disk (a study has a few dozen; the rest stay in memory)

Shape = tuple[str, ...]
Template = Any  # None | int | tuple[str, tuple[Template, ...]]


class Tables:
    """The grammar's tables (see the module docstring); `shapes` maps a shape to its template
    and, when the parser retyped some tokens (a keyword read as a name), their types."""

    __slots__ = ("blank", "ignored", "keywords", "shapes", "token")

    def __init__(self, keywords: dict[str, str], ignored: frozenset[str], blank: str,
                 token: str, shapes: dict[Shape, tuple[Template, Shape | None]]) -> None:
        self.keywords = keywords
        self.ignored = ignored
        self.blank = blank
        self.token = token
        self.shapes = shapes


def location(grammar_text: str) -> Path | None:
    """The cache file of this grammar and this Lark install (its ``__init__``'s path, size and
    time: a reinstalled or upgraded Lark gets a file of its own), or None without a home."""
    base = os.environ.get("CAUSAL_DSL_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        try:
            base = str(Path(xdg) / "causal-dsl") if xdg else \
                str(Path.home() / ".cache" / "causal-dsl")
        except RuntimeError:  # no home directory to expand
            return None
    spec = importlib.util.find_spec("lark")
    origin = spec.origin if spec is not None else None
    if origin is None:
        return None
    try:
        stat = os.stat(origin)
    except OSError:
        return None
    key = hashlib.sha256("\0".join((str(FORMAT), grammar_text, origin, str(stat.st_size),
                                    str(stat.st_mtime_ns))).encode()).hexdigest()[:24]
    return Path(base) / f"grammar-{key}.json"


def load(path: Path, rules: Collection[str]) -> Tables | None:
    """The tables in `path`, or None when they are missing or do not validate."""
    try:
        raw = json.loads(path.read_bytes())
        keywords = raw["keywords"]
        ignored = raw["ignored"]
        blank, token = raw["blank"], raw["token"]
        if not (raw.get("format") == FORMAT and isinstance(keywords, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in keywords.items())
                and isinstance(ignored, list) and all(isinstance(i, str) for i in ignored)
                and isinstance(blank, str) and isinstance(token, str)):
            return None
        shapes: dict[Shape, tuple[Template, Shape | None]] = {}
        for key, template, types in raw["shapes"]:
            shape = _strings(key)
            retyped = None if types is None else _strings(types)
            if shape is None or (types is not None and
                                 (retyped is None or len(retyped) != len(shape))):
                return None
            shapes[shape] = (_template(template, rules, len(shape)), retyped)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # json.JSONDecodeError is a ValueError; _template raises ValueError
    return Tables(keywords, frozenset(ignored), blank, token, shapes)


def save(path: Path, tables: Tables) -> None:
    """Write `tables` (at most `MAX_SHAPES` shapes) to `path`; a failure is ignored."""
    shapes = [[list(k), _json(t), None if types is None else list(types)]
              for k, (t, types) in list(tables.shapes.items())[:MAX_SHAPES]]
    body = {"format": FORMAT, "keywords": tables.keywords, "ignored": sorted(tables.ignored),
            "blank": tables.blank, "token": tables.token, "shapes": shapes}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:
        return  # a read-only home: the next run derives the tables again
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(body, separators=(",", ":")))
        # Atomic (a reader sees the old file or the new one), but not fsync'ed as
        # `files.write_atomic` does for the user's files: on a machine busy writing, an fsync
        # can wait for the journal (0.6 s measured after the CSV benchmark wrote 2 GB), and a
        # cache lost to a crash is only derived again (a torn one does not validate).
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _strings(value: Any) -> Shape | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _template(value: Any, rules: Collection[str], width: int) -> Template:
    """A template from its JSON form, checked: rule names the builder has, token positions
    inside the line. Raises ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < width:
            return value
        raise ValueError("token position outside its line")
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and value[0] in rules and isinstance(value[1], list)):
        return (value[0], tuple(_template(c, rules, width) for c in value[1]))
    raise ValueError("not a template")


def _json(template: Template) -> Any:
    if template is None or isinstance(template, int):
        return template
    rule, children = template
    return [rule, [_json(c) for c in children]]
