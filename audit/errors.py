"""Errors that end the program with one clear line on stderr.

`UsageError` is bad input from the person running us (exit 2); `EvidenceError` is evidence
that could not be read or verified (exit 1). Neither ever prints a traceback.
"""


class AuditError(Exception):
    """Base of every error the CLI turns into one line on stderr."""

    exit_code = 1


class UsageError(AuditError):
    """Bad arguments, configuration or environment: exit 2."""

    exit_code = 2


class EvidenceError(AuditError):
    """Evidence that is missing, altered or unreadable: exit 1."""

    exit_code = 1
