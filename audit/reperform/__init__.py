"""Re-performance: controls expressed as SQL over the evidence store, for auditors.

An auditor re-performs a control without our code: open `evidence.db` with `sqlite3` (or
Datasette), set the parameters the file's header names, run the file, and compare the
verdicts with the `verdicts` table. `run_sql` does the same from Python (tests use it to
prove the SQL and the Python controls agree on every deployment).
"""

from __future__ import annotations

from importlib import resources

QUERIES = ("population", "deploy_approved", "deploy_from_main", "tests_passed", "deploy_timely")
"""The SQL files shipped beside this module (without `.sql`)."""


def query_text(name: str) -> str:
    """The text of one shipped query."""
    if name not in QUERIES:
        raise KeyError(f"no re-performance query {name!r}; known: {', '.join(QUERIES)}")
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def run_sql(db, name: str, **parameters) -> list[dict]:
    """Run a shipped query with named parameters; rows as dicts."""
    return [dict(row) for row in db.query(query_text(name), parameters)]
