/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_XMALLOC_H__
#define __XEN_XMALLOC_H__

void *_xmalloc(unsigned long size, unsigned long align);
void *_xzalloc(unsigned long size, unsigned long align);
void xfree(void *p);
#define xzalloc(_type) ((_type *)_xzalloc(sizeof(_type), __alignof__(_type)))

#endif /* __XEN_XMALLOC_H__ */
