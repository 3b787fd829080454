/*
 * Demo Xen base tree: structure offsets for assembly code. Compiled with -S only: each OFFSET()
 * leaves a "==>NAME VALUE<==" marker in asm-offsets.s, which the build turns into asm-offsets.h.
 */
#include <xen/types.h>
#include <xen/sched.h>

#define EMIT(name, value) \
    __asm__ __volatile__("\n.ascii \"==>" #name " %0<==\"" : : "i" (value))
#define OFFSET(name, type, member) EMIT(name, __builtin_offsetof(type, member))

void emit_offsets(void);

void emit_offsets(void)
{
    OFFSET(DOMAIN_domain_id, struct domain, domain_id);
    OFFSET(DOMAIN_iommu, struct domain, iommu);
}
