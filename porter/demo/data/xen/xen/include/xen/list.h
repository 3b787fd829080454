/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_LIST_H__
#define __XEN_LIST_H__

struct list_head { struct list_head *next, *prev; };
#define LIST_HEAD(name) struct list_head name = { &(name), &(name) }
void list_add(struct list_head *new, struct list_head *head);
void list_del(struct list_head *entry);
#define list_for_each_entry(pos, head, member) for (pos = container_of((head)->next, typeof(*pos), member); &pos->member != (head); pos = container_of(pos->member.next, typeof(*pos), member))

#endif /* __XEN_LIST_H__ */
