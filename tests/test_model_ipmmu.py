"""The reference model on hand-built page tables: walks, split, modes, TLB, faults."""
import pytest

from reference_model import Bypass, Fault, Ipmmu, Memory, Translation, UnmodelledRegister
from reference_model import regs as R
from reference_model.walk import DESC_AF, DESC_AP_RDONLY, DESC_AP_UNPRIV, DESC_NS, DESC_NSTABLE

LEAF = DESC_AF | DESC_AP_UNPRIV | DESC_NS | (3 << 8)
TABLE = 3 | DESC_NSTABLE


class Tables:
    """A tiny page-table builder writing into model memory."""

    def __init__(self, mem, start=0x4000_0000):
        self.mem, self.next = mem, start

    def alloc(self):
        pa, self.next = self.next, self.next + 0x1000
        return pa

    def entry(self, table, index, value):
        self.mem.write64(table + 8 * index, value)


def context(ipmmu, n, *, ttbr, va64=False, t0sz=0, t1sz=0, ttbr1=0, sl0_level=1):
    sl0 = (3 - sl0_level) << R.SL0_TWOBIT_SHIFT
    ipmmu.write32(n * 0x40 + 0x08, R.IMTTBCR_EAE | sl0 | t0sz | (t1sz << 16))
    ipmmu.write32(n * 0x40 + 0x10, ttbr & 0xFFFFFFFF)
    ipmmu.write32(n * 0x40 + 0x14, ttbr >> 32)
    ipmmu.write32(n * 0x40 + 0x18, ttbr1 & 0xFFFFFFFF)
    ipmmu.write32(n * 0x40 + 0x1C, ttbr1 >> 32)
    ipmmu.write32(n * 0x40, (R.IMCTR_VA64 if va64 else 0) | R.IMCTR_INTEN | R.IMCTR_FLUSH | R.IMCTR_MMUEN)


@pytest.fixture
def setup():
    mem = Memory()
    root = Ipmmu("root", mem)
    cache = Ipmmu("cache0", mem, root=root)
    tables = Tables(mem)
    l1 = tables.alloc()
    context(root, 2, ttbr=l1)
    cache.write32(0x300 + 16 * 5, (2 << 4) | R.IMUCTR_FLUSH | R.IMUCTR_MMUEN)
    return mem, root, cache, tables, l1


def test_4k_page_walk(setup):
    mem, root, cache, t, l1 = setup
    l2, l3 = t.alloc(), t.alloc()
    t.entry(l1, 0, l2 | TABLE)
    t.entry(l2, 1, l3 | TABLE)                      # 0x0020_0000
    t.entry(l3, 3, 0x1_2345_6000 | LEAF | 3)        # 0x0020_3000
    r = cache.translate(5, 0x20_3abc)
    assert isinstance(r, Translation) and r.pa == 0x1_2345_6abc and r.size == 0x1000 and r.level == 3


def test_2m_and_1g_blocks(setup):
    mem, root, cache, t, l1 = setup
    l2 = t.alloc()
    t.entry(l1, 1, 0x2_4000_0000 | LEAF | 1)   # 1G block at 0x4000_0000
    t.entry(l1, 0, l2 | TABLE)
    t.entry(l2, 3, 0x8_0060_0000 | LEAF | 1)                           # 2M block at 0x0060_0000
    one_g = cache.translate(5, 0x4123_4567)
    assert (one_g.pa, one_g.size, one_g.level) == (0x2_4123_4567, 1 << 30, 1)
    two_m = cache.translate(5, 0x6f_ffff)
    assert (two_m.pa, two_m.size, two_m.level) == (0x8_006f_ffff, 1 << 21, 2)


def test_ttbcr_split_32bit():
    mem = Memory()
    root = Ipmmu("root", mem, num_ctx=1, twobit_sl0=False)
    t = Tables(mem)
    t.alloc()            # a level-2 table for the low half, left empty
    l2_high = t.alloc()
    # T0SZ=1: TTBR0 covers [0, 2G) starting at level 1; T1SZ=2: TTBR1 covers [3G, 4G) from level 2.
    t0 = t.alloc()
    root.write32(0x08, R.IMTTBCR_EAE | (1 << 4) | 1 | (2 << 16))
    root.write32(0x10, t0)
    root.write32(0x18, l2_high)
    root.write32(0x00, R.IMCTR_MMUEN)
    t.entry(t0, 1, 0x8000_0000 | LEAF | 1)          # 0x4000_0000 -> 0x8000_0000 (1G)
    t.entry(l2_high, 0, 0x1000_0000 | LEAF | 1)                         # 0xC000_0000 -> 0x1000_0000 (2M)
    assert root.translate_context(0, 0x4000_0010).pa == 0x8000_0010
    high = root.translate_context(0, 0xC000_0020)
    assert high.pa == 0x1000_0020 and high.level == 2
    gap = root.translate_context(0, 0x8000_0000)
    assert isinstance(gap, Fault) and gap.kind == "translation" and "between" in gap.detail


def test_39bit_va64_mode():
    mem = Memory()
    root = Ipmmu("root", mem)
    t = Tables(mem)
    l1, l2, l3 = t.alloc(), t.alloc(), t.alloc()
    context(root, 0, ttbr=l1, va64=True, t0sz=25, t1sz=25, ttbr1=l1)
    iova = 0x7F_C020_1000
    t.entry(l1, iova >> 30 & 0x1FF, l2 | TABLE)
    t.entry(l2, iova >> 21 & 0x1FF, l3 | TABLE)
    t.entry(l3, iova >> 12 & 0x1FF, 0xAB_CDEF_0000 | LEAF | 3)
    assert root.translate_context(0, iova + 5).pa == 0xAB_CDEF_0005
    beyond = root.translate_context(0, 1 << 39)
    assert isinstance(beyond, Fault) and beyond.kind == "translation"
    # The same context in 32-bit mode cannot reach it.
    root.write32(0x00, R.IMCTR_MMUEN | R.IMCTR_FLUSH)
    assert isinstance(root.translate_context(0, iova), Fault)


def test_wrong_start_level_faults(setup):
    mem, root, cache, t, l1 = setup
    t.entry(l1, 0, 0x1_4000_0000 | LEAF | 1)
    assert cache.translate(5, 0x1000).pa == 0x1_4000_1000
    root.write32(2 * 0x40 + 0x08, R.IMTTBCR_EAE | (1 << R.SL0_TWOBIT_SHIFT))   # start at level 2
    root.write32(2 * 0x40, root.ctx[2]["IMCTR"] | R.IMCTR_FLUSH)
    cache.write32(2 * 0x40, R.IMCTR_FLUSH)
    r = cache.translate(5, 0x1000)
    assert isinstance(r, Fault) and r.level == 2


def test_tlb_keeps_stale_translation_until_flush(setup):
    mem, root, cache, t, l1 = setup
    t.entry(l1, 0, 0x1_4000_0000 | LEAF | 1)
    assert cache.translate(5, 0x1234).pa == 0x1_4000_1234
    t.entry(l1, 0, 0)                                   # unmap in memory only
    assert cache.translate(5, 0x1234).pa == 0x1_4000_1234  # stale in the cache IPMMU
    root.write32(2 * 0x40, root.ctx[2]["IMCTR"] | R.IMCTR_FLUSH)
    assert cache.translate(5, 0x1234).pa == 0x1_4000_1234  # cache TLB still holds it
    cache.write32(2 * 0x40, R.IMCTR_FLUSH)
    assert root.ctx[2]["IMCTR"] & R.IMCTR_FLUSH == 0     # FLUSH self-clears
    r = cache.translate(5, 0x1234)
    assert isinstance(r, Fault) and r.kind == "translation"


def test_faults_recorded_in_imstr_imear(setup):
    mem, root, cache, t, l1 = setup
    t.entry(l1, 0, 0x1_4000_0000 | LEAF | DESC_AP_RDONLY | 1)
    assert cache.translate(5, 0x42).pa == 0x1_4000_0042
    r = cache.translate(5, 0x42, write=True)
    assert isinstance(r, Fault) and r.kind == "permission"
    assert root.read32(2 * 0x40 + 0x20) & R.IMSTR_PF
    assert (root.read32(2 * 0x40 + 0x20) >> 8) & 7 == R.ERRCODE_ACCESS_PERM
    assert root.read32(2 * 0x40 + 0x30) == 0x42
    assert root.irq_pending
    root.write32(2 * 0x40 + 0x20, 0)
    r = cache.translate(5, 0xC000_1000)
    assert r.kind == "translation" and root.read32(2 * 0x40 + 0x20) & R.IMSTR_TF
    assert root.read32(2 * 0x40 + 0x30) == 0xC000_1000
    assert (root.read32(2 * 0x40 + 0x20) & R.IMSTR_ERRLVL_MASK) >> 12 == 1


def test_address_size_and_secure_faults(setup):
    mem, root, cache, t, l1 = setup
    t.entry(l1, 0, (1 << 41) | LEAF | 1)
    assert cache.translate(5, 0).kind == "address_size"
    assert root.read32(2 * 0x40 + 0x20) & R.IMSTR_ABORT
    t.entry(l1, 1, 0x2000_0000 | (LEAF & ~DESC_NS) | 1)
    assert cache.translate(5, 0x4000_0000).kind == "secure"
    t.entry(l1, 2, 0x2000_0000 | (LEAF & ~DESC_AF) | 1)
    assert cache.translate(5, 0x8000_0000).kind == "access_flag"


def test_utlb_disabled_bypasses(setup):
    mem, root, cache, t, l1 = setup
    assert isinstance(cache.translate(6, 0x1000), Bypass)
    root.write32(2 * 0x40, 0)
    assert isinstance(cache.translate(5, 0x1000), Bypass)


def test_unmodelled_register_is_an_error():
    root = Ipmmu("root", Memory())
    with pytest.raises(UnmodelledRegister, match="offset 0x0024"):
        root.read32(0x24)
    with pytest.raises(UnmodelledRegister, match="write of 0x00000001 to unmodelled register at offset 0x0a00"):
        root.write32(0xA00, 1)
    assert root.read32(0x608 + 16 * 15) == 0            # IMUASID2 for uTLB 47


def test_ns_alias_window():
    root = Ipmmu("gen2", Memory(), num_ctx=1, twobit_sl0=False, ns_alias=True)
    root.write32(0x800 + 0x28, 0x44)
    assert root.read32(0x28) == 0x44
    with pytest.raises(UnmodelledRegister, match="gen2: read of unmodelled register at offset 0x0040"):
        root.read32(0x40)                                # only one context
