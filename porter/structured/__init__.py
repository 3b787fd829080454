"""Structured learn and merge of ported files (issue 6).

learn_file(upstream, port, path) -> FileEdits: the port as edits of upstream's C units.
FileEdits.dump() / FileEdits.load(data, path): the readable recipe form.
apply_file(edits, old_upstream, new_upstream, path, check_new=None) -> MergeResult.
apply_file(learn_file(U, P, path), U, U, path).output == P, byte for byte.
"""
from .edits import FileEdits, Segment, learn_file
from .merge import MergeResult, apply_file, merge3
from .units import Unit, segment

__all__ = ["FileEdits", "Segment", "learn_file", "MergeResult", "apply_file", "merge3", "Unit", "segment"]
