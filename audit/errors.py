"""Errors that end the program with one clear line on stderr.

`UsageError` is bad input from the person running us (exit 2); `EvidenceError` is evidence
that could not be read or verified (exit 1). Neither ever prints a traceback.
"""

import pickle


class AuditError(Exception):
    """Base of every error the CLI turns into one line on stderr."""

    exit_code = 1


class UsageError(AuditError):
    """Bad arguments, configuration or environment: exit 2."""

    exit_code = 2


class EvidenceError(AuditError):
    """Evidence that is missing, altered or unreadable: exit 1."""

    exit_code = 1


def transportable(error: BaseException) -> BaseException:
    """`error` if it survives pickling (to be raised in the process that forked us), else a
    RuntimeError that names it."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any exception may refuse to pickle
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
