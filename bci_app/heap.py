"""Keep Python's cyclic garbage collector from pausing the live app.

A full (generation 2) collection walks every tracked object in the process, and once torch,
MNE, mne-lsl, Qt and pyqtgraph are loaded there are very many. One such collection holds the
GIL long enough to freeze the GUI thread visibly and delay the engine's inference (measured
in docs/RESULTS.md). ``gc.freeze()`` moves the objects alive now
(modules, the model, the window) into a permanent generation that collections skip, so later
full collections scan only what the session itself allocated since.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_heap"]


def freeze_heap() -> None:
    """Exempt every object alive now from future collections (constant time).

    Call it once the long-lived objects exist (after the engine has started). Objects that
    become garbage later are still freed by reference counting; only reference cycles among
    frozen objects stay allocated, which is the price of the shorter pauses. Calling it again
    (after a restart) freezes the new engine's objects too.
    """
    # no collection first, and no gc.get_freeze_count(): each walks the heap (tens of ms)
    gc.freeze()
