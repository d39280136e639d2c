"""Helpers for extraction tests: extract from a fake GitHub into an in-memory store."""

from __future__ import annotations

import sqlite_utils

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub
from audit.extract import Extractor, GitHubClient
from audit.quarter import Quarter
from audit.store import CAPTURE_TIME_COLUMNS, RUN_EVIDENCE_TABLES, ensure_schema

QUARTER = Quarter.parse("2024Q2")

EVIDENCE_TABLES = RUN_EVIDENCE_TABLES


def comparable_rows(db: sqlite_utils.Database, table: str, *, without: tuple[str, ...] = ()) -> list[tuple]:
    """`table`'s rows without their capture times (and `without`), sorted: what two equal captures share."""
    columns = [c for c in db[table].columns_dict if c not in CAPTURE_TIME_COLUMNS and c not in without]
    return sorted(tuple(row[c] for c in columns) for row in db[table].rows)


def new_store() -> sqlite_utils.Database:
    db = sqlite_utils.Database(memory=True)
    ensure_schema(db)
    return db


def extract(server: FakeGitHub, db, repositories: list[str], *, batched: bool = True):
    """One extraction of `repositories` for 2024Q2; returns the summary."""
    client = GitHubClient(server.base_url, None)
    try:
        return Extractor(db, client, Settings(), QUARTER, batched=batched).run(repositories)
    finally:
        client.close()
