"""Lines → columns for the fast path (`causal_dsl.parse_fast`): the bulk lanes and the checks.

In: the lines of a normalised text (``text.split("\\n")``). Out: `Lanes`, the line numbers and
the blank-separated pieces of the lines of the six commonest shapes, each written with single
spaces and nothing else (the rest are the caller's, listed in `Lanes.rest`):

* ``a -> b`` (any of ``->``, ``<-``, ``<->``), ``a -> b -> c``,
* ``{a, b} -> c`` and ``a -> {b, c}``,
* ``var name: type`` with a lower-case type word, ``latent name``;

and `Pairs`, the written pairs of every arrow line as columns, to which the lanes add theirs
with no Python code per line. In an ASCII text, `Quick` takes the same arrow lines and
``var name: type`` first, from the text's bytes with numpy, and leaves `Lanes` the others.
`Lookup` gives each name its id (numpy string rows and a hash table), and `edges_ok` then
checks the model's edges as numpy arrays of integer ids. Raises nothing: a piece that is not
what its lane assumed (a name that is not a declared plain name, a declared name that is not a
plain name) shows up as an unknown id or a failed `plain_names`, and the caller decides
(`causal_dsl.parse_fast` re-reads the text without the lanes, then hands over to the grammar).

Why lanes: ``str.split(" ")`` of a line and a length test cost a fraction of a regular
expression with thirteen groups (0.15 s against 0.7 s for the 360,000 lines of a
100,000-variable study), and the names need no check of their own: an arrow's names are looked
up among the declared plain names, which are checked once, in one regular-expression pass over
all of them joined.
"""

from __future__ import annotations

import operator
import re
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

from .errors import Span

CODE = {"->": 0, "<-": 1, "<->": 2}
_new = tuple.__new__


class Lanes:
    """The pieces and the line number (from 1, as in a span) of each line of each bulk shape,
    in line order; `rest`: the index (from 0) of every other line that is not blank."""

    def __init__(self, lines: list[str], types: frozenset[str], at: list[int] | None = None
                 ) -> None:
        # `a op b`, the commonest line, as three columns: its pieces die in the loop
        self.arrow_a: list[str] = []
        self.arrow_op: list[str] = []
        self.arrow_b: list[str] = []
        self.arrow_at: list[int] = []
        self.chains: list[list[str]] = []
        self.chain_at: list[int] = []
        self.left_groups: list[list[str]] = []  # {a, b} -> c
        self.left_at: list[int] = []
        self.right_groups: list[list[str]] = []  # a -> {b, c}
        self.right_at: list[int] = []
        self.var_names: list[str] = []
        self.var_types: list[str] = []
        self.var_at: list[int] = []
        self.latents: list[list[str]] = []
        self.latent_at: list[int] = []
        self.rest: list[int] = []
        self._classify(lines, types, at)
        self.var_names = [s[:-1] for s in self.var_names]  # `x:` -> `x`

    def _classify(self, lines: list[str], types: frozenset[str], at: list[int] | None
                  ) -> None:
        """One Python loop, a few tests a line: the one place with code per line. An arrow's
        operator is kept as the one string `CODE` holds (the line's own copy dies here).
        `at`: the lines to read (from 0, in order; `Quick` took the others), else all."""
        ops = {op: op for op in CODE}
        arrow_a, arrow_op = self.arrow_a.append, self.arrow_op.append
        arrow_b, arrow_at = self.arrow_b.append, self.arrow_at.append
        chains, chain_at = self.chains.append, self.chain_at.append
        lefts, left_at = self.left_groups.append, self.left_at.append
        rights, right_at = self.right_groups.append, self.right_at.append
        var_names, var_types = self.var_names.append, self.var_types.append
        var_at = self.var_at.append
        latents, latent_at = self.latents.append, self.latent_at.append
        rest = self.rest.append
        if at is None:
            numbered: Iterable[tuple[int, list[str]]] = enumerate(
                map(str.split, lines, repeat(" ")), 1)
        else:
            numbered = zip(map((1).__add__, at),
                           map(str.split, map(lines.__getitem__, at), repeat(" ")), strict=True)
        for i, p in numbered:
            n = len(p)
            if n == 3:
                a, op, b = p
                known = ops.get(op)
                if known is not None:
                    arrow_a(a)
                    arrow_op(known)
                    arrow_b(b)
                    arrow_at(i)
                    continue
                if a == "var" and b in types and op[-1:] == ":":
                    var_names(op)
                    var_types(b)
                    var_at(i)
                    continue
            elif n == 5:
                if p[1] in ops and p[3] in ops:
                    chains(p)
                    chain_at(i)
                    continue
            elif n == 4:
                if (p[2] in ops and p[0][:1] == "{" and p[0][-1:] == ","
                        and p[1][-1:] == "}"):
                    lefts(p)
                    left_at(i)
                    continue
                if (p[1] in ops and p[2][:1] == "{" and p[2][-1:] == ","
                        and p[3][-1:] == "}"):
                    rights(p)
                    right_at(i)
                    continue
            elif n == 2:
                if p[0] == "latent":
                    latents(p)
                    latent_at(i)
                    continue
            elif n == 1 and not p[0]:
                continue  # a blank line
            rest(i - 1)

    def names(self) -> list[str]:
        """Every name the var and latent lanes declare (to be checked by `plain_names`)."""
        return self.var_names + [p[1] for p in self.latents]


def plain_names(name: str, names: list[str]) -> bool:
    """Whether every one of `names` is a plain name (`name`, the grammar's NAME that is no
    keyword): one regular-expression pass over all of them, one a line."""
    if not names:
        return True
    return re.fullmatch(rf"(?:{name}\n)*+{name}", "\n".join(names)) is not None


class Pairs:
    """Written pairs as columns: left name, right name, operator, span, line."""

    def __init__(self) -> None:
        self.left: list[str] = []
        self.right: list[str] = []
        self.ops: list[str] = []
        self.spans: list[Span] = []
        self.lines: list[int] = []

    def add(self, op: str, x: str, y: str, span: Span) -> None:
        self.left.append(x)
        self.right.append(y)
        self.ops.append(op)
        self.spans.append(span)
        self.lines.append(span.line)

    def extend(self, path: str | None, nums: list[int], starts: Iterable[int],
               ends: Iterable[int], ops: Sequence[str], x: Sequence[str], y: Sequence[str]
               ) -> None:
        """One pair a row: line `nums`, columns `starts` to `ends`, operator text `ops`."""
        self.left += x
        self.right += y
        self.ops += ops
        self.spans += map(_new, repeat(Span), zip(repeat(path), nums, starts, nums, ends))
        self.lines += nums

    def add_lanes(self, path: str | None, lanes: Lanes, lines: list[str]) -> None:
        """The pairs of the arrow lanes (of `lines`), each lane by columns. Within a line the
        resolver's order (first pair, then second; left names in turn) holds because the
        lanes add them in that order and the caller sorts by line with a stable sort."""
        lines = ["", *lines]  # by line number
        ends: Iterable[int]
        get0, get1, get2 = (operator.itemgetter(k) for k in range(3))
        get3, get4 = operator.itemgetter(3), operator.itemgetter(4)
        if lanes.arrow_at:  # the statement's span: the whole line
            nums = lanes.arrow_at
            ends = map((1).__add__, map(len, map(lines.__getitem__, nums)))
            self.extend(path, nums, repeat(1), ends, lanes.arrow_op, lanes.arrow_a,
                        lanes.arrow_b)
        if lanes.chains:  # each pair from its left name to its right name
            p = lanes.chains
            nums = lanes.chain_at
            a, op1, b = list(map(get0, p)), list(map(get1, p)), list(map(get2, p))
            op2, c = list(map(get3, p)), list(map(get4, p))
            la, lb = list(map(len, a)), list(map(len, b))
            mid = list(map(sum, zip(la, map(len, op1), repeat(3))))  # where b starts
            self.extend(path, nums, repeat(1), list(map(sum, zip(mid, lb, strict=True))), op1, a, b)
            ends = list(map(sum, zip(mid, lb, map(len, op2), map(len, c), repeat(2))))
            self.extend(path, nums, mid, ends, op2, b, c)
        for p, at, right in ((lanes.left_groups, lanes.left_at, False),
                             (lanes.right_groups, lanes.right_at, True)):
            if not p:
                continue
            nums = at
            pieces = [list(map(g, p)) for g in (get0, get1, get2, get3)]
            ends = list(map((1).__add__, map(len, map(lines.__getitem__, at))))
            if right:  # a -> {b, c}: (a, b) then (a, c)
                a, op, b, c = pieces[0], pieces[1], pieces[2], pieces[3]
                b, c = [s[1:-1] for s in b], [s[:-1] for s in c]
                self.extend(path, nums, repeat(1), ends, op, a, b)
                self.extend(path, nums, repeat(1), ends, op, a, c)
            else:  # {a, b} -> c: (a, c) then (b, c)
                a, b, op, c = pieces[0], pieces[1], pieces[2], pieces[3]
                a, b = [s[1:-1] for s in a], [s[:-1] for s in b]
                self.extend(path, nums, repeat(1), ends, op, a, c)
                self.extend(path, nums, repeat(1), ends, op, b, c)


class Quick:
    """The lines of the commonest shapes in an ASCII text without NUL, found in its bytes by
    numpy with no Python code per line: the arrow lines of `Lanes` (``a -> b``, ``a -> b ->
    c``, ``{a, b} -> c``, ``a -> {b, c}``, single blanks, every name non-empty) and
    ``var name: type`` (the type one of `types` as written). Of each written pair, in the
    resolver's order within a line: its `line` (from 1), the operator's `code` (`CODE`),
    where each name starts and its length, and its span's columns (`first`, `last`); no
    string is made: the lookup reads the names as a fixed-width array (`column`). Of a `var`
    line: `var_at`, `var_names` (sliced from the text) and `var_types` (words of `types`).
    `others`: every other line (from 0), for `Lanes`.

    Why: the commonest lines of a large study; ``str.split`` alone makes three strings of each
    (0.15 s for the 360,000 lines of a 100,000-variable study), then the lookup a numpy array
    of them again. Like a lane, it does not check its pieces: one that is not a declared plain
    name makes the caller read the text again without it (`plain_names` checks the
    declared ones)."""

    def __init__(self, np: Any, text: str, types: Sequence[str]) -> None:
        buf = np.frombuffer(text.encode("ascii"), np.uint8)
        size = buf.size
        self.buf = np.concatenate((buf, np.zeros(40, np.uint8)))  # rows read past the end
        breaks = np.flatnonzero(buf == 10)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [size]))
        blanks = np.flatnonzero(buf == 32)
        first = np.searchsorted(blanks, starts)
        count = np.searchsorted(blanks, ends) - first
        taken = np.zeros(starts.size, bool)
        pairs: list[tuple[Any, ...]] = []  # line, code, a start, a end, b start, b end, first
        for n in (2, 3, 4):
            lines = np.flatnonzero(count == n)
            at = blanks[first[lines][:, None] + np.arange(n)]
            begin, end = starts[lines], ends[lines]
            cuts = [begin, *(at[:, k] + 1 for k in range(n))]  # where each piece starts
            stops = [*(at[:, k] for k in range(n)), end]
            full = (begin, end)  # a pair's span: the whole line
            if n == 2:  # a op b
                code = self._op(np, cuts[1], stops[1])
                ok = (code >= 0) & (stops[0] > cuts[0]) & (stops[2] > cuts[2])
                pairs.append((lines, code, cuts[0], stops[0], cuts[2], stops[2], *full, ok))
            elif n == 4:  # a op b op c: from a to b, then from b to c
                code, second = self._op(np, cuts[1], stops[1]), self._op(np, cuts[3], stops[3])
                ok = (code >= 0) & (second >= 0)
                for k in (0, 2, 4):
                    ok &= stops[k] > cuts[k]
                pairs.append((lines, code, cuts[0], stops[0], cuts[2], stops[2], begin,
                              stops[2], ok))
                pairs.append((lines, second, cuts[2], stops[2], cuts[4], stops[4], cuts[2],
                              end, ok))
            else:  # {a, b} op c, then a op {b, c}: the names inside the braces
                one = self._rows(np, cuts[0], 1)[:, 0]
                ends_of = [self.buf[stops[k] - 1] for k in range(4)]
                code = self._op(np, cuts[2], stops[2])
                ok = ((code >= 0) & (one == ord("{")) & (ends_of[0] == ord(","))
                      & (ends_of[1] == ord("}")) & (stops[0] - cuts[0] > 2)
                      & (stops[1] - cuts[1] > 1) & (stops[3] > cuts[3]))
                a, b = (cuts[0] + 1, stops[0] - 1), (cuts[1], stops[1] - 1)
                pairs.append((lines, code, *a, cuts[3], stops[3], *full, ok))
                pairs.append((lines, code, *b, cuts[3], stops[3], *full, ok))
                taken[lines[ok]] = True
                code = self._op(np, cuts[1], stops[1])
                two = self._rows(np, cuts[2], 1)[:, 0]
                ok = ((code >= 0) & (two == ord("{")) & (ends_of[2] == ord(","))
                      & (ends_of[3] == ord("}")) & (stops[2] - cuts[2] > 2)
                      & (stops[3] - cuts[3] > 1) & (stops[0] > cuts[0]))
                b, c = (cuts[2] + 1, stops[2] - 1), (cuts[3], stops[3] - 1)
                pairs.append((lines, code, cuts[0], stops[0], *b, *full, ok))
                pairs.append((lines, code, cuts[0], stops[0], *c, *full, ok))
            taken[lines[ok]] = True
            if n == 2:
                self._var(np, text, types, lines, cuts, stops, taken)
        kept = [tuple(c[p[-1]] for c in p[:-1]) for p in pairs]
        line, self.code, a0, a1, b0, b1, span0, span1 = (
            np.concatenate([p[k] for p in kept]) for k in range(8))
        order = np.argsort(line, kind="stable")  # a line's pairs in the order appended
        self.line = line[order] + 1
        self.code = self.code[order]
        self.a_start, self.a_len = a0[order], (a1 - a0)[order]
        self.b_start, self.b_len = b0[order], (b1 - b0)[order]
        begin = starts[line[order]]
        self.first, self.last = span0[order] - begin + 1, span1[order] - begin + 1
        self.taken = taken
        self.others: list[int] = np.flatnonzero(~taken).tolist()
        self._bounds = (starts[self.others].tolist(), ends[self.others].tolist())

    def lines(self, text: str) -> list[str]:
        """The lines of `text` (as ``text.split("\\n")``) with those taken here left empty:
        the caller reads only the others, and a split would make every line a string."""
        lines = [""] * len(self.taken)
        deque(map(lines.__setitem__, self.others,
                  map(text.__getitem__, map(slice, *self._bounds))), maxlen=0)
        return lines

    def _op(self, np: Any, start: Any, stop: Any) -> Any:
        """The `CODE` of each piece, -1 for a piece that is no arrow operator."""
        head = self._rows(np, start, 3)
        c0, c1, c2 = head[:, 0], head[:, 1], head[:, 2]
        minus, gt, lt = ord("-"), ord(">"), ord("<")
        width = stop - start
        code = np.full(start.size, -1, np.int8)
        code[(width == 2) & (c0 == minus) & (c1 == gt)] = 0
        code[(width == 2) & (c0 == lt) & (c1 == minus)] = 1
        code[(width == 3) & (c0 == lt) & (c1 == minus) & (c2 == gt)] = 2
        return code

    def _var(self, np: Any, text: str, types: Sequence[str], lines: Any, cuts: list[Any],
             stops: list[Any], taken: Any) -> None:
        """The `var name: type` lines among `lines` (of three pieces)."""
        buf = self.buf
        var = np.flatnonzero((stops[0] - cuts[0] == 3) & (stops[1] - cuts[1] > 1)
                             & (buf[stops[1] - 1] == ord(":")))
        word = self._rows(np, cuts[0][var], 3)
        var = var[(word[:, 0] == ord("v")) & (word[:, 1] == ord("a")) & (word[:, 2] == ord("r"))]
        longest = max(map(len, types))
        typed = self._rows(np, cuts[2][var], longest)
        length = stops[2][var] - cuts[2][var]
        kind = np.full(var.size, -1, np.int64)
        for k, t in enumerate(types):
            word = np.frombuffer(t.encode("ascii"), np.uint8)
            kind[(length == len(t)) & (typed[:, :len(t)] == word).all(axis=1)] = k
        var = var[kind >= 0]
        taken[lines[var]] = True
        self.var_at: list[int] = (lines[var] + 1).tolist()
        self.var_names: list[str] = self._pieces(np, text, cuts[1][var], stops[1][var] - 1)
        self.var_types: list[str] = list(map(list(types).__getitem__, kind[kind >= 0].tolist()))

    def _pieces(self, np: Any, text: str, start: Any, stop: Any) -> list[str]:
        """The strings ``text[start:stop]`` (each non-empty, no NUL in the text).

        Why by rows of bytes made strings by `tolist` (which drops the NUL padding) when they
        are short: a slice object and a slicing call a piece cost more (7 ms of 110 in `Quick`)."""
        length = stop - start
        width = int(length.max()) if length.size else 0
        if not 0 < width <= 32:  # a long piece would make every row that wide
            return list(map(text.__getitem__, map(slice, start.tolist(), stop.tolist())))
        chars = self._rows(np, start, width)
        chars = np.where(np.arange(width) < length[:, None], chars, 0)
        out: list[str] = chars.view(f"S{width}").reshape(start.size).astype(f"U{width}").tolist()
        return out

    def _rows(self, np: Any, start: Any, width: int) -> Any:
        """The `width` bytes from each of `start` (zeros past the end), one row each."""
        window = np.lib.stride_tricks.sliding_window_view(self.buf, width)
        return window[start]

    def column(self, np: Any, right: bool, width: int) -> Any:
        """The left (or right) pieces as a ``<U{width}`` array, as ``np.array(strings)``
        makes it; a longer piece is cut to `width` characters (so equal to no shorter name)."""
        start, length = (self.b_start, self.b_len) if right else (self.a_start, self.a_len)
        chars = self._rows(np, start, width)
        chars = np.where(np.arange(width) < length[:, None], chars, 0).astype(np.uint32)
        return chars.view(f"<U{width}").reshape(start.size)

    def strings(self, text: str, right: bool) -> list[str]:
        """The left (or right) pieces as strings (for the dict lookup)."""
        start, length = (self.b_start, self.b_len) if right else (self.a_start, self.a_len)
        begin = start.tolist()
        return list(map(text.__getitem__, map(slice, begin, (start + length).tolist())))


def edges_ok(np: Any, n: int, sources: Any, targets: Any, both: Any) -> bool:
    """No self-loop (E203), no arrow twice (E204), one direction per pair (E205) and no cycle
    (E206), checked on whole columns of integer ids (among `n` names, all known) with numpy:
    the edges' `sources` and `targets` as the model stores them, in any order, `both` marking
    the bidirected ones.

    Why numpy: the checks on a 300,000-arrow file as Python sets cost more than the name
    lookups themselves; as sorted int64 codes (source * n + target) they take milliseconds.
    """
    for kept, directed in ((~both, True), (both, False)):
        s, t = sources[kept], targets[kept]
        m = len(s)
        if not m:
            continue
        if (s == t).any():
            return False
        codes = np.sort(s * n + t)
        if (codes[1:] == codes[:-1]).any():
            return False
        if not directed:
            continue
        down = s < t
        if down.all() or not down.any():
            # every arrow goes down (or every one up) the declaration order: a topological
            # order, so no cycle and no pair both ways (the usual way of writing a study)
            continue
        back = t[down] * n + s[down]  # of a pair written both ways, one arrow goes down
        at = np.minimum(np.searchsorted(codes, back), m - 1)
        if (codes[at] == back).any():
            return False
        if not _acyclic(np, n, s, t):
            return False
    return True


class Lookup:
    """The position of a name among `names` (distinct), -1 for a name not there.

    Why not a dict: 600,000 lookups in a 100,000-name dict miss the cache nearly every time
    (0.25 s), and so does anything that reads each Python string once more (its `hash`, its
    `len`). Here a column becomes one fixed-width numpy string array, one character wider
    than the longest name (so a longer name is cut, never equal), the only pass over the
    strings; a hash of each row (`fingerprints`) is looked up at once in an open-addressing
    table of the names' hashes held in two numpy arrays (at most half full, linear probing),
    a few vectorised probes in all; a match is confirmed by comparing the two rows. With a
    NUL character in the text (numpy pads with NULs: ``"a\\0"`` would equal ``"a"``), a name
    longer than 32 characters, or two names with one hash, a dict does it (`table` None)."""

    def __init__(self, np: Any, names: list[str], nul_free: bool) -> None:
        self.np, self.names = np, names
        n = len(names)
        self.width = max(map(len, names), default=0) + 1
        self.table: tuple[Any, Any, int] | None = None
        self.index: dict[str, int] | None = None
        if n and nul_free and self.width <= 33:
            self.text = np.array(names, f"<U{self.width}")
            hashes = fingerprints(np, self.text)
            ordered = np.sort(hashes)
            if not (ordered[1:] == ordered[:-1]).any():  # distinct hashes
                mask = (1 << (2 * n).bit_length()) - 1
                self.table = (*_table(np, hashes, mask), mask)
        if self.table is None:
            self.index = dict(zip(names, range(n), strict=True))

    def strings(self, column: list[str]) -> Any:
        """The ids of a column of strings."""
        np = self.np
        if self.index is not None:
            return np.fromiter(map(self.index.get, column, repeat(-1)), np.int64, len(column))
        assert self.table is not None
        return self.rows(np.array(column, f"<U{self.width}"))

    def rows(self, column: Any) -> Any:
        """The ids of a ``<U{width}`` array's rows (with a table only)."""
        assert self.table is not None
        return _found(self.np, self.text, self.table, column)


def fingerprints(np: Any, rows: Any) -> Any:
    """A 64-bit polynomial hash of each string of a fixed-width numpy string array, from its
    characters' code points (NUL padding included), wrapping around."""
    codes = rows.view(np.uint32).reshape(rows.size, rows.itemsize // 4)
    out = np.zeros(rows.size, np.uint64)
    step = np.uint64(0x9E3779B97F4A7C15)
    for k in range(codes.shape[1]):
        out *= step
        out += codes[:, k]
        out ^= out >> np.uint64(29)
    return out


def _found(np: Any, text: Any, table: tuple[Any, Any, int], column: Any) -> Any:
    """The position in `text` (the names' rows) of each row of `column`, -1 for one not
    there; `table` holds the names' hashes (`_table`) and its mask."""
    keys, slots, mask = table
    m = column.size
    h = fingerprints(np, column)
    at = (h & np.uint64(mask)).astype(np.int64)
    found = np.full(m, -1, np.int64)
    todo = np.arange(m)
    while todo.size:  # probe until the name's hash or an empty slot
        where = at[todo]
        i = slots[where]
        hit = keys[where] == h[todo]
        hit &= i >= 0
        found[todo[hit]] = i[hit]
        todo = todo[(i >= 0) & ~hit]
        at[todo] = (at[todo] + 1) & mask
    rows = np.flatnonzero(found >= 0)
    found[rows[text[found[rows]] != column[rows]]] = -1  # the same hash, another name
    return found


def _table(np: Any, hashes: Any, mask: int) -> tuple[Any, Any]:
    """An open-addressing hash table of `hashes` (distinct) with linear probing: the hash
    and the position of the name in each slot, -1 for an empty slot."""
    keys = np.zeros(mask + 1, np.uint64)
    slots = np.full(mask + 1, -1, np.int64)
    pending = np.arange(hashes.size)
    at = (hashes & np.uint64(mask)).astype(np.int64)
    while pending.size:  # each round, one name takes each free slot wanted
        free = np.flatnonzero(slots[at[pending]] == -1)
        taken, first = np.unique(at[pending[free]], return_index=True)
        won = pending[free[first]]
        slots[taken] = won
        keys[taken] = hashes[won]
        left = np.ones(pending.size, bool)
        left[free[first]] = False
        pending = pending[left]
        at[pending] = (at[pending] + 1) & mask
    return keys, slots


def _acyclic(np: Any, n: int, sources: Any, targets: Any) -> bool:
    """Kahn's algorithm on integer ids, one frontier (every node with no parent left) at a
    time: each step is a few numpy operations on the frontier's children."""
    order = np.argsort(sources, kind="stable")
    children = targets[order]
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(sources, minlength=n), out=starts[1:])
    indegree = np.bincount(targets, minlength=n)
    frontier = np.flatnonzero(indegree == 0)
    taken = 0
    while frontier.size:
        taken += frontier.size
        first = starts[frontier]
        counts = starts[frontier + 1] - first
        total = int(counts.sum())
        if not total:
            break
        # the children of the frontier: the concatenated ranges first[i] .. first[i]+counts[i]
        offsets = np.repeat(first - (np.cumsum(counts) - counts), counts)
        kids, dropped = np.unique(children[offsets + np.arange(total)], return_counts=True)
        indegree[kids] -= dropped
        frontier = kids[indegree[kids] == 0]
    return taken == n


__all__ = ["CODE", "Lanes", "Lookup", "Pairs", "Quick", "edges_ok", "fingerprints", "plain_names"]
