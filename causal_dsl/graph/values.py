"""The graph engine's answers: small frozen values holding names (never node ids).

In: what `causal_dsl.graph`'s functions found. Out: `PathStatus`, `BackdoorPaths`,
`Implication`, `Implications`, `Instrument`, `OptimalSet` and `Recommendation`, each with a plain
``str`` and, where it is data a caller serialises, ``to_dict()`` (data) and ``to_json()`` (a JSON
string). Raises nothing. Imports nothing from the rest of the package, so that every module of
the engine (and `causal_dsl.identify` above it) can use these types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

SHOWN_PATH_NODES = 14  # longer paths print as "a <- b ... (k more) ... -> y"


def fmt_set(names: Iterable[str], cap: int | None = None) -> str:
    """``{a, b, c}``; with `cap`, at most that many names and then ``... (+N more)``.

    >>> fmt_set(["b", "a", "c"], cap=2)
    '{a, b, ... (+1 more)}'
    """
    items = sorted(names)
    if cap is not None and len(items) > cap:
        return "{" + ", ".join(items[:cap]) + f", ... (+{len(items) - cap} more)" + "}"
    return "{" + ", ".join(items) + "}"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class PathStatus:
    """One path from the treatment to the outcome and whether a conditioning set blocks it.

    `arrows[i]` joins ``nodes[i]`` and ``nodes[i+1]``: ``"->"``, ``"<-"`` or ``"<->"`` (an
    unobserved common cause). `blocked_by`: conditioned non-colliders; `closed_at`: colliders
    neither conditioned on nor ancestors of the set; `opened_at`: ``(collider, member)`` pairs,
    a collider opened because `member` (the collider or a descendant of it) is conditioned on;
    `unobserved`: latent non-colliders (and ``a <-> b`` links) that nothing can block.
    """

    nodes: tuple[str, ...]
    arrows: tuple[str, ...]
    open: bool
    blocked_by: tuple[str, ...] = ()
    closed_at: tuple[str, ...] = ()
    opened_at: tuple[tuple[str, str], ...] = ()
    unobserved: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.nodes[0]]
        for arrow, node in zip(self.arrows, self.nodes[1:], strict=True):
            parts.append(f"{arrow} {node}")
        return " ".join(parts)

    def short(self, max_nodes: int = SHOWN_PATH_NODES) -> str:
        """Like `str`, but a path of more than `max_nodes` variables shows its two ends and
        how many variables were left out in between."""
        if len(self.nodes) <= max_nodes:
            return str(self)
        head, tail = max_nodes // 2, max_nodes - max_nodes // 2 - 1
        left = [self.nodes[0]] + [f"{a} {v}" for a, v in zip(self.arrows[: head - 1],
                                                             self.nodes[1:head], strict=True)]
        right = [f"{a} {v}" for a, v in zip(self.arrows[-tail:], self.nodes[-tail:],
                                            strict=True)]
        cut = len(self.nodes) - head - tail
        return " ".join([*left, f"{self.arrows[head - 1]} ... ({cut} more) ...", *right])

    def status(self) -> str:
        """``open``, ``blocked by age``, ``blocked at collider m`` (plain words)."""
        opened = "".join(
            f"; {c} opened by conditioning on {m}" if c == m
            else f"; collider {c} opened by conditioning on its descendant {m}"
            for c, m in self.opened_at
        )
        if self.open:
            return "open" + opened
        words = []
        if self.blocked_by:
            words.append(f"blocked by {', '.join(self.blocked_by)}")
        if self.closed_at:
            words.append(f"blocked at collider {', '.join(self.closed_at)}")
        return "; ".join(words) + opened

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self),
            "nodes": list(self.nodes),
            "arrows": list(self.arrows),
            "open": self.open,
            "blocked_by": list(self.blocked_by),
            "closed_at": list(self.closed_at),
            "opened_at": [list(p) for p in self.opened_at],
            "unobserved": list(self.unobserved),
        }

    def to_json(self) -> str:
        return _json(self.to_dict())


@dataclass(frozen=True, slots=True)
class BackdoorPaths:
    """The backdoor paths of ``treatment -> outcome`` (shortest first, capped) given a set."""

    treatment: str
    outcome: str
    given: frozenset[str]
    paths: tuple[PathStatus, ...]
    truncated: bool  # more paths exist than were listed (or the search budget ran out)

    def __iter__(self) -> Iterator[PathStatus]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def open(self) -> tuple[PathStatus, ...]:
        return tuple(p for p in self.paths if p.open)

    def __str__(self) -> str:
        head = f"backdoor paths from {self.treatment} to {self.outcome}"
        if self.given:
            head += f" given {fmt_set(self.given)}"
        if not self.paths:
            return head + ": none"
        lines = [head + ":"]
        width = max(len(p.short()) for p in self.paths)
        lines += [f"  {p.short().ljust(width)}  {p.status()}" for p in self.paths]
        if self.truncated:
            lines.append(f"  ... more paths not shown (first {len(self.paths)} listed)")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Implication:
    """A conditional independence the graph implies: ``x ⊥ y | given``."""

    x: str
    y: str
    given: frozenset[str] = frozenset()

    def __str__(self) -> str:
        if not self.given:
            return f"{self.x} ⊥ {self.y}"
        return f"{self.x} ⊥ {self.y} | {', '.join(sorted(self.given))}"

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "given": sorted(self.given), "text": str(self)}

    def to_json(self) -> str:
        return _json(self.to_dict())


@dataclass(frozen=True, slots=True)
class Implications:
    """One minimal implication per pair of non-adjacent observed variables (DAGitty's
    "missing edge" basis). `complete` is False when the list was cut at `limit`;
    `pairs` counts the non-adjacent observed pairs; pairs joined only through latent
    variables imply nothing testable and are skipped."""

    items: tuple[Implication, ...]
    complete: bool
    pairs: int

    def __iter__(self) -> Iterator[Implication]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Implication:
        return self.items[i]

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.items)


@dataclass(frozen=True, slots=True)
class Instrument:
    """``z`` is an instrument for ``treatment -> outcome`` when conditioning on `given`."""

    z: str
    given: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.z if not self.given else f"{self.z} given {fmt_set(self.given, 12)}"

    def to_dict(self) -> dict[str, Any]:
        return {"instrument": self.z, "given": sorted(self.given)}

    def to_json(self) -> str:
        return _json(self.to_dict())


@dataclass(frozen=True, slots=True)
class OptimalSet:
    """The O-set of Henckel, Perković & Maathuis (2022) when it can be used, else why not."""

    set: frozenset[str] | None
    note: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The adjustment set the engine recommends for one question, and which policy chose it.

    `kind` is ``"optimal"`` (the O-set: valid, observed, the smallest asymptotic variance),
    ``"smallest"`` (the O-set cannot be used: a valid set of minimum size), or ``""`` when no
    valid set exists (`set` is None). `optimal` says why the O-set was or was not used."""

    set: frozenset[str] | None
    kind: str
    optimal: OptimalSet

    @property
    def identifiable(self) -> bool:
        return self.set is not None
