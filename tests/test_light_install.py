"""A light install for review tools (issue 15): the review verbs import no estimation stack.

Each verb runs in a fresh interpreter in which importing pandas, scipy, statsmodels,
scikit-learn or pyarrow fails, as in a core install (``pip install causal-dsl``); it must work,
and afterwards none of them is in ``sys.modules``. A verb that needs the stack says so with the
pip line. The install sizes are measured in README.md ("Light install").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "scipy", "statsmodels", "sklearn", "pyarrow")

# Runs `causal ARGS` in this interpreter with the heavy packages made unimportable, then prints
# which heavy modules were loaded (none may be) and exits with the verb's status.
DRIVER = """
import sys
HEAVY = {heavy!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Block())
sys.argv = ["causal", *{args!r}]
from causal_dsl.cli import main
try:
    main()
except SystemExit as done:
    code = done.code
else:
    code = 0
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(HEAVY))
print("LOADED", loaded, file=sys.stderr)
sys.exit(code)
"""


def _core(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = DRIVER.format(heavy=HEAVY, args=list(args))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp, check=False)


@pytest.fixture()
def study(tmp_path: Path) -> Path:
    for name in ("heart_drug.causal", "heart_drug.csv"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    return tmp_path


REVIEW_VERBS = [
    ("check", "heart_drug.causal"),
    ("check", "--no-data", "heart_drug.causal"),
    ("check", "--format", "json", "heart_drug.causal"),
    ("lint", "heart_drug.causal"),
    ("fmt", "--check", "heart_drug.causal"),
    ("identify", "heart_drug.causal"),
    ("diff", "heart_drug.causal", "heart_drug.causal"),
    ("render", "--format", "mermaid", "heart_drug.causal"),
    ("render", "--format", "dot", "heart_drug.causal"),
    ("export", "dagitty", "heart_drug.causal"),
]


@pytest.mark.parametrize("args", REVIEW_VERBS, ids=" ".join)
def test_review_verbs_work_without_the_estimation_stack(study: Path, args: tuple[str, ...]
                                                        ) -> None:
    out = _core(study, *args)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip().endswith("LOADED []"), out.stderr
    assert out.returncode in (0, 1)  # fmt --check may find the example not formatted
    if args[0] != "fmt":
        assert out.returncode == 0, out.stderr


def test_check_still_finds_data_problems_in_a_core_install(study: Path) -> None:
    csv = study / "heart_drug.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("severity", "severty", 1),
                   encoding="utf-8")
    out = _core(study, "check", "heart_drug.causal")
    assert out.returncode == 1
    assert "error[E404]" in out.stderr and "did you mean 'severty'?" in out.stderr
    assert out.stderr.strip().endswith("LOADED []")


@pytest.mark.parametrize("verb", ["run", "test", "plot --kind love"])
def test_estimation_verbs_name_the_extra(study: Path, verb: str) -> None:
    out = _core(study, *verb.split(), "heart_drug.causal")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert f"causal {verb.split()[0]}: needs the estimation stack" in out.stderr
    assert "pip install 'causal-dsl[estimate]'" in out.stderr


def test_core_dependencies_leave_the_stack_to_an_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {d.split(">")[0].split("<")[0].split("=")[0].lower() for d in project["dependencies"]}
    # scipy stays in the core: the graph engine's minimum cuts (smallest sets) need it
    assert not core & {"pandas", "statsmodels", "scikit-learn", "pyarrow"} and "scipy" in core
    extras = project["optional-dependencies"]
    stack = {d.split(">")[0].lower() for d in extras["estimate"]}
    assert {"pandas", "statsmodels", "pyarrow"} <= stack
    assert "causal-dsl[estimate]" in extras["test"]
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "additional_dependencies" not in hooks  # the hooks install the core only
