# Demo Xen tree: toolchain settings every Makefile of the hypervisor build reads (as Xen's Config.mk).
# Built-in variables are off (-rR), so CC comes from here: $(CROSS_COMPILE)gcc unless given.
XEN_COMPILE_ARCH ?= $(shell uname -m | sed -e 's/aarch64/arm64/')
XEN_TARGET_ARCH  ?= $(XEN_COMPILE_ARCH)
CROSS_COMPILE    ?=
CC               ?= $(CROSS_COMPILE)gcc

# $(call cc-option,CC,OPTION,FALLBACK): OPTION when the compiler accepts it, else FALLBACK.
cc-option = $(shell if $(1) $(2) -Werror -c -x c /dev/null -o /dev/null >/dev/null 2>&1; \
                    then echo '$(2)'; else echo '$(3)'; fi)
# $(call cc-option-add,VAR,CC-VAR,OPTION): add OPTION to VAR when $(CC-VAR) accepts it.
cc-option-add = $(eval $(1) += $(call cc-option,$($(2)),$(3),))

CFLAGS += -std=gnu99 -Wall -Wstrict-prototypes -fno-strict-aliasing
$(call cc-option-add,CFLAGS,CC,-Wdeclaration-after-statement)
$(call cc-option-add,CFLAGS,CC,-Wno-unused-but-set-variable)
