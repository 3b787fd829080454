"""Errors that end a command: BadInput exits 2, everything a command finds is data."""


class PorterError(Exception):
    """Bad usage or bad input: one line, exit status 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class BadInput(PorterError):
    pass


class Findings(Exception):
    """A command that cannot finish cleanly because of findings: exit status 1."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
