"""The package's layout: imports point down the pipeline only, and there is no import cycle.

Every `import` of a package module is collected from the source (function-level, i.e. lazy,
imports included; those under ``if TYPE_CHECKING:`` excluded, since they never run), and each
must go to a module of a lower or the same layer. A new module must be given a layer here: the
test fails on a module it does not know, so that the layering is decided, not drifted into.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import networkx as nx
import pytest

import causal_dsl
from causal_dsl.study import Study

PACKAGE = Path(causal_dsl.__file__).parent

# The pipeline, bottom first. A prefix names a package and every module in it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "display", "files", "progress", "distributions", "collector"),
    ("model",),
    ("syntax", "syntax_errors", "syntax_tree", "syntax_terms", "terms", "conditions",
     "resolve_engine", "resolve_options", "resolve", "parse_columns", "parse_fast", "recover",
     "syntax_cache",
     "fmt", "dagitty"),
    ("graph",),
    ("identify",),
    ("plans", "results", "frames", "coding", "weighting", "derive", "datafiles", "datacheck",
     "csvsegments", "tables", "data"),
    ("estimators",),
    ("checks",),
    ("engines",),
    ("designs", "plan_rules", "planner"),
    ("render",),
    ("present",),
    ("report", "plots"),
    ("diff", "lint", "convert"),
    ("study",),
    ("lsp", "pygments_lexer"),
    ("__init__", "cli", "cli_common", "cli_review", "__main__"),
)

# Data and engine layers that the issue names: nothing in them imports a later stage.
PURE = ("model", "results", "graph")


def _layer(module: str) -> int:
    """The layer of `causal_dsl.<module>` (dotted below the package)."""
    for i, names in enumerate(LAYERS):
        for name in names:
            if module == name or module.startswith(name + "."):
                return i
    raise AssertionError(f"causal_dsl.{module} has no layer in tests/test_architecture.py: "
                         "add it to LAYERS where it sits in the pipeline")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules that `module` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")
    if module == "__init__":
        package = []
    out: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif node.module and node.module.split(".")[0] == "causal_dsl":
                base = []
                node_module = node.module.split(".")[1:]
                targets = [".".join(node_module)] if node_module else []
                targets += [".".join([*node_module, a.name]) for a in node.names]
                out |= {t for t in targets if t in known}
                continue
            else:
                continue
            head = [*base, *(node.module.split(".") if node.module else [])]
            # `from . import x` imports the submodule x (or, when x is a name defined in the
            # package, the package itself); `from .m import x` imports m
            subs = [".".join([*head, a.name]) for a in node.names]
            targets = [t for t in subs if t in known]
            if head and (node.module or len(targets) < len(subs)):
                targets.append(".".join(head))
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".", 1)[1] for a in node.names
                       if a.name.startswith("causal_dsl.")]
        out |= {t for t in targets if t in known and t != module}
    return out


def _import_graph() -> nx.DiGraph:
    modules = _modules()
    known = set(modules) | {"__init__"}
    g = nx.DiGraph()
    for module, path in modules.items():
        name = "__init__" if module == "" else module
        g.add_node(name)
        for target in _imports(name, path, known - {""}):
            g.add_edge(name, target)
    return g


def test_every_module_has_a_layer() -> None:
    for module in _import_graph():
        _layer(module)


def test_imports_point_down_the_pipeline() -> None:
    upward = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
              for a, b in _import_graph().edges if _layer(b) > _layer(a)]
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    cycles = [sorted(c) for c in nx.strongly_connected_components(_import_graph()) if len(c) > 1]
    assert not cycles, cycles


@pytest.mark.parametrize("pure", PURE)
def test_data_and_engine_layers_import_nothing_later(pure: str) -> None:
    g = _import_graph()
    for module in g:
        if module == pure or module.startswith(pure + "."):
            later = [t for t in g.successors(module) if _layer(t) > _layer(pure)]
            assert not later, f"{module} imports {later}"


def test_the_model_imports_only_errors() -> None:
    assert set(_import_graph().successors("model")) <= {"errors"}


def test_the_walk_sees_lazy_imports() -> None:
    # the façade imports its engines inside methods: the walk must see those edges
    g = _import_graph()
    assert {"planner", "render", "identify"} <= set(g.successors("study"))


def test_public_api_has_real_return_types() -> None:
    methods = [m for name, m in inspect.getmembers(Study, inspect.isfunction)
               if not name.startswith("_") or name in ("_repr_html_", "_repr_svg_")]
    methods += [causal_dsl.parse, causal_dsl.load]
    loose = [f"{m.__qualname__} -> {inspect.signature(m).return_annotation}" for m in methods
             if "Any" in str(inspect.signature(m).return_annotation)
             or inspect.signature(m).return_annotation is inspect.Signature.empty]
    assert not loose, loose


# Modules allowed past the limit, each with the reason.
LONG_ON_PURPOSE: dict[str, str] = {}


def test_modules_are_readable_in_one_sitting() -> None:
    long = {m: n for m, p in _modules().items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 650
            and m not in LONG_ON_PURPOSE}
    assert not long, f"modules over 650 lines: {long}"
