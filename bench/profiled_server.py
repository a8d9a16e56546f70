"""`python -m bench.profiled_server OUT.prof [--on-signal]`: Tether's server under cProfile.

With `--on-signal` profiling starts at SIGUSR1 (the handler runs on the main thread, the one
cProfile watches), so warm-up turns stay out of the figures.

The server ends with os._exit (so a stuck thread cannot keep it alive), which skips
cProfile's own dump; this wrapper dumps the profile first. Used by bench/profile.py.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys


def main() -> None:
    out = sys.argv[1]
    profiler = cProfile.Profile()
    real_exit = os._exit

    def dump_then_exit(code: int) -> None:
        profiler.disable()
        profiler.dump_stats(out)
        real_exit(code)

    os._exit = dump_then_exit  # type: ignore[assignment]
    if "--on-signal" in sys.argv[2:]:
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    else:
        profiler.enable()
    from server.cli import main as server_main

    code = server_main(["serve", "--stdio"])
    dump_then_exit(code or 0)


if __name__ == "__main__":
    main()
