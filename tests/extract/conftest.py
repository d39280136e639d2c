"""Helpers for extraction tests: extract from a fake GitHub into an in-memory store."""

from __future__ import annotations

import sqlite_utils

from audit.config import Settings
from audit.demo.fakegithub import FakeGitHub
from audit.extract import Extractor, GitHubClient
from audit.quarter import Quarter
from audit.store import ensure_schema

QUARTER = Quarter.parse("2024Q2")


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
