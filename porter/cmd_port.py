"""`porter port`: a generic port of a Linux file with the rule packs."""
