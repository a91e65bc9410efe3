"""Regenerate the README's speed table from ``benchmarks/results.json``.

In: the results file (written by ``benchmarks/speed.py`` and the other benchmarks through
``benchmarks/record.py``) and README.md. Out: README.md with the text between the markers
``<!-- speed-table:start -->`` and ``<!-- speed-table:end -->`` replaced by `table()`; nothing
else in the file changes. ``--check`` only says whether the README is up to date (exit 1 if
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


def rewrite(readme: str, results: dict[str, Any]) -> str:
    """`readme` with the block between the markers replaced; ValueError without markers."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} block")
    return readme[:start + len(START)] + "\n" + table(results) + "\n" + readme[end:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    text = README.read_text(encoding="utf-8")
    new = rewrite(text, load(args.results))
    if args.check:
        if new != text:
            print("README.md's speed table is stale: run python benchmarks/readme_table.py")
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print("README.md: speed table regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
