"""Sparse physical memory the page tables live in.

Memory is a set of regions: host buffers mapped at a physical base (the
C code's page-table arena, shared without copying) and, for anything else
written through the model, 4 KiB pages created on first write. Reads of
never-written memory return zero, as DRAM after a clear would.
"""
from __future__ import annotations

import struct

PAGE = 4096


class Memory:
    def __init__(self):
        self._regions: list[tuple[int, int, memoryview]] = []   # (base, end, view)
        self._pages: dict[int, bytearray] = {}

    def add_region(self, base: int, buffer) -> None:
        """Back [base, base+len(buffer)) with a writable buffer (bytes-like)."""
        view = memoryview(buffer).cast("B")
        end = base + len(view)
        for b, e, _ in self._regions:
            if base < e and b < end:
                raise ValueError(f"region 0x{base:x}-0x{end:x} overlaps 0x{b:x}-0x{e:x}")
        self._regions.append((base, end, view))

    def _locate(self, pa: int, size: int):
        for base, end, view in self._regions:
            if base <= pa and pa + size <= end:
                return view, pa - base
        page = pa & ~(PAGE - 1)
        if (pa + size - 1) & ~(PAGE - 1) != page:
            raise ValueError(f"access at 0x{pa:x} crosses a page")
        return None, page

    def read(self, pa: int, size: int) -> bytes:
        view, off = self._locate(pa, size)
        if view is not None:
            return bytes(view[off:off + size])
        data = self._pages.get(off)
        if data is None:
            return bytes(size)
        rel = pa - off
        return bytes(data[rel:rel + size])

    def write(self, pa: int, data: bytes) -> None:
        view, off = self._locate(pa, len(data))
        if view is not None:
            view[off:off + len(data)] = data
            return
        page = self._pages.setdefault(off, bytearray(PAGE))
        rel = pa - off
        page[rel:rel + len(data)] = data

    def read64(self, pa: int) -> int:
        return struct.unpack("<Q", self.read(pa, 8))[0]

    def write64(self, pa: int, value: int) -> None:
        self.write(pa, struct.pack("<Q", value & (2**64 - 1)))
