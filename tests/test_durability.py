"""What survives a crash, and where the journal lives."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pbt_tracker.errors import StoreError
from pbt_tracker.store import open_store
from pbt_tracker.store import schema as chain
from pbt_tracker.store import schema_head
from pbt_tracker.store.journal import filesystem_type, journal_mode
from tests.conftest import REPO_ROOT, query

SCHEMA_HEAD = chain.head()

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid 0 0
fileserver:/export/home /home nfs4 rw,vers=4.2 0 0
mds@o2ib:/scratch /scratch lustre rw,flock 0 0
/dev/vdb /scratch/local ext4 rw 0 0
gpfs0 /gpfs gpfs rw 0 0
beegfs_nodev /mnt/beegfs beegfs rw 0 0
tmpfs /tmp/with\\040space tmpfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/home/alice/runs", "nfs4"),
        ("/scratch/alice", "lustre"),
        ("/scratch/local/alice", "ext4"),
        ("/scratchy", "ext4"),
        ("/gpfs/projects/pbt", "gpfs"),
        ("/mnt/beegfs/x", "beegfs"),
        ("/tmp/with space/w", "tmpfs"),
        ("/var/tmp", "ext4"),
    ],
)
def test_the_filesystem_of_a_workdir_is_read_from_the_mount_table(path: str, fstype: str) -> None:
    assert filesystem_type(Path(path), MOUNTS) == fstype


def test_network_filesystems_get_the_rollback_journal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PBT_TRACK_JOURNAL_MODE", raising=False)
    assert journal_mode(tmp_path) == "WAL"  # this machine's disk is local
    monkeypatch.setenv("PBT_TRACK_JOURNAL_MODE", "delete")
    store = open_store(tmp_path)
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    store.close()


WRITER = """
import os, sys, time
from pbt_tracker.store import open_store, utcnow, writes
store = open_store(sys.argv[1])
for n in range(20):
    with store.write() as connection:
        writes.insert(connection, "cancellations", {"selection": {"n": n}, "job_ids": [str(n)], "argv": [],
                                                    "requested_at": utcnow()})
    print(n, flush=True)
with store.write() as connection:
    writes.insert(connection, "cancellations", {"selection": {"n": "never"}, "job_ids": [], "argv": [],
                                                "requested_at": utcnow()})
    print("in the middle", flush=True)
    time.sleep(60)
"""


def test_a_process_killed_mid_transaction_keeps_every_committed_row(tmp_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                              text=True)
    lines = []
    for line in writer.stdout:
        lines.append(line.strip())
        if line.strip() == "in the middle":
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert lines[-2:] == ["19", "in the middle"]
    open_store(tmp_path).close()
    db = tmp_path / "pbt_tracker.db"
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT count(*), min(json_extract(selection, '$.n')), max(json_extract(selection, '$.n')) "
                     "FROM cancellations") == [(20, 0, 19)]


def test_a_failed_migration_leaves_the_old_schema_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "pbt_tracker.db"
    db.write_bytes((REPO_ROOT / "tests" / "data" / "schema_0001.db").read_bytes())
    broken = tmp_path / "migrations"
    shutil.copytree(chain.migrations_dir(), broken, ignore=shutil.ignore_patterns("__pycache__"))
    (broken / "versions" / "9000_broken.py").write_text(
        f'revision = "9000"\ndown_revision = "{SCHEMA_HEAD}"\nbranch_labels = None\ndepends_on = None\n'
        "from alembic import op\n\n\ndef upgrade():\n"
        "    op.execute('CREATE TABLE half_done (x)')\n    raise RuntimeError('disk on fire')\n"
    )
    monkeypatch.setattr(chain, "migrations_dir", lambda: broken)
    monkeypatch.setattr(schema_head, "HEAD", "9000")  # as a build with that migration writes it down
    with pytest.raises(StoreError) as excinfo:
        open_store(tmp_path)
    assert str(excinfo.value) == (
        f"upgrading {db} from schema 0001 to 9000 failed (RuntimeError: disk on fire); "
        "the database was left unchanged, report this as a bug"
    )
    assert query(db, "SELECT version_num FROM alembic_version") == [("0001",)]
    assert query(db, "SELECT name FROM sqlite_master WHERE name IN ('half_done', 'cancellations')") == []
    assert query(db, "SELECT count(*) FROM submissions") == [(3,)]

    monkeypatch.undo()
    open_store(tmp_path).close()
    assert query(db, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    assert sqlite3.connect(db).execute("SELECT count(*) FROM experiment_status").fetchone() == (3,)


def test_a_report_reads_while_another_process_holds_the_write_lock(in_repo: Path, tmp_path: Path) -> None:
    """WAL lets readers go on beside a writer: a report is never kept waiting by a launch or a sync."""
    from click.testing import CliRunner

    from pbt_tracker.cli import cli

    work = tmp_path / "w"
    submitted = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                         "--workdir", str(work), "--slurm_print_only", "true",
                                         "--train_dir", str(tmp_path / "t")])
    assert submitted.exit_code == 0, submitted.output
    writer = sqlite3.connect(work / "pbt_tracker.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        done = subprocess.run([str(Path(sys.executable).parent / "pbt-track"), "report", "--no-sync",
                               "--workdir", str(work)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PBT_TRACK_BUSY_TIMEOUT": "1"})
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == "3 experiments: 3 PRINT_ONLY"
