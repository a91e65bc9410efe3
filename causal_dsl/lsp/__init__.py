"""`causal lsp`: a language server for `.causal` files (stdio), built on pygls and lsprotocol.

In: an editor speaking the Language Server Protocol on stdin/stdout. Out: diagnostics as you
type (parse, model and graph errors with their codes and help; lint warnings as warnings; data
checks on save), hover, go to definition, find references, rename, completion, formatting
(`causal fmt`), quick fixes and a code lens with each query's identification verdict.
Raises `ImportError` with an install hint when the optional ``lsp`` extra is missing.

The modules, in the order a request meets them:

* `analysis` — text → `Analysis` (syntax, model, diagnostics, index); plain Python, no LSP;
* `index` — where each variable and query name is written;
* `convert` — spans ↔ protocol ranges (UTF-16 columns), diagnostics → protocol diagnostics;
* `hover`, `complete`, `edits` — one feature family each;
* `server` — the pygls wiring, debouncing and the worker thread.

Only `server` and the feature modules import pygls/lsprotocol; `causal check` never loads them.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Start the server on stdio (what ``causal lsp`` runs)."""
    import importlib.util

    missing = [m for m in ("pygls", "lsprotocol") if importlib.util.find_spec(m) is None]
    if missing:  # pragma: no cover - depends on the environment
        raise ImportError(f"the language server needs {' and '.join(missing)}; "
                          "install them with: pip install 'causal-dsl[lsp]'")
    from .server import main as serve

    serve()
