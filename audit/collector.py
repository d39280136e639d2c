"""Python's cycle collector paused while large, acyclic work runs.

Evaluating a quarter, building its findings and writing its files make a million small
objects and no reference cycles worth collecting, yet each collection of the oldest
generation walks every object alive: a third of the evaluation's time at 10,000 deployments,
and a third of population.xlsx's at 50,000 (XlsxWriter holds every hyperlink of a sheet
until the sheet closes). Reference counting still frees everything.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused for the block; it resumes (if it was on) when the block ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
