/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_TYPES_H__
#define __XEN_TYPES_H__

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef u64 paddr_t;
typedef unsigned long size_t;
typedef _Bool bool;
typedef char bool_t;
typedef u16 domid_t;
#define true 1
#define false 0
#define NULL ((void *)0)

#endif /* __XEN_TYPES_H__ */
