/* Demo Xen base tree: included first by every unit (-include in Rules.mk). */
#ifndef __XEN_CONFIG_H__
#define __XEN_CONFIG_H__

#include <generated/autoconf.h>
#include <xen/compiler.h>

#endif /* __XEN_CONFIG_H__ */
