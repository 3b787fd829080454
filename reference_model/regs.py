"""IPMMU-VMSA register map: offsets and fields, as data.

Offsets and bit positions are hardware facts (public Renesas driver code);
the table layout is ours. A register is found by offset; an offset that is
not in the table is an unmodelled register and the model says so.
"""
from __future__ import annotations

from dataclasses import dataclass

CTX_SIZE = 0x40          # each translation context has a 0x40-byte window
NS_ALIAS_OFFSET = 0x800  # older IPMMUs mirror the register file at +0x800

# Context registers: offset inside a context window -> name.
CTX_REGS = {
    0x00: "IMCTR",
    0x04: "IMCAAR",
    0x08: "IMTTBCR",
    0x0C: "IMBUSCR",
    0x10: "IMTTLBR0",
    0x14: "IMTTUBR0",
    0x18: "IMTTLBR1",
    0x1C: "IMTTUBR1",
    0x20: "IMSTR",
    0x28: "IMMAIR0",
    0x2C: "IMMAIR1",
    0x30: "IMEAR",
    0x34: "IMEUAR",
}
CTX_OFFSET = {name: off for off, name in CTX_REGS.items()}

# micro-TLB registers: first bank for uTLB 0..31, second for 32..47.
UTLB_BANKS = ((0x300, 0), (0x600, 32))   # (base, first uTLB)
UTLB_STRIDE = 0x10
UTLB_PER_BANK = 32
IMUCTR_REL = 0x0
IMUASID_REL = 0x8

# IMCTR
IMCTR_VA64 = 1 << 29
IMCTR_TRE = 1 << 17
IMCTR_AFE = 1 << 16
IMCTR_TREN = 1 << 3
IMCTR_INTEN = 1 << 2
IMCTR_FLUSH = 1 << 1
IMCTR_MMUEN = 1 << 0

# IMTTBCR
IMTTBCR_EAE = 1 << 31
SL0_ONEBIT_SHIFT, SL0_ONEBIT_MASK = 4, 0x1
SL0_TWOBIT_SHIFT, SL0_TWOBIT_MASK = 6, 0x3
T0SZ_SHIFT = 0
T1SZ_SHIFT = 16
TSZ_MASK_32 = 0x7      # 32-bit (VMSAv7 LPAE) mode
TSZ_MASK_64 = 0x3F     # VMSAv8-64 mode

# IMSTR
IMSTR_ERRLVL_SHIFT = 12
IMSTR_ERRLVL_MASK = 0x3 << 12
IMSTR_ERRCODE_SHIFT = 8
ERRCODE_TLB_FORMAT = 1
ERRCODE_ADDR_SIZE = 2     # model's choice: the public sources name no code for it
ERRCODE_ACCESS_FLAG = 3   # model's choice as well
ERRCODE_ACCESS_PERM = 4
ERRCODE_SECURE_ACCESS = 5
IMSTR_MHIT = 1 << 4
IMSTR_ABORT = 1 << 2
IMSTR_PF = 1 << 1
IMSTR_TF = 1 << 0

# IMUCTR
IMUCTR_FIXADDEN = 1 << 31
IMUCTR_TTSEL_SHIFT = 4
IMUCTR_TTSEL_MASK = 0xF
IMUCTR_FLUSH = 1 << 1
IMUCTR_MMUEN = 1 << 0


class UnmodelledRegister(Exception):
    """An access to an offset the model does not implement (never a silent zero)."""

    def __init__(self, ipmmu: str, offset: int, write: bool, value: int | None = None):
        self.ipmmu, self.offset, self.write, self.value = ipmmu, offset, write, value
        what = f"write of 0x{value:08x} to" if write else "read of"
        super().__init__(f"{ipmmu}: {what} unmodelled register at offset 0x{offset:04x}")


@dataclass(frozen=True)
class RegRef:
    """Where an offset lands: a context register or a micro-TLB register."""
    kind: str          # "ctx" or "utlb"
    index: int         # context number or uTLB number
    name: str          # register name (IMCTR, IMUCTR, ...)


def decode_offset(offset: int, num_ctx: int, num_utlbs: int, ns_alias: bool) -> RegRef | None:
    """Map a byte offset in an IPMMU's register window to a register, or None."""
    if ns_alias and NS_ALIAS_OFFSET <= offset < 2 * NS_ALIAS_OFFSET:
        offset -= NS_ALIAS_OFFSET
    if offset % 4:
        return None
    if offset < num_ctx * CTX_SIZE:
        name = CTX_REGS.get(offset % CTX_SIZE)
        return RegRef("ctx", offset // CTX_SIZE, name) if name else None
    for base, first in UTLB_BANKS:
        rel = offset - base
        if 0 <= rel < UTLB_PER_BANK * UTLB_STRIDE:
            utlb = first + rel // UTLB_STRIDE
            if utlb >= num_utlbs:
                return None
            sub = rel % UTLB_STRIDE
            if sub == IMUCTR_REL:
                return RegRef("utlb", utlb, "IMUCTR")
            if sub == IMUASID_REL:
                return RegRef("utlb", utlb, "IMUASID")
            return None
    return None
