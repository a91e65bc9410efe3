"""Python's cyclic garbage collector, kept off work that allocates many objects and no cycles.

In: nothing. Out: `paused()` (the collector off for a block, back as it was after it),
`frozen()` (the objects alive before a block left out of the collector's passes during it), and
for the command-line process only, `own_process()` and `settle()` (objects that live until the
process ends frozen: after the imports, and at exit). Nothing raises.

Why: each time enough containers have been allocated, the collector walks every live object
again. Parsing a large study (a million small objects, no cycles), reading a CSV in hundreds of
frames, a search over a parsed graph and the imports of the estimation stack all pay for walks
that find nothing — about half the parse time at 40,000 lines, and 0.05–0.1 s of a small
`causal run`. Reference counting still frees everything; new cycles are still collected after
the block (`paused`) or during it (`frozen`).
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off inside the block; on again after it if it was on before."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@contextmanager
def frozen() -> Iterator[None]:
    """The objects that exist before the block (e.g. a parsed study) are moved out of the
    collector's reach while it runs (`gc.freeze`, the standard library's way) and back after
    it. Left alone when the host program has frozen objects of its own: unfreezing would undo
    its freeze."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_PROCESS: list[bool] = []  # set once: this interpreter is the `causal` command itself


def own_process() -> None:
    """Called by the command line when it is the process (not a test runner, not the language
    server, which keep their collector as it is). From then on `settle` freezes, and at exit
    every object is frozen first, so that the interpreter's final collections do not walk the
    ~80,000 objects of the estimation stack (0.1 s here) only to free what the end of the
    process frees anyway."""
    if not _PROCESS:
        _PROCESS.append(True)
        atexit.register(gc.freeze)


def settle() -> None:
    """The objects alive now live until the process ends (e.g. the modules just imported):
    in a command-line process (`own_process`), move them out of the collector's reach, so that
    its later passes walk only what the work allocates (a full pass over the estimation stack
    costs 15-25 ms here). Elsewhere, nothing."""
    if _PROCESS:
        gc.freeze()
