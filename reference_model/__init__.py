"""An executable model of the Renesas IPMMU-VMSA (root and cache IPMMUs,
translation contexts, micro-TLBs, LPAE stage-1 walk, TLBs, faults).

Self-contained: no porter imports. Hardware facts come from public code;
the model is ours.
"""
from .ipmmu import Bypass, Ipmmu, Tlb, TlbEntry
from .memory import Memory
from .regs import UnmodelledRegister
from .walk import ContextConfig, Fault, Translation, walk

__all__ = ["Bypass", "ContextConfig", "Fault", "Ipmmu", "Memory", "Tlb", "TlbEntry",
           "Translation", "UnmodelledRegister", "walk"]
