/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_LOG2_H__
#define __XEN_LOG2_H__

#define ilog2(n) (fls(n) - 1)

#endif /* __XEN_LOG2_H__ */
