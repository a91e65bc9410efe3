"""The segment reader (`causal_dsl.csvsegments`) gives what pandas' reader of the whole file gives:
the same columns, dtypes, values, missing cells and index, and the same diagnostics (codes,
messages, lines), whether the file is one segment or many, read by one thread or two.

Each file is read twice through `causal_dsl.tables.read_table`: once by the segment path and
once with it switched off (pandas' C parser over the whole file with the per-column missing
spellings, the reader before issue 16), and the frames are compared exactly.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl import csvsegments, tables
from causal_dsl.data import check_data, load_data
from causal_dsl.errors import DataError


@pytest.fixture(autouse=True)
def _segments_for_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files here are small so that they can be many: the segment path takes them (a real
    study's file below one segment goes to pandas whole; `test_a_small_file_goes_to_pandas`)."""
    monkeypatch.setattr(csvsegments, "WHOLE_BELOW", 0)


def test_a_small_file_goes_to_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below one segment the segments gain nothing: pandas reads the file whole, same frame."""
    path = tmp_path / "d.csv"
    path.write_bytes(FILES["numbers"].encode())
    monkeypatch.setattr(csvsegments, "WHOLE_BELOW", len(FILES["numbers"]) + 1)
    assert _direct(path) is None
    pd.testing.assert_frame_equal(tables.read_table(path), _whole(path), check_exact=True)
    monkeypatch.setattr(csvsegments, "WHOLE_BELOW", len(FILES["numbers"]))
    frame = _direct(path)
    assert frame is not None
    pd.testing.assert_frame_equal(frame, _whole(path), check_exact=True)


def _rows(n: int, fmt: str) -> str:
    return "".join(fmt.format(i=i, h=i % 2, f=i / 8, m=i % 7) for i in range(n))


B = csvsegments.pandas_chunk_rows(2)  # rows of one of pandas' own chunks for 2 columns

# name -> file content; segments are set small below (a few hundred bytes), so a change after
# row 100 is one the first segment did not see
FILES: dict[str, str] = {
    "numbers": "d,y,x\n" + _rows(500, "{h},{f},{m}\n"),
    "int_missing_later": "a,b\n" + _rows(300, "{i},{f}\n") + "NA,1.5\n" + _rows(50, "{i},2\n"),
    "int_missing_first": "a,b\n,1\n" + _rows(400, "{i},{f}\n"),
    "int_then_decimal": "a,b\n" + _rows(300, "{i},{f}\n") + "2.5,1\n",
    "float_then_text": "a,b\n" + _rows(300, "{f},{i}\n") + "oops,1\n" + _rows(10, "{f},{i}\n"),
    "bools": "t,u\n" + _rows(300, "True,{h}\n") + "False,1\n",
    "bools_missing": "t,u\n" + _rows(300, "true,{h}\n") + ",1\n",
    "empty_column": "a,e,b\n" + _rows(400, "{i},,{f}\n"),
    "empty_then_values": "a,e\n" + _rows(300, "{i},\n") + "1,2.5\n" + _rows(20, "{i},\n"),
    "empty_then_text": "a,e\n" + _rows(300, "{i},\n") + "1,word\n",
    "text": "g,y\n" + _rows(400, "grp{m},{f}\n") + "NA,1\n,2\nnan,3\n",
    "dates": "day,y\n" + _rows(300, "2020-01-{m:02d},{f}\n"),
    "spellings": "a,b\n" + _rows(300, "{f},{i}\n") + "N/A,NULL\n#N/A,None\n<NA>,-nan\n",
    "infinite": "y,x\n" + _rows(300, "{f},{i}\n") + "inf,1\n-Infinity,2\n1e309,3\n",
    "blank_lines": "a,b\n" + _rows(200, "{i},{f}\n") + "\n" * 300 + _rows(200, "{i},{f}\n"),
    "crlf": "a,b\r\n" + _rows(400, "{i},{f}\r\n"),
    "bom": "\ufeffa,b\n" + _rows(400, "{i},{f}\n"),
    "quoted_header": '"a","b"\n' + _rows(400, "{i},{f}\n"),
    "quoted": '"a","b"\n' + _rows(300, '{i},"s{m}"\n') + '7,"x\ny"\n' + _rows(30, '{i},"t"\n'),
    "quoted_late": "a,b\n" + _rows(300, "{i},s{m}\n") + '7,"x\n1,y"\n' + _rows(30, "{i},t\n"),
    "shorter_later": "a,b,c\n" + _rows(30, "{i}0000000,{f}0000000,{m}000000\n")
    + _rows(2000, "{m},{h},{h}\n"),
    "short_rows": "a,b,c\n" + _rows(300, "{i},{f},{m}\n") + "1\n" + _rows(30, "{i},{f},{m}\n"),
    "long_row_later": "a,b\n" + _rows(300, "{i},{f}\n") + "1,2,3\n" + _rows(30, "{i},{f}\n"),
    "long_first_row": "a,b\n1,2,3\n" + _rows(300, "{i},{f},{m}\n"),
    "no_trailing_newline": "a,b\n" + _rows(300, "{i},{f}\n") + "1,2",
    "huge_integers": "a,b\n" + _rows(300, "{i},{f}\n") + "18446744073709551615,1\n",
    "big_int_then_missing": "a,b\n" + _rows(300, "9007199254740993,{f}\n") + "NA,1\n",
    "header_only": "a,b\n",
    "bare_cr_header": "a,b\r1,2\n" + _rows(300, "{i},{f}\n"),
    "bare_cr_rows": "a,b\n" + _rows(300, "{i},{f}\r") + _rows(30, "{i},{f}\n"),
    "header_then_blank": "a,b\n\n\n",
    "long_line": "a,b\n" + _rows(50, "{i},s{m}\n") + "1," + "x" * 3000 + "\n"
    + _rows(50, "{i},s\n"),
}


@pytest.fixture(params=[(8 << 20, 1, True), (200, 2, True), (333, 3, True), (1000, 1, True),
                        (200, 2, False)],
                ids=["one-segment", "200-bytes-2-threads", "333-bytes-3-threads",
                     "1000-bytes-1-thread", "200-bytes-public-read-csv"])
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Segment size, threads, and whether the reused parser (``load_buffer``) is used or,
    as on a pandas without it, ``pandas.read_csv`` of each segment."""
    segment, threads, reuse = request.param
    monkeypatch.setattr(csvsegments, "SEGMENT", segment)
    monkeypatch.setattr(csvsegments, "THREADS", threads)
    if not reuse:
        monkeypatch.setattr(csvsegments._Parser, "_engine", lambda self: False)


def _pandas_read(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: object) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(tables, "read_csv_fast", lambda *a: None)
        return tables.read_table(path, **kw)  # type: ignore[arg-type]


def _whole(path: Path) -> pd.DataFrame:
    """pandas.read_csv of the whole file, as the issue states the answer."""
    return pd.read_csv(path, keep_default_na=False,
                       na_values=list(causal_dsl.tables.MISSING_SPELLINGS))


@pytest.mark.usefixtures("layout")
@pytest.mark.parametrize("name", sorted(FILES))
def test_segments_give_what_pandas_gives(name: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(FILES[name].encode())
    try:
        slow = _pandas_read(path, monkeypatch)
    except DataError as error:  # pandas refuses the file: so must the fast path, the same way
        with pytest.raises(DataError) as fast_error:
            tables.read_table(path)
        assert str(fast_error.value) == str(error)
        return
    fast = tables.read_table(path)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    pd.testing.assert_frame_equal(fast, _whole(path), check_exact=True)


def _direct(path: Path) -> pd.DataFrame | None:
    header = path.read_text(encoding="utf-8-sig").split("\n")[0].replace('"', "").split(",")
    with path.open("rb") as handle:
        return csvsegments.read_csv_fast(
            handle, ",", header, {h: list(tables.MISSING_SPELLINGS) for h in header})


# which files the segment path itself answers (None: it hands the file to pandas)
ANSWERED = {"numbers", "int_missing_later", "int_missing_first", "int_then_decimal", "bools",
            "empty_column", "empty_then_values", "text", "dates", "bom",
            "spellings", "infinite", "blank_lines", "crlf", "quoted_header", "quoted",
            "quoted_late", "shorter_later", "short_rows", "no_trailing_newline", "long_line",
            "bare_cr_rows"}
REFUSED = {"float_then_text", "bools_missing", "empty_then_text",
           "long_row_later", "long_first_row", "huge_integers", "big_int_then_missing",
           "header_only", "header_then_blank", "bare_cr_header"}


@pytest.mark.parametrize("name", sorted(FILES))
def test_which_files_the_segments_answer(name: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut small, two threads: the plain files are answered here, and the ones whose answer
    depends on pandas' own chunks (or that pandas refuses) are handed back, never guessed."""
    assert set(FILES) == ANSWERED | REFUSED and not ANSWERED & REFUSED
    monkeypatch.setattr(csvsegments, "SEGMENT", 256)
    monkeypatch.setattr(csvsegments, "THREADS", 2)
    path = tmp_path / "d.csv"
    path.write_bytes(FILES[name].encode())
    frame = _direct(path) if name not in {"header_only"} else None
    if name in REFUSED:
        assert frame is None
    else:
        assert frame is not None
        pd.testing.assert_frame_equal(frame, _whole(path), check_exact=True)


# pandas infers the dtype of each of its own chunks of B rows: a chunk of numbers only in a text
# column makes its answer a mix of ints and strings, which the segments must not imitate
CHUNKED: dict[str, tuple[str, bool]] = {
    "text_then_number_chunk": ("g,y\n" + _rows(B, "grp{m},{f}\n") + _rows(500, "{m},{f}\n"),
                               False),
    "witness_mid_chunk": ("g,y\n" + _rows(50, "{m},{f}\n") + "word,1\n" + _rows(B, "{m},{f}\n")
                          + "w2,1\n", True),
    "witness_missing_in_second": ("g,y\n" + _rows(50, "{m},{f}\n") + "word,1\n"
                                  + _rows(B + 30, "{m},{f}\n"), False),
}


@pytest.mark.filterwarnings("ignore::pandas.errors.DtypeWarning")
@pytest.mark.parametrize("name", sorted(CHUNKED))
def test_text_columns_follow_pandas_chunks(name: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """One segment (a text column whose segment holds numbers only is refused as a mix): the
    answer is given only when each of pandas' chunks holds a cell no number parser takes."""
    content, answered = CHUNKED[name]
    monkeypatch.setattr(csvsegments, "SEGMENT", 8 << 20)
    monkeypatch.setattr(csvsegments, "THREADS", 2)
    path = tmp_path / "d.csv"
    path.write_bytes(content.encode())
    frame = _direct(path)
    assert (frame is not None) == answered
    pd.testing.assert_frame_equal(tables.read_table(path), _whole(path), check_exact=True)


def test_the_fast_path_is_taken_for_plain_numbers(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain numeric file is read in segments, never handed whole to pandas (the point)."""
    path = tmp_path / "d.csv"
    path.write_bytes(FILES["numbers"].encode())
    monkeypatch.setattr(csvsegments, "SEGMENT", 300)
    calls: list[int] = []
    real = csvsegments._Parser.__call__

    def spy(self: csvsegments._Parser, data: bytes) -> object:
        calls.append(len(data))
        return real(self, data)

    whole = pd.read_csv

    def refuse(source: object, *args: object, **kwargs: object) -> pd.DataFrame:
        if not isinstance(source, io.BytesIO | io.StringIO):  # segments, header, probes
            raise AssertionError("pandas was asked to read the whole file")
        return whole(source, *args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(csvsegments._Parser, "__call__", spy)
    monkeypatch.setattr(tables.pd, "read_csv", refuse)
    monkeypatch.setattr(tables, "_raw_header", lambda handle, p, kind: ["d", "y", "x"])
    frame = tables.read_table(path)
    assert list(frame.dtypes.astype(str)) == ["int64", "float64", "int64"]
    assert frame["y"].tolist() == [i / 8 for i in range(500)]
    assert len(calls) > 10 and max(calls) <= 300


@pytest.mark.parametrize("threads", [1, 2])
def test_segments_cover_every_row_once(threads: int, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut into many segments (and the columns grown past their estimate), rows come back in
    file order, none lost or repeated."""
    n = 20_000
    path = tmp_path / "d.csv"
    path.write_text("i,v\n" + "".join(f"{i},{i * 0.5}\n" for i in range(n)))
    monkeypatch.setattr(csvsegments, "SEGMENT", 4096)
    monkeypatch.setattr(csvsegments, "THREADS", threads)
    monkeypatch.setattr(csvsegments, "_estimate", lambda fd, size, start: 10)
    frame = tables.read_table(path)
    assert frame["i"].tolist() == list(range(n))
    np.testing.assert_array_equal(frame["v"].to_numpy(), np.arange(n) * 0.5)


def test_a_line_cut_exactly_at_a_segment_boundary(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line 10 bytes and segments a multiple of it: each cut falls on a line end."""
    lines = [f"{i:04d},{i % 10:03d}\n" for i in range(1000)]
    assert {len(line) for line in lines} == {9}
    path = tmp_path / "d.csv"
    path.write_text("aaaa,bbb\n" + "".join(lines))
    for segment in (9, 18, 90, 91, 89):
        monkeypatch.setattr(csvsegments, "SEGMENT", segment)
        frame = _direct(path)
        assert frame is not None
        pd.testing.assert_frame_equal(frame, _whole(path), check_exact=True)


def test_a_quote_in_a_late_segment_rereads_the_file_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quoted line break after many cut segments: the cut reading stops and pandas' chunked
    reader (never cut) gives the answer."""
    path = tmp_path / "d.csv"
    path.write_bytes(FILES["quoted_late"].encode())
    monkeypatch.setattr(csvsegments, "SEGMENT", 128)
    seen: list[str] = []
    real = csvsegments._chunked

    def spy(*args: object) -> object:
        seen.append("chunked")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(csvsegments, "_chunked", spy)
    frame = _direct(path)
    assert seen == ["chunked"] and frame is not None
    assert frame["b"].iloc[300] == "x\n1,y" and len(frame) == 331


def test_per_column_spellings(tmp_path: Path) -> None:
    """A level spelled like a missing value stays a value in its column only."""
    path = tmp_path / "d.csv"
    path.write_text("g,y\n" + _rows(300, "NA,{f}\n") + "b,NA\n")
    na = {"g": [s for s in tables.MISSING_SPELLINGS if s != "NA"],
          "y": list(tables.MISSING_SPELLINGS)}
    with path.open("rb") as handle:
        frame = csvsegments.read_csv_fast(handle, ",", ["g", "y"], na)
    assert frame is not None
    pd.testing.assert_frame_equal(
        frame, pd.read_csv(path, keep_default_na=False, na_values=na), check_exact=True)
    assert frame["g"].isna().sum() == 0 and frame["y"].isna().sum() == 1


STUDY = """data "d.csv"
var y: continuous
var c: count
var d: binary
var g: categorical("a", "b")
d -> y
"""


def _diagnostics(folder: Path, monkeypatch: pytest.MonkeyPatch, fast: bool) -> list[str]:
    study = causal_dsl.load(folder / "s.causal")
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(tables, "read_csv_fast", lambda *a: None)
        try:
            check_data(study, load_data(study))
        except DataError as error:
            return [f"{d.code}: {d.message}" for d in error.diagnostics]
    return []


BAD: dict[str, tuple[str, str]] = {
    "non_numeric": ("y,c,d,g\n" + _rows(300, "{f},{m},{h},a\n") + "abc,1,0,b\n" + "x y,2,1,a\n",
                    "E406"),
    "infinite": ("y,c,d,g\n" + _rows(300, "{f},{m},{h},a\n") + "inf,1,0,b\n-inf,1,0,b\n",
                 "E415"),
    "negative_count": ("y,c,d,g\n" + _rows(300, "{f},{m},{h},a\n") + "1,-2,0,b\n", "E408"),
    "binary_other": ("y,c,d,g\n" + _rows(300, "{f},{m},{h},a\n") + "1,2,7,b\n", "E405"),
    "level_unknown": ("y,c,d,g\n" + _rows(300, "{f},{m},{h},a\n") + "1,2,0,z\n", "E407"),
    "duplicate": ("y,c,d,y\n" + _rows(30, "{f},{m},{h},a\n"), "E416"),
    "fine": ("y,c,d,g\n" + _rows(300, "{f},{m},{h},a\n") + "NA,,,\n", ""),
}


@pytest.mark.usefixtures("layout")
@pytest.mark.parametrize("name", sorted(BAD))
def test_diagnostics_are_those_of_the_pandas_reader(name: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    content, code = BAD[name]
    (tmp_path / "d.csv").write_text(content)
    (tmp_path / "s.causal").write_text(STUDY)
    fast = _diagnostics(tmp_path, monkeypatch, fast=True)
    slow = _diagnostics(tmp_path, monkeypatch, fast=False)
    assert fast == slow
    assert [m.split(":")[0] for m in fast] == ([code] if code else [])
    if code in ("E406", "E415"):
        assert "line(s) 302" in fast[0]  # the physical line, header = line 1


def test_a_declared_level_spelled_missing_is_kept(tmp_path: Path) -> None:
    """`categorical("NA", ...)`: that column keeps "NA" as a value (pandas reads the file)."""
    (tmp_path / "d.csv").write_text("g,y\n" + _rows(300, "NA,{f}\n") + "b,NA\n")
    (tmp_path / "s.causal").write_text('data "d.csv"\nvar g: categorical("NA", "b")\n'
                                       "var y: continuous\ng -> y\n")
    frame = load_data(causal_dsl.load(tmp_path / "s.causal"))
    assert frame["g"].isna().sum() == 0 and frame["y"].isna().sum() == 1


def test_a_large_file_matches_both_pandas_readers(tmp_path: Path) -> None:
    """Above 5 MB pandas 3.1 reads a path in parallel and a handle serially: on a file of ints
    (a missing cell near the end), floats, bools, text and an empty column, the segments (two
    threads, default size) give exactly what both give."""
    rng = np.random.default_rng(1)
    n = 240_000
    ints = rng.integers(-1000, 1000, n).astype(str).astype(object)
    ints[n - 10] = "NA"
    frame = pd.DataFrame({
        "i": ints, "f": np.round(rng.normal(size=n), 6), "b": rng.random(n) < 0.5,
        "g": np.array(["alpha", "beta", "gamma"])[rng.integers(0, 3, n)], "e": ""})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size > 5 << 20
    fast = _direct(path)
    assert fast is not None
    assert list(fast.dtypes.astype(str)) == ["float64", "float64", "bool", "str", "float64"]
    pd.testing.assert_frame_equal(fast, _whole(path), check_exact=True)
    with path.open("rb") as handle:
        serial = pd.read_csv(handle, keep_default_na=False,
                             na_values=list(tables.MISSING_SPELLINGS))
    pd.testing.assert_frame_equal(fast, serial, check_exact=True)
