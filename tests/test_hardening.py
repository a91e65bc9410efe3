"""Regression tests for hostile files and faults (issue 17): each reproduces one fault first.

Reading and writing (`causal_dsl.files`), diagnostics that stay linear, terminal safety, and the
command line's behaviour on a full disk, a closed pipe and bad usage.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.errors import CausalError, Diagnostic, Span, visible
from causal_dsl.files import read_text, write_atomic

STUDY = "var x: binary\nvar y: continuous\nx -> y\nquery q: ate(x -> y)\n"


# --- writes are atomic ------------------------------------------------------------------------
def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    target = tmp_path / "study.causal"
    target.write_text("old\n")
    target.chmod(0o640)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(CausalError) as info:
        write_atomic(target, "new content\n")
    assert info.value.diagnostics[0].code == "E606"
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["study.causal"]  # no temp file left


def test_a_write_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "study.causal"
    target.write_text("old\n")
    target.chmod(0o604)
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604


def test_fmt_on_an_unwritable_folder_is_an_error_not_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study = tmp_path / "s.causal"
    study.write_text("var  x: binary\n")

    def refuse(*args: object, **kwargs: object) -> None:  # as a read-only folder does (root
        raise PermissionError(13, "Permission denied")  # writes anywhere, so simulate it)

    monkeypatch.setattr("causal_dsl.files.tempfile.mkstemp", refuse)
    result = CliRunner().invoke(main, ["fmt", str(study)])
    assert result.exit_code == 1 and "E606" in result.output, result.output
    assert "Traceback" not in result.output
    assert study.read_text() == "var  x: binary\n"


def test_fmt_keeps_crlf_and_the_byte_order_mark(tmp_path: Path) -> None:
    study = tmp_path / "s.causal"
    study.write_bytes("\ufeffvar  x: binary\r\nvar y: count\r\n".encode())
    result = CliRunner().invoke(main, ["fmt", str(study)])
    assert result.exit_code == 0, result.output
    assert study.read_bytes() == "\ufeffvar x: binary\r\nvar y: count\r\n".encode()


# --- reading: one reader, positions -----------------------------------------------------------
def test_not_utf8_points_at_the_bad_byte(tmp_path: Path) -> None:
    study = tmp_path / "s.causal"
    study.write_bytes(b"var x: binary\nvar \xff: count\n")
    with pytest.raises(CausalError) as info:
        causal_dsl.load(study)
    d = info.value.diagnostics[0]
    assert d.code == "E100" and d.span is not None
    assert (d.span.path, d.span.line, d.span.column) == (str(study), 2, 5)


@pytest.mark.parametrize("verb", [["check"], ["fmt"], ["lint"], ["identify"], ["run"],
                                  ["import", "dagitty"], ["export", "dagitty"]])
def test_every_verb_reads_files_the_same_way(tmp_path: Path, verb: list[str]) -> None:
    bad = tmp_path / "bad.causal"
    bad.write_bytes(b"var \xff: binary\n")
    result = CliRunner().invoke(main, [*verb, str(bad)])
    assert result.exit_code == 1, result.output
    assert "E100" in result.output and "Traceback" not in result.output


def test_missing_file_has_a_position_and_one_code(tmp_path: Path) -> None:
    with pytest.raises(CausalError) as info:
        read_text(tmp_path / "nope.causal")
    d = info.value.diagnostics[0]
    assert d.code == "E200" and d.span is not None and d.span.path.endswith("nope.causal")


@pytest.mark.parametrize("source", ["a\0b.csv", "loop.csv"])
def test_odd_data_paths_are_errors_not_tracebacks(tmp_path: Path, source: str) -> None:
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    study = tmp_path / "s.causal"
    study.write_text(f'data "{source}"\n' + STUDY.replace("\0", ""))
    with pytest.raises(CausalError) as info:
        causal_dsl.load(study)
    assert info.value.diagnostics[0].code == "E212"


# --- diagnostics stay linear, and are capped when shown ---------------------------------------
def test_many_errors_on_one_line_stay_linear() -> None:
    names = ", ".join(f"u{i}" for i in range(8000))
    text = "var x: binary\n{" + names + "} -> x\n"
    tracemalloc.start()
    try:
        with pytest.raises(CausalError) as info:
            causal_dsl.parse(text, "s.causal")
        shown = info.value.render()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(info.value.diagnostics) == 8000
    assert "7950 more problem(s) not shown" in shown
    assert len(shown) < 40_000  # 50 diagnostics, each line cut around its caret
    assert peak < 100 * len(text) + 50_000_000  # was 2.5 GB: quadratic


def test_a_long_string_literal_is_linear_in_memory() -> None:
    label = "x" * 2_000_000
    tracemalloc.start()
    try:
        study = causal_dsl.parse(f'var x: binary "{label}"\n')
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert study.variables[0].label == label
    assert peak < 20 * len(label)  # was ~350 bytes per byte


def test_long_source_lines_are_cut_around_the_caret() -> None:
    line = "a" * 500 + " helth " + "b" * 500
    d = Diagnostic("E201", "unknown variable 'helth'", Span("s", 1, 502, 1, 507))
    shown = d.render(line).splitlines()
    assert len(shown[1]) < 140 and "helth" in shown[1]
    caret = shown[2].index("^")
    assert shown[1][caret:caret + 5] == "helth"


# --- terminal safety --------------------------------------------------------------------------
def test_control_characters_are_shown_escaped() -> None:
    assert visible("x\x1b]0;owned\x07") == "x\\x1b]0;owned\\x07"
    d = Diagnostic("E201", "unknown variable 'a\x1b[2Jb'", Span("s", 1, 1, 1, 2))
    assert "\x1b" not in d.render("a\x1b[2Jb -> y")


@pytest.mark.parametrize("text", [
    'study "t\\u001b]0;x\\u0007"\nvar x: binary\n',
    'var `a\x1bb`: binary\n',
    'var x: binary "\\u0007"\n',
])
def test_control_characters_in_user_strings_are_refused(text: str) -> None:
    with pytest.raises(CausalError) as info:
        causal_dsl.parse(text, "s.causal")
    assert [d.code for d in info.value.diagnostics] == ["E224"]
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)


# --- the command line -------------------------------------------------------------------------
def test_unknown_query_is_bad_usage(tmp_path: Path) -> None:
    study = tmp_path / "s.causal"
    study.write_text(STUDY)
    for verb in (["identify"], ["render", "--format", "dot"]):
        result = CliRunner().invoke(main, [*verb, str(study), "--query", "nope"])
        assert result.exit_code == 2, (verb, result.output)
        assert "E223" in result.output


def _causal(*args: str, stdout: int | object = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "causal_dsl", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_full_stdout_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    study = tmp_path / "s.causal"
    study.write_text(STUDY)
    with open("/dev/full", "w") as full:
        result = _causal("check", str(study), stdout=full)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "cannot write the output" in result.stderr


def test_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    study = tmp_path / "s.causal"
    study.write_text(STUDY + "".join(f"var v{i}: binary\n" for i in range(3000)))
    proc = subprocess.Popen([sys.executable, "-m", "causal_dsl", "export", "dagitty",
                             str(study)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_python_dash_m_runs_the_cli() -> None:
    result = _causal("--help")
    assert result.returncode == 0 and "check" in result.stdout


def test_deeply_nested_dagitty_groups_are_an_error_not_a_recursion() -> None:
    from causal_dsl.dagitty import from_dagitty

    assert "a -> b" in from_dagitty("dag { {{{a}}} -> b }")
    with pytest.raises(CausalError) as info:
        from_dagitty("dag { " + "{" * 500 + "a" + "}" * 500 + " -> b }")
    d = info.value.diagnostics[0]
    assert d.code == "E150" and "nested" in d.message and d.span is not None
