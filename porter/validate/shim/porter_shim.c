/*
 * porter's host implementation of the Xen API declared in porter_xen.h, and
 * the harness entry points porter validate drives a ported driver through.
 */
#include <stdio.h>
#include <stdlib.h>
#include "porter_xen.h"

/* ---- callbacks into the model (set from Python) -------------------------- */
typedef u32 (*porter_read_fn)(u64 addr, int bytes);
typedef void (*porter_write_fn)(u64 addr, u64 value, int bytes);
typedef u64 (*porter_ioremap_fn)(u64 pa, u64 size);
static porter_read_fn hook_read;
static porter_write_fn hook_write;
static porter_ioremap_fn hook_ioremap;

void porter_set_hooks(porter_read_fn r, porter_write_fn w, porter_ioremap_fn m)
{
    hook_read = r;
    hook_write = w;
    hook_ioremap = m;
}

/* ---- diagnostics ------------------------------------------------------------ */
#define LOG_SIZE (1 << 16)
static char log_buf[LOG_SIZE];
static size_t log_len;
static int bug_count, warn_count, problem_count;
static char last_problem[512];

static void log_append(const char *s)
{
    size_t n = strlen(s);
    if (log_len + n >= LOG_SIZE)
        log_len = 0;                       /* keep the tail only */
    memcpy(log_buf + log_len, s, n);
    log_len += n;
    log_buf[log_len] = 0;
}

void printk(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_append(line);
}

static void problem(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_problem, sizeof(last_problem), fmt, ap);
    va_end(ap);
    problem_count++;
    log_append(last_problem);
    log_append("\n");
}

void porter_bug(const char *what, const char *file, int line)
{
    bug_count++;
    problem("%s at %s:%d", what, file, line);
}

void porter_warn(const char *file, int line)
{
    warn_count++;
    problem("WARN at %s:%d", file, line);
}

const char *porter_log(void) { return log_buf; }
int porter_bug_count(void) { return bug_count; }
int porter_warn_count(void) { return warn_count; }
int porter_problem_count(void) { return problem_count; }
const char *porter_last_problem(void) { return last_problem; }

void porter_lock(spinlock_t *l)
{
    if (l->locked)
        problem("spin_lock of a lock already held (deadlock on hardware)");
    l->locked = 1;
}

void porter_unlock(spinlock_t *l)
{
    if (!l->locked)
        problem("spin_unlock of a lock not held");
    l->locked = 0;
}

/* ---- bitmaps ------------------------------------------------------------------ */
unsigned long find_next_bit(const unsigned long *addr, unsigned long size, unsigned long offset)
{
    for (; offset < size; offset++)
        if (test_bit(offset, addr))
            return offset;
    return size;
}

unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size, unsigned long offset)
{
    for (; offset < size; offset++)
        if (!test_bit(offset, addr))
            return offset;
    return size;
}

/* ---- xmalloc --------------------------------------------------------------------- */
static long xmalloc_live;

void *_xmalloc(unsigned long size, unsigned long align)
{
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (posix_memalign(&p, align, size ? size : 1))
        return NULL;
    xmalloc_live++;
    return p;
}

void *_xzalloc(unsigned long size, unsigned long align)
{
    void *p = _xmalloc(size, align);
    if (p)
        memset(p, 0, size);
    return p;
}

void *_xmalloc_array(unsigned long size, unsigned long align, unsigned long num)
{
    return _xmalloc(size * num, align);
}

void *_xzalloc_array(unsigned long size, unsigned long align, unsigned long num)
{
    return _xzalloc(size * num, align);
}

void xfree(void *p)
{
    if (!p)
        return;
    xmalloc_live--;
    free(p);
}

long porter_xmalloc_live(void) { return xmalloc_live; }

/* ---- the page arena: host memory that is the model's physical memory ------------ */
#define ARENA_MADDR 0x0500000000ULL        /* below 2^40: every LPAE format reaches it */
static unsigned char *arena;
static unsigned long arena_pages;
static struct page_info *frame_table;
static unsigned char *page_used;
static unsigned long pages_used;
static unsigned char scratch_page[4096] __attribute__((aligned(4096)));

int porter_arena_init(unsigned long npages)
{
    void *p;
    if (posix_memalign(&p, 1 << 21, npages * PAGE_SIZE))
        return -ENOMEM;
    arena = p;
    memset(arena, 0, npages * PAGE_SIZE);
    arena_pages = npages;
    frame_table = calloc(npages, sizeof(*frame_table));
    page_used = calloc(npages, 1);
    pages_used = 0;
    return frame_table && page_used ? 0 : -ENOMEM;
}

void *porter_arena_base(void) { return arena; }
u64 porter_arena_maddr(void) { return ARENA_MADDR; }
unsigned long porter_arena_size(void) { return arena_pages * PAGE_SIZE; }
unsigned long porter_pages_used(void) { return pages_used; }

static long alloc_index(unsigned int order)
{
    unsigned long n = 1UL << order, i, j;
    for (i = 0; i + n <= arena_pages; i += n) {
        for (j = 0; j < n && !page_used[i + j]; j++)
            ;
        if (j == n) {
            for (j = 0; j < n; j++)
                page_used[i + j] = 1;
            pages_used += n;
            return (long)i;
        }
    }
    problem("page arena exhausted (order %u)", order);
    return -1;
}

static void free_index(unsigned long i, unsigned int order, const char *who)
{
    unsigned long n = 1UL << order, j;
    for (j = 0; j < n; j++) {
        if (i + j >= arena_pages || !page_used[i + j]) {
            problem("%s: double free or bad page %lu", who, i + j);
            return;
        }
        page_used[i + j] = 0;
    }
    pages_used -= n;
}

static long page_index(const struct page_info *pg)
{
    if (!frame_table || pg < frame_table || pg >= frame_table + arena_pages)
        return -1;
    return pg - frame_table;
}

struct page_info *alloc_domheap_pages(struct domain *d, unsigned int order, unsigned int memflags)
{
    long i = alloc_index(order);
    (void)d; (void)memflags;
    if (i < 0)
        return NULL;
    memset(&frame_table[i], 0, sizeof(frame_table[i]));
    return &frame_table[i];
}

void free_domheap_pages(struct page_info *pg, unsigned int order)
{
    long i = page_index(pg);
    if (i < 0) {
        problem("free_domheap_pages of a page not from the heap");
        return;
    }
    free_index(i, order, "free_domheap_pages");
}

void *alloc_xenheap_pages(unsigned int order, unsigned int memflags)
{
    long i = alloc_index(order);
    (void)memflags;
    if (i < 0)
        return NULL;
    return arena + i * PAGE_SIZE;
}

void free_xenheap_pages(void *v, unsigned int order)
{
    unsigned char *p = v;
    if (!v)
        return;
    if (p < arena || p >= arena + arena_pages * PAGE_SIZE || (p - arena) % PAGE_SIZE) {
        problem("free_xenheap_pages of %p, not a heap page", v);
        return;
    }
    free_index((p - arena) / PAGE_SIZE, order, "free_xenheap_pages");
}

paddr_t page_to_maddr(const struct page_info *pg)
{
    long i = page_index(pg);
    if (i < 0) {
        problem("page_to_maddr of a bad page %p", (const void *)pg);
        return ~0ULL;
    }
    return ARENA_MADDR + (paddr_t)i * PAGE_SIZE;
}

struct page_info *maddr_to_page(paddr_t ma)
{
    if (ma < ARENA_MADDR || ma >= ARENA_MADDR + arena_pages * PAGE_SIZE) {
        problem("maddr_to_page(0x%" PRIx64 "): not page-table memory", ma);
        return NULL;
    }
    return &frame_table[(ma - ARENA_MADDR) >> PAGE_SHIFT];
}

unsigned long page_to_mfn(const struct page_info *pg) { return page_to_maddr(pg) >> PAGE_SHIFT; }
struct page_info *mfn_to_page(unsigned long mfn) { return maddr_to_page((paddr_t)mfn << PAGE_SHIFT); }

paddr_t virt_to_maddr(const void *va)
{
    const unsigned char *p = va;
    if (p < arena || p >= arena + arena_pages * PAGE_SIZE) {
        problem("virt_to_maddr(%p): not page-table memory", va);
        return ~0ULL;
    }
    return ARENA_MADDR + (paddr_t)(p - arena);
}

void *maddr_to_virt(paddr_t ma)
{
    if (ma < ARENA_MADDR || ma >= ARENA_MADDR + arena_pages * PAGE_SIZE) {
        problem("maddr_to_virt(0x%" PRIx64 "): not page-table memory", ma);
        return scratch_page;
    }
    return arena + (ma - ARENA_MADDR);
}

struct page_info *virt_to_page(const void *va) { return maddr_to_page(virt_to_maddr(va)); }
void *page_to_virt(const struct page_info *pg) { return maddr_to_virt(page_to_maddr(pg)); }

void *__map_domain_page(const struct page_info *pg)
{
    long i = page_index(pg);
    if (i < 0) {
        problem("__map_domain_page of a bad page %p", (const void *)pg);
        return scratch_page;
    }
    return arena + i * PAGE_SIZE;
}

void *map_domain_page(unsigned long mfn) { return maddr_to_virt((paddr_t)mfn << PAGE_SHIFT); }
void unmap_domain_page(const void *va) { (void)va; }
void clear_page(void *va) { memset(va, 0, PAGE_SIZE); }
void clear_and_clean_page(struct page_info *pg) { clear_page(__map_domain_page(pg)); }

void page_list_add_tail(struct page_info *pg, struct page_list_head *h)
{
    pg->list.next = NULL;
    pg->list.prev = h->tail;
    if (h->tail)
        h->tail->list.next = pg;
    else
        h->next = pg;
    h->tail = pg;
}

void page_list_add(struct page_info *pg, struct page_list_head *h)
{
    pg->list.prev = NULL;
    pg->list.next = h->next;
    if (h->next)
        h->next->list.prev = pg;
    else
        h->tail = pg;
    h->next = pg;
}

struct page_info *page_list_remove_head(struct page_list_head *h)
{
    struct page_info *pg = h->next;
    if (!pg)
        return NULL;
    h->next = pg->list.next;
    if (h->next)
        h->next->list.prev = NULL;
    else
        h->tail = NULL;
    return pg;
}

/* ---- MMIO ---------------------------------------------------------------------------- */
void __iomem *ioremap_nocache(paddr_t pa, size_t size)
{
    if (!hook_ioremap)
        return NULL;
    return (void __iomem *)(uintptr_t)hook_ioremap(pa, size);
}

void iounmap(void __iomem *va) { (void)va; }

u32 porter_mmio_read(const volatile void __iomem *addr, int bytes)
{
    return hook_read ? hook_read((u64)(uintptr_t)addr, bytes) : 0;
}

void porter_mmio_write(volatile void __iomem *addr, u64 value, int bytes)
{
    if (hook_write)
        hook_write((u64)(uintptr_t)addr, value, bytes);
}

/* ---- device tree ------------------------------------------------------------------------ */
struct dt_device_node *dt_host;

struct dt_device_node *porter_dt_node(const char *name, const char *compatible,
                                      u64 addr, u64 size, int irq, int is_main)
{
    struct dt_device_node *np = calloc(1, sizeof(*np)), **tail;
    np->name = strdup(name);
    np->full_name = np->name;
    np->compatible = compatible ? strdup(compatible) : NULL;
    np->reg_addr = addr;
    np->reg_size = size;
    np->irq = irq;
    np->is_main = is_main;
    np->dev.type = DEV_DT;
    np->dev.of_node = np;
    for (tail = &dt_host; *tail; tail = &(*tail)->allnext)
        ;
    *tail = np;
    return np;
}

int porter_dt_add_iommu(struct dt_device_node *master, struct dt_device_node *iommu, u32 arg)
{
    if (master->num_iommus >= PORTER_DT_MAX_IOMMUS)
        return -ENOSPC;
    master->iommu_np[master->num_iommus] = iommu;
    master->iommu_arg[master->num_iommus] = arg;
    master->num_iommus++;
    return 0;
}

int porter_dt_is_protected(struct dt_device_node *np) { return np->is_protected; }

int dt_device_is_compatible(const struct dt_device_node *dev, const char *compat)
{
    return dev->compatible && compat && !strcmp(dev->compatible, compat);
}

const struct dt_device_match *dt_match_node(const struct dt_device_match *matches,
                                            const struct dt_device_node *node)
{
    if (!matches || !node)
        return NULL;
    for (; matches->path || matches->type || matches->compatible; matches++)
        if (matches->compatible && dt_device_is_compatible(node, matches->compatible))
            return matches;
    return NULL;
}

int dt_device_get_address(const struct dt_device_node *dev, unsigned int index, u64 *addr, u64 *size)
{
    if (index != 0 || !dev->reg_size)
        return -EINVAL;
    if (addr)
        *addr = dev->reg_addr;
    if (size)
        *size = dev->reg_size;
    return 0;
}

int platform_get_irq(const struct dt_device_node *dev, int index)
{
    return (index == 0 && dev->irq > 0) ? dev->irq : -1;
}

static const struct dt_property main_prop = { "renesas,ipmmu-main", 0, NULL };

const struct dt_property *dt_find_property(const struct dt_device_node *np, const char *name, u32 *lenp)
{
    if (lenp)
        *lenp = 0;
    if (np && np->is_main && !strcmp(name, main_prop.name))
        return &main_prop;
    return NULL;
}

bool dt_property_read_bool(const struct dt_device_node *np, const char *name)
{
    return dt_find_property(np, name, NULL) != NULL;
}

struct dt_device_node *dt_parse_phandle(const struct dt_device_node *np, const char *name, int index)
{
    if (!np || strcmp(name, "iommus") || index < 0 || index >= np->num_iommus)
        return NULL;
    return np->iommu_np[index];
}

int dt_parse_phandle_with_args(const struct dt_device_node *np, const char *list_name,
                               const char *cells_name, int index, struct dt_phandle_args *out)
{
    if (!np || strcmp(list_name, "iommus") || strcmp(cells_name, "#iommu-cells"))
        return -ENOENT;
    if (index < 0 || index >= np->num_iommus)
        return -ENOENT;
    memset(out, 0, sizeof(*out));
    out->np = np->iommu_np[index];
    out->args_count = 1;
    out->args[0] = np->iommu_arg[index];
    return 0;
}

int dt_count_phandle_with_args(const struct dt_device_node *np, const char *list_name, const char *cells_name)
{
    if (!np || strcmp(list_name, "iommus") || strcmp(cells_name, "#iommu-cells") || !np->num_iommus)
        return -ENOENT;
    return np->num_iommus;
}

/* ---- interrupts ----------------------------------------------------------------------------- */
#define PORTER_MAX_IRQS 8
static struct { unsigned int irq; void (*handler)(int, void *, struct cpu_user_regs *); void *dev_id; } irqs[PORTER_MAX_IRQS];
static int nr_irqs;

int request_irq(unsigned int irq, unsigned int irqflags,
                void (*handler)(int, void *, struct cpu_user_regs *),
                const char *devname, void *dev_id)
{
    (void)irqflags; (void)devname;
    if (nr_irqs == PORTER_MAX_IRQS)
        return -EBUSY;
    irqs[nr_irqs].irq = irq;
    irqs[nr_irqs].handler = handler;
    irqs[nr_irqs].dev_id = dev_id;
    nr_irqs++;
    return 0;
}

void release_irq(unsigned int irq, const void *dev_id)
{
    int i;
    for (i = 0; i < nr_irqs; i++)
        if (irqs[i].irq == irq && irqs[i].dev_id == dev_id)
            irqs[i].handler = NULL;
}

int porter_fire_irq(unsigned int irq)
{
    struct cpu_user_regs regs = { 0 };
    int i, ran = 0;
    for (i = 0; i < nr_irqs; i++)
        if (irqs[i].irq == irq && irqs[i].handler) {
            irqs[i].handler((int)irq, irqs[i].dev_id, &regs);
            ran++;
        }
    return ran;
}

/* ---- domains and the IOMMU framework --------------------------------------------------------- */
struct domain *hardware_domain;
bool iommu_hap_pt_share = true;
spinlock_t iommu_pt_cleanup_lock;
struct page_list_head iommu_pt_cleanup_list;
static const struct iommu_ops *iommu_ops;

void iommu_set_ops(const struct iommu_ops *ops) { iommu_ops = ops; }
const struct iommu_ops *iommu_get_ops(void) { return iommu_ops; }

extern const struct device_desc __start_porter_dt_dev[] __attribute__((weak));
extern const struct device_desc __stop_porter_dt_dev[] __attribute__((weak));

/* Probe a node with the driver's DT_DEVICE_START descriptor, as Xen's device_init does. */
int porter_dt_probe(struct dt_device_node *np)
{
    const struct device_desc *desc;
    for (desc = __start_porter_dt_dev; desc && desc < __stop_porter_dt_dev; desc++) {
        const struct dt_device_match *m = dt_match_node(desc->dt_match, np);
        if (m)
            return desc->init(np, m->data);
    }
    return -1000;                       /* no driver descriptor matches */
}

int porter_have_ops(void) { return iommu_ops != NULL; }

struct domain *porter_domain_new(int domid)
{
    struct domain *d = calloc(1, sizeof(*d));
    d->domain_id = (domid_t)domid;
    return d;
}

#define NEED(op) do { if (!iommu_ops || !iommu_ops->op) return -1001; } while (0)

int porter_iommu_init(struct domain *d, int use_iommu)
{
    int rc;

    NEED(init);
    rc = iommu_ops->init(d, use_iommu);
    /* Where the platform has the callback, Xen allocates the IOMMU page table right after init. */
    if (!rc && use_iommu && iommu_ops->alloc_page_table)
        rc = iommu_ops->alloc_page_table(d);
    return rc;
}

int porter_iommu_assign(struct domain *d, struct dt_device_node *np)
{
    NEED(assign_device);
    return iommu_ops->assign_device(d, 0, dt_to_dev(np), 0);
}

int porter_iommu_deassign(struct domain *d, struct dt_device_node *np)
{
    NEED(reassign_device);
    return iommu_ops->reassign_device(d, NULL, 0, dt_to_dev(np));
}

int porter_iommu_map(struct domain *d, unsigned long gfn, unsigned long mfn,
                     unsigned int order, unsigned int flags)
{
    if (iommu_ops && iommu_ops->map_pages)
        return iommu_ops->map_pages(d, gfn, mfn, order, flags);
    if (iommu_ops && iommu_ops->map_page) {
        unsigned long i;
        int rc = 0;
        for (i = 0; i < (1UL << order) && !rc; i++)
            rc = iommu_ops->map_page(d, gfn + i, mfn + i, flags);
        return rc;
    }
    return -1001;
}

int porter_iommu_unmap(struct domain *d, unsigned long gfn, unsigned int order)
{
    if (iommu_ops && iommu_ops->unmap_pages)
        return iommu_ops->unmap_pages(d, gfn, order);
    if (iommu_ops && iommu_ops->unmap_page) {
        unsigned long i;
        int rc = 0;
        for (i = 0; i < (1UL << order) && !rc; i++)
            rc = iommu_ops->unmap_page(d, gfn + i);
        return rc;
    }
    return -1001;
}

int porter_iommu_iotlb_flush(struct domain *d, unsigned long gfn, unsigned int count)
{
    if (!iommu_ops || !iommu_ops->iotlb_flush)
        return 0;
    return iommu_ops->iotlb_flush(d, gfn, count);
}

/* Tear a domain down and free its page tables the way Xen's IOMMU core does. */
int porter_iommu_teardown(struct domain *d)
{
    struct page_info *pg;
    int guard = 0;
    NEED(teardown);
    iommu_ops->teardown(d);
    while ((pg = page_list_remove_head(&iommu_pt_cleanup_list)) != NULL) {
        if (!iommu_ops->free_page_table || ++guard > 1 << 20)
            return -1002;
        iommu_ops->free_page_table(pg);
    }
    return 0;
}
