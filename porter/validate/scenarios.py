"""Scenarios: drive the ported driver through Xen's IOMMU entry points on a
modelled platform and compare every translation it set up with the model.

A platform is a device tree (root IPMMU, cache IPMMU, bus masters) and the
matching model instances. Scenarios run in order on one loaded driver;
each returns a detail line, empty when it passed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from reference_model import Bypass, Fault, Ipmmu, Translation
from reference_model import regs as R

from .harness import READABLE, WRITABLE, Driver, IpmmuNode

PAGE = 0x1000


@dataclass(frozen=True)
class PlatformSpec:
    name: str
    compatible: str
    ias: int
    va64: bool
    twobit_sl0: bool
    num_ctx: int
    ns_alias: bool
    with_cache: bool


PLATFORMS = (
    PlatformSpec("gen3", "renesas,ipmmu-r8a7795", 39, True, True, 8, False, True),
    PlatformSpec("gen2", "renesas,ipmmu-vmsa", 32, False, False, 1, True, False),
)


@dataclass
class Mapping:
    iova: int
    size: int
    pa: int
    writable: bool
    block: bool            # expect the walk to end in one block/page of `size`


@dataclass
class Domain:
    domid: int
    handle: object
    masters: list
    mappings: list = field(default_factory=list)
    gone: list = field(default_factory=list)     # (iova, size) that must fault now


class CheckFailed(Exception):
    pass


class Bench:
    """A driver loaded on one platform, with the checks scenarios share."""

    def __init__(self, lib_path: str, spec: PlatformSpec):
        self.spec = spec
        self.drv = Driver(lib_path)
        mem = self.drv.memory
        if spec.with_cache:
            root_model = Ipmmu("ipmmu_mm", mem, num_ctx=spec.num_ctx, twobit_sl0=spec.twobit_sl0,
                               ns_alias=spec.ns_alias)
            cache_model = Ipmmu("ipmmu_vi0", mem, root=root_model, num_ctx=spec.num_ctx,
                                twobit_sl0=spec.twobit_sl0, ns_alias=spec.ns_alias)
            self.root = self.drv.add_ipmmu(IpmmuNode("ipmmu_mm", spec.compatible, 0xE67B0000, 0x1000, 210,
                                                     root_model))
            self.cache = self.drv.add_ipmmu(IpmmuNode("ipmmu_vi0", spec.compatible, 0xFEBD0000, 0x1000, 0,
                                                      cache_model, is_main=True))
        else:
            root_model = Ipmmu("ipmmu", mem, num_ctx=spec.num_ctx, num_utlbs=32,
                               twobit_sl0=spec.twobit_sl0, ns_alias=spec.ns_alias)
            self.root = self.drv.add_ipmmu(IpmmuNode("ipmmu", spec.compatible, 0xE6740000, 0x1000, 200,
                                                     root_model))
            self.cache = self.root
        self.masters = {
            "dma0": [(self.cache, 5), (self.cache, 40)] if spec.with_cache else [(self.cache, 3)],
            "dma1": [(self.cache, 7)] if spec.with_cache else [(self.cache, 4)],
        }
        for name, links in self.masters.items():
            self.drv.add_master(name, links)
        self.domains: dict[int, Domain] = {}
        self.va64 = spec.va64      # the mode the driver chose, known once a context is set up

    @property
    def ias(self) -> int:
        """Input address bits of the mode the driver runs the contexts in."""
        return self.spec.ias if self.va64 else 32

    # -- driver calls --------------------------------------------------------
    def call(self, what: str, rc: int) -> int:
        problems = self.drv.take_problems()
        if problems:
            raise CheckFailed(f"{what}: " + "; ".join(problems))
        if rc == -1001:
            raise CheckFailed(f"{what}: the driver registered no iommu_ops callback for it")
        return rc

    def must(self, what: str, rc: int) -> None:
        if self.call(what, rc) != 0:
            raise CheckFailed(f"{what} returned {rc}")

    def new_domain(self, domid: int, masters: list[str]) -> Domain:
        lib = self.drv.lib
        handle = lib.porter_domain_new(domid)
        self.must(f"iommu init of d{domid}", lib.porter_iommu_init(handle, 1))
        for m in masters:
            self.must(f"assign {m} to d{domid}", lib.porter_iommu_assign(handle, self.drv.masters[m]))
        dom = Domain(domid, handle, masters)
        self.domains[domid] = dom
        return dom

    def map(self, dom: Domain, iova: int, pa: int, size: int, perms: int = READABLE | WRITABLE,
            block: bool = True) -> None:
        order = (size // PAGE).bit_length() - 1
        flags = (1 if perms & READABLE else 0) | (2 if perms & WRITABLE else 0)
        self.must(f"map 0x{iova:x} -> 0x{pa:x} ({human(size)})",
                  self.drv.lib.porter_iommu_map(dom.handle, iova // PAGE, pa // PAGE, order, flags))
        self.call("iotlb flush", self.drv.lib.porter_iommu_iotlb_flush(dom.handle, iova // PAGE, size // PAGE))
        dom.gone = [g for g in dom.gone if not overlaps(g, (iova, size))]
        dom.mappings.append(Mapping(iova, size, pa, bool(perms & WRITABLE), block))

    def unmap(self, dom: Domain, iova: int, size: int) -> None:
        order = (size // PAGE).bit_length() - 1
        self.must(f"unmap 0x{iova:x} ({human(size)})",
                  self.drv.lib.porter_iommu_unmap(dom.handle, iova // PAGE, order))
        kept = []
        for m in dom.mappings:
            if not overlaps((m.iova, m.size), (iova, size)):
                kept.append(m)
                continue
            # what is left of a split block is mapped by smaller entries now
            if iova > m.iova:
                kept.append(Mapping(m.iova, iova - m.iova, m.pa, m.writable, False))
            end, m_end = iova + size, m.iova + m.size
            if m_end > end:
                kept.append(Mapping(end, m_end - end, m.pa + end - m.iova, m.writable, False))
        dom.mappings = merge(kept)
        dom.gone.append((iova, size))

    # -- checks against the model -----------------------------------------------
    def links(self, dom: Domain):
        for m in dom.masters:
            yield from ((m, node, utlb) for node, utlb in self.masters[m])

    def access(self, node: IpmmuNode, utlb: int, iova: int, write: bool = False):
        return node.model.translate(utlb, iova, write)

    def verify(self, dom: Domain, what: str) -> None:
        """Every translation the driver set up, compared with the model's walk."""
        for master, node, utlb in self.links(dom):
            for m in dom.mappings:
                for iova in probes(m):
                    expect = m.pa + (iova - m.iova)
                    got = self.access(node, utlb, iova)
                    if not isinstance(got, Translation) or got.pa != expect:
                        raise CheckFailed(f"{what}: {master} via {node.name} uTLB {utlb}: iova 0x{iova:x} "
                                          f"expected pa 0x{expect:x}, got {show(got)}")
                    if m.block and got.size != m.size:
                        raise CheckFailed(f"{what}: iova 0x{iova:x}: expected one {human(m.size)} "
                                          f"{'page' if m.size == PAGE else 'block'}, the walk ended in a "
                                          f"{human(got.size)} entry at level {got.level}")
                    attr = node.model.root.memory_attr(self.context(node, utlb), got.attr_index)
                    if attr >> 4 == 0:
                        raise CheckFailed(f"{what}: iova 0x{iova:x}: AttrIndx {got.attr_index} selects IMMAIR "
                                          f"attribute 0x{attr:02x}, device memory, for RAM")
                    wr = self.access(node, utlb, iova, write=True)
                    if m.writable and not isinstance(wr, Translation):
                        raise CheckFailed(f"{what}: write to iova 0x{iova:x} expected to succeed, got {show(wr)}")
                    if not m.writable and not (isinstance(wr, Fault) and wr.kind == "permission"):
                        raise CheckFailed(f"{what}: write to read-only iova 0x{iova:x} expected a permission "
                                          f"fault, got {show(wr)}")
            for iova, size in dom.gone:
                for probe in (iova, iova + size - 1):
                    got = self.access(node, utlb, probe)
                    if not isinstance(got, Fault):
                        raise CheckFailed(f"{what}: iova 0x{probe:x} was unmapped, expected a translation fault, "
                                          f"got {show(got)}" + (" (stale TLB entry: no flush after unmap?)"
                                                                if isinstance(got, Translation) else ""))
        self.clear_faults()

    def context(self, node: IpmmuNode, utlb: int) -> int:
        n = node.model.utlb_context(utlb)
        if n is None:
            raise CheckFailed(f"{node.name} uTLB {utlb} is not enabled")
        return n

    def clear_faults(self) -> None:
        for regs in self.root.model.ctx:
            regs["IMSTR"] = 0
        self.root.model.irq_pending = False


def overlaps(a, b) -> bool:
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def merge(mappings):
    return sorted(mappings, key=lambda m: m.iova)


def probes(m: Mapping) -> list[int]:
    if m.size <= 16 * PAGE:
        pts = [m.iova + off for off in range(0, m.size, PAGE)] + [m.iova + m.size - 1]
    else:
        pts = [m.iova, m.iova + m.size // 2 + 0x123, m.iova + m.size - 1]
    return sorted(set(pts))


def human(size: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return f"0x{size:x}"


def show(result) -> str:
    if isinstance(result, Translation):
        return f"pa 0x{result.pa:x} ({human(result.size)} entry, level {result.level})"
    if isinstance(result, Bypass):
        return f"no translation ({result.reason})"
    return str(result)


# ---- the scenarios -------------------------------------------------------------

def sc_probe(b: Bench) -> None:
    lib = b.drv.lib
    nodes = [b.root] + ([b.cache] if b.cache is not b.root else [])
    for node in nodes:
        rc = b.call(f"probe {node.name}", lib.porter_dt_probe(node.np))
        if rc == -1000:
            raise CheckFailed(f"no DT_DEVICE_START descriptor of the driver matches {node.compatible!r}")
        if rc:
            raise CheckFailed(f"probe of {node.name} ({node.compatible}) returned {rc}")
    if not lib.porter_have_ops():
        raise CheckFailed("the driver did not register iommu_ops (iommu_set_ops)")
    for m, np in b.drv.masters.items():
        if not lib.porter_dt_is_protected(np):
            raise CheckFailed(f"master {m} behind the IPMMU was not marked protected")


def sc_context_setup(b: Bench) -> None:
    dom = b.new_domain(1, ["dma0"])
    spec = b.spec
    for master, node, utlb in b.links(dom):
        n = b.context(node, utlb)
        root = node.model.root
        regs = root.ctx[n]
        if not regs["IMCTR"] & R.IMCTR_MMUEN:
            raise CheckFailed(f"{root.name} context {n} (selected by {node.name} uTLB {utlb}) is not enabled: "
                              f"IMCTR=0x{regs['IMCTR']:08x}")
        if not regs["IMTTBCR"] & R.IMTTBCR_EAE:
            raise CheckFailed(f"context {n}: IMTTBCR=0x{regs['IMTTBCR']:08x} lacks EAE (long descriptors)")
        va64 = bool(regs["IMCTR"] & R.IMCTR_VA64)
        if va64 and not spec.va64:
            raise CheckFailed(f"context {n}: IMCTR.VA64 is set, but {spec.name} has no VMSAv8-64 mode")
        b.va64 = va64     # VMSAv8-64 is optional where the hardware has it: check the mode chosen
        cfg = root.context_config(n)
        lo, hi = b.drv.arena_maddr, b.drv.arena_maddr + 4096 * PAGE
        if not lo <= cfg.ttbr0 < hi or cfg.ttbr0 % PAGE:
            raise CheckFailed(f"context {n}: IMTTLBR0/IMTTUBR0 = 0x{cfg.ttbr0:x} is not a page-table page "
                              f"the driver allocated")
        got = b.access(node, utlb, 0x1000)
        if not (isinstance(got, Fault) and got.kind == "translation"):
            raise CheckFailed(f"empty context: iova 0x1000 expected a translation fault, got {show(got)}")
    b.clear_faults()


def sc_map_4k(b: Bench) -> None:
    dom = b.domains[1]
    b.map(dom, 0x10000, 0x1_2345_6000, PAGE)
    b.map(dom, 0x12000, 0x0_8000_3000, PAGE)
    dom.gone.append((0x11000, PAGE))
    b.verify(dom, "4K pages")


def sc_map_64k(b: Bench) -> None:
    dom = b.domains[1]
    b.map(dom, 0x100000, 0x9_0010_0000, 0x10000, block=False)
    b.verify(dom, "64K range")


def sc_map_2m(b: Bench) -> None:
    dom = b.domains[1]
    b.map(dom, 0x400000, 0x1_4060_0000, 0x200000)
    b.verify(dom, "2M block")


def sc_map_1g(b: Bench) -> None:
    dom = b.domains[1]
    b.map(dom, 0x4000_0000, 0x3_4000_0000, 1 << 30)
    b.verify(dom, "1G block")


def sc_unmap_tlb(b: Bench) -> None:
    dom = b.domains[1]
    b.verify(dom, "before unmap")            # fills the TLBs
    b.unmap(dom, 0x10000, PAGE)
    b.verify(dom, "unmap 4K")
    b.map(dom, 0x10000, 0x2_0000_7000, PAGE)
    b.verify(dom, "remap 4K elsewhere")
    b.unmap(dom, 0x400000 + 0x3000, PAGE)   # split the 2M block
    b.verify(dom, "unmap 4K inside a 2M block")
    b.unmap(dom, 0x100000, 0x10000)
    b.verify(dom, "unmap 64K")


def sc_permissions(b: Bench) -> None:
    dom = b.domains[1]
    b.map(dom, 0x800000, 0x5_5550_0000, PAGE, perms=READABLE)
    b.map(dom, 0xA00000, 0x5_5560_0000, 0x200000, perms=READABLE)
    b.map(dom, 0x801000, 0x5_5550_1000, PAGE, perms=READABLE | WRITABLE)
    b.verify(dom, "read-only and read-write mappings")


def sc_faults(b: Bench) -> None:
    b.clear_faults()
    node, utlb = b.masters["dma0"][0]
    n = b.context(node, utlb)
    root = node.model.root
    iova = 0x7_7000
    got = b.access(node, utlb, iova)
    if not isinstance(got, Fault):
        raise CheckFailed(f"unmapped iova 0x{iova:x}: expected a translation fault, got {show(got)}")
    status = root.ctx[n]["IMSTR"]
    ear = root.ctx[n]["IMEAR"] | root.ctx[n]["IMEUAR"] << 32
    if not status & R.IMSTR_TF or ear != iova:
        raise CheckFailed(f"fault not recorded: IMSTR=0x{status:x} IMEAR=0x{ear:x}")
    beyond = 1 << b.ias
    got = b.access(node, utlb, beyond + 0x1000)
    if not isinstance(got, Fault):
        raise CheckFailed(f"iova 0x{beyond + 0x1000:x} beyond the {b.ias}-bit space: expected a fault, got {show(got)}")
    b.clear_faults()


def sc_address_space(b: Bench) -> None:
    dom = b.domains[1]
    if b.va64:
        top = (1 << 39) - 0x40_0000
        b.map(dom, top, 0x1_0000_0000, 0x200000)
        b.map(dom, 0x1_2345_6000, 0x6_0000_1000, PAGE)
        what = "VMSAv8-64 39-bit addresses"
    else:
        b.map(dom, 0xFFC0_0000, 0x1_0000_0000, 0x200000)
        b.map(dom, 0xC000_0000 + 0x1000, 0x6_0000_1000, PAGE)
        what = "top of the 32-bit space"
    b.verify(dom, what)


def sc_multi_domain(b: Bench) -> None:
    if b.spec.num_ctx < 2:
        return
    d1 = b.domains[1]
    d2 = b.new_domain(2, ["dma1"])
    b.map(d2, 0x10000, 0x7_0001_0000, PAGE)
    b.map(d2, 0x400000, 0x7_0040_0000, 0x200000)
    b.verify(d2, "second domain")
    b.verify(d1, "first domain after the second was set up")
    ctx = {b.context(node, utlb) for _, node, utlb in b.links(d1)}
    ctx2 = {b.context(node, utlb) for _, node, utlb in b.links(d2)}
    if ctx & ctx2:
        raise CheckFailed(f"domains d1 and d2 share context {sorted(ctx & ctx2)}")
    b.unmap(d2, 0x10000, PAGE)
    b.verify(d2, "unmap in the second domain")
    b.verify(d1, "first domain after unmap in the second")


def sc_teardown(b: Bench) -> None:
    lib = b.drv.lib
    for dom in list(b.domains.values()):
        for m in dom.masters:
            b.must(f"deassign {m} from d{dom.domid}", lib.porter_iommu_deassign(dom.handle, b.drv.masters[m]))
            for node, utlb in b.masters[m]:
                got = b.access(node, utlb, 0x10000)
                if not isinstance(got, Bypass):
                    raise CheckFailed(f"{m} deassigned but {node.name} uTLB {utlb} still translates: {show(got)}")
        b.must(f"teardown of d{dom.domid}", lib.porter_iommu_teardown(dom.handle))
    for n, regs in enumerate(b.root.model.ctx):
        if regs["IMCTR"] & R.IMCTR_MMUEN:
            raise CheckFailed(f"{b.root.name} context {n} still enabled after every domain was torn down")
    used = lib.porter_pages_used()
    if used:
        raise CheckFailed(f"{used} page-table page(s) still allocated after teardown")
    # a domain that never had a device: whatever its context holds (or not), teardown frees it
    for domid, use_iommu in ((90, 1), (91, 0)):
        handle = lib.porter_domain_new(domid)
        b.must(f"iommu init of d{domid} (use_iommu={use_iommu})", lib.porter_iommu_init(handle, use_iommu))
        b.must(f"teardown of d{domid}, which never had a device", lib.porter_iommu_teardown(handle))
        left = [n for n, regs in enumerate(b.root.model.ctx) if regs["IMCTR"] & R.IMCTR_MMUEN]
        if left or lib.porter_pages_used():
            raise CheckFailed(f"d{domid} torn down without a device left context(s) {left} enabled and "
                              f"{lib.porter_pages_used()} page-table page(s) allocated")


def sc_fault_irq(b: Bench) -> None:
    """A fault raises the interrupt; the driver's handler reads and clears IMSTR.

    Runs on a driver of its own (probe and one domain), so a crash in the
    fault path cannot hide what the other scenarios found."""
    sc_probe(b)
    b.new_domain(3, ["dma0"])
    node, utlb = b.masters["dma0"][0]
    n = b.context(node, utlb)
    root = node.model.root
    b.clear_faults()
    got = b.access(node, utlb, 0x5_5000)
    if not isinstance(got, Fault):
        raise CheckFailed(f"unmapped iova 0x55000: expected a translation fault, got {show(got)}")
    if not root.irq_pending:
        raise CheckFailed(f"context {n} raises no fault interrupt (IMCTR.INTEN clear)")
    ran = b.call("fault interrupt handler", b.drv.lib.porter_fire_irq(b.root.irq))
    if not ran:
        raise CheckFailed(f"no interrupt handler registered for the root IPMMU (irq {b.root.irq})")
    if root.ctx[n]["IMSTR"] & (R.IMSTR_TF | R.IMSTR_PF):
        raise CheckFailed(f"the fault handler left IMSTR=0x{root.ctx[n]['IMSTR']:x} set")
    b.clear_faults()


SCENARIOS = (
    ("probe", sc_probe),
    ("context-setup", sc_context_setup),
    ("map-4k", sc_map_4k),
    ("map-64k", sc_map_64k),
    ("map-2m", sc_map_2m),
    ("map-1g", sc_map_1g),
    ("unmap-tlb", sc_unmap_tlb),
    ("permissions", sc_permissions),
    ("faults", sc_faults),
    ("address-space", sc_address_space),
    ("multi-domain", sc_multi_domain),
    ("teardown", sc_teardown),
)
# Each group runs on a freshly loaded driver (a child process of its own).
GROUPS = {"main": SCENARIOS, "irq": (("fault-irq", sc_fault_irq),)}


def scenario_names(spec: PlatformSpec, group: str = "main") -> list[str]:
    return [f"{spec.name}/{name}" for name, _ in GROUPS[group]
            if not (name == "multi-domain" and spec.num_ctx < 2)]


def run_platform(lib_path: str, spec: PlatformSpec, group: str = "main", stop_early: bool = False) -> list[dict]:
    return list(iter_platform(lib_path, spec, group, stop_early))


def iter_platform(lib_path: str, spec: PlatformSpec, group: str = "main", stop_early: bool = False):
    """A group's scenarios on one platform; after a failure the rest are reported as not run."""
    bench = Bench(lib_path, spec)
    broken = None
    for name, fn in GROUPS[group]:
        full = f"{spec.name}/{name}"
        if name == "multi-domain" and spec.num_ctx < 2:
            continue
        if broken:
            yield {"name": full, "passed": False, "detail": f"not run: {broken} failed"}
            continue
        try:
            fn(bench)
            problems = bench.drv.take_problems()
            if problems:
                raise CheckFailed("; ".join(problems))
            yield {"name": full, "passed": True, "detail": ""}
        except CheckFailed as exc:
            yield {"name": full, "passed": False, "detail": str(exc)}
            broken = full
            if stop_early:
                break
