// SPDX-License-Identifier: GPL-2.0
/*
 * LPAE stage-1 page tables with a 4 KiB granule, for the demo IPMMU driver.
 *
 * Every table is one page of 512 descriptors.  The walk starts at level 1
 * for input sizes up to 39 bits (level 0 above that); levels 1 and 2 may
 * hold blocks, level 3 holds pages.  Unmapping part of a block first turns
 * the block into a table of next-level entries.
 *
 * Copyright (C) 2024 Porter Demo Authors
 */

#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/iommu.h>
#include <linux/kernel.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "io-pgtable.h"

#define ARM_LPAE_MAX_ADDR_BITS		48

/* Descriptor bits (VMSA LPAE format) */
#define ARM_LPAE_PTE_TYPE_MASK		3
#define ARM_LPAE_PTE_TYPE_BLOCK		1
#define ARM_LPAE_PTE_TYPE_TABLE		3
#define ARM_LPAE_PTE_TYPE_PAGE		3
#define ARM_LPAE_PTE_ATTRINDX_SHIFT	2
#define ARM_LPAE_PTE_NS			(1ULL << 5)
#define ARM_LPAE_PTE_AP_UNPRIV		(1ULL << 6)
#define ARM_LPAE_PTE_AP_RDONLY		(1ULL << 7)
#define ARM_LPAE_PTE_SH_IS		(3ULL << 8)
#define ARM_LPAE_PTE_AF			(1ULL << 10)
#define ARM_LPAE_PTE_NSTABLE		(1ULL << 63)

/* MAIR bytes: index 0 write-back cacheable RAM, index 1 device memory */
#define LPAE_ATTR_IDX_RAM		0
#define LPAE_ATTR_IDX_DEV		1
#define LPAE_ATTR_RAM			0xffULL
#define LPAE_ATTR_DEV			0x04ULL

/* Geometry of the 4 KiB granule */
#define LPAE_GRANULE_SHIFT		12
#define LPAE_LVL_BITS			9
#define LPAE_LAST_LVL			3
#define LPAE_ENTRIES			(1U << LPAE_LVL_BITS)
#define LPAE_LVL_SHIFT(l)	(LPAE_GRANULE_SHIFT + (LPAE_LAST_LVL - (l)) * LPAE_LVL_BITS)
#define LPAE_LVL_SIZE(l)	(1ULL << LPAE_LVL_SHIFT(l))
#define LPAE_OA_MASK	(((1ULL << ARM_LPAE_MAX_ADDR_BITS) - 1) & ~(LPAE_LVL_SIZE(LPAE_LAST_LVL) - 1))

typedef u64 lpae_pte_t;

/* One address space: its operations, the caller's settings, the top table. */
struct lpae_pgtable {
	struct io_pgtable_ops	ops;
	struct io_pgtable_cfg	cfg;
	void			*cookie;
	int			start_lvl;
	lpae_pte_t		*pgd;
};

#define to_lpae_pgtable(o)	container_of(o, struct lpae_pgtable, ops)

static lpae_pte_t *lpae_new_table(void)
{
	return (lpae_pte_t *)get_zeroed_page(GFP_ATOMIC);
}

static bool lpae_is_table(lpae_pte_t pte, int lvl)
{
	if (lvl == LPAE_LAST_LVL)
		return false;
	return (pte & ARM_LPAE_PTE_TYPE_MASK) == ARM_LPAE_PTE_TYPE_TABLE;
}

static lpae_pte_t *lpae_next(lpae_pte_t pte)
{
	return phys_to_virt(pte & LPAE_OA_MASK);
}

static unsigned int lpae_index(unsigned long iova, int lvl)
{
	return (iova >> LPAE_LVL_SHIFT(lvl)) & (LPAE_ENTRIES - 1);
}

/* Free a table and, below it, every table it points to. */
static void lpae_drop_table(lpae_pte_t *table, int lvl)
{
	unsigned int i;

	for (i = 0; i < LPAE_ENTRIES; i++)
		if (lpae_is_table(table[i], lvl))
			lpae_drop_table(lpae_next(table[i]), lvl + 1);
	free_page((unsigned long)table);
}

static lpae_pte_t lpae_table_pte(struct lpae_pgtable *pt, lpae_pte_t *table)
{
	lpae_pte_t pte = virt_to_phys(table) | ARM_LPAE_PTE_TYPE_TABLE;

	if (pt->cfg.quirks & IO_PGTABLE_QUIRK_ARM_NS)
		pte |= ARM_LPAE_PTE_NSTABLE;
	return pte;
}

static lpae_pte_t lpae_leaf_pte(struct lpae_pgtable *pt, phys_addr_t pa, int prot, int lvl)
{
	lpae_pte_t bits = ARM_LPAE_PTE_AP_UNPRIV | ARM_LPAE_PTE_AF | ARM_LPAE_PTE_SH_IS;

	if (!(prot & IOMMU_WRITE))
		bits |= ARM_LPAE_PTE_AP_RDONLY;
	if (pt->cfg.quirks & IO_PGTABLE_QUIRK_ARM_NS)
		bits |= ARM_LPAE_PTE_NS;
	bits |= (lpae_pte_t)LPAE_ATTR_IDX_RAM << ARM_LPAE_PTE_ATTRINDX_SHIFT;
	if (lvl == LPAE_LAST_LVL)
		bits |= ARM_LPAE_PTE_TYPE_PAGE;
	else
		bits |= ARM_LPAE_PTE_TYPE_BLOCK;
	return bits | (pa & LPAE_OA_MASK);
}

static int lpae_map_at(struct lpae_pgtable *pt, lpae_pte_t *table, int lvl,
		       unsigned long iova, phys_addr_t pa, size_t size, int prot)
{
	lpae_pte_t *slot = &table[lpae_index(iova, lvl)];
	lpae_pte_t *next;

	if (size == LPAE_LVL_SIZE(lvl)) {
		if (*slot)
			return -EEXIST;
		*slot = lpae_leaf_pte(pt, pa, prot, lvl);
		return 0;
	}
	if (lvl == LPAE_LAST_LVL || size > LPAE_LVL_SIZE(lvl))
		return -EINVAL;

	if (!*slot) {
		next = lpae_new_table();
		if (!next)
			return -ENOMEM;
		*slot = lpae_table_pte(pt, next);
	} else if (!lpae_is_table(*slot, lvl)) {
		return -EEXIST;		/* a block already covers iova */
	}
	return lpae_map_at(pt, lpae_next(*slot), lvl + 1, iova, pa, size, prot);
}

/* A table of next-level entries that maps what the block at lvl mapped. */
static lpae_pte_t lpae_split_block(struct lpae_pgtable *pt, lpae_pte_t block, int lvl)
{
	lpae_pte_t attrs = block & ~(LPAE_OA_MASK | ARM_LPAE_PTE_TYPE_MASK);
	phys_addr_t base = block & LPAE_OA_MASK;
	lpae_pte_t *table = lpae_new_table();
	unsigned int i;

	if (!table)
		return 0;
	if (lvl + 1 == LPAE_LAST_LVL)
		attrs |= ARM_LPAE_PTE_TYPE_PAGE;
	else
		attrs |= ARM_LPAE_PTE_TYPE_BLOCK;
	for (i = 0; i < LPAE_ENTRIES; i++)
		table[i] = attrs | (base + i * LPAE_LVL_SIZE(lvl + 1));
	return lpae_table_pte(pt, table);
}

static size_t lpae_unmap_at(struct lpae_pgtable *pt, lpae_pte_t *table, int lvl,
			    unsigned long iova, size_t size)
{
	lpae_pte_t *slot = &table[lpae_index(iova, lvl)];
	lpae_pte_t pte = *slot;

	if (!pte)
		return 0;
	if (size == LPAE_LVL_SIZE(lvl)) {
		*slot = 0;
		if (lpae_is_table(pte, lvl))
			lpae_drop_table(lpae_next(pte), lvl + 1);
		return size;
	}
	if (lvl == LPAE_LAST_LVL)
		return 0;
	if (!lpae_is_table(pte, lvl)) {
		pte = lpae_split_block(pt, pte, lvl);
		if (!pte)
			return 0;
		*slot = pte;
	}
	return lpae_unmap_at(pt, lpae_next(pte), lvl + 1, iova, size);
}

static int arm_lpae_map(struct io_pgtable_ops *pgt,
			unsigned long iova, phys_addr_t pa, size_t size, int prot)
{
	struct lpae_pgtable *pt = to_lpae_pgtable(pgt);

	if (!(prot & (IOMMU_READ | IOMMU_WRITE)))
		return 0;		/* nothing a device could do with it */
	if (!(pt->cfg.pgsize_bitmap & size) || ((iova | pa) & (size - 1)))
		return -EINVAL;
	if ((u64)iova >> pt->cfg.ias)
		return -EINVAL;		/* beyond the input address size */
	return lpae_map_at(pt, pt->pgd, pt->start_lvl, iova, pa, size, prot);
}

static size_t arm_lpae_unmap(struct io_pgtable_ops *pgt,
			     unsigned long iova, size_t size)
{
	struct lpae_pgtable *pt = to_lpae_pgtable(pgt);
	size_t unmapped;

	unmapped = lpae_unmap_at(pt, pt->pgd, pt->start_lvl, iova, size);
	if (unmapped)
		io_pgtable_tlb_flush_all(&pt->cfg, pt->cookie);
	return unmapped;
}

static phys_addr_t arm_lpae_iova_to_phys(struct io_pgtable_ops *pgt,
					 unsigned long iova)
{
	struct lpae_pgtable *pt = to_lpae_pgtable(pgt);
	lpae_pte_t *table = pt->pgd;
	lpae_pte_t pte;
	int lvl;

	for (lvl = pt->start_lvl; lvl <= LPAE_LAST_LVL; lvl++) {
		pte = table[lpae_index(iova, lvl)];
		if (!pte)
			break;
		if (!lpae_is_table(pte, lvl))
			return (pte & LPAE_OA_MASK) | (iova & (LPAE_LVL_SIZE(lvl) - 1));
		table = lpae_next(pte);
	}
	return 0;
}

struct io_pgtable_ops *
alloc_io_pgtable_ops(enum io_pgtable_fmt fmt, struct io_pgtable_cfg *cfg, void *cookie)
{
	unsigned int max_ias = fmt == ARM_32_LPAE_S1 ? 32 : ARM_LPAE_MAX_ADDR_BITS;
	struct lpae_pgtable *pt;

	if (cfg->ias > max_ias || cfg->oas > ARM_LPAE_MAX_ADDR_BITS || !cfg->tlb)
		return NULL;

	pt = kzalloc(sizeof(*pt), GFP_KERNEL);
	if (!pt)
		return NULL;
	pt->pgd = lpae_new_table();
	if (!pt->pgd) {
		kfree(pt);
		return NULL;
	}

	/* start where one table indexes the topmost input bits */
	pt->start_lvl = LPAE_LAST_LVL - (cfg->ias - LPAE_GRANULE_SHIFT - 1) / LPAE_LVL_BITS;
	pt->cookie = cookie;
	pt->ops.map = arm_lpae_map;
	pt->ops.unmap = arm_lpae_unmap;
	pt->ops.iova_to_phys = arm_lpae_iova_to_phys;

	cfg->ttbr = virt_to_phys(pt->pgd);
	cfg->mair = (LPAE_ATTR_RAM << (8 * LPAE_ATTR_IDX_RAM)) |
		    (LPAE_ATTR_DEV << (8 * LPAE_ATTR_IDX_DEV));
	pt->cfg = *cfg;
	return &pt->ops;
}

void free_io_pgtable_ops(struct io_pgtable_ops *pgt)
{
	struct lpae_pgtable *pt;

	if (!pgt)
		return;
	pt = to_lpae_pgtable(pgt);
	lpae_drop_table(pt->pgd, pt->start_lvl);
	kfree(pt);
}
