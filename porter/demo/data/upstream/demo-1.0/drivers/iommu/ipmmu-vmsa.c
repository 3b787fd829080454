// SPDX-License-Identifier: GPL-2.0
/*
 * IPMMU-VMSA demo driver.
 *
 * A small driver for the Renesas IPMMU in VMSA mode, written for the porter
 * demo.  A root IPMMU owns the translation contexts and walks the LPAE
 * tables; cache IPMMUs sit in front of bus masters, and each master reaches
 * its cache through a micro-TLB that selects one root context.  On older
 * SoCs a single IPMMU plays both parts.
 *
 * Copyright (C) 2024 Porter Demo Authors
 */

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_device.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "io-pgtable.h"

#define IPMMU_MAX_CTX		8	/* contexts of the largest root IPMMU */
#define IPMMU_MAX_CACHES	4	/* cache IPMMUs one domain may span */
#define IPMMU_FLUSH_POLLS	100	/* IMCTR.FLUSH polls, 1us apart */

/* Context registers: context n is the window at n * IM_CTX_SIZE */
#define IM_CTX_SIZE		0x40

#define IMCTR			0x0000
#define IMCTR_VA64		BIT(29)
#define IMCTR_INTEN		BIT(2)
#define IMCTR_FLUSH		BIT(1)
#define IMCTR_MMUEN		BIT(0)

#define IMTTBCR			0x0008
#define IMTTBCR_EAE		BIT(31)
#define IMTTBCR_SH0_ISH		(3 << 12)
#define IMTTBCR_ORGN0_WBWA	(1 << 10)
#define IMTTBCR_IRGN0_WBWA	(1 << 8)
#define IMTTBCR_SL0_LVL_1	(1 << 4)
#define IMTTBCR_SL0_TWOBIT_LVL_0	(3 << 6)
#define IMTTBCR_SL0_TWOBIT_LVL_1	(2 << 6)
#define IMTTBCR_SL0_TWOBIT_LVL_2	(1 << 6)
#define IMTTBCR_TSZ0_SHIFT	0

#define IMTTLBR0		0x0010
#define IMTTUBR0		0x0014

#define IMSTR			0x0020
#define IMSTR_MHIT		BIT(4)
#define IMSTR_ABORT		BIT(2)
#define IMSTR_PF		BIT(1)
#define IMSTR_TF		BIT(0)
#define IMSTR_FAULTS	(IMSTR_MHIT | IMSTR_ABORT | IMSTR_PF | IMSTR_TF)

#define IMMAIR0			0x0028
#define IMEAR			0x0030
#define IMEUAR			0x0034

/* micro-TLB control: uTLBs 0-31 in one bank, 32 and up in another */
#define IMUCTR(n)		(0x0300 + (n) * 0x10)
#define IMUCTR32(n)		(0x0600 + ((n) - 32) * 0x10)
#define IMUCTR_TTSEL_MMU(ctx)	((ctx) << 4)
#define IMUCTR_FLUSH		BIT(1)
#define IMUCTR_MMUEN		BIT(0)

/* What tells one IPMMU generation from another. */
struct ipmmu_soc {
	unsigned int ctx_count;		/* translation contexts of a root */
	unsigned int utlb_count;	/* micro-TLBs of a cache */
	bool lpae64;			/* contexts run in VMSAv8-64 mode */
	bool wide_sl0;			/* IMTTBCR.SL0 is two bits wide */
	bool has_caches;		/* separate root and cache IPMMUs */
};

struct ipmmu_domain;

struct ipmmu_dev {
	struct device *dev;
	void __iomem *base;
	const struct ipmmu_soc *soc;
	struct ipmmu_dev *root;		/* points to itself on a root */
	struct list_head node;			/* in ipmmu_list */
	spinlock_t lock;			/* guards ctx_map, ctx_owner */
	DECLARE_BITMAP(ctx_map, IPMMU_MAX_CTX);
	struct ipmmu_domain *ctx_owner[IPMMU_MAX_CTX];
};

struct ipmmu_domain {
	struct iommu_domain iod;
	struct ipmmu_dev *root;		/* NULL until a master attaches */
	struct ipmmu_dev *caches[IPMMU_MAX_CACHES];
	unsigned int nr_caches;
	unsigned int context_id;
	struct io_pgtable_cfg cfg;
	struct io_pgtable_ops *pgtbl;
	spinlock_t lock;
};

static DEFINE_SPINLOCK(ipmmu_list_lock);
static LIST_HEAD(ipmmu_list);

static struct ipmmu_domain *to_ipmmu_domain(struct iommu_domain *iod)
{
	return container_of(iod, struct ipmmu_domain, iod);
}

static bool ipmmu_is_root(struct ipmmu_dev *mmu)
{
	return mmu->root == mmu;
}

/* ---- register access ---- */

static u32 ipmmu_read(struct ipmmu_dev *mmu, unsigned int off)
{
	return readl(mmu->base + off);
}

static void ipmmu_write(struct ipmmu_dev *mmu, unsigned int off, u32 val)
{
	writel(val, mmu->base + off);
}

static unsigned int ipmmu_ctx_reg(unsigned int ctx, unsigned int reg)
{
	return ctx * IM_CTX_SIZE + reg;
}

static u32 ipmmu_ctx_read(struct ipmmu_domain *dom, unsigned int reg)
{
	return ipmmu_read(dom->root, ipmmu_ctx_reg(dom->context_id, reg));
}

static void ipmmu_ctx_write(struct ipmmu_domain *dom, unsigned int reg, u32 val)
{
	ipmmu_write(dom->root, ipmmu_ctx_reg(dom->context_id, reg), val);
}

/* IMCTR goes to the root and to each cache: every one keeps its own TLB. */
static void ipmmu_imctr_write(struct ipmmu_domain *dom, u32 val)
{
	unsigned int reg = ipmmu_ctx_reg(dom->context_id, IMCTR);
	unsigned int i;

	ipmmu_write(dom->root, reg, val);
	for (i = 0; i < dom->nr_caches; i++)
		if (dom->caches[i] != dom->root)
			ipmmu_write(dom->caches[i], reg, val);
}

/* ---- TLB and micro-TLB maintenance ---- */

static void ipmmu_wait_flush(struct ipmmu_domain *dom)
{
	unsigned int polls;

	for (polls = 0; polls < IPMMU_FLUSH_POLLS; polls++) {
		if (!(ipmmu_ctx_read(dom, IMCTR) & IMCTR_FLUSH))
			return;
		udelay(1);
	}
	dev_err_ratelimited(dom->root->dev, "context %u: TLB flush did not finish\n",
			    dom->context_id);
}

static void ipmmu_flush_tlb(struct ipmmu_domain *dom)
{
	u32 reg = ipmmu_ctx_read(dom, IMCTR);

	reg |= IMCTR_FLUSH;
	ipmmu_imctr_write(dom, reg);
	ipmmu_wait_flush(dom);
}

static unsigned int ipmmu_utlb_ctrl(unsigned int utlb)
{
	return utlb < 32 ? IMUCTR(utlb) : IMUCTR32(utlb);
}

static void ipmmu_utlb_enable(struct ipmmu_domain *dom, struct ipmmu_dev *mmu,
			      unsigned int utlb)
{
	u32 ctrl = IMUCTR_TTSEL_MMU(dom->context_id) | IMUCTR_FLUSH | IMUCTR_MMUEN;

	ipmmu_write(mmu, ipmmu_utlb_ctrl(utlb), ctrl);
}

static void ipmmu_utlb_disable(struct ipmmu_dev *mmu, unsigned int utlb)
{
	ipmmu_write(mmu, ipmmu_utlb_ctrl(utlb), 0);
}

static void ipmmu_pgtable_flush(void *cookie)
{
	ipmmu_flush_tlb(cookie);
}

static const struct io_pgtable_flush_ops ipmmu_flush_ops = {
	.flush_all = ipmmu_pgtable_flush,
};

/* ---- translation contexts ---- */

static int ipmmu_ctx_get(struct ipmmu_dev *root, struct ipmmu_domain *dom)
{
	unsigned int n, count = root->soc->ctx_count;
	unsigned long flags;

	spin_lock_irqsave(&root->lock, flags);
	n = find_first_zero_bit(root->ctx_map, count);
	if (n < count) {
		set_bit(n, root->ctx_map);
		root->ctx_owner[n] = dom;
	}
	spin_unlock_irqrestore(&root->lock, flags);

	return n < count ? (int)n : -EBUSY;
}

static void ipmmu_ctx_put(struct ipmmu_dev *root, unsigned int n)
{
	unsigned long flags;

	spin_lock_irqsave(&root->lock, flags);
	root->ctx_owner[n] = NULL;
	clear_bit(n, root->ctx_map);
	spin_unlock_irqrestore(&root->lock, flags);
}

static int ipmmu_domain_setup(struct ipmmu_domain *dom)
{
	struct ipmmu_dev *root = dom->root;
	enum io_pgtable_fmt fmt;
	u32 ttbcr, imctr;
	int ctx;

	dom->cfg.quirks = IO_PGTABLE_QUIRK_ARM_NS;
	dom->cfg.pgsize_bitmap = SZ_1G | SZ_2M | SZ_4K;
	dom->cfg.ias = root->soc->lpae64 ? 39 : 32;
	dom->cfg.oas = 40;
	dom->cfg.tlb = &ipmmu_flush_ops;
	fmt = root->soc->lpae64 ? ARM_64_LPAE_S1 : ARM_32_LPAE_S1;

	ctx = ipmmu_ctx_get(root, dom);
	if (ctx < 0)
		return ctx;
	dom->context_id = ctx;

	dom->pgtbl = alloc_io_pgtable_ops(fmt, &dom->cfg, dom);
	if (!dom->pgtbl) {
		ipmmu_ctx_put(root, ctx);
		return -ENOMEM;
	}

	ipmmu_ctx_write(dom, IMTTLBR0, lower_32_bits(dom->cfg.ttbr));
	ipmmu_ctx_write(dom, IMTTUBR0, upper_32_bits(dom->cfg.ttbr));

	/* walks start at level 1: 39-bit or 32-bit input, 4 KiB granule */
	ttbcr = IMTTBCR_EAE | IMTTBCR_SH0_ISH | IMTTBCR_ORGN0_WBWA | IMTTBCR_IRGN0_WBWA;
	if (root->soc->wide_sl0)
		ttbcr |= IMTTBCR_SL0_TWOBIT_LVL_1;
	else
		ttbcr |= IMTTBCR_SL0_LVL_1;
	if (root->soc->lpae64)
		ttbcr |= (64 - dom->cfg.ias) << IMTTBCR_TSZ0_SHIFT;
	ipmmu_ctx_write(dom, IMTTBCR, ttbcr);

	ipmmu_ctx_write(dom, IMMAIR0, lower_32_bits(dom->cfg.mair));
	ipmmu_ctx_write(dom, IMSTR, 0);

	imctr = IMCTR_INTEN | IMCTR_FLUSH | IMCTR_MMUEN;
	if (root->soc->lpae64)
		imctr |= IMCTR_VA64;
	ipmmu_imctr_write(dom, imctr);
	ipmmu_wait_flush(dom);
	return 0;
}

static void ipmmu_domain_release(struct ipmmu_domain *dom)
{
	/* turn the context off and drop what its TLBs still hold */
	ipmmu_imctr_write(dom, IMCTR_FLUSH);
	ipmmu_wait_flush(dom);
	ipmmu_ctx_put(dom->root, dom->context_id);
	free_io_pgtable_ops(dom->pgtbl);
	dom->pgtbl = NULL;
}

/* ---- faults ---- */

static irqreturn_t ipmmu_ctx_fault(struct ipmmu_domain *dom)
{
	u32 status = ipmmu_ctx_read(dom, IMSTR);
	unsigned long iova;

	if (!(status & IMSTR_FAULTS))
		return IRQ_NONE;

	iova = ipmmu_ctx_read(dom, IMEAR);
	ipmmu_ctx_write(dom, IMSTR, 0);

	dev_err_ratelimited(dom->root->dev, "context %u: %s fault at iova 0x%lx (IMSTR 0x%08x)\n",
			    dom->context_id, status & IMSTR_PF ? "permission" : "translation",
			    iova, status);
	return IRQ_HANDLED;
}

static irqreturn_t ipmmu_irq(int irq, void *data)
{
	struct ipmmu_dev *root = data;
	irqreturn_t ret = IRQ_NONE;
	unsigned long flags;
	unsigned int n;

	spin_lock_irqsave(&root->lock, flags);
	for (n = 0; n < root->soc->ctx_count; n++)
		if (root->ctx_owner[n] && ipmmu_ctx_fault(root->ctx_owner[n]) == IRQ_HANDLED)
			ret = IRQ_HANDLED;
	spin_unlock_irqrestore(&root->lock, flags);

	return ret;
}

/* ---- IOMMU API ---- */

static struct iommu_domain *ipmmu_dom_alloc(unsigned int type)
{
	struct ipmmu_domain *dom = NULL;

	/* unmanaged domains only: this driver offers no DMA-API default domain */
	if (type == IOMMU_DOMAIN_UNMANAGED)
		dom = kzalloc(sizeof(*dom), GFP_KERNEL);
	if (!dom)
		return NULL;
	spin_lock_init(&dom->lock);
	return &dom->iod;
}

static void ipmmu_dom_free(struct iommu_domain *iod)
{
	struct ipmmu_domain *dom = to_ipmmu_domain(iod);

	if (dom->root)
		ipmmu_domain_release(dom);
	kfree(dom);
}

static struct ipmmu_dev *ipmmu_lookup(struct device_node *np)
{
	struct ipmmu_dev *mmu, *found = NULL;

	spin_lock(&ipmmu_list_lock);
	list_for_each_entry(mmu, &ipmmu_list, node) {
		if (mmu->dev->of_node == np) {
			found = mmu;
			break;
		}
	}
	spin_unlock(&ipmmu_list_lock);
	return found;
}

/* Entry i of the master's "iommus": which IPMMU, which micro-TLB. */
static int ipmmu_master_utlb(struct device *dev, int i, struct ipmmu_dev **mmu,
			     unsigned int *utlb)
{
	struct of_phandle_args spec;

	if (of_parse_phandle_with_args(dev->of_node, "iommus", "#iommu-cells", i, &spec))
		return -ENOENT;
	*mmu = ipmmu_lookup(spec.np);
	if (!*mmu || spec.args_count != 1 || spec.args[0] >= (*mmu)->soc->utlb_count)
		return -ENODEV;
	*utlb = spec.args[0];
	return 0;
}

static void ipmmu_domain_add_cache(struct ipmmu_domain *dom, struct ipmmu_dev *mmu)
{
	unsigned int i;

	for (i = 0; i < dom->nr_caches; i++)
		if (dom->caches[i] == mmu)
			return;
	if (dom->nr_caches < IPMMU_MAX_CACHES)
		dom->caches[dom->nr_caches++] = mmu;
}

static int ipmmu_attach(struct iommu_domain *iod, struct device *dev)
{
	struct ipmmu_domain *dom = to_ipmmu_domain(iod);
	struct ipmmu_dev *mmu;
	unsigned long flags;
	unsigned int utlb;
	int i, ret = 0;

	spin_lock_irqsave(&dom->lock, flags);
	for (i = 0; !ret; i++) {
		ret = ipmmu_master_utlb(dev, i, &mmu, &utlb);
		if (ret == -ENOENT) {
			ret = i ? 0 : -ENODEV;
			break;
		}
		if (ret)
			break;

		if (!dom->root) {
			dom->root = mmu->root;
			ret = ipmmu_domain_setup(dom);
			if (ret) {
				dom->root = NULL;
				break;
			}
		} else if (dom->root != mmu->root) {
			dev_err(dev, "domain already uses another root IPMMU\n");
			ret = -EINVAL;
			break;
		}
		ipmmu_domain_add_cache(dom, mmu);
		ipmmu_utlb_enable(dom, mmu, utlb);
	}
	spin_unlock_irqrestore(&dom->lock, flags);

	return ret;
}

static void ipmmu_detach(struct iommu_domain *iod, struct device *dev)
{
	struct ipmmu_dev *mmu;
	unsigned int utlb;
	int i;

	for (i = 0; ipmmu_master_utlb(dev, i, &mmu, &utlb) != -ENOENT; i++)
		if (mmu)
			ipmmu_utlb_disable(mmu, utlb);
}

static int ipmmu_map(struct iommu_domain *iod, unsigned long iova,
		     phys_addr_t pa, size_t size, int prot)
{
	struct ipmmu_domain *dom = to_ipmmu_domain(iod);

	if (!dom->pgtbl)
		return -ENODEV;
	return dom->pgtbl->map(dom->pgtbl, iova, pa, size, prot);
}

static size_t ipmmu_unmap(struct iommu_domain *iod, unsigned long iova,
			  size_t size)
{
	struct ipmmu_domain *dom = to_ipmmu_domain(iod);

	if (!dom->pgtbl)
		return 0;
	return dom->pgtbl->unmap(dom->pgtbl, iova, size);
}

static phys_addr_t ipmmu_to_phys(struct iommu_domain *iod,
				      dma_addr_t iova)
{
	struct ipmmu_domain *dom = to_ipmmu_domain(iod);

	return dom->pgtbl ? dom->pgtbl->iova_to_phys(dom->pgtbl, iova) : 0;
}

static const struct iommu_ops ipmmu_iommu_ops = {
	.domain_alloc	= ipmmu_dom_alloc,
	.domain_free	= ipmmu_dom_free,
	.attach_dev	= ipmmu_attach,
	.detach_dev	= ipmmu_detach,
	.map		= ipmmu_map,
	.unmap		= ipmmu_unmap,
	.iova_to_phys	= ipmmu_to_phys,
};

/* ---- probe ---- */

static void ipmmu_disable_contexts(struct ipmmu_dev *mmu)
{
	unsigned int n;

	for (n = 0; n < mmu->soc->ctx_count; n++)
		ipmmu_write(mmu, ipmmu_ctx_reg(n, IMCTR), 0);
}

static struct ipmmu_dev *ipmmu_first_root(void)
{
	struct ipmmu_dev *mmu, *root = NULL;

	spin_lock(&ipmmu_list_lock);
	list_for_each_entry(mmu, &ipmmu_list, node) {
		if (ipmmu_is_root(mmu)) {
			root = mmu;
			break;
		}
	}
	spin_unlock(&ipmmu_list_lock);
	return root;
}

static const struct ipmmu_soc ipmmu_soc_gen2 = {
	.ctx_count = 1,
	.utlb_count = 32,
	.lpae64 = false,
	.wide_sl0 = false,
	.has_caches = false,
};

static const struct ipmmu_soc ipmmu_soc_gen3 = {
	.ctx_count = 8,
	.utlb_count = 48,
	.lpae64 = true,
	.wide_sl0 = true,
	.has_caches = true,
};

static const struct of_device_id ipmmu_dt_ids[] = {
	{ .compatible = "renesas,ipmmu-vmsa", .data = &ipmmu_soc_gen2 },
	{ .compatible = "renesas,ipmmu-r8a7795", .data = &ipmmu_soc_gen3 },
	{ /* end */ }
};
MODULE_DEVICE_TABLE(of, ipmmu_dt_ids);

static int ipmmu_probe(struct platform_device *plat)
{
	struct ipmmu_dev *mmu;
	int irq, ret;

	mmu = devm_kzalloc(&plat->dev, sizeof(*mmu), GFP_KERNEL);
	if (!mmu)
		return -ENOMEM;

	mmu->dev = &plat->dev;
	mmu->soc = of_device_get_match_data(&plat->dev);
	spin_lock_init(&mmu->lock);
	bitmap_zero(mmu->ctx_map, IPMMU_MAX_CTX);

	mmu->base = devm_platform_ioremap_resource(plat, 0);
	if (IS_ERR(mmu->base))
		return PTR_ERR(mmu->base);

	/* a cache IPMMU carries "renesas,ipmmu-main"; it needs its root first */
	if (mmu->soc->has_caches &&
	    of_find_property(plat->dev.of_node, "renesas,ipmmu-main", NULL)) {
		mmu->root = ipmmu_first_root();
		if (!mmu->root)
			return -EPROBE_DEFER;
	} else {
		mmu->root = mmu;
		ipmmu_disable_contexts(mmu);

		irq = platform_get_irq(plat, 0);
		if (irq < 0)
			return irq;
		ret = devm_request_irq(&plat->dev, irq, ipmmu_irq, 0,
				       dev_name(&plat->dev), mmu);
		if (ret)
			return ret;
	}

	spin_lock(&ipmmu_list_lock);
	list_add(&mmu->node, &ipmmu_list);
	spin_unlock(&ipmmu_list_lock);

	platform_set_drvdata(plat, mmu);
	return 0;
}

static int ipmmu_remove(struct platform_device *plat)
{
	struct ipmmu_dev *mmu = platform_get_drvdata(plat);

	spin_lock(&ipmmu_list_lock);
	list_del(&mmu->node);
	spin_unlock(&ipmmu_list_lock);

	if (ipmmu_is_root(mmu))
		ipmmu_disable_contexts(mmu);
	return 0;
}

static struct platform_driver ipmmu_platform_driver = {
	.driver = {
		.name = "ipmmu-vmsa-demo",
		.of_match_table = ipmmu_dt_ids,
	},
	.probe = ipmmu_probe,
	.remove = ipmmu_remove,
};

static int __init ipmmu_driver_init(void)
{
	int ret = platform_driver_register(&ipmmu_platform_driver);

	if (ret)
		return ret;
	return bus_set_iommu(&platform_bus_type, &ipmmu_iommu_ops);
}
subsys_initcall(ipmmu_driver_init);

MODULE_DESCRIPTION("IPMMU-VMSA demo driver");
MODULE_LICENSE("GPL v2");
