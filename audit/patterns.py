"""One meaning for the name patterns of audit.toml (environments, jobs), in Python and in SQL.

A pattern is a glob (`*`, `?`, `[seq]`, `[!seq]`) compared case-insensitively. Its meaning
is one SQL expression, `MATCH`, evaluated by SQLite everywhere: the re-performance SQL
writes it inline (so an auditor's plain `sqlite3` shell gives the same answer), and
`matches` asks SQLite the same question for Python code (extraction, the controls).
Before, Python's fnmatch read `prod[!x]*` as "not x" while SQLite's GLOB read it as
"! or x", silently dropping those deployments from the population.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from functools import lru_cache

MATCH = "lower({name}) glob lower(replace({pattern}, '[!', '[^'))"
"""The one definition: SQLite's GLOB on lower-cased text, with fnmatch's `[!seq]` as GLOB's `[^seq]`."""

_SQLITE = sqlite3.connect(":memory:", check_same_thread=False)
_SQLITE_LOCK = threading.Lock()
_QUERY = "select " + MATCH.format(name=":name", pattern=":pattern")


@lru_cache(maxsize=4096)
def matches(name: str, pattern: str) -> bool:
    """Whether `name` matches `pattern`, exactly as the re-performance SQL decides it."""
    with _SQLITE_LOCK:
        return bool(_SQLITE.execute(_QUERY, {"name": name, "pattern": pattern}).fetchone()[0])


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    """Whether `name` matches one of `patterns`."""
    return any(matches(name, pattern) for pattern in patterns)
