"""porter: port Linux driver sources into Xen as a reviewable patch series."""

__version__ = "0.1.0"
