"""The LPAE stage-1 table walk an IPMMU context does, 4 KiB granule.

One small function per step, as QEMU's SMMU model does it: pick the
translation table base from the TTBCR split, find the start level, read a
descriptor, decode it, check permissions. Every step returns a value; a
fault is a value (`Fault`), never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from . import regs as R

GRANULE_SHIFT = 12
BITS_PER_LEVEL = 9
OA_BITS = 40                       # the IPMMU's output address size

DESC_VALID = 1 << 0
DESC_TABLE = 1 << 1                # bits[1:0] == 3 : table (L0-2) or page (L3)
DESC_NS = 1 << 5
DESC_AP_UNPRIV = 1 << 6
DESC_AP_RDONLY = 1 << 7
DESC_AF = 1 << 10
DESC_CONTIG = 1 << 52
DESC_NSTABLE = 1 << 63
ADDR_MASK = ((1 << 48) - 1) & ~((1 << GRANULE_SHIFT) - 1)   # bits [47:12]


@dataclass(frozen=True)
class Fault:
    kind: str          # translation | permission | address_size | access_flag | secure
    level: int
    iova: int
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} fault at level {self.level} for 0x{self.iova:x}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Translation:
    iova: int
    pa: int
    size: int          # size of the page or block the walk ended in
    level: int
    writable: bool
    attr_index: int           # AttrIndx: which IMMAIR byte describes the memory type
    contiguous: bool = False


@dataclass(frozen=True)
class ContextConfig:
    """The context registers a walk depends on, decoded."""
    va64: bool
    eae: bool
    t0sz: int
    t1sz: int
    sl0_level: int
    ttbr0: int
    ttbr1: int

    @classmethod
    def from_regs(cls, regs: dict, twobit_sl0: bool) -> "ContextConfig":
        ttbcr = regs["IMTTBCR"]
        va64 = bool(regs["IMCTR"] & R.IMCTR_VA64)
        mask = R.TSZ_MASK_64 if va64 else R.TSZ_MASK_32
        if twobit_sl0:
            sl0 = (ttbcr >> R.SL0_TWOBIT_SHIFT) & R.SL0_TWOBIT_MASK
            level = 3 - sl0
        else:
            sl0 = (ttbcr >> R.SL0_ONEBIT_SHIFT) & R.SL0_ONEBIT_MASK
            level = 2 - sl0
        return cls(
            va64=va64,
            eae=bool(ttbcr & R.IMTTBCR_EAE),
            t0sz=(ttbcr >> R.T0SZ_SHIFT) & mask,
            t1sz=(ttbcr >> R.T1SZ_SHIFT) & mask,
            sl0_level=level,
            ttbr0=regs["IMTTLBR0"] | (regs["IMTTUBR0"] << 32),
            ttbr1=regs["IMTTLBR1"] | (regs["IMTTUBR1"] << 32),
        )


class Region(NamedTuple):
    """Which table base translates an address, and how many input bits it has."""
    ttbr: int
    input_bits: int
    start_level: int


def level_shift(level: int) -> int:
    return GRANULE_SHIFT + BITS_PER_LEVEL * (3 - level)


def arm_start_level(input_bits: int) -> int:
    """The start level the architecture implies for an input size (4 KiB granule)."""
    for level in range(4):
        if 1 <= input_bits - level_shift(level) <= BITS_PER_LEVEL:
            return level
    return 3


def select_region(cfg: ContextConfig, iova: int) -> Region | Fault:
    """Step 1: the TTBCR split picks TTBR0 or TTBR1 (or neither: a fault)."""
    if not cfg.eae:
        return Fault("translation", 0, iova, "IMTTBCR.EAE clear: short descriptors are not modelled")
    if cfg.va64:
        if cfg.t0sz == 0:
            return Fault("translation", 0, iova, "T0SZ is 0 in VMSAv8-64 mode")
        bits0 = 64 - cfg.t0sz
        if iova < (1 << bits0):
            return Region(cfg.ttbr0, bits0, cfg.sl0_level)
        bits1 = 64 - cfg.t1sz if cfg.t1sz else 0
        if bits1 and iova >= (1 << 64) - (1 << bits1):
            return Region(cfg.ttbr1, bits1, arm_start_level(bits1))
        return Fault("translation", 0, iova, f"outside the {bits0}-bit TTBR0 range")
    if iova >= 1 << 32:
        return Fault("translation", 0, iova, "beyond 32-bit input range")
    bits0 = 32 - cfg.t0sz
    ttbr1_start = (1 << 32) - (1 << (32 - cfg.t1sz)) if cfg.t1sz else (1 << bits0)
    if iova >= ttbr1_start:
        bits1 = 32 - cfg.t1sz
        return Region(cfg.ttbr1, bits1, arm_start_level(bits1))
    if iova < (1 << bits0):
        return Region(cfg.ttbr0, bits0, cfg.sl0_level)
    return Fault("translation", 0, iova, "between the TTBR0 and TTBR1 ranges")


def check_start_level(region: Region, iova: int) -> Fault | None:
    """Step 2: the start-level table must index what is left of the input bits."""
    index_bits = region.input_bits - level_shift(region.start_level)
    if not 1 <= index_bits <= BITS_PER_LEVEL:
        return Fault("translation", region.start_level, iova,
                     f"start level {region.start_level} cannot index {region.input_bits}-bit input")
    return None


def table_base(region: Region, iova: int) -> int | Fault:
    """The start-level table is aligned to its own size (8 bytes a descriptor), not to a page."""
    index_bits = region.input_bits - level_shift(region.start_level)
    base = region.ttbr & ((1 << 48) - 1) & ~((8 << index_bits) - 1)
    if base >> OA_BITS:
        return Fault("address_size", region.start_level, iova, f"TTBR 0x{region.ttbr:x} beyond {OA_BITS} bits")
    return base


def descriptor_address(table: int, level: int, iova: int, input_bits: int) -> int:
    """Step 3: where the descriptor for iova sits in the table at this level."""
    top = min(input_bits, level_shift(level) + BITS_PER_LEVEL)
    index = (iova >> level_shift(level)) & ((1 << (top - level_shift(level))) - 1)
    return table + 8 * index


def decode(desc: int, level: int, iova: int, require_ns: bool):
    """Step 4: a descriptor is a fault, ("table", next base) or ("leaf", base, size)."""
    if not desc & DESC_VALID:
        return Fault("translation", level, iova, f"invalid descriptor 0x{desc:x}")
    is_table_bits = bool(desc & DESC_TABLE)
    if level == 3:
        if not is_table_bits:
            return Fault("translation", level, iova, f"reserved level-3 descriptor 0x{desc:x}")
        kind = "leaf"
    elif is_table_bits:
        kind = "table"
    elif level == 0:
        return Fault("translation", level, iova, f"block descriptor at level 0 0x{desc:x}")
    else:
        kind = "leaf"
    addr = desc & ADDR_MASK
    if addr >> OA_BITS:
        return Fault("address_size", level, iova, f"output address 0x{addr:x} beyond {OA_BITS} bits")
    if kind == "table":
        if require_ns and not desc & DESC_NSTABLE:
            return Fault("secure", level, iova, "NSTable clear in a table descriptor")
        return ("table", addr)
    size = 1 << level_shift(level)
    return ("leaf", addr & ~(size - 1), size)


def check_leaf(desc: int, level: int, iova: int, write: bool, require_ns: bool, afe: bool) -> Fault | None:
    """Step 5: attribute checks on the final descriptor."""
    if require_ns and not desc & DESC_NS:
        return Fault("secure", level, iova, "NS clear in a leaf descriptor")
    if not desc & DESC_AF and not afe:
        return Fault("access_flag", level, iova, "AF clear")
    if not desc & DESC_AP_UNPRIV:
        return Fault("permission", level, iova, "AP[1] clear: no unprivileged (device) access")
    if write and desc & DESC_AP_RDONLY:
        return Fault("permission", level, iova, "write to a read-only mapping")
    return None


def walk(mem, cfg: ContextConfig, iova: int, write: bool, *, require_ns: bool, afe: bool) -> Translation | Fault:
    """The whole walk: region, start level, then one level at a time."""
    region = select_region(cfg, iova)
    if isinstance(region, Fault):
        return region
    bad = check_start_level(region, iova)
    if bad:
        return bad
    table = table_base(region, iova)
    if isinstance(table, Fault):
        return table
    for level in range(region.start_level, 4):      # decode() gives a leaf or a fault at level 3
        desc = mem.read64(descriptor_address(table, level, iova, region.input_bits))
        step = decode(desc, level, iova, require_ns)
        if isinstance(step, Fault):
            return step
        if step[0] == "leaf":
            break
        table = step[1]
    _, base, size = step
    bad = check_leaf(desc, level, iova, write, require_ns, afe)
    if bad:
        return bad
    return Translation(iova, base | (iova & (size - 1)), size, level, writable=not desc & DESC_AP_RDONLY,
                       attr_index=(desc >> 2) & 7, contiguous=bool(desc & DESC_CONTIG))
