"""Python's cyclic garbage collector paused around bulk passes over a parse.

A pass over a large file makes millions of small objects that live until it ends and are freed by
reference counting; the collector, run every few hundred allocations, walks ever more of them each
time, which makes such a pass quadratic in the file's size.  Nothing these passes make forms
cycles, so pausing it frees nothing later than otherwise.  Start-up is such a pass too: imports
make modules, functions and classes that live until the process ends."""
from __future__ import annotations

import gc
from contextlib import ContextDecorator


class paused(ContextDecorator):
    def _recreate_cm(self):
        return paused()        # each call its own state: calls nest

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc):
        if self.was:
            # what the pass made and keeps goes to the oldest generation, untraversed: else the
            # first collection after it walks all of it, as young objects (and then again as
            # middle-aged ones); unfreeze makes every object collectable again
            gc.freeze()
            gc.unfreeze()
            gc.enable()
        return False


def spare_exit() -> None:
    """Keep what is alive now out of the collection Python runs as the process exits: a walk over
    everything a command kept (the Xen index, parses, their memos) that a process about to end
    does not need (files are written and closed by then; standard streams are flushed anyway)."""
    gc.freeze()
