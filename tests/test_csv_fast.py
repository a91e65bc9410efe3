"""The Arrow CSV reader (`causal_dsl.csvarrow`) gives what pandas' reader gives: the same
columns, dtypes, values and missing cells, and the same diagnostics (codes, messages, lines),
whether the file is read as one segment or cut into several, in small blocks or large.

Each file is read twice through `causal_dsl.tables.read_table`: once by the Arrow path and once
with the Arrow path switched off (pandas' C parser with the per-column missing spellings, the
reader before issue 16), and the frames are compared exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl import csvarrow, tables
from causal_dsl.data import check_data, load_data
from causal_dsl.errors import DataError

pytest.importorskip("pyarrow")


def _rows(n: int, fmt: str) -> str:
    return "".join(fmt.format(i=i, h=i % 2, f=i / 8, m=i % 7) for i in range(n))


# name -> file content; the first block (set small below) is 50-100 rows, so a change after row
# 100 is one the first block did not see
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
    "blank_lines": "a,b\n" + _rows(200, "{i},{f}\n") + "\n\n" + _rows(200, "{i},{f}\n"),
    "crlf": "a,b\r\n" + _rows(400, "{i},{f}\r\n"),
    "quoted": '"a","b"\n' + _rows(300, '{i},"s{m}"\n') + '7,"x\ny"\n' + _rows(30, '{i},"t"\n'),
    "shorter_later": "a,b,c\n" + _rows(30, "{i}0000000,{f}0000000,{m}000000\n")
    + _rows(2000, "{m},{h},{h}\n"),
    "no_trailing_newline": "a,b\n" + _rows(300, "{i},{f}\n") + "1,2",
    "huge_integers": "a,b\n" + _rows(300, "{i},{f}\n") + "18446744073709551615,1\n",
    "header_only": "a,b\n",
}


@pytest.fixture(params=[(1 << 20, None), (512, 3), (1024, 2)],
                ids=["one-block", "small-blocks-3-segments", "blocks-2-segments"])
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    block, segments = request.param
    monkeypatch.setattr(csvarrow, "BLOCK", block)
    monkeypatch.setattr(csvarrow, "SEGMENTS", segments)
    monkeypatch.setattr(csvarrow, "SPLIT_AT", 1 if segments else 1 << 40)
    monkeypatch.setattr(csvarrow, "SLACK", 0 if segments else csvarrow.SLACK)


def _pandas_read(path: Path, monkeypatch: pytest.MonkeyPatch, **kw: object) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(tables, "read_csv_arrow", lambda *a: None)
        return tables.read_table(path, **kw)  # type: ignore[arg-type]


@pytest.mark.usefixtures("layout")
@pytest.mark.parametrize("name", sorted(FILES))
def test_arrow_reader_gives_what_pandas_gives(name: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(FILES[name].encode())
    fast = tables.read_table(path)
    slow = _pandas_read(path, monkeypatch)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


@pytest.mark.usefixtures("layout")
def test_the_fast_path_is_taken_for_plain_numbers(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain numeric file is read by Arrow, not handed to pandas (the point of it)."""
    path = tmp_path / "d.csv"
    path.write_bytes(FILES["numbers"].encode())

    def refuse(*args: object, **kwargs: object) -> pd.DataFrame:
        raise AssertionError("pandas was asked to read a plain numeric file")

    monkeypatch.setattr(tables.pd, "read_csv", refuse)
    monkeypatch.setattr(tables, "_raw_header", lambda handle, p, kind: ["d", "y", "x"])
    frame = tables.read_table(path)
    assert list(frame.dtypes.astype(str)) == ["int64", "float64", "int64"]
    assert frame["y"].tolist() == [i / 8 for i in range(500)]


def test_segments_cover_every_row_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut into 3 segments, rows come back in file order, none lost or repeated."""
    n = 20_000
    path = tmp_path / "d.csv"
    path.write_text("i,v\n" + "".join(f"{i},{i * 0.5}\n" for i in range(n)))
    monkeypatch.setattr(csvarrow, "BLOCK", 8192)
    monkeypatch.setattr(csvarrow, "SEGMENTS", 3)
    monkeypatch.setattr(csvarrow, "SPLIT_AT", 1)
    with path.open("rb") as handle:
        assert len(csvarrow._cuts(handle.fileno(), path.stat().st_size)) == 3
    frame = tables.read_table(path)
    assert frame["i"].tolist() == list(range(n))
    np.testing.assert_array_equal(frame["v"].to_numpy(), np.arange(n) * 0.5)


def test_a_segment_longer_than_its_share_is_read_again_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows far shorter after the first block: the segments overflow their estimated shares,
    and the file is read again as one segment (the answer is still pandas')."""
    path = tmp_path / "d.csv"
    path.write_bytes(FILES["shorter_later"].encode())
    monkeypatch.setattr(csvarrow, "BLOCK", 512)
    monkeypatch.setattr(csvarrow, "SEGMENTS", 3)
    monkeypatch.setattr(csvarrow, "SPLIT_AT", 1)
    monkeypatch.setattr(csvarrow, "SLACK", 0)
    seen: list[int] = []
    real = csvarrow._read_segments

    def spy(*args: object) -> object:
        seen.append(len(args[3]))  # type: ignore[arg-type]
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(csvarrow, "_read_segments", spy)
    fast = tables.read_table(path)
    assert seen == [3, 1]
    pd.testing.assert_frame_equal(fast, _pandas_read(path, monkeypatch), check_exact=True)


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
            m.setattr(tables, "read_csv_arrow", lambda *a: None)
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
