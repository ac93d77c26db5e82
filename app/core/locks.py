"""One process of a kind per SQLite database, and a free port before serving.

SQLite has one writer at a time and no row locks, so one server and one worker run on a
SQLite file at a time (PostgreSQL takes any number of each). Each holds a lock file beside
the database (`var/dpa.db.serve.lock`, `var/dpa.db.worker.lock`) for as long as it runs:
an flock, released by the kernel when the process ends however it ends, so a crash never
leaves a stale lock behind. The file holds a line naming the holder, for the message a
second one prints.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url


class AlreadyRunning(RuntimeError):
    """Another process holds the lock; `holder` is what it wrote there."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def sqlite_lock_path(database_url: str, kind: str) -> Path | None:
    """The lock file of `kind` (serve, worker) beside a SQLite database; None on PostgreSQL."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(f"{url.database}.{kind}.lock")


@contextmanager
def hold(path: Path | None, holder: str) -> Iterator[None]:
    """Hold the lock file at `path` while the block runs (nothing when `path` is None);
    AlreadyRunning at once if another process holds it."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise AlreadyRunning(handle.read().strip() or "another process") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}{', ' + holder if holder else ''}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_held(path: Path | None) -> str | None:
    """What holds the lock file at `path`, or None when nothing does (checks and lets go)."""
    try:
        with hold(path, ""):
            return None
    except AlreadyRunning as running:
        return running.holder


class PortUnavailable(OSError):
    """The address cannot be listened on; the message says why and, if it can, who has it."""


def check_port(host: str, port: int) -> None:
    """Bind and let go, as the server is about to: PortUnavailable naming the process that
    listens there (when this machine lets us see it) instead of uvicorn's bare errno."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise PortUnavailable(f"cannot listen on {host}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                holder = port_holder(port)
                raise PortUnavailable(
                    f"port {port} on {host} is already in use by {holder or 'another process'}"
                ) from None
            raise PortUnavailable(f"cannot listen on {host}:{port}: {error.strerror}") from None


def port_holder(port: int) -> str | None:
    """`pid N (command line)` of the process listening on TCP `port`, from /proc (Linux);
    None when it cannot be seen (another user's process, another system)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and not _links(entry / "fd").isdisjoint(inodes):
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                command = ""
            return f"pid {entry.name}" + (f" ({command[:200]})" if command else "")
    return None


def _links(directory: Path) -> set[str]:
    """Where the file descriptors in /proc/<pid>/fd point; empty for a process gone or not ours."""
    found = set()
    try:
        for fd in directory.iterdir():
            try:
                found.add(os.readlink(fd))
            except OSError:
                continue
    except OSError:
        pass
    return found
