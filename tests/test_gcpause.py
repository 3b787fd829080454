"""gcpause: the collector stays off while a pass runs (calls nest), and what the pass keeps is not
left young for the first collection after it to walk, yet stays collectable."""
import gc
import weakref

from porter import gcpause


class Node:
    pass


def test_paused_nests_and_restores():
    assert gc.isenabled()
    with gcpause.paused():
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_a_pass_keeps_is_not_walked_by_the_next_collection_yet_stays_collectable():
    started = []

    def record(phase, info):
        if phase == "start":
            started.append(info["generation"])
    with gcpause.paused():
        kept = [Node() for _ in range(5000)]
        cycle = Node()
        cycle.me = cycle
        gc.callbacks.append(record)
    try:
        probe = [Node() for _ in range(50)]      # far fewer than a collection waits for
    finally:
        gc.callbacks.remove(record)
    assert started == [] and len(kept) + len(probe) == 5050
    gone = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert gone() is None and gc.get_freeze_count() == 0
