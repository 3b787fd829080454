/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_ERR_H__
#define __XEN_ERR_H__

#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-MAX_ERRNO)
void *ERR_PTR(long error);
long PTR_ERR(const void *ptr);
long IS_ERR(const void *ptr);

#endif /* __XEN_ERR_H__ */
