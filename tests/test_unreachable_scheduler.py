"""A controller that cannot be reached: `report` shows the record and says how old it is; `sync` fails; nothing is written.

The scheduler is stand-in programs on PATH: squeue and scontrol failing as they
do while slurmctld is down (a one-node Slurm used by other tests cannot be taken
down for one of them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import file_digest, query

DOWN = ('#!/bin/sh\necho "{name}: error: Unable to contact slurm controller (connect failure)" >&2\nexit 1\n')
LISTING = "#!/bin/sh\nfor id in 7764 7765 7766; do echo \"$id|PENDING|0||N/A|N/A|N/A|||Priority||\"; done\n"


def record(work: Path) -> list[object]:
    db = work / "pbt_tracker.db"
    return [query(db, "SELECT * FROM submissions ORDER BY id"), query(db, "SELECT * FROM state_changes ORDER BY id"),
            query(db, "SELECT * FROM sync_runs"), file_digest(db), file_digest(work / "pbt_tracker.db-wal")]


@pytest.fixture
def submitted(in_repo: Path, tmp_path: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"\n')
    fake_bin("squeue", LISTING)
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm",
                                      "--workdir", str(work), "--pause_between", "0", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    synced = CliRunner().invoke(cli, ["sync", "--workdir", str(work)])
    assert synced.exit_code == 0, synced.output
    return work


def test_report_shows_the_record_as_of_the_last_answered_sync_and_exits_0(submitted: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    ((answered,),) = query(submitted / "pbt_tracker.db", "SELECT answered_at FROM sync_runs")
    for name in ("squeue", "scontrol"):
        fake_bin(name, DOWN.format(name=name))
    before = record(submitted)

    result = CliRunner().invoke(cli, ["report", "--workdir", str(submitted), "--format", "json"])

    assert result.exit_code == 0
    assert [row["state"] for row in json.loads(result.stdout)] == ["PENDING"] * 3
    (note,) = result.stderr.splitlines()
    assert note.startswith(f"Note: Slurm did not answer, so the states below are as of the last sync Slurm "
                           f"answered, at {answered[:19].replace(' ', 'T')}Z: cannot read job states: squeue failed")
    assert record(submitted) == before


def test_sync_alone_fails_and_leaves_the_record_as_it_was(submitted: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    for name in ("squeue", "scontrol"):
        fake_bin(name, DOWN.format(name=name))
    before = record(submitted)

    result = CliRunner().invoke(cli, ["sync", "--workdir", str(submitted)])

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot read job states: squeue failed (1): ")
    assert len(result.stderr.splitlines()) == 1
    assert record(submitted) == before
