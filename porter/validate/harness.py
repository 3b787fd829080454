"""Load a host-built driver, wire it to the IPMMU model, and drive it.

The shared library's MMIO hooks call back into Python (cffi callbacks) and
reach the model by offset; its page arena is added to the model's memory,
so the walk reads the very descriptors the C code wrote. Every C-side
problem (a BUG_ON, a bad page, a register the model does not implement) is
collected as a finding of the step that caused it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cffi import FFI

from reference_model import Ipmmu, Memory, UnmodelledRegister

CDEF = """
typedef uint32_t (*porter_read_fn)(uint64_t addr, int bytes);
typedef void (*porter_write_fn)(uint64_t addr, uint64_t value, int bytes);
typedef uint64_t (*porter_ioremap_fn)(uint64_t pa, uint64_t size);
void porter_set_hooks(porter_read_fn r, porter_write_fn w, porter_ioremap_fn m);
int porter_arena_init(unsigned long npages);
void *porter_arena_base(void);
uint64_t porter_arena_maddr(void);
unsigned long porter_arena_size(void);
unsigned long porter_pages_used(void);
long porter_xmalloc_live(void);
void *porter_dt_node(const char *name, const char *compatible, uint64_t addr, uint64_t size, int irq, int is_main);
int porter_dt_add_iommu(void *master, void *iommu, uint32_t arg);
int porter_dt_is_protected(void *np);
int porter_dt_probe(void *np);
int porter_have_ops(void);
void *porter_domain_new(int domid);
int porter_iommu_init(void *d, int use_iommu);
int porter_iommu_assign(void *d, void *np);
int porter_iommu_deassign(void *d, void *np);
int porter_iommu_map(void *d, unsigned long gfn, unsigned long mfn, unsigned int order, unsigned int flags);
int porter_iommu_unmap(void *d, unsigned long gfn, unsigned int order);
int porter_iommu_iotlb_flush(void *d, unsigned long gfn, unsigned int count);
int porter_iommu_teardown(void *d);
int porter_fire_irq(unsigned int irq);
const char *porter_log(void);
int porter_bug_count(void);
int porter_warn_count(void);
int porter_problem_count(void);
const char *porter_last_problem(void);
"""

ARENA_PAGES = 4096            # 16 MiB of page-table memory
MMIO_VA_BASE = 0x7E00_0000_0000
READABLE, WRITABLE = 1, 2


@dataclass
class IpmmuNode:
    name: str
    compatible: str
    addr: int
    size: int
    irq: int
    model: Ipmmu
    is_main: bool = False
    np: object = None


@dataclass
class Window:
    va: int
    size: int
    node: IpmmuNode


@dataclass
class Problems:
    items: list = field(default_factory=list)

    def add(self, text: str) -> None:
        if len(self.items) < 20:
            self.items.append(text)


class Driver:
    """One loaded copy of the driver and the model it talks to."""

    def __init__(self, lib_path: str):
        self.ffi = FFI()
        self.ffi.cdef(CDEF)
        self.lib = self.ffi.dlopen(str(lib_path))
        self.memory = Memory()
        self.problems = Problems()
        self.nodes: list[IpmmuNode] = []
        self.windows: list[Window] = []
        self.masters: dict[str, object] = {}
        self._problems = 0
        if self.lib.porter_arena_init(ARENA_PAGES):
            raise RuntimeError("cannot allocate the page arena")
        base = self.lib.porter_arena_base()
        self.arena_maddr = int(self.lib.porter_arena_maddr())
        self.memory.add_region(self.arena_maddr, self.ffi.buffer(base, self.lib.porter_arena_size()))
        self._cb = (
            self.ffi.callback("porter_read_fn", self._read),
            self.ffi.callback("porter_write_fn", self._write),
            self.ffi.callback("porter_ioremap_fn", self._ioremap),
        )
        self.lib.porter_set_hooks(*self._cb)

    # -- MMIO ----------------------------------------------------------------
    def _window(self, addr: int) -> Window | None:
        for w in self.windows:
            if w.va <= addr < w.va + w.size:
                return w
        return None

    def _ioremap(self, pa, size):
        for node in self.nodes:
            if node.addr <= pa and pa + size <= node.addr + node.size:
                va = MMIO_VA_BASE + len(self.windows) * 0x100_0000 + (pa - node.addr)
                self.windows.append(Window(va - (pa - node.addr), node.size, node))
                return va
        self.problems.add(f"ioremap of 0x{pa:x}+0x{size:x}: no device there")
        return 0

    def _read(self, addr, nbytes):
        try:
            w = self._window(addr)
            if w is None:
                self.problems.add(f"MMIO read at unmapped address 0x{addr:x}")
                return 0
            if nbytes != 4:
                self.problems.add(f"{w.node.name}: {nbytes}-byte read at offset 0x{addr - w.va:x}")
            return w.node.model.read32(addr - w.va)
        except UnmodelledRegister as exc:
            self.problems.add(str(exc))
            return 0
        except Exception as exc:               # never let an exception cross into C
            self.problems.add(f"model error on read: {exc!r}")
            return 0

    def _write(self, addr, value, nbytes):
        try:
            w = self._window(addr)
            if w is None:
                self.problems.add(f"MMIO write of 0x{value:x} at unmapped address 0x{addr:x}")
                return
            if nbytes != 4:
                self.problems.add(f"{w.node.name}: {nbytes}-byte write at offset 0x{addr - w.va:x}")
            w.node.model.write32(addr - w.va, value)
        except UnmodelledRegister as exc:
            self.problems.add(str(exc))
        except Exception as exc:
            self.problems.add(f"model error on write: {exc!r}")

    # -- device tree -------------------------------------------------------------
    def add_ipmmu(self, node: IpmmuNode) -> IpmmuNode:
        node.np = self.lib.porter_dt_node(node.name.encode(), node.compatible.encode(), node.addr,
                                          node.size, node.irq, int(node.is_main))
        self.nodes.append(node)
        return node

    def add_master(self, name: str, links: list[tuple[IpmmuNode, int]]):
        np = self.lib.porter_dt_node(name.encode(), b"porter,dma-master", 0, 0, 0, 0)
        for node, utlb in links:
            self.lib.porter_dt_add_iommu(np, node.np, utlb)
        self.masters[name] = np
        return np

    # -- C-side findings --------------------------------------------------------------
    def take_problems(self) -> list[str]:
        """Problems since the last call: model errors, BUG_ON/ASSERT/WARN, shim complaints."""
        found = list(self.problems.items)
        self.problems.items.clear()
        count = self.lib.porter_problem_count()
        if count > self._problems:
            last = self.ffi.string(self.lib.porter_last_problem()).decode("utf-8", "replace")
            found.append(f"driver/shim: {last}" + (f" (+{count - self._problems - 1} more)" if count - self._problems > 1 else ""))
        self._problems = count
        return found

    def log(self) -> str:
        return self.ffi.string(self.lib.porter_log()).decode("utf-8", "replace")
