"""Large buffers go back to the system once freed (`audit.allocator`), however glibc sized
its threshold for them before: without it, a 20 MB buffer freed after a 24 MB one stays in
the process's memory while smaller blocks above it live."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from audit.allocator import return_large_buffers

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20

if sys.argv[1] == "on":
    assert return_large_buffers()
first = b"a" * (24 << 20)
del first  # glibc raises its threshold to 24 MB here, unless it was fixed
second = b"b" * (20 << 20)
above = [b"k" * 1000 + bytes([i % 256]) for i in range(2000)]  # small blocks after it
before = rss_mb()
del second
print(before - rss_mb())
"""


def _returned_mb(setting: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, setting], capture_output=True, text=True, check=True, timeout=60
    )
    return int(done.stdout)


def test_a_large_buffer_goes_back_to_the_system_once_freed():
    assert _returned_mb("on") >= 19
    assert _returned_mb("off") <= 1  # what glibc does left alone: the test can tell the two apart


def test_the_render_sets_it_before_forking_its_pdf_process(monkeypatch):
    import audit.render.drawing as drawing

    called: list[bool] = []
    monkeypatch.setattr(drawing, "return_large_buffers", lambda: called.append(True) or True)
    monkeypatch.setattr(drawing.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with drawing.pdf_drawer():
        pass
    assert called == [True]
