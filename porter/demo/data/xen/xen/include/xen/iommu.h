/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_IOMMU_H__
#define __XEN_IOMMU_H__

#include <xen/types.h>
#include <asm/iommu.h>

struct domain;
struct device;
struct page_info;
#define IOMMUF_readable (1u << 0)
#define IOMMUF_writable (1u << 1)
struct domain_iommu { struct arch_iommu arch; };
#define dom_iommu(d) (&(d)->iommu)
extern bool iommu_hap_pt_share;
struct iommu_ops {
    int (*init)(struct domain *d, bool use_iommu);
    int (*assign_device)(struct domain *d, u8 devfn, struct device *dev, u32 flag);
    int (*reassign_device)(struct domain *s, struct domain *t, u8 devfn, struct device *dev);
    void (*teardown)(struct domain *d);
    int (*map_pages)(struct domain *d, unsigned long gfn, unsigned long mfn, unsigned int order, unsigned int flags);
    int (*unmap_pages)(struct domain *d, unsigned long gfn, unsigned int order);
    void (*free_page_table)(struct page_info *pg);
    int (*iotlb_flush)(struct domain *d, unsigned long gfn, unsigned int page_count);
};

#endif /* __XEN_IOMMU_H__ */
