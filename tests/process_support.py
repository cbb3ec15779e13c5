"""Child processes in tests: the CLI started as a terminal starts it, and a worker killed while its job runs."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` of a child that a test stops with SIGINT: a shell runs background jobs with SIGINT ignored, a
    child inherits that, and Python then never raises ``KeyboardInterrupt``. A terminal's Ctrl+C is what is tested."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def pids_running(text: str) -> list[int]:
    """The processes whose command line holds ``text`` (Ray names its workers ``ray::<task>``), read from /proc:
    ``pgrep -f`` without starting a process."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:  # the process ended while we looked
                continue
            if text in command:
                pids.append(int(entry.name))
    return sorted(pids)


class KillWhenReady:
    """While the ``with`` body runs a job, a helper thread SIGKILLs the first process named ``text`` once
    ``ready()`` holds (checked every 50 ms for at most ``timeout_s``); ``killed`` is its pid, or None.

    The job runs in the main thread and the watching in the helper, not the other way round: Ray starts its
    processes with a ``preexec_fn``, and a fork that runs Python in the child frees the other threads' thread-locals
    there. PyAV keeps a frame reformatter per thread (``VideoFrame.to_ndarray``, which the video tests call in the
    main thread); freed in a child forked from another thread, it waited forever on its slice threads, and the
    test with it (seen in a CI run: the sweep test's Ray start hung until the job's limit)."""

    def __init__(self, text: str, ready: Callable[[], bool], timeout_s: float) -> None:
        self.text, self.ready, self.timeout_s = text, ready, timeout_s
        self.killed: int | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="kill-when-ready", daemon=True)

    def _watch(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not self._done.is_set() and time.monotonic() < deadline:
            running = pids_running(self.text)
            if running and self.ready():
                os.kill(running[0], signal.SIGKILL)
                self.killed = running[0]
                return
            time.sleep(0.05)

    def __enter__(self) -> KillWhenReady:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
