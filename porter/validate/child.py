"""A scenario child under bwrap: `python -m porter.validate.child LIB PLATFORM GROUP STOP_EARLY`
writes one JSON line per result on its stdout (see runner.py)."""
import sys

from .runner import child_main

if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
