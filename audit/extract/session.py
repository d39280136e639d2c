"""What every collector of one extraction shares: store, client, log, quarter and mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from audit import times
from audit.capture_store import CaptureStore
from audit.config import Settings
from audit.extract.client import GitHubClient
from audit.extract.parallel import Fetcher
from audit.extract.querylog import QueryLog
from audit.period import Period
from audit.progress import Reporter
from audit.quarter import Quarter


@dataclass
class CaptureSession:
    """One extraction's shared state; collectors read it, only `graphql_available` changes."""

    store: CaptureStore
    client: GitHubClient
    fetcher: Fetcher
    """Runs independent fetches side by side; only this session's thread writes the store."""
    log: QueryLog
    settings: Settings
    quarter: Period | Quarter
    start: datetime
    """The quarter's first instant in the configured timezone."""
    end: datetime
    """The instant after the quarter's last one."""
    progress: Reporter
    batched: bool
    """Batched capture (repository artifact listing, GraphQL); False: per-run REST requests."""
    graphql_available: bool
    """Cleared when `/graphql` answers 401/403/404: per-run REST from then on."""


iso_z = times.iso_z
parse_time = times.parse
