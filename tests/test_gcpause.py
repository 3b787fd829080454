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


def test_porter_port_reads_the_xen_index_with_the_collector_paused(tmp_path, monkeypatch):
    """Start-up and the index read make only what lives until the process ends: no collection
    should walk it (the verb's imports, the index, the port: one pass)."""
    import porter.linux_to_xen as l2x
    from porter.cli import main
    from porter.errors import BadInput
    seen = []

    def index(*args, **kwargs):
        seen.append(gc.isenabled())
        raise BadInput("stop here")
    monkeypatch.setattr(l2x, "xen_index", index)
    (tmp_path / "a.c").write_text("int a;\n")
    try:
        main(["-C", str(tmp_path), "port", "a.c", "-o", "b.c", "--xen", str(tmp_path), "--ref", "base"])
    except SystemExit as exc:
        assert exc.code == 2
    assert seen == [False] and gc.isenabled()
