/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_DELAY_H__
#define __XEN_DELAY_H__

void udelay(unsigned long usecs);
#define cpu_relax() barrier()

#endif /* __XEN_DELAY_H__ */
