"""The Ray cluster of a sweep: found (``--address``, ``$RAY_ADDRESS``), probed (an
address where nothing answers within :data:`CONNECT_TIMEOUT_S` seconds is refused in
one line, where Ray itself would wait for minutes), and joined; or, without an
address, a local instance started, relying on Ray's token (``~/.ray/auth_token``),
which fmtb makes sure only its owner can read.
"""
from __future__ import annotations

import os
import secrets
import socket
import stat
from pathlib import Path

from .errors import UsageError

INSTALL = "pip install -e '.[ray]' (or: make ray)"
CONNECT_TIMEOUT_S = 10  # for the cluster at --address to answer at all


def import_ray(local: bool):
    """Ray, or a one-line UsageError saying how to install it. ``local``: the sweep
    will start its own instance, with Ray's default token authentication chosen
    explicitly, so that Ray does not warn that it chose it (read at import)."""
    if local:
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    try:
        import ray
    except ImportError:
        raise UsageError(f"--engine ray needs Ray, which is not installed in this "
                         f"environment: {INSTALL}") from None
    return ray


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


LOCAL = "local"  # --address local: a local instance, whatever $RAY_ADDRESS says


def cluster_address(address: str | None) -> str | None:
    """The address of the cluster a sweep joins: ``--address``, else Ray's
    ``$RAY_ADDRESS`` (as Ray's own ``ray.init()`` reads it; a Ray job sets it), unless
    that names a job server (``http://...:8265``, for ``ray job submit``); None: it
    starts a local instance."""
    if address == LOCAL:
        return None
    if address:
        return address
    from_env = os.environ.get("RAY_ADDRESS", "")
    return from_env if from_env and not from_env.startswith(("http://", "https://")) else None


def unanswered(address: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why nothing accepts a connection at ``address``'s host and port within
    ``timeout`` seconds (Ray itself would wait for minutes), or None: something does,
    or the address is one Ray resolves itself (``auto``)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return None
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except socket.gaierror as exc:
        return f"no such host ({exc.strerror})"
    except TimeoutError:
        return "timed out"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def private_token() -> Path | None:
    """Make sure the token a local instance relies on is readable by its owner only:
    Ray writes ``~/.ray/auth_token`` (or ``$RAY_AUTH_TOKEN_PATH``) readable by all
    when it creates one. fmtb creates it itself, 0600, as Ray would (256 random bits),
    or narrows an existing one of this user's. None: the token is in the
    environment (``$RAY_AUTH_TOKEN``)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return None
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    try:
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            if path.stat().st_uid != os.getuid():
                raise UsageError(f"Ray's token {path} can be read by others, and is not "
                                 f"yours to change: chmod 600 {path} as its owner")
            path.chmod(0o600)
    except OSError as exc:
        raise UsageError(f"cannot make Ray's token {path} private: "
                         f"{exc.strerror or exc}") from None
    return path




def connect(ray, address: str | None, log=print):
    """Join the cluster at ``address``, or (None) start a local instance; a failure
    in one line, and whatever a failed start had started is stopped (Ctrl-C too)."""
    options = {"log_to_driver": False, "configure_logging": False}
    if address:
        why = unanswered(address)
        if why:
            raise UsageError(f"could not join the Ray cluster at {address}: nothing "
                             f"answered within {CONNECT_TIMEOUT_S} s ({why}); check the "
                             f"address and that Ray runs there (ray start --head)")
        log(f"Joining the Ray cluster at {address} ...", flush=True)
        try:
            ray.init(address=address, **options)
        except Exception as exc:  # ConnectionError, ValueError, RuntimeError, ...
            raise UsageError(f"could not join the Ray cluster at {address}: "
                             f"{first_line(exc)}") from exc
        return ray
    private_token()
    log("Starting a local Ray instance for this sweep ...", flush=True)
    try:
        ray.init(address="local", include_dashboard=False, **options)
    except Exception as exc:  # a port, /dev/shm, a socket path too long, ...
        ray.shutdown()  # whatever it had started
        raise UsageError(f"could not start a local Ray instance: {first_line(exc)}") from exc
    except BaseException:  # Ctrl-C while it starts: stop what it had started
        ray.shutdown()
        raise
    return ray
