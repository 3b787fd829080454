/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __ASM_ARM_IO_H__
#define __ASM_ARM_IO_H__

#define __iomem
void __iomem *ioremap_nocache(paddr_t start, size_t len);
unsigned int readl(const volatile void __iomem *addr);
void writel(unsigned int val, volatile void __iomem *addr);

#endif /* __ASM_ARM_IO_H__ */
