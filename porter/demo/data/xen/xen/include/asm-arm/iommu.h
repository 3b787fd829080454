/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __ASM_ARM_IOMMU_H__
#define __ASM_ARM_IOMMU_H__

struct iommu_ops;
struct arch_iommu { void *priv; };
void iommu_set_ops(const struct iommu_ops *ops);

#endif /* __ASM_ARM_IOMMU_H__ */
