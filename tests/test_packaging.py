"""The wheel ships the grammar (the single source of the syntax) inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_grammar(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("causal_dsl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = archive.read("causal_dsl/grammar/causal.lark").decode()
    assert "causal_dsl/cli.py" in names
    assert shipped == (ROOT / "grammar" / "causal.lark").read_text()
    assert any(name.endswith("entry_points.txt") for name in names)
