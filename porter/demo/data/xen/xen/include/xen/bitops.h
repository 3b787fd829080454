/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_BITOPS_H__
#define __XEN_BITOPS_H__

#include <xen/string.h>

#define BIT(nr) (1UL << (nr))
#define BITS_PER_LONG 64
#define DECLARE_BITMAP(name, bits) unsigned long name[((bits) + BITS_PER_LONG - 1) / BITS_PER_LONG]
void set_bit(int nr, volatile void *addr);
void clear_bit(int nr, volatile void *addr);
int test_bit(int nr, const volatile void *addr);
unsigned long find_first_zero_bit(const unsigned long *addr, unsigned long size);
#define bitmap_zero(dst, nbits) memset(dst, 0, ((nbits) + 7) / 8)
int fls(unsigned int x);
int ffs(unsigned int x);

#endif /* __XEN_BITOPS_H__ */
