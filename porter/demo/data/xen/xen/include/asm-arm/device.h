/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __ASM_ARM_DEVICE_H__
#define __ASM_ARM_DEVICE_H__

struct dev_archdata { void *iommu; };
struct device { struct dt_device_node *of_node; struct dev_archdata archdata; };
enum device_class { DEVICE_SERIAL, DEVICE_IOMMU, DEVICE_GIC, DEVICE_PCI_HOSTBRIDGE };
struct device_desc { const char *name; enum device_class class; const struct dt_device_match *dt_match; int (*init)(struct dt_device_node *dev, const void *data); };
#define DT_DEVICE_START(_name, _namestr, _class) static const struct device_desc __dev_desc_##_name __used __section(".dev.info") = { .name = _namestr, .class = _class,
#define DT_DEVICE_END };

#endif /* __ASM_ARM_DEVICE_H__ */
