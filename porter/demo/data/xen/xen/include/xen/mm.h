/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_MM_H__
#define __XEN_MM_H__

#include <xen/types.h>
#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define pfn_to_paddr(pfn) ((paddr_t)(pfn) << PAGE_SHIFT)
void *alloc_xenheap_pages(unsigned int order, unsigned int memflags);
void free_xenheap_pages(void *v, unsigned int order);
#define alloc_xenheap_page() (alloc_xenheap_pages(0, 0))
#define free_xenheap_page(v) (free_xenheap_pages(v, 0))
void clear_page(void *page);
paddr_t virt_to_maddr(const void *va);
void *maddr_to_virt(paddr_t ma);

#endif /* __XEN_MM_H__ */
