"""Which uvicorn worker process holds a connection, read from /proc (Linux): the tests of a
room across workers need members on every worker, and say which worker lost what."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from wsharness.serve import worker_pids

__all__ = ["holder", "worker_pids"]


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the loopback connection from client_port."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, remote = fields[1], fields[2]
                if (int(local.rsplit(":", 1)[1], 16) == server_port
                        and int(remote.rsplit(":", 1)[1], 16) == client_port):
                    return int(fields[9])
    return None


def holder(workers: list[int], server_port: int, client_port: int) -> int | None:
    """The worker (pid) holding the server's end of the connection from client_port."""
    inode = _server_side_inode(server_port, client_port)
    if inode is None:
        return None
    for pid in workers:
        if inode in _socket_inodes(pid):
            return pid
    return None
