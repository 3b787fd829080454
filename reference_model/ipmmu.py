"""Root and cache IPMMUs: registers as data, TLBs that keep stale entries.

A root IPMMU owns the translation contexts that walk page tables. A cache
IPMMU sits in front of bus masters: each master reaches it through a
micro-TLB (IMUCTR/IMUASID) that selects a context (IMUCTR.TTSEL); misses in
its TLB go to the root, whose context registers drive the walk. Either
IPMMU's TLB for a context is emptied only by writing IMCTR with FLUSH set
to that IPMMU's context; until then it keeps translations even after the
page tables change. Faults are recorded in the root context's IMSTR/IMEAR.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import regs as R
from .walk import ContextConfig, Fault, Translation, walk


@dataclass
class TlbEntry:
    va: int
    size: int
    pa: int
    writable: bool
    level: int
    attr_index: int


@dataclass
class Tlb:
    entries: dict = field(default_factory=dict)    # (va_base, size) -> TlbEntry

    def lookup(self, iova: int) -> TlbEntry | None:
        for (va, size), entry in self.entries.items():
            if va <= iova < va + size:
                return entry
        return None

    def fill(self, t: Translation) -> TlbEntry:
        size = t.size * 16 if t.contiguous else t.size
        va = t.iova & ~(size - 1)
        entry = TlbEntry(va, size, t.pa - (t.iova - va), t.writable, t.level, t.attr_index)
        self.entries[(va, size)] = entry
        return entry

    def flush(self) -> None:
        self.entries.clear()


@dataclass(frozen=True)
class Bypass:
    """The IPMMU passed the access through untranslated (uTLB or context disabled)."""
    iova: int
    reason: str

    @property
    def pa(self) -> int:
        return self.iova


def _context_regs() -> dict:
    return {name: 0 for name in R.CTX_REGS.values()}


class Ipmmu:
    """One IPMMU instance: a register file, contexts, micro-TLBs and TLBs."""

    def __init__(self, name: str, memory, *, root: "Ipmmu | None" = None, num_ctx: int = 8,
                 num_utlbs: int = 48, twobit_sl0: bool = True, ns_alias: bool = False,
                 require_ns: bool = True):
        self.name = name
        self.memory = memory
        self.root = root or self
        self.num_ctx = num_ctx
        self.num_utlbs = num_utlbs
        self.twobit_sl0 = twobit_sl0
        self.ns_alias = ns_alias
        self.require_ns = require_ns
        self.ctx = [_context_regs() for _ in range(num_ctx)]
        self.utlb = [{"IMUCTR": 0, "IMUASID": 0} for _ in range(num_utlbs)]
        self.tlb = [Tlb() for _ in range(num_ctx)]
        self.log: list[tuple[str, int, int]] = []     # ("r"/"w", offset, value)
        self.irq_pending = False

    @property
    def is_root(self) -> bool:
        return self.root is self

    # -- register access ------------------------------------------------
    def _decode(self, offset: int, write: bool, value: int | None = None) -> R.RegRef:
        ref = R.decode_offset(offset, self.num_ctx, self.num_utlbs, self.ns_alias)
        if ref is None:
            raise R.UnmodelledRegister(self.name, offset, write, value)
        return ref

    def read32(self, offset: int) -> int:
        ref = self._decode(offset, False)
        bank = self.ctx if ref.kind == "ctx" else self.utlb
        value = bank[ref.index][ref.name]
        self.log.append(("r", offset, value))
        return value

    def write32(self, offset: int, value: int) -> None:
        value &= 0xFFFFFFFF
        ref = self._decode(offset, True, value)
        self.log.append(("w", offset, value))
        if ref.kind == "ctx":
            self._write_ctx(ref.index, ref.name, value)
        else:
            self._write_utlb(ref.index, ref.name, value)

    def _write_ctx(self, n: int, name: str, value: int) -> None:
        if name == "IMCTR" and value & R.IMCTR_FLUSH:
            self.tlb[n].flush()
            value &= ~R.IMCTR_FLUSH           # the flush completes at once
        self.ctx[n][name] = value

    def _write_utlb(self, n: int, name: str, value: int) -> None:
        if name == "IMUCTR" and value & R.IMUCTR_FLUSH:
            value &= ~R.IMUCTR_FLUSH
        self.utlb[n][name] = value

    # -- helpers for callers ---------------------------------------------
    def context_config(self, n: int) -> ContextConfig:
        return ContextConfig.from_regs(self.ctx[n], self.twobit_sl0)

    def memory_attr(self, n: int, index: int) -> int:
        """The IMMAIR byte a descriptor's AttrIndx selects."""
        mair = self.root.ctx[n]["IMMAIR0" if index < 4 else "IMMAIR1"]
        return (mair >> (8 * (index % 4))) & 0xFF

    def context_enabled(self, n: int) -> bool:
        return bool(self.ctx[n]["IMCTR"] & R.IMCTR_MMUEN)

    def utlb_context(self, utlb: int) -> int | None:
        """The context a micro-TLB routes to, or None when it is disabled."""
        ctl = self.utlb[utlb]["IMUCTR"]
        if not ctl & R.IMUCTR_MMUEN:
            return None
        return (ctl >> R.IMUCTR_TTSEL_SHIFT) & R.IMUCTR_TTSEL_MASK

    # -- translation -------------------------------------------------------
    def walk_context(self, n: int, iova: int, write: bool = False) -> Translation | Fault:
        """A table walk with context n's registers, bypassing every TLB."""
        root = self.root
        regs = root.ctx[n]
        return walk(root.memory, root.context_config(n), iova, write,
                    require_ns=root.require_ns, afe=bool(regs["IMCTR"] & R.IMCTR_AFE))

    def translate(self, utlb: int, iova: int, write: bool = False) -> Translation | Fault | Bypass:
        """What a bus master behind micro-TLB `utlb` of this IPMMU gets for an access."""
        if not 0 <= utlb < self.num_utlbs:
            raise ValueError(f"{self.name}: no micro-TLB {utlb}")
        n = self.utlb_context(utlb)
        if n is None:
            return Bypass(iova, f"{self.name} micro-TLB {utlb} disabled")
        if n >= self.root.num_ctx:
            return Bypass(iova, f"{self.name} micro-TLB {utlb} selects missing context {n}")
        root = self.root
        if not root.context_enabled(n):
            return Bypass(iova, f"{root.name} context {n} disabled")
        return self.translate_context(n, iova, write)

    def translate_context(self, n: int, iova: int, write: bool = False) -> Translation | Fault:
        root = self.root
        hit = self.tlb[n].lookup(iova) or (root.tlb[n].lookup(iova) if root is not self else None)
        if hit:
            if write and not hit.writable:
                return self._fault(n, Fault("permission", hit.level, iova, "write to a read-only mapping (TLB)"))
            if root is not self and self.tlb[n].lookup(iova) is None:
                self.tlb[n].entries[(hit.va, hit.size)] = hit
            return Translation(iova, hit.pa + (iova - hit.va), hit.size, hit.level, hit.writable, hit.attr_index)
        result = self.walk_context(n, iova, write)
        if isinstance(result, Fault):
            return self._fault(n, result)
        root.tlb[n].fill(result)
        if root is not self:
            self.tlb[n].fill(result)
        return result

    def _fault(self, n: int, fault: Fault) -> Fault:
        """Record a fault in the root context's status and address registers."""
        root = self.root
        regs = root.ctx[n]
        status = (fault.level & 3) << R.IMSTR_ERRLVL_SHIFT
        code = {"permission": R.ERRCODE_ACCESS_PERM, "secure": R.ERRCODE_SECURE_ACCESS,
                "address_size": R.ERRCODE_ADDR_SIZE, "access_flag": R.ERRCODE_ACCESS_FLAG}.get(fault.kind, 0)
        status |= code << R.IMSTR_ERRCODE_SHIFT
        if fault.kind in ("permission", "secure"):
            status |= R.IMSTR_PF
        elif fault.kind == "address_size":
            status |= R.IMSTR_ABORT
        else:
            status |= R.IMSTR_TF
        if regs["IMSTR"] & (R.IMSTR_TF | R.IMSTR_PF | R.IMSTR_ABORT):
            # a fault is already pending: keep its address, add the new kind
            regs["IMSTR"] |= status & (R.IMSTR_TF | R.IMSTR_PF | R.IMSTR_ABORT)
        else:
            regs["IMSTR"] = status
            regs["IMEAR"] = fault.iova & 0xFFFFFFFF
            regs["IMEUAR"] = fault.iova >> 32
        if regs["IMCTR"] & R.IMCTR_INTEN:
            root.irq_pending = True
        return fault
