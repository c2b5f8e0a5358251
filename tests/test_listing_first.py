"""A sync asks squeue first and reads the rest while it answers: a job recorded in between waits for the next sync.

The scheduler is stand-in programs on PATH (sbatch answering jobs 7764 to 7766, squeue listing what the test
says): the moment between a sync's question and its reading of the record cannot be chosen on a real cluster.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from pbt_tracker.backends.slurm.listing import start_listing
from pbt_tracker.backends.slurm.sync import sync_slurm
from pbt_tracker.cli import cli
from pbt_tracker.store.connection import open_store
from tests.conftest import query

COUNTER_SBATCH = """#!/bin/sh
id=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"
"""


def listing(*job_ids: str) -> str:
    return "#!/bin/sh\n" + "".join(f"echo '{job_id}|PENDING|0||N/A|N/A|N/A|||Priority||'\n" for job_id in job_ids)


def test_a_job_recorded_after_squeue_was_asked_is_left_for_the_next_sync(in_repo: Path, tmp_path: Path,
                                                                          fake_bin) -> None:  # type: ignore[no-untyped-def]
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", COUNTER_SBATCH.format(counter=counter))
    fake_bin("squeue", listing("7764", "7765"))
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")
    work = tmp_path / "work"
    sent = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                    "--workdir", str(work), "--pause_between", "0", "--train_dir", str(tmp_path / "t")])
    assert sent.exit_code == 0, sent.output
    db = work / "pbt_tracker.db"
    with sqlite3.connect(db) as connection:  # the third job is not on record yet when the sync asks
        connection.execute("UPDATE submissions SET job_id = NULL, state = 'CANCELLED' WHERE job_id = '7766'")
    connection.close()

    store = open_store(work)
    started = start_listing(store)
    assert started is not None and started.job_ids == {"7764", "7765"}
    with sqlite3.connect(db) as connection:  # recorded while squeue answers
        connection.execute("UPDATE submissions SET job_id = '7766', state = 'SUBMITTED' WHERE job_id IS NULL")
    connection.close()
    result = sync_slurm(store, started)
    store.close()

    assert result.asked == 2
    assert query(db, "SELECT job_id, state FROM submissions ORDER BY id") == [
        ("7764", "PENDING"), ("7765", "PENDING"), ("7766", "SUBMITTED"),
    ]
    again = CliRunner().invoke(cli, ["sync", "--workdir", str(work)])
    assert again.exit_code == 0, again.output
    assert query(db, "SELECT job_id, state FROM submissions ORDER BY id")[2] == ("7766", "UNKNOWN")


def test_a_job_found_by_its_tag_is_synced_at_once_and_one_recorded_meanwhile_still_waits(
    in_repo: Path, tmp_path: Path, fake_bin,  # type: ignore[no-untyped-def]
) -> None:
    """sbatch refused the second job in the words of a controller that queued it all the same: squeue lists it
    with its tag, and the sync that finds it also records its state. The third is recorded while squeue answers."""
    from tests.test_lost_submission import launch_with_the_second_sbatch_failing

    work, sent = launch_with_the_second_sbatch_failing(tmp_path, fake_bin, "Invalid account")
    assert sent.exit_code == 1, sent.output
    db = work / "pbt_tracker.db"
    ((argv,),) = query(db, "SELECT argv FROM submissions WHERE job_id IS NULL")
    (tag,) = [arg.split("=", 1)[1] for arg in json.loads(argv) if arg.startswith("--comment=")]
    fake_bin("squeue", listing("7764") + f"echo '7765|PENDING|0||N/A|N/A|N/A|||Priority|debug|1:00|{tag}'\n")
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE submissions SET job_id = NULL, state = 'CANCELLED' WHERE job_id = '7766'")
    connection.close()

    store = open_store(work)
    started = start_listing(store)
    assert started is not None and started.job_ids == {"7764"}
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE submissions SET job_id = '7766', state = 'SUBMITTED' WHERE state = 'CANCELLED'")
    connection.close()
    sync_slurm(store, started)
    store.close()

    assert query(db, "SELECT job_id, state FROM submissions ORDER BY id") == [
        ("7764", "PENDING"), ("7765", "PENDING"), ("7766", "SUBMITTED"),
    ]
