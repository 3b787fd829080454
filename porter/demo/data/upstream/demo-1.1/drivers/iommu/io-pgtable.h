/* SPDX-License-Identifier: GPL-2.0 */
/*
 * io-pgtable for the demo IPMMU driver.
 *
 * The driver describes the address space it wants in a struct io_pgtable_cfg
 * and gets back a struct io_pgtable_ops to edit it.  The page-table code calls
 * back into the driver when translations were removed and TLBs must be
 * emptied.  Only the LPAE stage-1 format with a 4 KiB granule exists here.
 *
 * Copyright (C) 2024 Porter Demo Authors
 */
#ifndef __DEMO_IO_PGTABLE_H
#define __DEMO_IO_PGTABLE_H

#include <linux/bitops.h>
#include <linux/types.h>

enum io_pgtable_fmt {
	ARM_32_LPAE_S1,		/* LPAE descriptors, up to 32 input bits */
	ARM_64_LPAE_S1,		/* VMSAv8-64 stage 1 */
};

/* Driver callbacks; cookie is what the driver passed at allocation. */
struct io_pgtable_flush_ops {
	void (*flush_all)(void *cookie);
};

/* Ask for NS in leaf entries and NSTable in table entries. */
#define IO_PGTABLE_QUIRK_ARM_NS		BIT(0)

/*
 * Filled in by the driver: quirks, pgsize_bitmap (the page and block sizes
 * it will map), ias/oas (input/output address bits) and tlb.
 * Filled in by alloc_io_pgtable_ops(): ttbr and mair, ready for the
 * translation table base and memory attribute registers.
 */
struct io_pgtable_cfg {
	unsigned long quirks;
	unsigned long pgsize_bitmap;
	unsigned int ias;
	unsigned int oas;
	const struct io_pgtable_flush_ops *tlb;
	u64 ttbr;
	u64 mair;
};

struct io_pgtable_ops {
	int (*map)(struct io_pgtable_ops *pgt, unsigned long va, phys_addr_t pa, size_t len, int prot);
	size_t (*unmap)(struct io_pgtable_ops *pgt, unsigned long va, size_t len);
	phys_addr_t (*iova_to_phys)(struct io_pgtable_ops *pgt, unsigned long va);
};

struct io_pgtable_ops *alloc_io_pgtable_ops(enum io_pgtable_fmt fmt, struct io_pgtable_cfg *cfg, void *cookie);
void free_io_pgtable_ops(struct io_pgtable_ops *pgt);

static inline void io_pgtable_tlb_flush_all(const struct io_pgtable_cfg *cfg, void *cookie)
{
	cfg->tlb->flush_all(cookie);
}

#endif /* __DEMO_IO_PGTABLE_H */
