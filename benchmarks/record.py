"""The one machine-readable file every benchmark writes: ``benchmarks/results.json``.

In: a benchmark's name and its rows (plain dicts). Out: the file, with that benchmark's section
replaced and the others kept; `load()` gives the whole file back. Each row holds the figures a
table needs: ``what`` (what a user runs), ``ours`` and ``peer`` (seconds or MiB as measured in
the same run), ``peer_name``, ``ratio`` (ours / peer), ``goal`` (the ratio or figure to stay
under) and ``met``. `benchmarks/readme_table.py` turns the file into the README's speed table.

Also here: `run_cell`, which runs one measurement in a fresh interpreter (so that its peak
memory belongs to it alone) and returns what the cell printed as JSON, and `PeakRSS`, a sampler of
the resident set for code whose memory tracemalloc cannot see (Arrow's allocator).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"
ROOT = Path(__file__).resolve().parent.parent


def load(path: Path = RESULTS) -> dict[str, Any]:
    """The whole results file ({} when there is none yet)."""
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def record(benchmark: str, rows: list[dict[str, Any]], path: Path = RESULTS,
           **meta: Any) -> None:
    """Replace the section `benchmark` of the results file with `rows` (and `meta`)."""
    data = load(path)
    data.setdefault("machine", {})
    data["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "system": platform.system()}
    sections = data.setdefault("benchmarks", {})
    old = sections.get(benchmark, {}).get("rows", [])
    named = {r.get("row"): r for r in rows}
    # a partial run (some rows only) keeps the other rows of the section, in their place
    merged = [named.pop(r.get("row")) if r.get("row") in named else r for r in old] \
        + [r for r in rows if r.get("row") in named]
    sections[benchmark] = {"date": time.strftime("%Y-%m-%d"), "rows": merged, **meta}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


THREADS: list[int] = []  # set by a benchmark's --threads: BLAS threads of every cell


def run_cell(script: Path, cell: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run ``python SCRIPT --cell CELL ARGS...`` in a fresh interpreter; its last stdout line
    is the cell's JSON answer. With `THREADS` set, BLAS and OpenMP get that many threads (the
    same for ours and the peer: multithreaded BLAS calls stall on a busy machine)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if THREADS:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(THREADS[0])
    done = subprocess.run([sys.executable, str(script), "--cell", cell, *args],
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cell {cell} failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def rss_bytes() -> int:
    """The resident set size of this process now (Linux: /proc/self/statm)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """``with PeakRSS() as p: ...`` then ``p.peak`` — the largest resident set seen above the
    one at entry, sampled every 2 ms in a thread (bytes)."""

    def __init__(self) -> None:
        self.base = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes() - self.base)
            time.sleep(0.002)

    def __enter__(self) -> PeakRSS:
        self.base = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes() - self.base)
