/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_IRQ_H__
#define __XEN_IRQ_H__

#include <xen/types.h>

struct cpu_user_regs { u64 gprs[31]; u64 pc, cpsr; };   /* the interrupted context */
int request_irq(unsigned int irq, unsigned int irqflags, void (*handler)(int, void *, struct cpu_user_regs *), const char *devname, void *dev_id);

#endif /* __XEN_IRQ_H__ */
