# Demo Xen base tree: the flags every object is compiled with, computed as Xen's Rules.mk does.
# Use: make -rR -f $(BASEDIR)/Rules.mk -C DIR FILE.o BASEDIR=... XEN_ROOT=...
-include $(BASEDIR)/include/config/auto.conf

include $(XEN_ROOT)/Config.mk

override TARGET_SUBARCH := $(XEN_TARGET_ARCH)
# The demo tree has one set of architecture headers, in portable C: any host compiler builds it.
override TARGET_ARCH    := arm

CFLAGS += -O2 -nostdinc -fno-builtin -fno-common
CFLAGS += -Werror -Wredundant-decls -Wno-pointer-arith
CFLAGS += -pipe -D__XEN__ -include $(BASEDIR)/include/xen/config.h
CFLAGS += '-D__OBJECT_FILE__="$@"'
CFLAGS-y += -MMD -MF $(@D)/.$(@F).d
CFLAGS += $(CFLAGS-y)

include $(BASEDIR)/arch/$(TARGET_ARCH)/Rules.mk

DEPS = .*.d

include Makefile

%.o: %.c Makefile
	$(CC) $(CFLAGS) -c $< -o $@

%.s: %.c Makefile
	$(CC) $(CFLAGS) -S $< -o $@

-include $(DEPS)
