"""What ``causal run`` prints and hands to programs (issue 15): the summary table first, details
with --verbose, one identification block per distinct identification, lines within 100 columns,
p-values as ``< 0.001``, no ``nan``, ``Seed:`` only after random draws, data paths relative to the
study; ``to_frame()`` (broom) checked against statsmodels, ``matched_data()`` (MatchIt) against
the balance table by hand, ``--save-matched``, progress on a terminal only, and Ctrl-C.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import causal_dsl
from causal_dsl import progress
from causal_dsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HEART = EXAMPLES / "heart_drug.causal"
GOLDEN = ROOT / "tests" / "golden" / "run"


def cli(*args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.stdout, result.stderr


def study_copy(tmp_path: Path, extra: str = "", replace: tuple[str, str] | None = None) -> Path:
    """heart_drug.causal and its data in `tmp_path`, with `extra` lines appended."""
    shutil.copy(EXAMPLES / "heart_drug.csv", tmp_path / "heart_drug.csv")
    text = HEART.read_text(encoding="utf-8")
    if replace is not None:
        text = text.replace(*replace)
    path = tmp_path / "heart_drug.causal"
    path.write_text(text + extra, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# golden text
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "flags"), [
    ("heart_drug.txt", ()),
    ("heart_drug.verbose.txt", ("--verbose",)),
    ("heart_drug.md", ("--format", "markdown")),
])
def test_run_golden(name: str, flags: tuple[str, ...]) -> None:
    out, _ = cli("run", str(HEART), "--quiet", *flags)
    path = GOLDEN / name
    if not path.exists():
        path.write_text(out, encoding="utf-8")
        pytest.fail(f"golden file {name} was missing and has been written; rerun")
    assert out == path.read_text(encoding="utf-8")


def test_summary_comes_first_and_details_need_verbose() -> None:
    short, _ = cli("run", str(HEART))
    lines = short.splitlines()
    assert lines[3] == "Estimates (95% confidence intervals)"
    assert lines[4].split() == ["query", "estimand", "method", "estimate", "95%", "CI", "n"]
    assert lines[6].split()[:4] == ["main", "ATE", "matching", "-4.891"]
    assert "Diagnostics:" not in short and "causal run --verbose" in short
    verbose, _ = cli("run", str(HEART), "--verbose")
    assert verbose.startswith("\n".join(lines[:9]))
    assert "Diagnostics:" in verbose
    tail = verbose.rstrip().splitlines()
    assert tail[-12] == "Comparison of the estimates" and len(tail[-9:]) == 9


def test_identical_identification_shown_once() -> None:
    out, _ = cli("run", str(HEART), "--verbose")
    assert out.count("Identification of drug -> severity") == 1
    assert "(queries main, treated, linear)" in out
    assert out.count("blocks every backdoor path") == 1


@pytest.mark.parametrize("example", ["heart_drug", "fastfood", "mroz", "frontdoor", "kielmc",
                                     "training_bias_reduction", "jtrain2"])
def test_lines_fit_and_numbers_read_well(example: str) -> None:
    out, _ = cli("run", str(EXAMPLES / f"{example}.causal"), "--verbose")
    too_long = [line for line in out.splitlines() if len(line) > 100]
    assert not too_long
    assert "nan" not in out.lower().replace("naive", "")
    assert "e-232" not in out and "2.14e" not in out  # p-values spelled out


def test_coefficient_p_values_as_in_the_estimate_table() -> None:
    out, _ = cli("run", str(HEART), "--verbose", "--query", "linear")
    coef = out[out.index("  Coefficients"):].splitlines()
    assert coef[1].split() == ["term", "coef", "SE", "t", "p"]
    assert all(row.endswith("< 0.001") for row in coef[3:8])


def test_event_study_reference_row_has_no_nan() -> None:
    from causal_dsl.present.text import table_text
    from causal_dsl.results import Table

    t = Table("Event study", ("event time", "coef", "SE", "p"),
              ((-2, 0.1, 0.05, 0.04), (-1, 0.0, 0.0, float("nan"))))
    assert table_text(t).splitlines()[-1].split() == ["-1", "0", "0", "—"]


def test_seed_only_when_something_was_drawn(tmp_path: Path) -> None:
    out, _ = cli("run", str(HEART), "--verbose")
    assert "Seed:" not in out
    boot = study_copy(tmp_path, 'query boot: att(drug -> severity) using matching(se = '
                      '"bootstrap", bootstrap = 40)\n')
    out, _ = cli("run", str(boot), "--verbose", "--query", "boot", "--seed", "7")
    assert out.count("Seed: 7") == 1


def test_paths_relative_to_the_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study = study_copy(tmp_path / "deep" if (tmp_path / "deep").mkdir() is None else tmp_path)
    monkeypatch.chdir(ROOT)
    absolute = str(study.parent.resolve())
    outputs = [cli("run", str(study), *f)[0] for f in
               ((), ("--verbose",), ("--format", "markdown", "--verbose"), ("--format", "json"))]
    report = tmp_path / "r.html"
    cli("report", str(study), "-o", str(report))
    outputs.append(report.read_text(encoding="utf-8"))
    for text in outputs:
        assert absolute not in text and str(tmp_path) not in text
    assert json.loads(outputs[3])["data"] == "heart_drug.csv"
    assert "3000 rows read from heart_drug.csv" in outputs[1]


# ---------------------------------------------------------------------------------------------
# to_frame (broom) and matched_data (MatchIt)
# ---------------------------------------------------------------------------------------------
def test_to_frame_against_statsmodels() -> None:
    import statsmodels.formula.api as smf

    study = causal_dsl.load(HEART)
    run = study.run()
    frame = run.to_frame()
    assert list(frame.columns) == ["query", "role", "estimand", "method", "estimate",
                                   "std_error", "conf_low", "conf_high", "p_value", "n",
                                   "std_error_kind"]
    assert len(frame) == 9  # three queries: estimate, cross-check, naive
    row = frame[(frame["query"] == "linear") & (frame["role"] == "estimate")].iloc[0]
    data = pd.read_csv(EXAMPLES / "heart_drug.csv")
    fit = smf.ols("severity ~ drug + health_score + C(ward)", data).fit(cov_type="HC1", use_t=True)
    low, high = fit.conf_int().loc["drug"]
    assert row["estimate"] == pytest.approx(fit.params["drug"], rel=1e-9)
    assert row["std_error"] == pytest.approx(fit.bse["drug"], rel=1e-9)
    assert row["conf_low"] == pytest.approx(low, rel=1e-6)
    assert row["conf_high"] == pytest.approx(high, rel=1e-6)
    assert row["n"] == len(data) and row["estimand"] == "ATE" and row["method"] == "ols"
    one = run["main"].to_frame()
    assert list(one["role"]) == ["estimate", "cross-check", "naive"]
    assert one.iloc[0]["estimate"] == run["main"].effect


def _weighted(frame: pd.DataFrame, column: str, arm: int) -> float:
    part = frame[frame["drug"] == arm]
    return float(np.average(part[column], weights=part["weights"]))


@pytest.mark.parametrize("query", ["main", "treated"])
def test_matched_data_reproduces_the_balance_table(query: str) -> None:
    r = causal_dsl.load(HEART).estimate(query)
    data = r.matched_data()
    assert {"distance", "weights"} <= set(data.columns) and "subclass" not in data.columns
    assert (data["weights"] > 0).all()
    table = r.result.table("balance")
    assert table is not None
    rows = {row[0]: row for row in table.rows}
    for name, column in (("propensity score", "distance"), ("initial_health", "initial_health")):
        assert _weighted(data, column, 1) == pytest.approx(rows[name][4], rel=1e-12)
        assert _weighted(data, column, 0) == pytest.approx(rows[name][5], rel=1e-12)
    for arm in (0, 1):  # MatchIt scales each arm's weights to its number of matched units
        w = data.loc[data["drug"] == arm, "weights"]
        assert w.sum() == pytest.approx(len(w))
    everyone = r.matched_data(all_units=True)
    assert len(everyone) == 3000 and {"dropped", "outside_support"} <= set(everyone.columns)


def test_matched_data_without_replacement_has_pairs(tmp_path: Path) -> None:
    path = study_copy(tmp_path, "query pairs: att(drug -> severity) using matching(replace = "
                      "false, caliper = 0.05)\n")
    r = causal_dsl.load(path).estimate("pairs")
    data = r.matched_data()
    sizes = data.groupby("subclass")["drug"].agg(["size", "sum"])
    assert (sizes["size"] == 2).all() and (sizes["sum"] == 1).all()  # one treated, one control
    assert (data["weights"] == 1).all()
    assert len(sizes) == r.result.detail("n_matched_targets")
    everyone = r.matched_data(all_units=True)
    dropped = int(everyone["dropped"].sum())
    assert dropped == r.result.detail("dropped")["treated"] > 0


def test_matched_data_refused_for_other_methods() -> None:
    from causal_dsl.errors import CausalError

    r = causal_dsl.load(HEART).estimate("linear")
    with pytest.raises(CausalError) as info:
        r.matched_data()
    assert info.value.diagnostics[0].code == "E608"


def test_save_matched(tmp_path: Path) -> None:
    out = tmp_path / "matched.csv"
    cli("run", str(HEART), "--query", "treated", "--save-matched", str(out))
    saved = pd.read_csv(out)
    expected = causal_dsl.load(HEART).estimate("treated").matched_data()
    assert list(saved.columns) == list(expected.columns)
    assert np.allclose(saved["weights"], expected["weights"])
    both = tmp_path / "both.csv"
    cli("run", str(HEART), "--save-matched", str(both))
    assert set(pd.read_csv(both)["query"]) == {"main", "treated"}
    none = tmp_path / "none.csv"
    _, err = cli("run", str(HEART), "--query", "linear", "--save-matched", str(none), code=1)
    assert "E608" in err and not none.exists()


def test_markdown_comparison_pastes_as_a_table() -> None:
    out, _ = cli("run", str(HEART), "--format", "markdown", "--verbose")
    table = out[out.index("**Comparison of the estimates**"):].strip().splitlines()[2:]
    assert table[0].startswith("| query | estimate of |") and len(table) == 2 + 9
    assert all(line.count("|") == table[0].count("|") for line in table)


# ---------------------------------------------------------------------------------------------
# progress and Ctrl-C
# ---------------------------------------------------------------------------------------------
class FakeTty:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_eta_and_silence() -> None:
    tty = FakeTty()
    ticks = iter([0.0, 1.0, 2.0, 3.0])
    with progress.showing(tty, clock=lambda: next(ticks)):
        progress.phase("loading the data")
        progress.step("bootstrap", 0, 4)
        progress.step("bootstrap", 1, 4)
    shown = tty.text.split("\r")
    assert "loading the data" in shown[1]
    assert shown[3].strip() == "bootstrap 1/4, about 3 s left"
    assert tty.text.endswith("\r")  # the line is cleared at the end
    quiet = FakeTty()
    with progress.showing(quiet, enabled=False):
        progress.phase("loading")
    assert quiet.text == ""
    progress.phase("outside any block: nothing")  # no reporter, no output, no error


def test_no_progress_when_not_a_terminal() -> None:
    result = CliRunner().invoke(main, ["run", str(HEART)])
    assert result.exit_code == 0 and result.stderr == ""


def _run_on_pty(args: list[str], until: bytes | None = None, interrupt: bool = False
                ) -> tuple[int, bytes, bytes]:
    """Run the CLI with stderr on a pseudo-terminal (stdout a pipe); with `interrupt`, send
    SIGINT once `until` has appeared on the terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "causal_dsl", *args], stdout=subprocess.PIPE,
                            stderr=slave, cwd=ROOT)
    os.close(slave)
    seen = b""
    sent = False
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if interrupt and not sent and until is not None and until in seen:
            proc.send_signal(signal.SIGINT)
            sent = True
    out = proc.stdout.read() if proc.stdout else b""
    code = proc.wait(60)
    os.close(master)
    return code, out, seen


def test_progress_on_the_terminal_only(tmp_path: Path) -> None:
    path = study_copy(tmp_path, 'query boot: att(drug -> severity) using matching(se = '
                      '"bootstrap", bootstrap = 60)\n')
    code, out, err = _run_on_pty(["run", str(path), "--query", "boot"])
    assert code == 0
    assert b"bootstrap" in err and b"propensity score model" in err
    assert b"\r" not in out and out.startswith(b"Study: Heart drug")
    code, _, err = _run_on_pty(["run", str(path), "--query", "boot", "--quiet"])
    assert code == 0 and err == b""


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    path = study_copy(tmp_path, 'query boot: att(drug -> severity) using matching(se = '
                      '"bootstrap", bootstrap = 5000)\n')
    target = tmp_path / "matched.csv"
    code, out, err = _run_on_pty(["run", str(path), "--query", "boot", "--save-matched",
                                  str(target)], until=b"bootstrap", interrupt=True)
    text = err.decode().replace("\r", "\n")
    assert code == 130, text
    assert "causal: interrupted" in text and "Traceback" not in text
    assert out == b"" and not target.exists()
    assert not list(tmp_path.glob(".matched.csv.*"))


def test_ctrl_c_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(causal_dsl.Study, "run", interrupted)
    result = CliRunner().invoke(main, ["run", str(HEART), "--save-matched",
                                       str(tmp_path / "m.csv")])
    assert result.exit_code == 130
    assert result.stderr == "causal: interrupted\n" and result.stdout == ""
    assert not (tmp_path / "m.csv").exists()
