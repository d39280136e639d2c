"""Large buffers handed back to the system as soon as they are freed (glibc's malloc).

glibc serves an allocation of 128 kB or more with a mapping of its own, returned to the system
when it is freed, but each time it frees such a block (up to 32 MB) it raises that threshold
to the block's size: from then on buffers of that size come from the heap, and once freed
they stay in the process's memory for as long as anything above them lives. The render
allocates such buffers one after another (the spreadsheet's bytes, the PDF's attachments,
compressed, and the PDF's streams), so they piled up: at 50,000 deployments the render's
process held 24 MB more once the findings were built, and the PDF process peaked 33 MB higher
while pydyf wrote (RSS sampled every 10 ms, each process alone). Fixing the threshold at
1 MiB keeps every large buffer in a mapping of its own.

    return_large_buffers()  # before the render forks its PDF process: both inherit it
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3
"""glibc's `mallopt` parameter for the size from which an allocation gets its own mapping."""

LARGE_BUFFER = 1 << 20


def return_large_buffers() -> bool:
    """Have glibc map every allocation of `LARGE_BUFFER` bytes or more on its own, so that it
    goes back to the system when freed. True if the C library took it; elsewhere (no
    `mallopt`, as on macOS) nothing changes and False is returned."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER))
