"""Reaching a running Dask distributed scheduler (``--dask-scheduler tcp://host:port``).

Shared by sweeps and ``decide``: the same checks, the same messages. Dask itself retries a
refused connection until its timeout (20 s), so a plain TCP probe says at once when nothing listens.
"""

from __future__ import annotations

from ..errors import InputError, Problem

UNREACHABLE_FIX = "Check the address (tcp://host:8786) and that the scheduler runs."


def dask_client(address: str):
    """A ``dask.distributed.Client`` connected to ``address`` (not set as the default client).

    Raises
    ------
    InputError
        Dask is not installed, nothing listens at the address, or the connection fails.
    """
    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError([Problem("--dask-scheduler", "dask.distributed is not installed.",
                                  "pip install 'dask[distributed]'.")], "--dask-scheduler") from None
    why = _no_listener(address)
    if why:
        raise InputError([Problem(f"--dask-scheduler {address}", f"cannot reach the scheduler ({why}).",
                                  UNREACHABLE_FIX)], "--dask-scheduler")
    try:
        return Client(address, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise InputError([Problem(f"--dask-scheduler {address}", f"cannot reach the scheduler ({err}).",
                                  UNREACHABLE_FIX)], "--dask-scheduler") from None


def _no_listener(address: str, timeout_s: float = 5.0) -> str | None:
    """Why nothing listens at a ``tcp://host:port`` scheduler address, or None (also for other schemes)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return None
    try:
        host, port = parts.hostname, parts.port
    except ValueError as err:  # a port that is not a number
        return str(err)
    if not host or port is None:
        return "give it as tcp://host:port"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as err:
        return f"{host}:{port}: {err.strerror or err}"
