"""Progress for people: rich progress bars on a terminal, plain periodic lines in CI logs.

Extraction of an organisation can take an hour of rate budget; on a terminal the user sees
a bar per repository and window, in a CI log a line every `PLAIN_EVERY` items instead of a
flood of carriage returns.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

PLAIN_EVERY = 50


class Reporter:
    """Where the pipeline says what it is doing. Messages go to stderr, never stdout."""

    def __init__(self, console: Console | None = None, *, interactive: bool | None = None):
        self.console = console or Console(stderr=True, highlight=False)
        self.interactive = sys.stderr.isatty() if interactive is None else interactive

    def say(self, message: str, style: str | None = None) -> None:
        self.console.print(message, style=style, markup=False, soft_wrap=True)

    @contextmanager
    def bar(self, description: str, total: int):
        """A bar on a terminal; otherwise a line at the start, every PLAIN_EVERY items, and the end."""
        if self.interactive:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=self.console, transient=True) as progress:
                task = progress.add_task(description, total=total)
                yield lambda: progress.advance(task)
            self.say(f"{description}: {total}/{total}")
            return
        done = 0
        self.say(f"{description}: 0/{total}")

        def advance() -> None:
            nonlocal done
            done += 1
            if done % PLAIN_EVERY == 0 and done < total:
                self.say(f"{description}: {done}/{total}")

        yield advance
        self.say(f"{description}: {total}/{total}")


class Silent(Reporter):
    """A reporter that says nothing (library use and tests)."""

    def __init__(self):
        super().__init__(Console(stderr=True, quiet=True), interactive=False)
