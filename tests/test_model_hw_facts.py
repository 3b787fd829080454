"""The reference model against hardware facts written out literally.

Every number here is typed in from a public source, never taken from the
model's own constants, so a wrong constant in reference_model fails a test:

- [LPAE] the ARM long-descriptor translation table format, 4 KiB granule
  (ARM ARM for ARMv7-A, B3.6 "Long-descriptor translation table format";
  ARM ARM for ARMv8-A, D5.3 "VMSAv8-64 translation table format
  descriptors"): bits[1:0] 0b11 table (levels 0-2) or page (level 3), 0b01
  block (levels 1-2), bit 0 clear invalid; AttrIndx[2:0] bits 4:2, NS bit 5,
  AP[2:1] bits 7:6 (bit 6 unprivileged access, bit 7 read-only), SH bits
  9:8, AF bit 10, nG bit 11, Contiguous bit 52, PXN bit 53, XN/UXN bit 54,
  NSTable bit 63; output address bits 47:12 (page), 47:21 (2 MiB block),
  47:30 (1 GiB block); 9 index bits a level, level n translating VA bits
  [12+9*(3-n)+8 : 12+9*(3-n)].
- [LPAE-TTBCR] the 32-bit (ARMv7 LPAE) split: T0SZ=T1SZ=0 -> TTBR0 for
  everything; T1SZ>0 -> TTBR1 for the top 2^(32-T1SZ) bytes; T0SZ>0 ->
  TTBR0 for the low 2^(32-T0SZ); TTBR1 walks start at level 1 for T1SZ 0-1
  and level 2 for T1SZ 2-7; the start-level table is aligned to its size
  (TTBR0 BADDR[39:x], x = 5 - T0SZ for a level-1 start). VMSAv8-64: TTBR1
  covers [2^64 - 2^(64-T1SZ), 2^64).
- [TLB] ARM ARM (B3.10 / D5.7): entries that give a translation, address
  size or access flag fault are never held in a TLB; a TLB may keep a
  translation after the tables change until it is invalidated.
- [IPMMU] Linux drivers/iommu/ipmmu-vmsa.c register definitions: context
  window 0x40; IMCTR 0x00 (MMUEN bit 0, FLUSH bit 1, INTEN bit 2, AFE bit
  16), IMCAAR 0x04, IMTTBCR 0x08 (EAE bit 31, TSZ0 bits 2:0, SL0 bit 4 on
  Gen2, SL0 bits 7:6 on Gen3: 0=level 3, 1=level 2, 2=level 1, TSZ1 bits
  18:16), IMBUSCR 0x0C, IMTTLBR0/IMTTUBR0 0x10/0x14, IMTTLBR1/IMTTUBR1
  0x18/0x1C, IMSTR 0x20 (TF bit 0, PF bit 1, ABORT bit 2, MHIT bit 4,
  ERRCODE bits 10:8 with 1 TLB format, 4 access permission, 5 secure
  access, ERRLVL bits 13:12), IMMAIR0/1 0x28/0x2C (attribute n at bits
  8n+7:8n), IMEAR 0x30, IMUCTR(n) 0x300+16n and IMUCTR2 0x600+16(n-32)
  (MMUEN bit 0, FLUSH bit 1, TTSEL bits 7:4), IMUASID(n) 0x308+16n and
  IMUASID2 0x608+16(n-32), the Gen2 non-secure alias at +0x800; the
  domain's output address size is 40 bits (cfg.oas = 40).
- [IPMMU-64] mainline Linux / the public Xen IPMMU port: IMCTR.VA64 bit 29
  (VMSAv8-64 format, 39-bit input, cfg.ias = 39) and IMEUAR 0x34 (the
  fault address above bit 31).

Where the model makes its own choice (the error codes of address-size and
access-flag faults, not caching permission-faulting walks) the test says so.
"""
import dataclasses

import pytest

from reference_model import Bypass, Fault, Ipmmu, Memory, Translation, UnmodelledRegister
from reference_model.regs import decode_offset
from reference_model.walk import arm_start_level

# [LPAE] descriptor bits, typed in.
VALID, TABLE_OR_PAGE, BLOCK = 0b01, 0b11, 0b01
NS, AP_UNPRIV, AP_RDONLY, AF, NG = 1 << 5, 1 << 6, 1 << 7, 1 << 10, 1 << 11
SH_INNER = 0b11 << 8
CONTIG, PXN, XN, NSTABLE = 1 << 52, 1 << 53, 1 << 54, 1 << 63
LEAF_ATTRS = AF | AP_UNPRIV | NS | SH_INNER          # a normal read/write device mapping
PAGE = LEAF_ATTRS | TABLE_OR_PAGE
BLK = LEAF_ATTRS | BLOCK
TABLE = NSTABLE | TABLE_OR_PAGE

# [IPMMU] register offsets and fields, typed in.
IMCTR, IMCAAR, IMTTBCR, IMBUSCR = 0x00, 0x04, 0x08, 0x0C
IMTTLBR0, IMTTUBR0, IMTTLBR1, IMTTUBR1 = 0x10, 0x14, 0x18, 0x1C
IMSTR, IMMAIR0, IMMAIR1, IMEAR, IMEUAR = 0x20, 0x28, 0x2C, 0x30, 0x34
MMUEN, FLUSH, INTEN, AFE, VA64 = 1 << 0, 1 << 1, 1 << 2, 1 << 16, 1 << 29
EAE = 1 << 31
SL0_L1, SL0_L2, SL0_L3 = 2 << 6, 1 << 6, 0 << 6          # Gen3 two-bit SL0
TF, PF, ABORT = 1 << 0, 1 << 1, 1 << 2


def imuctr(n):
    return 0x300 + 16 * n if n < 32 else 0x600 + 16 * (n - 32)


class Tables:
    def __init__(self, mem, start=0x4000_0000):
        self.mem, self.next = mem, start

    def alloc(self):
        pa, self.next = self.next, self.next + 0x1000
        return pa

    def put(self, table, index, value):
        self.mem.write64(table + 8 * index, value)


def program(ipmmu, n, ttbcr, ttbr0, ttbr1=0, imctr=MMUEN | INTEN | FLUSH):
    base = 0x40 * n
    ipmmu.write32(base + IMTTBCR, ttbcr)
    ipmmu.write32(base + IMTTLBR0, ttbr0 & 0xFFFF_FFFF)
    ipmmu.write32(base + IMTTUBR0, ttbr0 >> 32)
    ipmmu.write32(base + IMTTLBR1, ttbr1 & 0xFFFF_FFFF)
    ipmmu.write32(base + IMTTUBR1, ttbr1 >> 32)
    ipmmu.write32(base + IMCTR, imctr)


def map_4k(t, l1, iova, leaf, l2=None, l3=None):
    """Level 1 -> 2 -> 3 tables for a 32-bit input, start level 1 (index bits 31:30)."""
    l2 = l2 or t.alloc()
    l3 = l3 or t.alloc()
    t.put(l1, (iova >> 30) & 0x3, l2 | TABLE)
    t.put(l2, (iova >> 21) & 0x1FF, l3 | TABLE)
    t.put(l3, (iova >> 12) & 0x1FF, leaf)
    return l2, l3


@pytest.fixture
def ctx():
    """Root IPMMU context 0, 32-bit input, start level 1, one level-1 table."""
    mem = Memory()
    root = Ipmmu("root", mem)
    t = Tables(mem)
    l1 = t.alloc()
    program(root, 0, EAE | SL0_L1, l1)
    return root, t, l1


def status(root, n=0):
    return root.read32(0x40 * n + IMSTR)


# ---- register map ------------------------------------------------------------

CTX_REGS = [(IMCTR, "IMCTR"), (IMCAAR, "IMCAAR"), (IMTTBCR, "IMTTBCR"), (IMBUSCR, "IMBUSCR"),
            (IMTTLBR0, "IMTTLBR0"), (IMTTUBR0, "IMTTUBR0"), (IMTTLBR1, "IMTTLBR1"),
            (IMTTUBR1, "IMTTUBR1"), (IMSTR, "IMSTR"), (IMMAIR0, "IMMAIR0"), (IMMAIR1, "IMMAIR1"),
            (IMEAR, "IMEAR"), (IMEUAR, "IMEUAR")]


@pytest.mark.parametrize("offset,name", CTX_REGS)
def test_context_register_offsets(offset, name):
    root = Ipmmu("root", Memory())
    for n in (0, 3, 7):
        ref = decode_offset(0x40 * n + offset, 8, 48, False)
        assert (ref.kind, ref.index, ref.name) == ("ctx", n, name)
        root.write32(0x40 * n + offset, 0x1230 | n << 8)    # FLUSH (bit 1) clear: reads back as written
        assert root.ctx[n][name] == 0x1230 | n << 8
        assert root.read32(0x40 * n + offset) == 0x1230 | n << 8


@pytest.mark.parametrize("utlb", [0, 1, 31, 32, 47])
def test_micro_tlb_register_offsets(utlb):
    root = Ipmmu("root", Memory())
    ctl, asid = decode_offset(imuctr(utlb), 8, 48, False), decode_offset(imuctr(utlb) + 8, 8, 48, False)
    assert (ctl.kind, ctl.index, ctl.name) == ("utlb", utlb, "IMUCTR")
    assert (asid.kind, asid.index, asid.name) == ("utlb", utlb, "IMUASID")
    root.write32(imuctr(utlb) + 8, 0x5A)
    root.write32(imuctr(utlb), (3 << 4) | FLUSH | MMUEN)
    assert root.utlb[utlb] == {"IMUCTR": (3 << 4) | MMUEN, "IMUASID": 0x5A}   # FLUSH self-clears
    assert root.utlb_context(utlb) == 3


@pytest.mark.parametrize("offset", [0x24, 0x38, 0x3C, 0x200, 0x304, 0x30C, 0x500, 0x700])
def test_offsets_the_driver_never_uses_are_unmodelled(offset):
    root = Ipmmu("root", Memory())
    with pytest.raises(UnmodelledRegister, match=f"read of unmodelled register at offset 0x{offset:04x}"):
        root.read32(offset)


def test_only_existing_contexts_and_utlbs_decode():
    assert decode_offset(0x40 * 1 + IMCTR, 1, 48, False) is None           # one context only
    assert decode_offset(imuctr(16), 8, 16, False) is None                 # 16 micro-TLBs
    assert decode_offset(imuctr(15), 8, 16, False).index == 15
    assert decode_offset(imuctr(40), 8, 40, False) is None
    assert decode_offset(0x2, 8, 48, False) is None                        # not 32-bit aligned


def test_gen2_non_secure_alias_is_plus_0x800():
    gen2 = Ipmmu("gen2", Memory(), num_ctx=4, ns_alias=True)
    gen2.write32(0x800 + 0x40 * 2 + IMMAIR1, 0xAB)
    assert gen2.ctx[2]["IMMAIR1"] == 0xAB
    gen2.write32(0x800 + imuctr(7), (2 << 4) | MMUEN)
    assert gen2.utlb_context(7) == 2
    plain = Ipmmu("gen3", Memory(), num_ctx=4)
    with pytest.raises(UnmodelledRegister, match="offset 0x0800"):
        plain.read32(0x800)


def test_immair_attribute_n_is_byte_n():
    """Linux: IMMAIR_ATTR_SHIFT(n) = n << 3; index 0-3 in IMMAIR0, 4-7 in IMMAIR1."""
    root = Ipmmu("root", Memory())
    root.write32(IMMAIR0, 0x0004_FF44)           # NC 0x44 at 0, WBRWA 0xff at 1, DEVICE 0x04 at 2
    root.write32(IMMAIR1, 0x8877_6655)
    assert [root.memory_attr(0, i) for i in range(8)] == [0x44, 0xFF, 0x04, 0x00, 0x55, 0x66, 0x77, 0x88]


# ---- IMCTR and IMUCTR fields -------------------------------------------------

def test_imctr_mmuen_and_imuctr_mmuen_ttsel():
    mem = Memory()
    root = Ipmmu("root", mem)
    cache = Ipmmu("cache", mem, root=root)
    t = Tables(mem)
    l1 = t.alloc()
    t.put(l1, 0, 0x8000_0000 | BLK)
    program(root, 5, EAE | SL0_L1, l1, imctr=0)
    cache.write32(imuctr(33), (5 << 4) | MMUEN)
    assert cache.translate(33, 0x1234) == Bypass(0x1234, "root context 5 disabled")
    root.write32(0x40 * 5 + IMCTR, MMUEN)
    assert cache.translate(33, 0x1234).pa == 0x8000_1234
    cache.write32(imuctr(33), 5 << 4)                 # MMUEN clear: the micro-TLB passes through
    assert isinstance(cache.translate(33, 0x1234), Bypass)
    cache.write32(imuctr(33), (9 << 4) | MMUEN)       # TTSEL names a context the root lacks
    assert "missing context 9" in cache.translate(33, 0x1234).reason
    with pytest.raises(ValueError, match="no micro-TLB 48"):
        cache.translate(48, 0)


def test_imctr_inten_raises_the_interrupt_only_when_set(ctx):
    root, t, l1 = ctx
    root.write32(IMCTR, MMUEN)                        # INTEN clear
    assert root.translate_context(0, 0x1000).kind == "translation"
    assert status(root) & TF and not root.irq_pending
    root.write32(IMSTR, 0)
    root.write32(IMCTR, MMUEN | INTEN)
    root.translate_context(0, 0x1000)
    assert root.irq_pending


def test_imctr_afe_bit_16_controls_access_flag_faults(ctx):
    """Model's reading of IMCTR.AFE: set, the IPMMU does not fault on AF clear."""
    root, t, l1 = ctx
    t.put(l1, 0, 0x8000_0000 | (BLK & ~AF))
    assert root.translate_context(0, 0x10).kind == "access_flag"
    root.write32(IMCTR, MMUEN | AFE | FLUSH)
    assert root.translate_context(0, 0x10).pa == 0x8000_0010


# ---- descriptor bits ---------------------------------------------------------

def test_page_descriptor_fields(ctx):
    root, t, l1 = ctx
    map_4k(t, l1, 0x0020_3000, 0xAB_CDEF_5000 | PAGE)
    r = root.translate_context(0, 0x0020_3ABC)
    assert r == Translation(0x0020_3ABC, 0xAB_CDEF_5ABC, 0x1000, 3, True, 0, False)


def test_attr_index_is_bits_4_to_2(ctx):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0, 0x8000_0000 | PAGE)
    for idx in range(8):
        t.put(l3, idx, 0x8000_0000 + 0x1000 * idx | PAGE | idx << 2)
    got = [root.translate_context(0, 0x1000 * idx).attr_index for idx in range(8)]
    assert got == list(range(8))


def test_sh_ng_xn_pxn_and_software_bits_do_not_change_a_device_access(ctx):
    root, t, l1 = ctx
    extra = NG | (0b10 << 8) | PXN | XN | (0xF << 55)
    map_4k(t, l1, 0x3000, 0x9000_0000 | PAGE | extra)
    r = root.translate_context(0, 0x3008, write=True)
    assert (r.pa, r.writable, r.contiguous, r.attr_index) == (0x9000_0008, True, False, 0)


def test_ns_bit_is_bit_5(ctx):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0, (PAGE & ~NS) | 0x8000_0000 | 1 << 4 | 1 << 2)   # bits 4 and 2 set, 5 clear
    r = root.translate_context(0, 0x10)
    assert isinstance(r, Fault) and (r.kind, r.level) == ("secure", 3)
    assert status(root) == (3 << 12) | (5 << 8) | PF            # ERRCODE 5: secure access
    lax = Ipmmu("lax", root.memory, require_ns=False)
    program(lax, 0, EAE | SL0_L1, l1)
    assert lax.translate_context(0, 0x10).pa == 0x8000_0010


def test_nstable_is_bit_63(ctx):
    root, t, l1 = ctx
    l2 = t.alloc()
    t.put(l1, 0, l2 | TABLE_OR_PAGE | 1 << 62 | 1 << 61)       # APTable bits set, NSTable clear
    t.put(l2, 0, 0x8000_0000 | BLK)
    r = root.translate_context(0, 0x10)
    assert (r.kind, r.level) == ("secure", 1)
    t.put(l1, 0, l2 | TABLE_OR_PAGE | 1 << 63)
    root.write32(IMSTR, 0)
    assert root.translate_context(0, 0x10).pa == 0x8000_0010


def test_ap_bits_7_and_6(ctx):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0, 0x8000_0000 | PAGE | AP_RDONLY)
    t.put(l3, 1, 0x8000_1000 | (PAGE & ~AP_UNPRIV))
    ro = root.translate_context(0, 0x10)
    assert ro.pa == 0x8000_0010 and ro.writable is False
    priv = root.translate_context(0, 0x1010)
    assert (priv.kind, priv.level) == ("permission", 3)
    assert status(root) == (3 << 12) | (4 << 8) | PF            # ERRCODE 4: access permission
    assert root.read32(IMEAR) == 0x1010


def test_af_is_bit_10(ctx):
    root, t, l1 = ctx
    map_4k(t, l1, 0, 0x8000_0000 | (PAGE & ~AF) | 1 << 9 | 1 << 11)
    r = root.translate_context(0, 0x10)
    assert (r.kind, r.level) == ("access_flag", 3)
    # model's choice: an access flag fault sets TF with ERRCODE 3 (the public driver names no code)
    assert status(root) == (3 << 12) | (3 << 8) | TF


def test_invalid_and_reserved_descriptors(ctx):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0, 0x8000_0000 | PAGE)
    t.put(l3, 1, 0x8000_1000 | (PAGE & ~VALID))                  # bit 0 clear: invalid
    t.put(l3, 2, 0x8000_2000 | LEAF_ATTRS | BLOCK)               # 0b01 at level 3: reserved
    assert root.translate_context(0, 0x10).pa == 0x8000_0010
    for iova in (0x1000, 0x2000):
        root.write32(IMSTR, 0)
        r = root.translate_context(0, iova)
        assert (r.kind, r.level) == ("translation", 3)
        assert status(root) == (3 << 12) | TF
    t.put(l2, 1, 0)                                              # all zero at level 2
    root.write32(IMSTR, 0)
    assert root.translate_context(0, 0x20_0000).level == 2
    assert status(root) == (2 << 12) | TF


def test_block_output_address_ignores_low_bits(ctx):
    root, t, l1 = ctx
    l2 = t.alloc()
    t.put(l1, 0, l2 | TABLE)
    t.put(l1, 1, 0x1_C000_0000 | BLK | 0x3FFF_F000)              # 1 GiB block: bits 29:12 ignored
    t.put(l2, 3, 0x2_0060_0000 | BLK | 0x1F_F000)                # 2 MiB block: bits 20:12 ignored
    one_g = root.translate_context(0, 0x4123_4567)
    assert (one_g.pa, one_g.size, one_g.level) == (0x1_C123_4567, 1 << 30, 1)
    two_m = root.translate_context(0, 0x006A_BCDE)
    assert (two_m.pa, two_m.size, two_m.level) == (0x2_006A_BCDE, 1 << 21, 2)


def test_output_address_is_40_bits(ctx):
    """Linux ipmmu-vmsa: cfg.oas = 40. Bit 39 is an address; bit 40 faults (address size)."""
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0, (1 << 39) | 0x1000 | PAGE)
    t.put(l3, 1, (1 << 40) | PAGE)
    t.put(l3, 2, (1 << 47) | PAGE)
    assert root.translate_context(0, 0x44).pa == (1 << 39) | 0x1044
    for iova in (0x1000, 0x2000):
        root.write32(IMSTR, 0)
        r = root.translate_context(0, iova)
        assert (r.kind, r.level) == ("address_size", 3)
        assert status(root) & 0x7 == ABORT and (status(root) >> 12) & 3 == 3
    t.put(l1, 1, (1 << 40) | TABLE)                              # a table address beyond 40 bits
    assert root.translate_context(0, 0x4000_0000).kind == "address_size"


def test_bits_48_and_up_of_the_output_address_field_are_not_address(ctx):
    """Bits 51:48 are not output address in a 48-bit-OA LPAE descriptor, bits 58:55 are software's."""
    root, t, l1 = ctx
    map_4k(t, l1, 0, 0x8000_0000 | PAGE | 0xF << 48)
    assert root.translate_context(0, 0x10).pa == 0x8000_0010


def test_contiguous_bit_52_covers_16_pages_in_the_tlb(ctx):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0x10000, 0x7000_0000 | PAGE | CONTIG)
    r = root.translate_context(0, 0x10008)
    assert r.contiguous is True and r.size == 0x1000
    # the other 15 descriptors are never read: the TLB entry spans the aligned 64 KiB
    assert root.translate_context(0, 0x1F004).pa == 0x7000_F004
    assert isinstance(root.translate_context(0, 0x20000), Fault)
    map_4k(t, l1, 0x30000, 0x7100_0000 | PAGE | PXN, l2=l2, l3=l3)    # bit 53 is not the hint
    assert root.translate_context(0, 0x30000).contiguous is False
    assert isinstance(root.translate_context(0, 0x31000), Fault)


def test_contiguous_block_spans_16_blocks(ctx):
    root, t, l1 = ctx
    l2 = t.alloc()
    t.put(l1, 0, l2 | TABLE)
    t.put(l2, 16, 0x2_0000_0000 | BLK | CONTIG)                 # 0x0200_0000
    assert root.translate_context(0, 0x0200_0000).contiguous
    assert root.translate_context(0, 0x03FF_FFFC).pa == 0x2_01FF_FFFC


# ---- translation regimes -------------------------------------------------------

def regime(ttbcr, *, va64=False):
    mem = Memory()
    root = Ipmmu("root", mem)
    t = Tables(mem, start=0x2_4000_0000)         # above 4 GiB: IMTTUBR0/IMTTUBR1 carry bits 39:32
    t0, t1 = t.alloc(), t.alloc()
    program(root, 0, ttbcr, t0, t1, imctr=MMUEN | (VA64 if va64 else 0))
    return root, t, t0, t1


def test_32bit_t0sz_0_t1sz_0_ttbr0_translates_everything():
    root, t, t0, t1 = regime(EAE | SL0_L1)
    for i in range(4):
        t.put(t0, i, (0x1_0000_0000 * (i + 1)) | BLK)
        t.put(t1, i, 0xDEAD_0000_0000 | BLK)
    assert [root.translate_context(0, i << 30 | 0x10).pa for i in range(4)] == \
        [0x1_0000_0010, 0x2_0000_0010, 0x3_0000_0010, 0x4_0000_0010]
    beyond = root.translate_context(0, 1 << 32)
    assert (beyond.kind, beyond.level) == ("translation", 0)
    assert root.read32(IMEAR) == 0 and root.read32(IMEUAR) == 1


def test_32bit_t0sz_0_t1sz_2_ttbr1_takes_the_top_gigabyte():
    root, t, t0, t1 = regime(EAE | SL0_L1 | 2 << 16)
    for i in range(4):
        t.put(t0, i, 0x1_0000_0000 * (i + 1) | BLK)
    t.put(t1, 0x1FF, 0x5_0000_0000 | BLK)        # level 2: index bits 29:21
    assert root.translate_context(0, 0x8000_0010).pa == 0x3_0000_0010   # TTBR0 up to 3 GiB
    top = root.translate_context(0, 0xFFFF_FFF0)
    assert (top.pa, top.level, top.size) == (0x5_001F_FFF0, 2, 1 << 21)
    assert root.translate_context(0, 0xC000_0000).kind == "translation"  # TTBR1 index 0 unmapped


def test_32bit_t0sz_0_t1sz_1_ttbr1_takes_the_top_half():
    root, t, t0, t1 = regime(EAE | SL0_L1 | 1 << 16)
    assert (root.read32(IMTTUBR0), root.read32(IMTTUBR1)) == (2, 2)
    t.put(t0, 1, 0x1_4000_0000 | BLK)
    t.put(t1, 1, 0x2_C000_0000 | BLK)            # level 1, 31-bit input: index bit 30 only
    assert root.translate_context(0, 0x7FFF_FFF0).pa == 0x1_7FFF_FFF0
    assert root.translate_context(0, 0xC000_0010).pa == 0x2_C000_0010
    assert root.translate_context(0, 0x8000_0010).kind == "translation"   # TTBR1 index 0 unmapped


@pytest.mark.parametrize("bits,level", [(12, 3), (13, 3), (21, 3), (22, 2), (25, 2), (30, 2), (31, 1), (32, 1),
                                        (39, 1), (40, 0), (48, 0), (49, 3)])
def test_start_level_implied_by_the_input_size(bits, level):
    """[LPAE] 4 KiB granule: level 3 resolves bits 20:12, level 2 29:21, level 1 38:30, level 0 47:39."""
    assert arm_start_level(bits) == level


def test_walk_results_are_values():
    fault, tr = Fault("translation", 1, 0x10), Translation(0x10, 0x10, 0x1000, 3, True, 0)
    assert {fault, tr} == {Fault("translation", 1, 0x10), Translation(0x10, 0x10, 0x1000, 3, True, 0)}
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'kind'"):
        fault.kind = "permission"
    assert str(fault) == "translation fault at level 1 for 0x10"
    assert str(Fault("secure", 2, 0xAB, "NS clear")) == "secure fault at level 2 for 0xab (NS clear)"


def test_32bit_t0sz_2_t1sz_0_ttbr1_takes_the_rest_from_level_1():
    root, t, t0, t1 = regime(EAE | SL0_L2 | 2)
    t.put(t0, 3, 0x1_0060_0000 | BLK)            # TTBR0: 1 GiB, level 2
    t.put(t1, 1, 0x2_4000_0000 | BLK)            # TTBR1: level 1, index bits 31:30
    t.put(t1, 3, 0x3_C000_0000 | BLK)
    assert root.translate_context(0, 0x0060_0004).pa == 0x1_0060_0004
    assert root.translate_context(0, 0x4000_0004).pa == 0x2_4000_0004
    assert root.translate_context(0, 0xC000_0004).pa == 0x3_C000_0004


def test_32bit_t0sz_1_t1sz_1_meet_at_2g_and_t0sz_2_t1sz_2_leave_a_gap():
    root, t, t0, t1 = regime(EAE | SL0_L1 | 1 | 1 << 16)
    t.put(t0, 1, 0x1_4000_0000 | BLK)
    t.put(t1, 0, 0x2_8000_0000 | BLK)            # TTBR1 index bit 30 only
    assert root.translate_context(0, 0x7FFF_FFFF).pa == 0x1_7FFF_FFFF
    assert root.translate_context(0, 0x8000_0000).pa == 0x2_8000_0000
    gap_cfg, t, t0, t1 = regime(EAE | SL0_L2 | 2 | 2 << 16)
    for iova in (0x4000_0000, 0xBFFF_FFFF):
        r = gap_cfg.translate_context(0, iova)
        assert (r.kind, r.level) == ("translation", 0)


def test_32bit_start_level_table_is_aligned_to_its_size():
    """[LPAE-TTBCR] T0SZ=0, level-1 start: a 4-entry table, TTBR0 bits 4:0 ignored (x = 5)."""
    mem = Memory()
    root = Ipmmu("root", mem)
    t = Tables(mem)
    page = t.alloc()
    program(root, 0, EAE | SL0_L1, page + 0x20 + 0x1F)       # table at +0x20, low 5 bits junk
    t.put(page, 0, 0x1_0000_0000 | BLK)                       # what a page-aligned reading would find
    t.put(page + 0x20, 0, 0x2_0000_0000 | BLK)
    assert root.translate_context(0, 0x10).pa == 0x2_0000_0010


def test_sl0_selects_the_ttbr0_start_level():
    mem = Memory()
    t = Tables(mem)
    l2 = t.alloc()
    t.put(l2, 3, 0x8060_0000 | BLK)
    gen3 = Ipmmu("gen3", mem)
    program(gen3, 0, EAE | SL0_L2 | 2, l2)                    # Gen3: bits 7:6 = 0b01, level 2
    assert gen3.translate_context(0, 0x60_0004).pa == 0x8060_0004
    gen2 = Ipmmu("gen2", mem, twobit_sl0=False)
    program(gen2, 0, EAE | 2, l2)                             # Gen2: bit 4 clear, level 2
    assert gen2.translate_context(0, 0x60_0004).pa == 0x8060_0004
    program(gen2, 0, EAE | 1 << 4 | 2, l2)                    # bit 4 set: level 1, cannot index 30 bits
    r = gen2.translate_context(0, 0x60_0004)
    assert (r.kind, r.level) == ("translation", 1)
    program(gen3, 0, EAE | SL0_L3 | 2, l2)                    # 0b00: level 3
    assert gen3.translate_context(0, 0x60_0004).level == 3


def test_eae_clear_faults():
    root, t, t0, t1 = regime(SL0_L1)
    t.put(t0, 0, 0x1_0000_0000 | BLK)
    r = root.translate_context(0, 0x10)
    assert (r.kind, r.level) == ("translation", 0) and "EAE" in r.detail


def test_va64_39bit_ttbr0_and_ttbr1():
    """[IPMMU-64] VA64, T0SZ=T1SZ=25: TTBR0 for [0, 2^39), TTBR1 for [2^64 - 2^39, 2^64)."""
    root, t, t0, t1 = regime(EAE | SL0_L1 | 25 | 25 << 16, va64=True)
    l2, l3 = t.alloc(), t.alloc()
    iova = 0x7F_C020_3000
    t.put(t0, 0x1FF, l2 | TABLE)                              # index bits 38:30
    t.put(l2, 0x001, l3 | TABLE)
    t.put(l3, 0x003, 0xAB_CDEF_0000 | PAGE)
    assert root.translate_context(0, iova + 5).pa == 0xAB_CDEF_0005
    high = 0xFFFF_FF80_4000_0000 | 0x1234
    t.put(t1, 1, 0x12_4000_0000 | BLK)                        # TTBR1 level 1 index from bits 38:30
    r = root.translate_context(0, high)
    assert (r.pa, r.level) == (0x12_4000_1234, 1)
    for hole in (1 << 39, 0xFFFF_FF7F_FFFF_FFFF):
        root.write32(IMSTR, 0)
        r = root.translate_context(0, hole)
        assert (r.kind, r.level) == ("translation", 0)
    assert root.read32(IMEUAR) == 0xFFFF_FF7F and root.read32(IMEAR) == 0xFFFF_FFFF


def test_va64_tsz_uses_six_bits_and_t0sz_0_is_rejected():
    root, t, t0, t1 = regime(EAE | SL0_L1 | 32, va64=True)   # T0SZ=32: 32-bit input in VA64 mode
    t.put(t0, 3, 0x1_C000_0000 | BLK)
    assert root.translate_context(0, 0xC000_0010).pa == 0x1_C000_0010
    assert root.translate_context(0, 1 << 32).kind == "translation"
    zero, t, t0, t1 = regime(EAE | SL0_L1, va64=True)
    r = zero.translate_context(0, 0)
    assert (r.kind, r.level, r.detail) == ("translation", 0, "T0SZ is 0 in VMSAv8-64 mode")


def test_va64_t1sz_0_means_no_ttbr1_region():
    root, t, t0, t1 = regime(EAE | SL0_L1 | 25, va64=True)
    t.put(t1, 0x1FF, 0x1_0000_0000 | BLK)
    r = root.translate_context(0, 0xFFFF_FFFF_C000_0000)
    assert (r.kind, r.level) == ("translation", 0) and "39-bit TTBR0" in r.detail


def test_level_0_block_is_not_allowed_with_4k_granule():
    root, t, t0, t1 = regime(EAE | 3 << 6 | 16, va64=True)   # 48-bit input, start level 0
    l1 = t.alloc()
    t.put(t0, 0, 0x80_0000_0000 | BLK)
    r = root.translate_context(0, 0x10)
    assert (r.kind, r.level) == ("translation", 0) and "level 0" in r.detail
    t.put(t0, 1, l1 | TABLE)                                  # index bits 47:39
    t.put(l1, 0, 0x40_0000_0000 | BLK)
    assert root.translate_context(0, (1 << 39) | 0x10).pa == 0x40_0000_0010


def test_ttbr_bits_above_47_are_not_address_and_bit_40_up_faults():
    """[LPAE] TTBR BADDR is bits 47:x (63:48 hold the ASID in VMSAv8-64); the IPMMU's PA is 40 bits."""
    mem = Memory()
    root = Ipmmu("root", mem)
    t = Tables(mem)
    l1 = t.alloc()
    t.put(l1, 0, 0x8000_0000 | BLK)
    program(root, 0, EAE | SL0_L1, (0xABCD << 48) | l1)
    assert root.read32(IMTTUBR0) == 0xABCD_0000
    assert root.translate_context(0, 0x10).pa == 0x8000_0010
    for bad in (1 << 47, 1 << 40):
        program(root, 0, EAE | SL0_L1, bad | l1)
        assert root.translate_context(0, 0x10).kind == "address_size"


def test_ttbr_upper_word_and_40_bit_limit():
    mem = Memory()
    root = Ipmmu("root", mem)
    t = Tables(mem, start=0x3_0000_0000)
    l1 = t.alloc()
    program(root, 0, EAE | SL0_L1, l1)
    assert root.read32(IMTTUBR0) == 3
    t.put(l1, 0, 0x8000_0000 | BLK)
    assert root.translate_context(0, 0x10).pa == 0x8000_0010
    program(root, 0, EAE | SL0_L1, 1 << 40)
    assert root.translate_context(0, 0x10).kind == "address_size"


# ---- TLB behaviour on every fault path -------------------------------------------

def test_write_to_read_only_page_that_misses_the_tlb(ctx):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0x5000, 0x8000_5000 | PAGE | AP_RDONLY)
    r = root.translate_context(0, 0x5010, write=True)           # nothing cached yet
    assert (r.kind, r.level) == ("permission", 3)
    assert status(root) == (3 << 12) | (4 << 8) | PF and root.read32(IMEAR) == 0x5010
    # model's choice: a walk that faults leaves nothing in the TLB
    assert root.tlb[0].lookup(0x5010) is None
    assert root.translate_context(0, 0x5010).pa == 0x8000_5010  # a read fills it
    root.write32(IMSTR, 0)
    again = root.translate_context(0, 0x5020, write=True)       # now a TLB hit, same fault
    assert (again.kind, again.level) == ("permission", 3) and root.read32(IMEAR) == 0x5020
    # made writable in memory: the stale read-only entry keeps faulting until FLUSH
    t.put(l3, 5, 0x8000_5000 | PAGE)
    assert root.translate_context(0, 0x5030, write=True).kind == "permission"
    root.write32(IMCTR, MMUEN | INTEN | FLUSH)
    ok = root.translate_context(0, 0x5030, write=True)
    assert ok.pa == 0x8000_5030 and ok.writable


@pytest.mark.parametrize("bad,kind", [(0, "translation"), (0x8000_0000 | (PAGE & ~AF), "access_flag"),
                                      ((1 << 40) | PAGE, "address_size"),
                                      (0x8000_0000 | (PAGE & ~NS), "secure")])
def test_faulting_walks_are_not_cached(ctx, bad, kind):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0x7000, bad)
    assert root.translate_context(0, 0x7000).kind == kind
    t.put(l3, 7, 0x8000_7000 | PAGE)                             # fixed in memory, no flush
    assert root.translate_context(0, 0x7004).pa == 0x8000_7004


def test_stale_entries_until_flush_in_each_ipmmu_and_context():
    mem = Memory()
    root = Ipmmu("root", mem)
    cache = Ipmmu("cache", mem, root=root)
    t = Tables(mem)
    l1a, l1b = t.alloc(), t.alloc()
    program(root, 1, EAE | SL0_L1, l1a)
    program(root, 2, EAE | SL0_L1, l1b)
    cache.write32(imuctr(0), (1 << 4) | MMUEN)
    cache.write32(imuctr(1), (2 << 4) | MMUEN)
    t.put(l1a, 0, 0x1_0000_0000 | BLK)
    t.put(l1b, 0, 0x2_0000_0000 | BLK)
    assert cache.translate(0, 0x10).pa == 0x1_0000_0010
    assert cache.translate(1, 0x10).pa == 0x2_0000_0010
    t.put(l1a, 0, 0)
    t.put(l1b, 0, 0)
    cache.write32(imuctr(0), (1 << 4) | MMUEN | FLUSH)           # a micro-TLB flush is not a TLB flush
    assert cache.translate(0, 0x10).pa == 0x1_0000_0010
    root.write32(0x40 * 1 + IMCTR, MMUEN | FLUSH)                # root flushed; the cache IPMMU still holds it
    assert cache.translate(0, 0x10).pa == 0x1_0000_0010
    assert root.translate_context(1, 0x10).kind == "translation"  # the root's own TLB was emptied
    cache.write32(0x40 * 1 + IMCTR, FLUSH)
    assert cache.translate(0, 0x10).kind == "translation"
    assert cache.translate(1, 0x10).pa == 0x2_0000_0010          # context 2 untouched by context 1's flush
    assert root.read32(0x40 * 1 + IMSTR) == (1 << 12) | TF
    assert root.read32(0x40 * 2 + IMSTR) == 0


def test_root_tlb_hit_is_copied_into_the_cache_tlb():
    mem = Memory()
    root = Ipmmu("root", mem)
    cache = Ipmmu("cache", mem, root=root)
    t = Tables(mem)
    l1 = t.alloc()
    program(root, 0, EAE | SL0_L1, l1)
    cache.write32(imuctr(2), MMUEN)
    t.put(l1, 0, 0x1_0000_0000 | BLK | AP_RDONLY)
    assert root.translate_context(0, 0x10).pa == 0x1_0000_0010      # fills the root TLB only
    assert cache.tlb[0].lookup(0x10) is None
    t.put(l1, 0, 0)
    r = cache.translate(2, 0x20)                                     # served by the root's TLB
    assert r.pa == 0x1_0000_0020 and r.writable is False and r.level == 1
    assert cache.tlb[0].lookup(0x20) is not None
    w = cache.translate(2, 0x30, write=True)
    assert (w.kind, w.level) == ("permission", 1)
    assert root.read32(IMSTR) == (1 << 12) | (4 << 8) | PF


def test_a_pending_fault_keeps_its_address_and_adds_the_new_kind(ctx):
    root, t, l1 = ctx
    l2, l3 = map_4k(t, l1, 0, 0x8000_0000 | PAGE | AP_RDONLY)
    assert root.translate_context(0, 0x4000_0000).kind == "translation"
    assert status(root) == (1 << 12) | TF and root.read32(IMEAR) == 0x4000_0000
    assert root.translate_context(0, 0x8, write=True).kind == "permission"
    assert status(root) == (1 << 12) | TF | PF and root.read32(IMEAR) == 0x4000_0000
    root.write32(IMSTR, 0)
    root.translate_context(0, 0x8, write=True)
    assert status(root) == (3 << 12) | (4 << 8) | PF and root.read32(IMEAR) == 0x8
