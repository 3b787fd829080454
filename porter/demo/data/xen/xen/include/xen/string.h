/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_STRING_H__
#define __XEN_STRING_H__

#include <xen/types.h>
void *memset(void *s, int c, size_t n);
void *memcpy(void *dest, const void *src, size_t n);

#endif /* __XEN_STRING_H__ */
