/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_ERRNO_H__
#define __XEN_ERRNO_H__

#define EPERM 1
#define ENOENT 2
#define ENOMEM 12
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define EAGAIN 11

#endif /* __XEN_ERRNO_H__ */
