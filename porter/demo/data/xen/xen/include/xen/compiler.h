/* Demo Xen base tree: the compiler attributes every unit may use (config.h includes it). */
#ifndef __XEN_COMPILER_H__
#define __XEN_COMPILER_H__

#define __used __attribute__((__used__))
#define __section(s) __attribute__((__section__(s)))

#endif /* __XEN_COMPILER_H__ */
