"""Serve the fake GitHub on 127.0.0.1 until interrupted, to point a real extraction at it.

    python -m audit.demo.fakegithub --latency-ms 150 --blob-bandwidth 1000000
    python -m audit.demo.fakegithub --synthetic 1000 --latency-ms 150

Prints the base URL (set `GITHUB_API_URL` to it, with any `GITHUB_TOKEN`). The demo
organisation by default; `--synthetic N` serves the synthetic quarter `make bench` uses.
"""

from __future__ import annotations

import argparse
import sys
import threading

from audit.demo.fakegithub.server import FakeGitHub
from audit.demo.fakegithub.world import synthetic_world


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.demo.fakegithub", description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=_non_negative, default=0.0, help="wait before every answer")
    parser.add_argument(
        "--blob-bandwidth", type=_non_negative, default=None, metavar="BYTES_PER_S", help="artifact blob download rate"
    )
    parser.add_argument("--synthetic", type=int, metavar="N", help="serve N synthetic deployments, not the demo")
    args = parser.parse_args(argv)
    if args.synthetic is not None:
        world = synthetic_world(deployments=args.synthetic)
        rate_limit = 10**9
    else:
        from audit.demo.organisation import DEMO_RATE_LIMIT, build_demo_world

        world, rate_limit = build_demo_world(), DEMO_RATE_LIMIT
    server = FakeGitHub(
        world, rate_limit=rate_limit, latency_ms=args.latency_ms, blob_bytes_per_second=args.blob_bandwidth or None
    )
    with server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
