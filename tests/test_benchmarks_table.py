"""The README's speed table is what `benchmarks/readme_table.py` makes of the committed
`benchmarks/results.json` (no figure typed by hand, none stale), and the results file has the
shape the table needs. Not a timing test: nothing here measures anything."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def _module(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_readme_speed_table_is_generated_from_the_results_file() -> None:
    readme_table = _module("readme_table")
    results = json.loads((BENCH / "results.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table.rewrite(readme, results) == readme, (
        "README.md's speed table differs from benchmarks/results.json: run "
        "python benchmarks/readme_table.py")


def test_results_rows_have_what_the_table_needs() -> None:
    results = json.loads((BENCH / "results.json").read_text(encoding="utf-8"))
    rows = results["benchmarks"]["speed"]["rows"]
    assert rows, "benchmarks/speed.py recorded no rows"
    for row in rows:
        assert {"what", "figure", "goal", "met", "ratio", "peer_name"} <= set(row), row
        assert isinstance(row["met"], bool)


def test_rewrite_replaces_only_the_marked_block_and_needs_the_markers() -> None:
    readme_table = _module("readme_table")
    results = {"machine": {"cpus": 2, "python": "3.11"}, "benchmarks": {"speed": {
        "date": "2026-01-01", "threads": 1, "rows": [
            {"what": "a | b", "figure": "1.0 s", "goal": "<= 1 s", "met": True}]}}}
    text = f"before\n{readme_table.START}\nold\n{readme_table.END}\nafter\n"
    out = readme_table.rewrite(text, results)
    assert out.startswith("before\n") and out.endswith(f"{readme_table.END}\nafter\n")
    assert "old" not in out and "| a \\| b | 1.0 s | <= 1 s | met |" in out
    with pytest.raises(ValueError):
        readme_table.rewrite("no markers here\n", results)


def test_scale_block_is_regenerated_sorted_by_size_with_goals_on_engine_cells() -> None:
    readme_table = _module("readme_table")
    ours = {"seconds": 2.0, "cpu_seconds": 2.5, "rss_mib": 900.0, "effect": 2.0, "se": 0.01}
    rows = [{"row": "engine ols 1e+07", "what": "engine ols, big", "ours": ours, "ratio": 1.5,
             "goal": "<= 2x", "met": True},
            {"row": "arrow read 1e+06", "what": "arrow read, small",
             "ours": {"seconds": 1.0, "rss_mib": 2048.0}, "ratio": 1.0, "goal": "<= 2x",
             "met": True}]
    results = {"machine": {"cpus": 2}, "benchmarks": {"speed": {"rows": []},
                                                      "scale": {"date": "2026-01-01",
                                                                "rows": rows}}}
    text = (f"{readme_table.START}\n{readme_table.END}\nx\n{readme_table.SCALE_START}\nold\n"
            f"{readme_table.SCALE_END}\n")
    out = readme_table.rewrite(text, results)
    assert "old" not in out
    small, big = out.index("arrow read, small"), out.index("engine ols, big")
    assert small < big  # 10⁶ before 10⁷
    assert "| arrow read, small | 1.0 | 2.0 GiB | 1.00 |  | the peer |  |" in out
    assert ("| engine ols, big | 2.0 (2.5) | 900 MiB | 1.50 | 2.000000 (SE 0.010000) | <= 2x "
            "| met |") in out
