"""Regenerate the README's speed table from ``benchmarks/results.json``.

In: the results file (written by ``benchmarks/speed.py`` and the other benchmarks through
``benchmarks/record.py``) and README.md. Out: README.md with the text between the markers
``<!-- speed-table:start -->`` and ``<!-- speed-table:end -->`` replaced by `table()`, and the
text between ``<!-- scale-table:start -->`` and ``<!-- scale-table:end -->`` (the "Large data"
section, written by ``benchmarks/scale.py``) by `scale_table()`; nothing else in the file
changes. ``--check`` only says whether the README is up to date (exit 1 if
not). Run from anywhere:

    python benchmarks/readme_table.py          # rewrite the table
    python benchmarks/readme_table.py --check  # CI: is it current?

`tests/test_benchmarks_table.py` checks that the committed README holds exactly `table()` of the
committed results file, so a figure cannot go stale in the README.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import RESULTS, ROOT, load

README = ROOT / "README.md"
START = "<!-- speed-table:start -->"
END = "<!-- speed-table:end -->"
SCALE_START = "<!-- scale-table:start -->"
SCALE_END = "<!-- scale-table:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(results: dict[str, Any]) -> str:
    """The Markdown table (with its one-line preamble) for `results`."""
    speed = results.get("benchmarks", {}).get("speed")
    if not speed:
        return "_No figures yet: run `python benchmarks/speed.py`._"
    machine = results.get("machine", {})
    threads = speed.get("threads")
    lines = [
        f"Measured {speed.get('date', '?')} on a {machine.get('cpus', '?')}-core machine, Python "
        f"{machine.get('python', '?')}"
        + (f", {threads} BLAS thread(s) for ours and the peers" if threads else "")
        + " (`python benchmarks/speed.py`; each cell in a fresh process, the peer measured in "
        "the same run):",
        "",
        "| what a user runs | measured (ratio to the peer) | goal | |",
        "| --- | --- | --- | --- |",
    ]
    for row in speed.get("rows", []):
        lines.append(f"| {_cell(row['what'])} | {_cell(row['figure'])} | {_cell(row['goal'])} | "
                     f"{'met' if row.get('met') else 'not met'} |")
    return "\n".join(lines)


def _mib(mib: float) -> str:
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"


def scale_table(results: dict[str, Any]) -> str:
    """The "Large data" table: one line per cell of `benchmarks/scale.py`, as recorded."""
    scale = results.get("benchmarks", {}).get("scale")
    if not scale:
        return "_No figures yet: run `python benchmarks/scale.py`._"
    machine = results.get("machine", {})
    lines = [
        f"Measured {scale.get('date', '?')} on a {machine.get('cpus', '?')}-core machine "
        "(`python benchmarks/scale.py`; each cell in its own process; the ratio is to one read "
        "of the columns the estimators need, DuckDB to Arrow batches to NumPy, in the same "
        "run):",
        "",
        "| cell | seconds (CPU) | peak RSS | × one read | answer | goal | |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in sorted(scale.get("rows", []), key=_scale_order):
        ours = row.get("ours", {})
        cpu = ours.get("cpu_seconds")
        ratio = row.get("ratio")
        kind = row.get("row", "").split(" ")[0]
        answer = (f"{ours['effect']:.6f} (SE {ours['se']:.6f})" if "effect" in ours else "")
        if kind == "engine":
            goal, met = row.get("goal", ""), "met" if row.get("met") else "not met"
        else:
            goal, met = ("the peer" if kind in ("duckdb", "arrow") else "for comparison"), ""
        lines.append(
            f"| {_cell(row['what'])} | {ours.get('seconds', float('nan')):.1f}"
            + (f" ({cpu:.1f})" if cpu is not None else "")
            + f" | {_mib(ours.get('rss_mib', 0.0))} | "
            + ("" if ratio is None or kind == "duckdb" else f"{ratio:.2f}")
            + f" | {answer} | {_cell(goal)} | {met} |")
    return "\n".join(lines)


_SCALE_CELLS = ("duckdb", "arrow", "engine", "pandas", "pyfixest")


def _scale_order(row: dict[str, Any]) -> tuple[float, int, str]:
    """Rows by size, then reads, engine cells, pandas and pyfixest (row: "engine ols 1e+07")."""
    name, _, size = row.get("row", "").rpartition(" ")
    kind = name.split(" ")[0]
    try:
        rows = float(size)
    except ValueError:
        rows = float("inf")
    return rows, _SCALE_CELLS.index(kind) if kind in _SCALE_CELLS else 9, name


def _replace(text: str, start_mark: str, end_mark: str, body: str) -> str:
    start, end = text.find(start_mark), text.find(end_mark)
    return text[:start + len(start_mark)] + "\n" + body + "\n" + text[end:]


def rewrite(readme: str, results: dict[str, Any]) -> str:
    """`readme` with the marked blocks replaced; ValueError without the speed markers (the
    scale block is replaced when its markers are there)."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} block")
    out = _replace(readme, START, END, table(results))
    s_start, s_end = out.find(SCALE_START), out.find(SCALE_END)
    if s_start >= 0 and s_end > s_start:
        out = _replace(out, SCALE_START, SCALE_END, scale_table(results))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    text = README.read_text(encoding="utf-8")
    new = rewrite(text, load(args.results))
    if args.check:
        if new != text:
            print("README.md's figures are stale: run python benchmarks/readme_table.py")
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md: speed and scale tables regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
