/*
 * porter's host shim of the Xen hypervisor API (ARM flavour).
 *
 * Every <xen/...> and <asm/...> header a ported driver includes resolves to
 * this one file when porter validate builds the driver on the host. It
 * declares only what IOMMU drivers need, in porter's own words: register
 * accesses go to the IPMMU model through callbacks, page allocations come
 * from an arena that is the model's physical memory, the device tree is a
 * handful of nodes the harness builds.
 *
 * Names that Linux-derived drivers commonly define for themselves (kfree,
 * dev_err, gfp_t, __ffs, struct resource, ...) are deliberately absent.
 */
#ifndef PORTER_XEN_H
#define PORTER_XEN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>

/* ---- types ---------------------------------------------------------- */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef uint64_t paddr_t;
typedef char bool_t;
typedef uint16_t domid_t;
typedef unsigned long mfn_t;
typedef struct { int counter; } atomic_t;
typedef struct { int locked; } spinlock_t;
#define PRIpaddr "016" PRIx64

#define DOMID_XEN ((domid_t)0x7FF2)

/* ---- compiler and misc helpers -------------------------------------- */
#define __init
#define __initdata
#define __initconst
#define __exit
#define __hwdom_init
#define __iomem
#define __read_mostly
#define __must_check __attribute__((warn_unused_result))
#define __maybe_unused __attribute__((unused))
#define __packed __attribute__((packed))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define barrier() __asm__ __volatile__("" ::: "memory")
#define smp_mb() __sync_synchronize()
#define smp_wmb() __sync_synchronize()
#define smp_rmb() __sync_synchronize()
#define mb() __sync_synchronize()
#define wmb() __sync_synchronize()
#define rmb() __sync_synchronize()
#define dsb(x) __sync_synchronize()
#define isb() barrier()
#define cpu_relax() barrier()

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ROUNDUP(x, a) (((x) + (a) - 1) & ~((a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define GENMASK(h, l) (((~0UL) << (l)) & (~0UL >> (63 - (h))))
#define BITS_PER_LONG 64
#define BITS_TO_LONGS(n) DIV_ROUND_UP(n, BITS_PER_LONG)
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]
#define lower_32_bits(n) ((u32)(n))
#define upper_32_bits(n) ((u32)(((n) >> 16) >> 16))

static inline int porter_fls(unsigned int x) { return x ? 32 - __builtin_clz(x) : 0; }
static inline int porter_flsl(unsigned long x) { return x ? 64 - __builtin_clzl(x) : 0; }
#define fls(x) porter_fls(x)
#define flsl(x) porter_flsl(x)
#define ffs(x) __builtin_ffs((int)(x))
#define ffsl(x) __builtin_ffsl((long)(x))
#define ilog2(n) ((int)(sizeof(n) <= 4 ? fls((unsigned int)(n)) - 1 : flsl((unsigned long)(n)) - 1))
#define is_power_of_2(n) ((n) != 0 && (((n) & ((n) - 1)) == 0))

#define SZ_1K 0x00000400
#define SZ_4K 0x00001000
#define SZ_16K 0x00004000
#define SZ_64K 0x00010000
#define SZ_1M 0x00100000
#define SZ_2M 0x00200000
#define SZ_32M 0x02000000
#define SZ_512M 0x20000000
#define SZ_1G 0x40000000
#define SZ_2G 0x80000000UL

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ORDER_4K 0
#define pfn_to_paddr(pfn) ((paddr_t)(pfn) << PAGE_SHIFT)
#define paddr_to_pfn(pa) ((unsigned long)((pa) >> PAGE_SHIFT))

/* errno */
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EIO 5
#define ENXIO 6
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ENOSYS 38
#define ETIMEDOUT 110
#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) unlikely((unsigned long)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline long IS_ERR(const void *ptr) { return IS_ERR_VALUE((unsigned long)ptr); }
static inline long IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR_VALUE((unsigned long)ptr); }

/* ---- console and assertions ------------------------------------------ */
#define XENLOG_ERR "<E>"
#define XENLOG_WARNING "<W>"
#define XENLOG_INFO "<I>"
#define XENLOG_DEBUG "<D>"
#define XENLOG_G_ERR "<G><E>"
#define XENLOG_G_WARNING "<G><W>"
#define XENLOG_G_INFO "<G><I>"
#define XENLOG_G_DEBUG "<G><D>"
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define gprintk(lvl, fmt, ...) printk(lvl fmt, ##__VA_ARGS__)
void porter_bug(const char *what, const char *file, int line);
#define BUG() porter_bug("BUG", __FILE__, __LINE__)
#define BUG_ON(c) do { if (unlikely(c)) porter_bug("BUG_ON(" #c ")", __FILE__, __LINE__); } while (0)
#define ASSERT(c) do { if (unlikely(!(c))) porter_bug("ASSERT(" #c ")", __FILE__, __LINE__); } while (0)
#define WARN() porter_warn(__FILE__, __LINE__)
#define WARN_ON(c) ({ int _w = !!(c); if (unlikely(_w)) porter_warn(__FILE__, __LINE__); unlikely(_w); })
void porter_warn(const char *file, int line);
#define panic(fmt, ...) porter_bug("panic", __FILE__, __LINE__)

/* ---- time ------------------------------------------------------------- */
static inline void udelay(unsigned long usecs) { (void)usecs; }
static inline void mdelay(unsigned long msecs) { (void)msecs; }

/* ---- locks and atomics (single-threaded host: bookkeeping only) ------- */
#define SPIN_LOCK_UNLOCKED { 0 }
#define DEFINE_SPINLOCK(l) spinlock_t l = SPIN_LOCK_UNLOCKED
#define spin_lock_init(l) ((l)->locked = 0)
void porter_lock(spinlock_t *l);
void porter_unlock(spinlock_t *l);
#define spin_lock(l) porter_lock(l)
#define spin_unlock(l) porter_unlock(l)
#define spin_lock_irqsave(l, f) do { (f) = 0; porter_lock(l); } while (0)
#define spin_unlock_irqrestore(l, f) do { (void)(f); porter_unlock(l); } while (0)
#define spin_lock_irq(l) porter_lock(l)
#define spin_unlock_irq(l) porter_unlock(l)
#define local_irq_save(f) ((f) = 0)
#define local_irq_restore(f) ((void)(f))
#define ATOMIC_INIT(i) { (i) }
#define atomic_read(v) ((v)->counter)
#define atomic_set(v, i) ((v)->counter = (i))
#define atomic_inc(v) ((void)((v)->counter++))
#define atomic_dec(v) ((void)((v)->counter--))
#define atomic_dec_and_test(v) (--(v)->counter == 0)
#define atomic_inc_return(v) (++(v)->counter)

/* ---- bitmaps ---------------------------------------------------------- */
static inline void set_bit(int nr, volatile void *addr)
{ ((volatile unsigned long *)addr)[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG); }
static inline void clear_bit(int nr, volatile void *addr)
{ ((volatile unsigned long *)addr)[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG)); }
static inline int test_bit(int nr, const volatile void *addr)
{ return (((const volatile unsigned long *)addr)[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1; }
static inline int test_and_set_bit(int nr, volatile void *addr)
{ int old = test_bit(nr, addr); set_bit(nr, addr); return old; }
static inline int test_and_clear_bit(int nr, volatile void *addr)
{ int old = test_bit(nr, addr); clear_bit(nr, addr); return old; }
/* Xen's arm64 bitops define __ffs (as a function, so a driver's own #define still wins) */
static inline unsigned long __ffs(unsigned long word) { return (unsigned long)__builtin_ctzl(word); }
#define __set_bit set_bit
#define __clear_bit clear_bit
unsigned long find_next_bit(const unsigned long *addr, unsigned long size, unsigned long offset);
unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size, unsigned long offset);
#define find_first_bit(a, s) find_next_bit((a), (s), 0)
#define find_first_zero_bit(a, s) find_next_zero_bit((a), (s), 0)
#define bitmap_zero(dst, nbits) memset((dst), 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long))

/* ---- lists ------------------------------------------------------------ */
struct list_head { struct list_head *next, *prev; };
#define LIST_HEAD_INIT(n) { &(n), &(n) }
#define LIST_HEAD(n) struct list_head n = LIST_HEAD_INIT(n)
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l; l->prev = l; }
static inline void __porter_list_add(struct list_head *n, struct list_head *prev, struct list_head *next)
{ next->prev = n; n->next = next; n->prev = prev; prev->next = n; }
static inline void list_add(struct list_head *n, struct list_head *h) { __porter_list_add(n, h, h->next); }
static inline void list_add_tail(struct list_head *n, struct list_head *h) { __porter_list_add(n, h->prev, h); }
static inline void list_del(struct list_head *e)
{ e->next->prev = e->prev; e->prev->next = e->next; e->next = e->prev = NULL; }
static inline void list_del_init(struct list_head *e) { list_del(e); INIT_LIST_HEAD(e); }
static inline int list_empty(const struct list_head *h) { return h->next == h; }
#define list_entry(p, t, m) container_of(p, t, m)
#define list_first_entry(h, t, m) list_entry((h)->next, t, m)
#define list_for_each_entry(pos, head, member) \
    for (pos = list_entry((head)->next, __typeof__(*pos), member); \
         &pos->member != (head); \
         pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, n, head, member) \
    for (pos = list_entry((head)->next, __typeof__(*pos), member), \
         n = list_entry(pos->member.next, __typeof__(*pos), member); \
         &pos->member != (head); \
         pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

/* ---- memory: xmalloc and the page arena ------------------------------- */
void *_xmalloc(unsigned long size, unsigned long align);
void *_xzalloc(unsigned long size, unsigned long align);
void *_xmalloc_array(unsigned long size, unsigned long align, unsigned long num);
void *_xzalloc_array(unsigned long size, unsigned long align, unsigned long num);
void xfree(void *p);
#define xmalloc(t) ((t *)_xmalloc(sizeof(t), __alignof__(t)))
#define xzalloc(t) ((t *)_xzalloc(sizeof(t), __alignof__(t)))
#define xmalloc_array(t, n) ((t *)_xmalloc_array(sizeof(t), __alignof__(t), n))
#define xzalloc_array(t, n) ((t *)_xzalloc_array(sizeof(t), __alignof__(t), n))

struct page_list_entry { struct page_info *next, *prev; };
struct page_list_head { struct page_info *next, *tail; };
struct page_info {
    struct page_list_entry list;
    unsigned long count_info;
    unsigned long order;            /* PFN_ORDER */
    u64 pad;                        /* free for the owner's use */
};
#define PFN_ORDER(pg) ((pg)->order)
#define PAGE_LIST_HEAD(n) struct page_list_head n = { NULL, NULL }
#define INIT_PAGE_LIST_HEAD(h) ((h)->next = (h)->tail = NULL)
void page_list_add_tail(struct page_info *pg, struct page_list_head *h);
void page_list_add(struct page_info *pg, struct page_list_head *h);
struct page_info *page_list_remove_head(struct page_list_head *h);
static inline int page_list_empty(const struct page_list_head *h) { return h->next == NULL; }

struct domain;
struct page_info *alloc_domheap_pages(struct domain *d, unsigned int order, unsigned int memflags);
void free_domheap_pages(struct page_info *pg, unsigned int order);
#define alloc_domheap_page(d, f) alloc_domheap_pages(d, 0, f)
#define free_domheap_page(p) free_domheap_pages(p, 0)
void *alloc_xenheap_pages(unsigned int order, unsigned int memflags);
void free_xenheap_pages(void *v, unsigned int order);
#define alloc_xenheap_page() alloc_xenheap_pages(0, 0)
#define free_xenheap_page(v) free_xenheap_pages(v, 0)

paddr_t page_to_maddr(const struct page_info *pg);
struct page_info *maddr_to_page(paddr_t ma);
unsigned long page_to_mfn(const struct page_info *pg);
struct page_info *mfn_to_page(unsigned long mfn);
paddr_t virt_to_maddr(const void *va);
void *maddr_to_virt(paddr_t ma);
struct page_info *virt_to_page(const void *va);
void *page_to_virt(const struct page_info *pg);
#define __pa(v) virt_to_maddr(v)
#define __va(ma) maddr_to_virt(ma)
#define virt_to_mfn(v) (virt_to_maddr(v) >> PAGE_SHIFT)
void *__map_domain_page(const struct page_info *pg);
void *map_domain_page(unsigned long mfn);
void unmap_domain_page(const void *va);
void clear_page(void *va);
void clear_and_clean_page(struct page_info *pg);
#define clean_dcache(x) barrier()
#define clean_and_invalidate_dcache_va_range(p, s) barrier()
#define clean_dcache_va_range(p, s) barrier()
static inline unsigned int get_order_from_bytes(paddr_t size)
{ unsigned int order = 0; size = (size - 1) >> PAGE_SHIFT; while (size) { size >>= 1; order++; } return order; }
static inline unsigned int get_order_from_pages(unsigned long nr)
{ unsigned int order = 0; nr--; while (nr) { nr >>= 1; order++; } return order; }

/* ---- MMIO ------------------------------------------------------------- */
void __iomem *ioremap_nocache(paddr_t pa, size_t size);
#define ioremap(pa, size) ioremap_nocache(pa, size)
void iounmap(void __iomem *va);
u32 porter_mmio_read(const volatile void __iomem *addr, int bytes);
void porter_mmio_write(volatile void __iomem *addr, u64 value, int bytes);
#define readl(a) ((u32)porter_mmio_read((a), 4))
#define readw(a) ((u16)porter_mmio_read((a), 2))
#define readb(a) ((u8)porter_mmio_read((a), 1))
#define readq(a) (((u64)porter_mmio_read((a), 4)) | ((u64)porter_mmio_read((const volatile char *)(a) + 4, 4) << 32))
#define writel(v, a) porter_mmio_write((a), (u32)(v), 4)
#define writew(v, a) porter_mmio_write((a), (u16)(v), 2)
#define writeb(v, a) porter_mmio_write((a), (u8)(v), 1)
#define writeq(v, a) do { u64 _v = (v); porter_mmio_write((a), (u32)_v, 4); \
    porter_mmio_write((volatile char *)(a) + 4, (u32)(_v >> 32), 4); } while (0)
#define readl_relaxed readl
#define writel_relaxed writel

/* ---- device tree and devices ------------------------------------------- */
struct dt_device_node;
struct dev_archdata { void *iommu; };
enum device_type { DEV_DT, DEV_PCI };
struct device {
    enum device_type type;
    struct dt_device_node *of_node;
    struct dev_archdata archdata;
};
typedef struct device device_t;

#define PORTER_DT_MAX_IOMMUS 4
struct dt_device_node {
    const char *name;
    const char *full_name;
    const char *compatible;
    u64 reg_addr, reg_size;
    int irq;
    int is_main;                         /* has "renesas,ipmmu-main" */
    int num_iommus;
    struct dt_device_node *iommu_np[PORTER_DT_MAX_IOMMUS];
    u32 iommu_arg[PORTER_DT_MAX_IOMMUS];
    bool is_protected;
    domid_t used_by;
    struct device dev;
    struct dt_device_node *allnext;
};
struct dt_property { const char *name; int length; const void *value; };
#define MAX_PHANDLE_ARGS 16
struct dt_phandle_args {
    struct dt_device_node *np;
    int args_count;
    uint32_t args[MAX_PHANDLE_ARGS];
};
struct dt_device_match {
    const char *path;
    const char *type;
    const char *compatible;
    const bool not_available;
    const void *data;
};
#define DT_MATCH_COMPATIBLE(p) .compatible = p
extern struct dt_device_node *dt_host;
#define dt_for_each_device_node(dt, dn) for (dn = (dt); dn != NULL; dn = dn->allnext)
#define dev_to_dt(d) ((d)->of_node)
#define dt_to_dev(n) (&(n)->dev)
#define dev_is_dt(d) ((d)->type == DEV_DT)
#define dt_device_set_used_by(n, id) ((n)->used_by = (id))
#define dt_device_used_by(n) ((n)->used_by)
#define dt_device_set_protected(n) ((n)->is_protected = true)
#define dt_device_is_protected(n) ((n)->is_protected)
static inline const char *dt_node_full_name(const struct dt_device_node *np) { return np ? np->full_name : "<no-node>"; }
static inline const char *dt_node_name(const struct dt_device_node *np) { return np->name; }
const struct dt_device_match *dt_match_node(const struct dt_device_match *matches, const struct dt_device_node *node);
int dt_device_is_compatible(const struct dt_device_node *dev, const char *compat);
int dt_device_get_address(const struct dt_device_node *dev, unsigned int index, u64 *addr, u64 *size);
int platform_get_irq(const struct dt_device_node *dev, int index);
const struct dt_property *dt_find_property(const struct dt_device_node *np, const char *name, u32 *lenp);
bool dt_property_read_bool(const struct dt_device_node *np, const char *name);
struct dt_device_node *dt_parse_phandle(const struct dt_device_node *np, const char *name, int index);
int dt_parse_phandle_with_args(const struct dt_device_node *np, const char *list_name,
                               const char *cells_name, int index, struct dt_phandle_args *out_args);
int dt_count_phandle_with_args(const struct dt_device_node *np, const char *list_name, const char *cells_name);

enum device_class { DEVICE_SERIAL, DEVICE_IOMMU, DEVICE_GIC, DEVICE_PCI, DEVICE_UNKNOWN };
struct device_desc {
    const char *name;
    enum device_class class;
    const struct dt_device_match *dt_match;
    int (*init)(struct dt_device_node *dev, const void *data);
};
#define DT_DEVICE_START(_name, _namestr, _class) \
    static const struct device_desc __dev_desc_##_name \
    __attribute__((used, section("porter_dt_dev"), aligned(sizeof(void *)))) = { \
        .name = _namestr, .class = _class,
#define DT_DEVICE_END };

/* ---- interrupts ---------------------------------------------------------- */
struct cpu_user_regs { u64 unused; };
int request_irq(unsigned int irq, unsigned int irqflags,
                void (*handler)(int, void *, struct cpu_user_regs *),
                const char *devname, void *dev_id);
void release_irq(unsigned int irq, const void *dev_id);

/* ---- domains and the IOMMU framework ------------------------------------- */
struct arch_iommu { void *priv; };
struct domain_iommu { struct arch_iommu arch; };
struct domain {
    domid_t domain_id;
    struct domain_iommu iommu;
};
#define dom_iommu(d) (&(d)->iommu)
extern struct domain *hardware_domain;
#define is_hardware_domain(d) ((d) == hardware_domain)

#define _IOMMUF_readable 0
#define IOMMUF_readable (1u << _IOMMUF_readable)
#define _IOMMUF_writable 1
#define IOMMUF_writable (1u << _IOMMUF_writable)

struct iommu_ops {
    int (*init)(struct domain *d, bool use_iommu);
    void (*hwdom_init)(struct domain *d);
    int (*add_device)(u8 devfn, device_t *dev);
    int (*enable_device)(device_t *dev);
    int (*remove_device)(u8 devfn, device_t *dev);
    int (*assign_device)(struct domain *d, u8 devfn, device_t *dev, u32 flag);
    int (*reassign_device)(struct domain *s, struct domain *t, u8 devfn, device_t *dev);
    void (*teardown)(struct domain *d);
    int __must_check (*map_pages)(struct domain *d, unsigned long gfn, unsigned long mfn,
                                  unsigned int order, unsigned int flags);
    int __must_check (*unmap_pages)(struct domain *d, unsigned long gfn, unsigned int order);
    int __must_check (*map_page)(struct domain *d, unsigned long gfn, unsigned long mfn,
                                 unsigned int flags);
    int __must_check (*unmap_page)(struct domain *d, unsigned long gfn);
    void (*free_page_table)(struct page_info *pg);
    int (*alloc_page_table)(struct domain *d);   /* Xen trees with the ARM alloc_page_table callback */
    int __must_check (*suspend)(void);
    void (*resume)(void);
    void (*share_p2m)(struct domain *d);
    void (*crash_shutdown)(void);
    int __must_check (*iotlb_flush)(struct domain *d, unsigned long gfn, unsigned int page_count);
    int __must_check (*iotlb_flush_all)(struct domain *d);
    void (*dump_p2m_table)(struct domain *d);
};
void iommu_set_ops(const struct iommu_ops *ops);
const struct iommu_ops *iommu_get_ops(void);
extern bool iommu_hap_pt_share;
extern spinlock_t iommu_pt_cleanup_lock;
extern struct page_list_head iommu_pt_cleanup_list;

#endif /* PORTER_XEN_H */
