/* Demo Xen base tree: declarations the demo port relies on. */
#ifndef __XEN_SPINLOCK_H__
#define __XEN_SPINLOCK_H__

typedef struct spinlock { int lock; } spinlock_t;
#define DEFINE_SPINLOCK(l) spinlock_t l = { 0 }
void spin_lock_init(spinlock_t *lock);
void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);
#define spin_lock_irqsave(l, f) ((f) = _spin_lock_irqsave(l))
unsigned long _spin_lock_irqsave(spinlock_t *lock);
void spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);

#endif /* __XEN_SPINLOCK_H__ */
