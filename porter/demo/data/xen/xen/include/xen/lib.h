/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_LIB_H__
#define __XEN_LIB_H__

#include <xen/types.h>
#define XENLOG_ERR "<0>"
#define XENLOG_WARNING "<1>"
#define XENLOG_INFO "<2>"
#define XENLOG_DEBUG "<3>"
void printk(const char *fmt, ...);
#define BUG_ON(p) do { if (p) BUG(); } while (0)
#define WARN_ON(p) do { if (p) WARN(); } while (0)
#define ASSERT(p) BUG_ON(!(p))
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define IS_ALIGNED(val, align) (((val) & ((align) - 1)) == 0)
#define lower_32_bits(v) ((u32)(v))
#define upper_32_bits(v) ((u32)((u64)(v) >> 32))
#define min_t(type, x, y) ((type)(x) < (type)(y) ? (type)(x) : (type)(y))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - __builtin_offsetof(type, member)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __init
#define __must_check __attribute__((warn_unused_result))

#endif /* __XEN_LIB_H__ */
