"""Bad options of the commands that sync first are refused before that sync: nothing asked, nothing written.

A sync asks the scheduler and may write the record, so an option a command
would refuse anyway is checked on its own, or on the record as it stands,
before it. The scheduler here is stand-in programs on PATH that record each
call: the point is that none of them is called, which a real Slurm cannot
show.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import file_digest

PBT = "tests.fixtures.pbt_echo"
SCHEDULER = ("sbatch", "squeue", "sacct", "scancel", "scontrol")


@pytest.fixture
def submitted(in_repo: Path, tmp_path: Path, fake_bin) -> Path:  # type: ignore[no-untyped-def]
    """Three experiments submitted as jobs 7764 to 7766, none settled yet: any sync would ask about them."""
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"\n')
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                      "--pause_between", "0", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    for name in SCHEDULER:  # from now on each call is written down, and answers nothing
        fake_bin(name, f'#!/bin/sh\necho "{name} $*" >> {tmp_path / "scheduler-calls"}\n')
    return work


CASES = [
    (["resubmit-failed", "--max-attempts", "0"], "Error: --max-attempts must be 1 or more, not 0\n"),
    (["resubmit-failed", "--max-attempts", "-2"], "Error: --max-attempts must be 1 or more, not -2\n"),
    (["resubmit-failed", "--experiment", "99_nope"],
     "Error: no experiment named 99_nope in this workdir; `pbt-track report` lists the experiments\n"),
    (["resubmit-failed", "--launch", "9"], "Error: no launch 9 in this workdir; `pbt-track launches` lists them\n"),
    (["forget", "--launch", "9"], "Error: no launch 9 in this workdir; `pbt-track launches` lists them\n"),
    (["forget", "--launch", "9", "--purge", "--yes"],
     "Error: no launch 9 in this workdir; `pbt-track launches` lists them\n"),
    (["watch", "--once", "--experiment", "99_nope"],
     "Error: no experiment named 99_nope in this workdir; `pbt-track report` lists the experiments\n"),
    (["watch", "--submit", "--experiment", "99_nope"],
     "Error: no experiment named 99_nope in this workdir; `pbt-track report` lists the experiments\n"),
    (["watch", "--submit", "--keeper-time", "0"],
     "Error: --keeper-time '0' is not a Slurm time limit such as 24:00:00 or 1-00:00:00; the keeper needs one to "
     "hand over to its continuation\n"),
    (["watch", "--submit", "--on-event", "notify 'unclosed"],
     "Error: --on-event \"notify 'unclosed\" cannot be split into words (No closing quotation); fix its quotes\n"),
    (["cancel", "--experiment", "99_nope"],
     "Error: no experiment named 99_nope in this workdir; `pbt-track report` lists the experiments\n"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(args) for args, _ in CASES])
def test_a_bad_option_is_refused_before_the_scheduler_is_asked_or_the_record_written(  # type: ignore[no-untyped-def]
    submitted: Path, args: list[str], message: str
) -> None:
    before = file_digest(submitted / "pbt_tracker.db"), file_digest(submitted / "pbt_tracker.db-wal")

    result = CliRunner().invoke(cli, [*args, "--workdir", str(submitted)])

    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message)
    assert not (submitted.parent / "scheduler-calls").exists()
    assert (file_digest(submitted / "pbt_tracker.db"), file_digest(submitted / "pbt_tracker.db-wal")) == before


def test_the_same_commands_with_good_options_do_sync(submitted: Path) -> None:
    """The check above is not passed by a command that never syncs: resubmit-failed asks squeue first."""
    result = CliRunner().invoke(cli, ["resubmit-failed", "--max-attempts", "1", "--workdir", str(submitted)])

    assert result.exit_code == 0, result.output
    assert (submitted.parent / "scheduler-calls").read_text().startswith("squeue ")
