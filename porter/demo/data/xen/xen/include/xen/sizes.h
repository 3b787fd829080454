/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_SIZES_H__
#define __XEN_SIZES_H__

#define SZ_4K 0x00001000
#define SZ_2M 0x00200000
#define SZ_1G 0x40000000

#endif /* __XEN_SIZES_H__ */
