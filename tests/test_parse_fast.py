"""The bulk fast path (`causal_dsl.parse_fast`) against the exact path (grammar + resolver).

For every generated file: when the exact path builds a model, the fast path builds the same
model, spans included (the dataclasses leave spans out of equality, so they are compared here
one by one); when the exact path reports anything, the fast path declines (None), and
`causal_dsl.parse` reports exactly what the exact path reports. The files mix every line shape
the fast path takes with the ones it must hand over: odd blanks, comments, CRLF and lone CR,
a byte-order mark, keywords and quoted names, escapes and control characters in strings,
groups, chains, and the mistakes the resolver reports (unknown names, repeats, self-loops,
arrows both ways, cycles, unknown types).
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import causal_dsl.recover as recover
from causal_dsl.errors import CausalError
from causal_dsl.model import Model
from causal_dsl.parse_fast import fast_model
from causal_dsl.resolve import resolve
from causal_dsl.syntax import parse_recovering


def exact(text: str, path: str | None = None) -> Model | None:
    """The exact path alone: None when it reports any problem."""
    tree, problems = parse_recovering(text, path)
    if problems:
        return None
    try:
        return resolve(tree, check_files=False)
    except CausalError:
        return None


def dump(model: Model) -> Any:
    """Everything a model holds, spans included."""
    return (
        model,
        model.title, model.data, model.source, model.path, model.layout,
        [(v, v.span, v.type, v.label, v.column, v.levels, v.latent, v.invariant, v.selected,
          v.derived) for v in model.variables],
        [(e, e.span, e.bidirected) for e in model.edges],
        [(q, q.span) for q in model.queries],
    )


def check(text: str, path: str | None = None) -> None:
    want = exact(text, path)
    got = fast_model(text, path, check_files=False)
    if want is None:
        assert got is None
    else:
        assert got is not None, text
        assert dump(got) == dump(want)
    # the public entry point: the same model or the same diagnostics, message for message
    recover.fast_model, saved = (lambda *a, **k: None), recover.fast_model  # type: ignore
    try:
        slow = _outcome(text, path)
    finally:
        recover.fast_model = saved  # type: ignore[assignment]
    assert _outcome(text, path) == slow


def _outcome(text: str, path: str | None) -> Any:
    try:
        return dump(recover.parse_model(text, path, check_files=False))
    except CausalError as error:
        return [(d.code, d.message, d.span, d.notes, d.help) for d in error.diagnostics], str(
            error)


# --- generated files -------------------------------------------------------------------------
NAMES = ["a", "b", "c", "d", "e", "x.1", "_y", "z9", "for", "as", "data", "var", "invariant",
         "`q r`", "Long_Name.v2"]
TYPES = ["binary", "continuous", "count", "Binary", "COUNT", "ordinal", "categorical",
         "continuos", "as"]
BLANKS = ["", " ", "  ", "\t", " \t ", "\f"]
OPS = ["->", "<-", "<->"]
STRINGS = ['"lab"', '""', '"a # b"', '"esc \\" q"', '"tab\there"', '"bell\x07"', '"col_1"',
           '"é ü"', '"\\u00e9"']


def _b(rng: random.Random) -> str:
    return rng.choice(BLANKS)


def _term(rng: random.Random, names: list[str]) -> str:
    if rng.random() < 0.2:
        members = rng.sample(names, rng.randint(1, 3))
        inside = f"{_b(rng)},{_b(rng)}".join(members) + ("," if rng.random() < 0.3 else "")
        return "{" + _b(rng) + inside + _b(rng) + "}"
    return rng.choice(names)


def _line(rng: random.Random, names: list[str]) -> str:
    kind = rng.random()
    if kind < 0.45:
        terms = [_term(rng, names) for _ in range(rng.choice([2, 2, 2, 3, 4]))]
        out = terms[0]
        for t in terms[1:]:
            sep = rng.choice(OPS)
            out += (_b(rng) or " " if rng.random() < 0.8 else "") + sep + _b(rng) + t
        return out
    if kind < 0.75:
        out = f"var{rng.choice([' ', chr(9), '  '])}{rng.choice(names)}{_b(rng)}:{_b(rng)}"
        out += rng.choice(TYPES)
        if rng.random() < 0.1:
            out += '("lo", "hi")'
        if rng.random() < 0.3:
            out += f"{rng.choice([' ', '  ', ''])}as{_b(rng)}{rng.choice(STRINGS)}"
        if rng.random() < 0.4:
            out += _b(rng) + rng.choice(STRINGS)
        return out
    if kind < 0.88:
        out = f"latent {rng.choice(names)}"
        if rng.random() < 0.3:
            out += rng.choice([" invariant", "  invariant", "invariant", " invariantx"])
        if rng.random() < 0.4:
            out += _b(rng) + rng.choice(STRINGS)
        return out
    return rng.choice(["", "# just a comment", "study \"T\"", "x -> -> y", "x -> 1",
                       "var : binary", "selected s", "layout a = (0.1, 0.2)",
                       "query q: ate(a -> b)", "query q2: ate(b -> c) adjust for {a}",
                       "a - > b", "a <- > b", "a<->b", "a->b", "`a` -> b", "{a} -> b",
                       "a -> {b, c,}", "{} -> a", "var a: binary when x == 1", "\x0b"])


def _clean_line(rng: random.Random, order: list[str]) -> tuple[str, set[frozenset[str]]]:
    """An arrow line that resolves (its names follow the causal order `order`), and its pairs."""
    picked = sorted(rng.sample(range(len(order)), min(len(order), rng.randint(2, 4))))
    if len(picked) < 2:
        return "# short", set()
    if rng.random() < 0.3 and len(picked) >= 3:  # a group into the last name
        group = ", ".join(order[i] for i in picked[:-1])
        last = order[picked[-1]]
        return (f"{{{_b(rng)}{group}{_b(rng)}}}{_b(rng)} ->{_b(rng)}{last}",
                {frozenset((order[i], last)) for i in picked[:-1]})
    names = [order[i] for i in picked[: rng.choice([2, 2, 3])]]
    pairs = {frozenset(p) for p in itertools.pairwise(names)}
    if rng.random() < 0.3:
        return f"{names[1]}{_b(rng)} <-{_b(rng)}{names[0]}", {frozenset(names[:2])}
    op = " <-> " if len(names) == 2 and rng.random() < 0.2 else rng.choice([" -> ", "->"])
    return op.join(names), pairs


def generate(seed: int) -> str:
    rng = random.Random(seed)
    names = rng.sample(NAMES, rng.randint(3, len(NAMES)))
    messy = rng.random() < 0.4
    # a keyword starting an arrow line is a syntax error (`data -> x`): only in messy files
    plain = [n for n in names if (n.isidentifier() or "." in n)
             and (messy or n not in ("for", "as", "data", "var", "invariant"))]
    used: set[frozenset[str]] = set()
    lines: list[str] = []
    for k, n in enumerate(plain):  # declare the plain names, with labels and columns
        if rng.random() < 0.8:
            line = f"var {n}:{_b(rng)}{rng.choice(['binary', 'continuous', 'Count'])}"
            if rng.random() < 0.3:
                line += f' as "col{k}"'
            if rng.random() < 0.3:
                line += _b(rng) + rng.choice(['"lab"', '""', '"a # b"', '"tab\there"'])
        else:
            line = f"latent {n}" + rng.choice(["", ' "h"', " invariant", ' invariant"h"'])
        lines.append(line)
    order = list(plain)
    rng.shuffle(order)  # the causal order, often not the order of declaration
    if rng.random() < 0.5:
        rng.shuffle(lines)  # declarations after use are fine; order still matters
    for _ in range(rng.randint(0, 14)):
        line, pairs = (_line(rng, names), set()) if messy else _clean_line(rng, order)
        if pairs & used:
            continue  # the same pair twice is E204: a messy file's business
        used |= pairs
        if rng.random() < 0.2:
            line += _b(rng) + "# note " + rng.choice(["", "-> x", "\"q"])
        lines.insert(rng.randint(0, len(lines)), _b(rng) + line + _b(rng))
    end = rng.choice(["\n", "\n", "\r\n", "\r"])
    text = end.join(lines) + (end if rng.random() < 0.8 else "")
    if rng.random() < 0.1:
        text = "\ufeff" + text
    return text


@pytest.mark.parametrize("seed", range(600))
def test_fast_path_equals_exact_path(seed: int) -> None:
    check(generate(seed), "s.causal" if seed % 2 else None)


def test_generated_files_mostly_take_the_fast_path() -> None:
    """The comparison above means something only if the fast path often succeeds."""
    texts = [generate(seed) for seed in range(600)]
    assert sum(fast_model(t) is not None for t in texts) > 250
    assert sum(exact(t) is None for t in texts) > 150


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(
    ["a -> b", "b -> c", "c -> a", "a <-> b", "b <- c", "a->c", "{a, b} -> c", "a -> b -> c",
     "var a: binary", "var b: count", "var c: continuous", "latent c", "latent d invariant",
     "d -> a", " ", "# c", "a -> a", "var d: binary", "var e: count as \"b\""]), max_size=14))
def test_line_sequences(lines: list[str]) -> None:
    check("\n".join(lines) + "\n")


@pytest.mark.parametrize("text", [
    "", "\n", "# only\n", "var x: binary", "var x: binary\nvar y: count\nx -> y",
    "var x: binary\nvar y: count\ny -> x\n",  # against declaration order
    "var x: binary\nvar y: count\nvar z: count\nx -> y\ny -> z\nz -> x\n",  # a cycle
    "var x: binary\nvar y: count\nx -> y\ny -> x\n",  # both ways
    "var x: binary\nvar y: count\nx -> y\nx -> y\n",  # twice
    "var x: binary\nvar y: count\nx <-> y\ny <-> x\n",
    "var x: binary\nx -> y\n", "var x: Binary\nvar y: COUNT\nx -> y\n",
    "var x: binery\n", "var x: binary\nvar x: count\n",
    'var x: binary as "c"\nvar y: count as "c"\n', 'var x: binary\nvar y: count as "x"\n',
    'var x: binary "a\x01b"\n', 'latent u "\x1b[31m"\nvar x: binary\nu -> x\n',
    "var for: binary\nvar as: count\nfor -> as\n", "var x: binary\ndata -> x\n",
    "var x: categorical(\"a\", \"b\")\nvar y: binary\nx -> y -> x\n",
    "var a: binary\nvar b: binary\nvar c: binary\n{a, b} -> c\nc -> {a}\n",
    "latent u invariant\nlatent invariant\n", "latent u invariantly\n",
])
def test_edge_cases(text: str) -> None:
    check(text, "s.causal")


# --- the bulk checks' branches ---------------------------------------------------------------
def _chain_study(n: int, seed: int, back: tuple[int, int] | None = None) -> str:
    """`n` variables declared in shuffled order, arrows along a causal order (a long chain plus
    shortcuts, some written `<-` or as chains), and optionally one arrow `back` against it."""
    rng = random.Random(seed)
    names = [f"v{i}" for i in range(n)]
    lines = [f"var {v}: binary" for v in names]
    rng.shuffle(lines)
    pairs = {(i, i + 1) for i in range(n - 1)} | {
        (i, j) for i, j in (sorted(rng.sample(range(n), 2)) for _ in range(2 * n))}
    for i, j in sorted(pairs, key=lambda p: rng.random()):
        lines.append(f"v{j} <- v{i}" if rng.random() < 0.2 else f"v{i} -> v{j}")
    lines.append(f"v0 -> v{n - 1} <-> v{n - 2}")
    if back is not None:
        lines.insert(rng.randrange(n, len(lines)), f"v{back[0]} -> v{back[1]}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_deep_graphs_declared_out_of_order(seed: int) -> None:
    """Kahn's algorithm frontier by frontier (a 300-level chain), with and without a cycle."""
    check(_chain_study(300, seed), "s.causal")
    check(_chain_study(300, seed, back=(250, 40 + seed)), "s.causal")  # a long cycle
    text = _chain_study(300, seed)
    assert fast_model(text) is not None and fast_model(_chain_study(300, seed, (1, 0))) is None


LONG = "a_rather_long_variable_name_of_forty_chars"


@pytest.mark.parametrize("text", [
    f"var {LONG}: binary\nvar y: count\n{LONG} -> y\ny <-> {LONG}\n",
    f"var {LONG}: binary\nvar y: count\n{LONG}x -> y\n",  # unknown, longer than any name
    f"var {LONG}: binary\nvar y: count\ny -> {LONG}\n{LONG} -> y\n",
])
def test_long_names_take_the_dict(text: str) -> None:
    check(text, "s.causal")


def test_names_with_one_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lookup by hash is confirmed by the text: a name that only shares a declared
    name's hash is unknown, and declared names sharing a hash take the dict."""
    import causal_dsl.parse_columns as parse_columns

    real = parse_columns.fingerprints
    alias = {"zz": "aa", "b.c": "b"}  # zz: the same length and hash as aa

    def aliased(np: Any, rows: Any) -> Any:
        return real(np, np.array([alias.get(s, s) for s in rows.tolist()], rows.dtype))

    monkeypatch.setattr(parse_columns, "fingerprints", aliased)
    check("var aa: binary\nvar b: count\nvar c: count\naa -> b\nb -> zz\n")  # zz unknown
    check("var aa: binary\nvar b: count\nvar c: count\nzz -> c\n")
    check("var aa: binary\nvar b: count\nvar c: count\nc <-> zz\naa -> b\n")
    check("var aa: binary\nvar b: count\nvar c: count\nc -> aa\nb -> c\n")  # all known
    assert fast_model("var aa: binary\nvar b: count\nb -> aa\nzz -> b\n") is None
    monkeypatch.setattr(parse_columns, "fingerprints",  # every name one hash
                        lambda np, rows: np.zeros(rows.size, np.uint64))
    check("var aa: binary\nvar b: count\nvar c: count\nc -> aa\nb -> c\n")
    check("var aa: binary\nvar b: count\nvar c: count\nc -> aa\nb -> zz\n")
    model = fast_model("var aa: binary\nvar b: count\nvar c: count\nc -> aa\nb -> c\n")
    assert model is not None and [str(e) for e in model.edges] == ["c -> aa", "b -> c"]


# --- the bulk lanes (`causal_dsl.parse_columns.Lanes`) ------------------------------------------
DECLARED = "var a: binary\nvar b: count\nvar c: continuous\nlatent u\n"


@pytest.mark.parametrize("line, lane", [
    ("a -> b", "arrow"), ("b <- a", "arrow"), ("a <-> b", "arrow"), ("a -> b -> c", "chain"),
    ("a <- b <-> c", "chain"), ("{a, b} -> c", "left"), ("c <- {a, b}", "right"),
    ("var x: binary", "var"), ("latent x", "latent"), ("", "blank"),
    ("a  -> b", "rest"), ("a -> b  # c", "rest"), ("a->b", "rest"),
    ("var x: Binary", "rest"), ("var x : binary", "rest"), ('var x: binary "l"', "rest"),
    ("latent x invariant", "rest"), ("{a, b, c} -> d", "rest"), ("a -> b -> c -> d", "rest"),
    ("{a,b} -> c", "arrow"),  # taken, then found not to be names: the text is read again
    ("\ta -> b", "arrow"),
    (" ", "rest"), ("study \"T\"", "rest"),
])
def test_lane_of_each_line(line: str, lane: str) -> None:
    from causal_dsl.parse_columns import Lanes
    from causal_dsl.parse_fast import _TYPE_WORDS

    lanes = Lanes([line], _TYPE_WORDS)
    found = {"arrow": lanes.arrow_at, "chain": lanes.chain_at, "left": lanes.left_at,
             "right": lanes.right_at, "var": lanes.var_at, "latent": lanes.latent_at,
             "rest": [i + 1 for i in lanes.rest]}
    assert {k for k, v in found.items() if v} == (set() if lane == "blank" else {lane})


@pytest.mark.parametrize("text", [
    # the lanes with every operator, and their spans next to the grammar's
    DECLARED + "a -> b\nc <- b\na <-> c\nu -> a -> c\nu <-> b <- a\n",
    DECLARED + "{a, b} -> c\nu -> {a, b}\n{u, a} <-> b\nc <- {a, u}\n",
    DECLARED + "{a, a} -> b\n", DECLARED + "{a, b} -> a\n", DECLARED + "a -> {b, b}\n",
    DECLARED + "{, b} -> c\n", DECLARED + "{a,, b} -> c\n", DECLARED + "{a b} -> c\n",
    # pieces that are not names: the lanes' guess is wrong, the text is read again
    DECLARED + "{a,b} -> c\n", DECLARED + "a -> b#note\n", DECLARED + "`a` -> b\n",
    DECLARED + "a -> {b,c}\n", DECLARED + "a -> b\nx -> c\n", DECLARED + "a -> b -> #\n",
    "var `q`: binary\nvar b: count\nq -> b\n", "var `q r`: binary\nvar b: count\n`q r` -> b\n",
    "var `data`: binary\nvar b: count\nb -> data\n",
    "var `data`: binary\nvar b: count\nb -> `data`\n",
    "var data: binary\nvar b: count\nb -> data\n", "latent for\nvar b: count\nfor -> b\n",
    "var x:: binary\n", "var : binary\n", "latent \n", "var b: count\nlatent b\n",
    # levels of categorical and ordinal variables, in bulk; the others by the grammar
    'var c: categorical("x", "y")\nvar o: ordinal("lo","mid" , "hi") "lab"\nc -> o\n',
    'var c: Categorical ( "x" ) as "col"  # c\nvar d: binary\nc -> d\n',
    'var c: categorical("x", "x")\n', 'var c: count("x")\n', 'var c: binary("no", "yes")\n',
    'var c: binary("no", "no")\n', 'var c: categorical()\n', 'var c: categorical("x",)\n',
    'var c: categorical(1, 2)\n', 'var c: categorical("a\\"b")\n', 'var c: ordinal("\x01")\n',
    'var t: binary(control = "no", treated = "yes")\nvar y: count\nt -> y\n',
    # a NUL character: the lookup by numpy strings would pad it away; a dict does it
    DECLARED + "a -> b # \x00\n", DECLARED + "a\x00 -> b\n", DECLARED + "a -> b\x00\n",
])
def test_lanes_against_the_exact_path(text: str) -> None:
    check(text, "s.causal")


def test_lanes_take_a_large_study_in_one_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's shapes take the lanes and the expressions with no second reading and
    no grammar beyond its header and queries."""
    import causal_dsl.parse_fast as parse_fast

    rng = random.Random(3)
    names = [f"v{i}" for i in range(200)]
    lines = ['study "S"', 'data "d.csv"']
    for i, n in enumerate(names):
        lines.append([f"var {n}: binary", f"latent {n}", f'var {n}: count as "c{i}" "l"',
                      f'var {n}: categorical("a", "b") "g"', f'latent {n} "h"'][i % 5])
    extra = {(0, 198), (1, 198), (2, 197), (3, 197), (4, 5), (5, 196)}
    pairs = sorted({tuple(sorted(rng.sample(range(200), 2))) for _ in range(300)} - extra)
    for k, (i, j) in enumerate(pairs):
        lines.append([f"v{i} -> v{j}", f"v{j} <- v{i}", f"v{i} <-> v{j}  # c",
                      f"v{i} -> v{j}  # c"][k % 4])
    lines.append("{v0, v1} -> v198\nv197 <- {v2, v3}\nv4 -> v5 -> v196")
    lines.append("query q: ate(v0 -> v198)")
    text = "\n".join(lines) + "\n"
    assert exact(text, "s.causal") is not None
    check(text, "s.causal")
    readings: list[bool] = []
    real = parse_fast._fast_model

    def counted(*args: Any, **kwargs: Any) -> Any:
        readings.append(kwargs["lanes"])
        return real(*args, **kwargs)

    monkeypatch.setattr(parse_fast, "_fast_model", counted)
    parsed: list[int] = []
    real_parse = parse_fast.parse_recovering
    monkeypatch.setattr(parse_fast, "parse_recovering",
                        lambda t, p: parsed.append(sum(map(bool, t.split("\n")))) or
                        real_parse(t, p))
    assert fast_model(text, "s.causal", check_files=False) is not None
    assert readings == [True]
    assert parsed == [3]  # study, data, query


# --- the byte lanes (`causal_dsl.parse_columns.Quick`) ----------------------------------------
@pytest.mark.parametrize("line, pairs, var", [
    ("a -> b", 1, False), ("b <- a", 1, False), ("a <-> b", 1, False),
    ("a -> b -> c", 2, False), ("a <- b <-> c", 2, False), ("{a, b} -> c", 2, False),
    ("c <- {a, b}", 2, False), ("var x: binary", 0, True), ("var x: ordinal", 0, True),
    # not taken: left to `Lanes` and the expressions
    ("", 0, False), (" ", 0, False), ("a  -> b", 0, False), ("a -> b  # c", 0, False),
    ("a->b", 0, False), (" -> b", 0, False), ("a -> ", 0, False), ("a --> b", 0, False),
    ("a >- b", 0, False), ("a <-< b", 0, False), ("a - b", 0, False), ("a -> b ->", 0, False),
    ("a ->  -> c", 0, False), ("{, b} -> c", 0, False), ("{a, } -> c", 0, False),
    ("{a b} -> c", 0, False), ("a -> {b c}", 0, False), ("a -> {, c}", 0, False),
    ("{a, b} -> {c, d}", 0, False), ("var x: Binary", 0, False), ("var x: binaryy", 0, False),
    ("var x: bin", 0, False), ("var : binary", 0, False), ("vax x: binary", 0, False),
    ("var x binary:", 0, False), ("latent x", 0, False), ("a\t-> b", 0, False),
])
def test_quick_takes_each_line(line: str, pairs: int, var: bool) -> None:
    import numpy as np

    from causal_dsl.parse_columns import Quick
    from causal_dsl.parse_fast import _TYPE_ORDER

    for text in (line, f"x\n{line}\n", f"{line}\n"):
        quick = Quick(np, text, _TYPE_ORDER)
        at = text.split("\n").index(line)
        assert quick.line.size == pairs and (quick.line == at + 1).all()
        assert quick.var_at == ([at + 1] if var else [])
        taken = bool(pairs) or var
        assert (at in quick.others) != taken
        assert quick.lines(text) == [s if i in quick.others else ""
                                     for i, s in enumerate(text.split("\n"))]


QUICK_TEXTS = [
    DECLARED + "a -> b\nc <- b\na <-> c\nu -> a -> c\nu <-> b <- a\n",
    DECLARED + "{a, b} -> c\nu -> {a, b}\n{u, a} <-> b\nc <- {a, u}\nb <-> {a, c}\n",
    DECLARED + "b <-> a\nc <- {b, a}\n{c, b} <-> a\n",  # bidirected: from the smaller name
    DECLARED + "a -> b\n" + "a -> b\n",  # E204
    DECLARED + "a -> a\n", DECLARED + "a -> b\nb -> a\n", DECLARED + "a -> b\nb -> c\nc -> a\n",
    DECLARED + "a -> zz\n", DECLARED + "zz -> a\n",  # E201: an unknown plain name
    DECLARED + "a -> bcdefghijk\n",  # unknown and longer than every name (cut)
    DECLARED + "a -> b#c\n", DECLARED + "a -> b# c\n", DECLARED + "a -> `b`\n",
    DECLARED + "{a,b} -> c\n", DECLARED + "a -> b\t\n", DECLARED + "a -> b\f\n",
    "var `data`: binary\nvar b: count\nb -> data\n", "latent for\nvar b: count\nfor -> b\n",
    "var x: binary\nvar x: count\n", "var x: binary\nlatent y\nvar y: count\nx -> y\n",
    "var x.1: binary\nvar _y: count\nx.1 -> _y\n", "var x:: binary\n",
    'var x: binary\nvar y: count as "x"\nx -> y\n',  # E221: one data column twice
    "study \"S\"\nvar x: binary\nvar y: count\nx -> y\nquery q: ate(x -> y)\n",
    "var x: binary\nvar y: count\nx -> y",  # no final newline
    "",
    # E202 found by the lookup (distinct hashes) or by its dict (a name over 32 characters)
    "var x: binary\nvar y: count\nlatent x\nx -> y\n",
    "var " + "q" * 40 + ": binary\nvar y: count\nvar " + "q" * 40 + ": count\ny -> " + "q" * 40
    + "\n",
    "var " + "q" * 40 + ": binary\nvar y: count\ny -> " + "q" * 40 + "\n",
    # a layout line and a query read the names' dict (made only for them)
    "var x: binary\nvar y: count\nx -> y\nlayout x = (0.1, 0.2)\nlayout zz = (0.1, 0.2)\n",
    "var x: binary\nvar y: count\nx -> y\nlayout x = (0.1, 0.2)\nquery q: ate(x -> y)\n",
]


@pytest.mark.parametrize("text", QUICK_TEXTS)
def test_quick_against_the_exact_path(text: str) -> None:
    """Each text with the byte lanes (ASCII) and without them (a non-ASCII comment)."""
    check(text, "s.causal")
    check(text + "# é\n", "s.causal")
    check("# é\n" + text, "s.causal")


def test_quick_takes_the_large_study(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's study: the byte lanes take its plain arrows and `var` lines, so that
    `Lanes` splits only the rest; the same model as with `Lanes` alone."""
    import importlib.util
    from pathlib import Path

    import causal_dsl.parse_columns as parse_columns

    where = Path(__file__).resolve().parent.parent / "benchmarks" / "parse.py"
    spec = importlib.util.spec_from_file_location("benchmark_parse", where)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    text = bench.generate(300, 900)
    split: list[int] = []
    real = parse_columns.Lanes._classify

    def counted(self: Any, lines: list[str], types: Any, at: Any) -> None:
        split.append(len(lines) if at is None else len(at))
        real(self, lines, types, at)

    monkeypatch.setattr(parse_columns.Lanes, "_classify", counted)
    fast = fast_model(text, "s.causal", check_files=False)
    assert fast is not None and len(fast.edges) == 900
    assert split[0] < text.count("\n") // 4  # most lines never split
    slow = fast_model(text + "# é\n", "s.causal", check_files=False)  # `Lanes` alone
    assert slow is not None
    assert dump(slow)[:3] + dump(slow)[4:] == dump(fast)[:3] + dump(fast)[4:]  # not the source
    check(text, "s.causal")
