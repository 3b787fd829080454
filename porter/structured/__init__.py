"""Structured learn and merge of ported files (issue 6).

learn_file(upstream, port, path) -> FileEdits: the port as edits of upstream's C units.
FileEdits.dump() / FileEdits.load(data, path): the readable recipe form.
apply_file(edits, old_upstream, new_upstream, path, check_new=None) -> MergeResult.
apply_file(learn_file(U, P, path), U, U, path).output == P, byte for byte.

check_new(unit_text, unit_label) -> (text, findings) is called for every unit whose live text comes
from new upstream code (changed units the port kept, units merged with an upstream change, new
upstream units); unit_text comes without its leading blank lines, unit_label is "kind name"
(e.g. "function ipmmu_probe").  A finding's "line", if any, is 1-based within unit_text and is
turned into a line of the merged output; "file" and "unit" are filled in when missing.
Every merge result is checked (invariants.py); what fails is a conflict or a finding, never silent.
"""
from .edits import FileEdits, Segment, learn_file
from .merge import MergeResult, apply_file, merge3
from .units import Unit, segment

__all__ = ["FileEdits", "Segment", "learn_file", "MergeResult", "apply_file", "merge3", "Unit", "segment"]
