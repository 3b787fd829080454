/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_DEVICE_TREE_H__
#define __XEN_DEVICE_TREE_H__

#include <xen/types.h>
#include <asm/device.h>

struct dt_device_node {
    const char *name;
    const char *full_name;
    bool is_protected;
    domid_t used_by;
    struct device dev;
    struct dt_device_node *allnext;
};
struct dt_property;
struct dt_phandle_args { struct dt_device_node *np; int args_count; u32 args[16]; };
struct dt_device_match { const char *path; const char *type; const char *compatible; const void *data; };
extern struct dt_device_node *dt_host;
const char *dt_node_full_name(const struct dt_device_node *np);
const struct dt_device_match *dt_match_node(const struct dt_device_match *matches, const struct dt_device_node *node);
int dt_device_get_address(const struct dt_device_node *dev, unsigned int index, u64 *addr, u64 *size);
int platform_get_irq(const struct dt_device_node *device, int index);
const struct dt_property *dt_find_property(const struct dt_device_node *np, const char *name, u32 *lenp);
struct dt_device_node *dt_parse_phandle(const struct dt_device_node *np, const char *phandle_name, int index);
int dt_parse_phandle_with_args(const struct dt_device_node *np, const char *list_name, const char *cells_name, int index, struct dt_phandle_args *out_args);
#define dt_for_each_device_node(dt, dn) for (dn = dt; dn != NULL; dn = dn->allnext)
#define dt_device_set_used_by(dev, id) ((dev)->used_by = (id))
#define dt_device_set_protected(dev) ((dev)->is_protected = true)
#define dev_to_dt(dev) ((dev)->of_node)

#endif /* __XEN_DEVICE_TREE_H__ */
