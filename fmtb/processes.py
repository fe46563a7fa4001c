"""Child processes: ending one politely, then firmly."""
from __future__ import annotations

import subprocess


def terminate(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM ``proc``; SIGKILL it if it has not exited within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
