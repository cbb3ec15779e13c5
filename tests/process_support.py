"""Starting the CLI as a child process the way a terminal does."""

from __future__ import annotations

import signal


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` of a child that a test stops with SIGINT: a shell runs background jobs with SIGINT ignored, a
    child inherits that, and Python then never raises ``KeyboardInterrupt``. A terminal's Ctrl+C is what is tested."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
