// Five call rewrites, the same as benchmarks/port_vs_spatch.toml does with porter's rule engine.
@@
expression E;
@@
- kfree(E)
+ xfree(E)

@@
expression S, F;
@@
- kzalloc(S, F)
+ xzalloc_bytes(S)

@@
expression N, S, F;
@@
- kcalloc(N, S, F)
+ xzalloc_bytes(N * S)

@@
expression list ES;
@@
- pr_info(ES)
+ printk(ES)

@@
expression D;
expression list ES;
@@
- dev_err(D, ES)
+ printk(ES)
