/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_SCHED_H__
#define __XEN_SCHED_H__

#include <xen/spinlock.h>
#include <xen/iommu.h>
struct domain {
    domid_t domain_id;
    struct domain_iommu iommu;
};
extern struct domain *hardware_domain;
#define DOMID_XEN ((domid_t)0x7FF2U)

#endif /* __XEN_SCHED_H__ */
