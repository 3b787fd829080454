# Demo Xen base tree: architecture flags.
CFLAGS += -I$(BASEDIR)/include
$(call cc-option-add,CFLAGS,CC,-Wnested-externs)
