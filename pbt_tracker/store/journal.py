"""Which journal the workdir's database keeps, and what every connection to it sets.

WAL lets a report read while a sync writes, but it keeps its index in shared
memory, which hosts sharing a network filesystem cannot share: there the
database keeps SQLite's rollback journal instead.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "smb3", "smbfs", "ceph", "glusterfs",
     "fuse.glusterfs", "fuse.sshfs", "fuse.beegfs", "panfs", "afs", "9p"}
)


def filesystem_type(path: Path, mounts: str) -> str | None:
    """The type of the filesystem holding `path`, from /proc/mounts-style text (longest mount point wins)."""
    target = str(path)
    best, best_type = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def journal_mode(directory: Path) -> str:
    """WAL on local disks; the rollback journal where the workdir is on a network filesystem."""
    forced = os.environ.get("PBT_TRACK_JOURNAL_MODE", "").upper()
    if forced in {"WAL", "DELETE"}:
        return forced
    try:
        mounts = Path("/proc/self/mounts").read_text()
    except OSError:
        return "WAL"
    fstype = filesystem_type(directory.resolve(), mounts)
    return "DELETE" if fstype in NETWORK_FILESYSTEMS else "WAL"


def configure(connection: sqlite3.Connection, mode: str) -> None:
    """What every connection of pbt-track sets, whichever road opened it."""
    connection.isolation_level = None  # transactions are begun by hand, as BEGIN IMMEDIATE
    connection.execute(f"PRAGMA journal_mode={mode}")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")


def read_only_connection(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write: SQLite refuses every write statement on it, and never creates the file.

    It is opened read-write with `query_only` where it can be: a `mode=ro`
    connection to a WAL database leaves an empty -wal file behind, which the
    last read-write connection removes on closing. A file the user may not
    write is opened `mode=ro`.
    """
    uri = path.absolute().as_uri()
    try:
        connection = sqlite3.connect(f"{uri}?mode=rw", uri=True, timeout=timeout)
    except sqlite3.OperationalError:
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout)
    connection.isolation_level = None
    connection.execute("PRAGMA query_only=ON")
    return connection
