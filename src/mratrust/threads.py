"""Worker threads leave Ctrl-C to the main thread."""

from __future__ import annotations

import signal

_TO_MAIN = (signal.SIGINT, signal.SIGTERM)


def leave_signals_to_main() -> None:
    """Block SIGINT and SIGTERM in the calling (worker) thread, and so in the threads it starts.

    The kernel hands a process's signal to any thread that does not block it. Should it pick a
    worker, Python only sets a flag, and a main thread blocked in a wait with a long timeout
    sees it when that wait ends: Ctrl-C would then hang until a handshake timed out. Blocked
    in every worker, the signal goes to the main thread, whose wait it interrupts at once.
    """
    if hasattr(signal, "pthread_sigmask"):  # POSIX; elsewhere signals only reach the main thread
        signal.pthread_sigmask(signal.SIG_BLOCK, _TO_MAIN)


__all__ = ["leave_signals_to_main"]
