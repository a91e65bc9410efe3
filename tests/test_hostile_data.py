"""Hostile data files (issue 17): each fault reproduced first, then the class fuzzed.

Infinite values, missing-value spellings against declared levels, duplicate headers, a constant
outcome, special files, data paths outside the study's folder, positions in files with quoted
newlines, a categorical confounder with 10,000 levels, and a table of hostile files run through
every data-reading verb in one child process under a memory cap (a blow-up fails, it does not
take the machine down).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl.cli import main
from causal_dsl.data import check_data, load_data, read_header
from causal_dsl.errors import CausalError, DataError, EstimationError
from causal_dsl.estimators.common import Design
from causal_dsl.estimators.guard import guarded, require_finite
from causal_dsl.results import Estimate, EstimatorResult
from causal_dsl.tables import MISSING_SPELLINGS, allowed_roots, reading

STUDY = """\
data "d.csv"
var x: binary
var z: continuous
var y: continuous
z -> x
z -> y
x -> y
query q: ate(x -> y) using ols
"""
EFFECT = 2.0


def simulated(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """y = 2 x + z + noise, x depends on z: the adjusted effect is 2."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame({"x": x, "z": z, "y": EFFECT * x + z + rng.normal(size=n)})


def write_study(folder: Path, csv: str, text: str = STUDY, name: str = "d.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(csv, encoding="utf-8")
    (folder / "s.causal").write_text(text.replace('"d.csv"', f'"{name}"'), encoding="utf-8")
    return folder / "s.causal"


def csv_with(frame: pd.DataFrame, column: str, rows: dict[int, str]) -> str:
    """The frame as CSV text, with some cells of `column` replaced by raw text."""
    text = frame.astype(object).copy()
    for i, value in rows.items():
        text.loc[i, column] = value
    return text.to_csv(index=False)


def codes(error: CausalError) -> list[str]:
    return [d.code for d in error.diagnostics]


# --- non-finite values ------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["inf", "-inf", "Infinity", "-Infinity", "1e309", "-1e400"])
@pytest.mark.parametrize("column", ["y", "z"])
def test_infinite_values_are_a_data_error(tmp_path: Path, spelling: str, column: str) -> None:
    path = write_study(tmp_path, csv_with(simulated(), column, {1: spelling, 3: spelling}))
    with pytest.raises(DataError) as info:
        causal_dsl.load(path).run()
    (d,) = info.value.diagnostics
    assert d.code == "E415"
    assert f"column '{column}'" in d.message and "2 infinite value(s)" in d.message
    assert "line(s) 3, 5" in d.message  # header on line 1: rows 1 and 3 are lines 3 and 5
    assert "--drop-nonfinite" in (d.help or "")


def test_drop_nonfinite_counts_and_drops_them_like_missing_values(tmp_path: Path) -> None:
    frame = simulated()
    path = write_study(tmp_path, csv_with(frame, "y", {0: "inf", 5: "-1e999", 9: "Infinity"}))
    study = causal_dsl.load(path)
    data = load_data(study, drop_nonfinite=True)
    result = study.estimate("q", data=data)
    assert result.sample.rows_used == len(frame) - 3
    assert dict(result.sample.missing_by_column)["y"] == 3
    assert np.isfinite(result.effect) and result.ci_low <= EFFECT <= result.ci_high
    # the same through the option context the command line uses, and through the CLI
    with reading(drop_nonfinite=True):
        assert study.run().results[0].sample.rows_used == len(frame) - 3
    cli = CliRunner().invoke(main, ["run", str(path), "--drop-nonfinite"])
    assert cli.exit_code == 0, cli.output
    assert CliRunner().invoke(main, ["run", str(path)]).exit_code == 1


def test_a_dataframe_with_infinite_values_is_refused_too() -> None:
    study = causal_dsl.parse(STUDY.replace('data "d.csv"\n', ""))
    frame = simulated()
    frame.loc[7, "z"] = np.inf
    with pytest.raises(DataError) as info:
        check_data(study, frame)
    assert codes(info.value) == ["E415"] and "line(s) 9" in info.value.diagnostics[0].message


def test_no_estimator_returns_a_non_finite_estimate() -> None:
    design = Design("x", "y")
    nan = Estimate.from_se(float("nan"), 1.0, n=10, label="ATE", se_kind="HC1")
    bad = EstimatorResult("ols", "ate", nan, "fake")
    with pytest.raises(EstimationError) as info:
        require_finite(bad, design, "ols")
    assert codes(info.value) == ["E515"] and "non-finite estimate" in str(info.value)
    infinite_se = EstimatorResult("ols", "ate", Estimate.from_se(1.0, float("inf"), n=10,
                                                                 label="ATE", se_kind="HC1"),
                                  "fake")
    with pytest.raises(EstimationError, match="standard error"):
        guarded("fake", lambda frame, design, extra: infinite_se)(simulated(), design, None)


# --- missing values follow the declarations -----------------------------------------------------
LEVELS = STUDY.replace("var z: continuous", 'var z: categorical("NA", "None", "Other")')


def test_declared_levels_are_never_missing(tmp_path: Path) -> None:
    frame = simulated(300)
    names = np.array(["NA", "None", "Other"])[np.arange(300) % 3]
    frame["z"] = names
    path = write_study(tmp_path, frame.to_csv(index=False), LEVELS)
    result = causal_dsl.load(path).estimate("q")
    assert result.sample.rows_used == 300 and result.sample.dropped == 0
    # the same estimate as with levels that no reader could take for missing values
    renamed = frame.assign(z=frame["z"].map({"NA": "a", "None": "b", "Other": "c"}))
    other = write_study(tmp_path / "renamed", renamed.to_csv(index=False),
                        LEVELS.replace('"NA", "None", "Other"', '"a", "b", "c"'))
    assert causal_dsl.load(other).estimate("q").effect == pytest.approx(result.effect)


@pytest.mark.parametrize("spelling", MISSING_SPELLINGS)
def test_the_documented_spellings_are_missing_in_other_columns(tmp_path: Path, spelling: str
                                                               ) -> None:
    path = write_study(tmp_path, csv_with(simulated(), "z", {2: spelling}))
    result = causal_dsl.load(path).estimate("q")
    assert dict(result.sample.missing_by_column)["z"] == 1


def test_other_spellings_are_values(tmp_path: Path) -> None:
    path = write_study(tmp_path, csv_with(simulated(), "z", {2: "."}))
    with pytest.raises(DataError) as info:
        causal_dsl.load(path).estimate("q")
    assert codes(info.value) == ["E406"]


def test_every_missing_spelling_is_documented() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "estimation.md").read_text(encoding="utf-8")
    for spelling in MISSING_SPELLINGS[1:]:
        assert f"`{spelling}`" in doc, spelling


# --- duplicate columns, constant outcome ------------------------------------------------------
def test_duplicate_column_names_are_an_error(tmp_path: Path) -> None:
    text = simulated().to_csv(index=False).replace("x,z,y", "x,y,y", 1)
    with pytest.raises(DataError) as info:
        causal_dsl.load(write_study(tmp_path, text)).run()
    assert codes(info.value) == ["E416"] and "'y' (2 times)" in str(info.value)
    frame = simulated()
    frame.columns = ["x", "z", "z"]
    with pytest.raises(DataError, match="'z'"):
        check_data(causal_dsl.parse(STUDY.replace('data "d.csv"\n', "")), frame)


@pytest.mark.parametrize("method", ["ols", "matching", "stratification"])
def test_a_constant_outcome_is_said_to_be_constant(tmp_path: Path, method: str) -> None:
    frame = simulated().assign(y=3.0, z=lambda f: (f["z"] > 0).astype(int))
    text = STUDY.replace("using ols", f"using {method}").replace("z: continuous", "z: binary")
    with pytest.raises(DataError) as info:
        causal_dsl.load(write_study(tmp_path, frame.to_csv(index=False), text)).run()
    assert codes(info.value) == ["E411"]
    assert "outcome 'y' is constant (3)" in info.value.diagnostics[0].message


# --- special files --------------------------------------------------------------------------------
def run_child(code: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    """Python code in a child with a 2 GiB address-space cap and a timeout: a hang or a
    blow-up is a test failure, not a stuck or killed machine."""
    prelude = ("import resource\n"
               "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n")
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_special_files_are_refused_not_read(tmp_path: Path) -> None:
    study = write_study(tmp_path, "")
    (tmp_path / "d.csv").unlink()
    os.mkfifo(tmp_path / "d.csv")
    (tmp_path / "z.csv").symlink_to("/dev/zero")
    (tmp_path / "z.causal").write_text(STUDY.replace("d.csv", "z.csv"))
    child = run_child("""
        import json
        from click.testing import CliRunner
        from causal_dsl.cli import main
        out = {}
        for args in (["run", "s.causal"], ["lint", "s.causal"], ["test", "s.causal"],
                     ["report", "s.causal"], ["run", "z.causal"],
                     ["run", "z.causal", "--allow-data-outside"],
                     ["lint", "z.causal", "--allow-data-outside"]):
            r = CliRunner().invoke(main, args)
            out[" ".join(args)] = [r.exit_code, r.output, repr(r.exception)]
        print(json.dumps(out))
    """, tmp_path)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout)
    for args in ("run s.causal", "lint s.causal", "test s.causal", "run z.causal "
                 "--allow-data-outside", "lint z.causal --allow-data-outside"):
        code, text, _ = out[args]
        assert code == 1 and "E417" in text and "Traceback" not in text, (args, text)
    assert "named pipe" in out["run s.causal"][1]
    assert "character device" in out["run z.causal --allow-data-outside"][1]
    assert "E417" in out["report s.causal"][1]  # reported inside the document
    assert out["run z.causal"][0] == 1 and "E418" in out["run z.causal"][1]  # /dev is outside
    assert study.exists()


# --- data paths are confined ------------------------------------------------------------------
def outside_layout(tmp_path: Path) -> Path:
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    frame = simulated().assign(password_hunter2="s3cr3t")  # lint would name the column
    secret.write_text(frame.to_csv(index=False))
    return write_study(tmp_path / "project", "x\n",
                       STUDY.replace('"d.csv"', '"../elsewhere/secret.csv"'), name="unused.csv")


@pytest.mark.parametrize("verb", ["check", "run", "lint", "test", "report"])
def test_data_outside_the_study_is_refused_by_every_verb(tmp_path: Path, verb: str) -> None:
    study = outside_layout(tmp_path)
    result = CliRunner().invoke(main, [verb, str(study)])
    assert "E418" in result.output and "password_hunter2" not in result.output, result.output
    assert "Traceback" not in result.output
    if verb != "report":  # the report shows the problem in the document and exits 0
        assert result.exit_code == 1
    allowed = CliRunner().invoke(main, [verb, str(study), "--allow-data-outside"])
    assert "E418" not in allowed.output
    by_env = CliRunner().invoke(main, [verb, str(study)],
                                env={"CAUSAL_ALLOW_DATA_OUTSIDE": "1"})
    assert "E418" not in by_env.output


def test_confinement_from_python(tmp_path: Path) -> None:
    study = causal_dsl.load(outside_layout(tmp_path))
    with pytest.raises(DataError) as info:
        load_data(study)
    assert codes(info.value) == ["E418"] and "password" not in str(info.value)
    with pytest.raises(DataError, match="E418"):
        read_header(tmp_path / "elsewhere" / "secret.csv", study=study)
    assert len(load_data(study, allow_outside=True)) == 400
    assert study.estimate("q", data=load_data(study, allow_outside=True)).ci_low < EFFECT


def test_the_repository_root_and_symlinks(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "data").mkdir()
    simulated().to_csv(repo / "data" / "d.csv", index=False)
    study = write_study(repo / "studies", "x\n", STUDY.replace('"d.csv"', '"../data/d.csv"'),
                        name="unused.csv")
    assert allowed_roots(study) == (repo.resolve() / "studies", repo.resolve())
    assert len(load_data(causal_dsl.load(study))) == 400
    # a link inside the tree that points out of it is outside
    (tmp_path / "out.csv").write_text(simulated().to_csv(index=False))
    (repo / "studies" / "link.csv").symlink_to(tmp_path / "out.csv")
    linked = write_study(repo / "studies", "x\n", STUDY.replace('"d.csv"', '"link.csv"'),
                         name="unused.csv")
    with pytest.raises(DataError, match="E418"):
        load_data(causal_dsl.load(linked))


# --- positions ----------------------------------------------------------------------------------
def test_positions_are_physical_lines_when_cells_span_lines(tmp_path: Path) -> None:
    text = 'x,z,y,note\n1,0.5,2,"two\nlines"\n\n0,abc,1,plain\n1,0.1,2,"a\n\nb"\n0,xyz,1,c\n'
    with pytest.raises(DataError) as info:
        causal_dsl.load(write_study(tmp_path, text)).run()
    message = info.value.diagnostics[0].message
    assert "'abc', 'xyz'" in message and "line(s) 5, 9" in message, message


# --- a categorical confounder with 10,000 levels ----------------------------------------------
@pytest.mark.parametrize("method", ["ols", "matching"])
def test_ten_thousand_levels_are_refused_before_any_large_allocation(method: str) -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    frame = pd.DataFrame({"z": [f"L{v}" for v in rng.integers(0, 10_000, n)],
                          "x": (rng.random(n) < 0.5).astype(int), "y": rng.normal(size=n)})
    study = causal_dsl.parse(STUDY.replace('data "d.csv"\n', "")
                             .replace("z: continuous", "z: categorical")
                             .replace("using ols", f"using {method}"))
    tracemalloc.start()
    try:
        with pytest.raises(EstimationError) as info:
            study.estimate("q", data=frame)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert codes(info.value) == ["E516"]
    assert "using stratification" in (info.value.diagnostics[0].help or "")
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # a dense design is 1.3 GiB


# --- the class: hostile files through every verb, in one capped child -------------------------
HOSTILE: dict[str, bytes] = {
    "bom": b"\xef\xbb\xbfx,z,y\n" + simulated(40).to_csv(index=False).split("\n", 1)[1].encode(),
    "ragged_long": b"x,z,y\n1,2,3\n0,1,2,9\n",
    "ragged_short": b"x,z,y\n1,2\n" + simulated(40).to_csv(index=False, header=False).encode(),
    "empty": b"",
    "header_only": b"x,z,y\n",
    "junk": np.random.default_rng(3).bytes(4000),
    "nul_bytes": b"x,z,y\n1,\x00,3\n" * 20,
    "huge_numbers": simulated(40).assign(z=1e300).to_csv(index=False).encode(),
    "huge_outcome": simulated(40).assign(y=lambda f: f["y"] * 1e307).to_csv(index=False).encode(),
    "nan_everywhere": b"x,z,y\n" + b"NaN,NaN,NaN\n" * 30,
    "na_levels": b"x,z,y\n" + b"1,NA,2\n0,None,1\n" * 20,
    "quoted_newlines": b'x,z,y\n1,"1\n2",3\n' * 20,
    "long_line": b"x,z,y\n" + b"1," + b"9" * 200_000 + b",3\n",
    "many_columns": (",".join(f"c{i}" for i in range(5000)) + ",x,z,y\n").encode()
    + (("0," * 5000) + "1,2,3\n").encode() * 5,
    "not_utf8_latin1": "x,z,y\n1,é,2\n".encode("latin-1") * 5,
    "tabs": b"x\tz\ty\n1\t2\t3\n",
}


def test_hostile_files_give_errors_or_finite_answers(tmp_path: Path) -> None:
    for name, content in HOSTILE.items():
        folder = tmp_path / name
        write_study(folder, "")
        (folder / "d.csv").write_bytes(content)
    child = run_child(f"""
        import json, math
        from click.testing import CliRunner
        from causal_dsl.cli import main
        out = {{}}
        for name in {sorted(HOSTILE)!r}:
            for verb in ("run", "lint", "test", "report"):
                args = [verb, name + "/s.causal"] + (["--format", "json"] if verb == "run"
                                                     else [])
                r = CliRunner().invoke(main, args)
                crash = None if r.exception is None or isinstance(r.exception, SystemExit) \\
                    else repr(r.exception)
                out[name + " " + verb] = [r.exit_code, r.output[-200_000:], crash]
        print(json.dumps(out))
    """, tmp_path, timeout=120)
    assert child.returncode == 0, child.stderr[-3000:]
    out = json.loads(child.stdout)
    for key, (code, text, crash) in out.items():
        assert crash is None and "Traceback" not in text, (key, crash, text)
        assert code in (0, 1), (key, code, text)
        if key.endswith(" run") and code == 0:
            result = json.loads(text)
            for q in result["queries"]:
                effect = q["estimate"]["effect"]
                assert effect is not None and np.isfinite(effect), (key, q["estimate"])
    assert "E416" not in out["bom run"][1] and out["bom run"][0] == 0  # BOM is not in the name
    assert "E415" in out["huge_outcome run"][1] or "E515" in out["huge_outcome run"][1] \
        or out["huge_outcome run"][0] == 0
    assert "E415" in out["huge_numbers run"][1]  # squares of 1e300 overflow: refused
    for name in ("empty", "junk", "ragged_long"):
        assert "E403" in out[f"{name} run"][1], out[f"{name} run"]
