/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __ASM_ARM_SYSTEM_H__
#define __ASM_ARM_SYSTEM_H__

#define barrier() __asm__ __volatile__("": : :"memory")
#define wmb() dsb(st)
#define smp_wmb() dmb(ishst)

#endif /* __ASM_ARM_SYSTEM_H__ */
