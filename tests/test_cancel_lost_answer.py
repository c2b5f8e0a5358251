"""A scancel whose answer was lost is told apart from one that refused: the job may have been cancelled.

The scheduler here is stand-in programs on PATH: a one-node Slurm cannot be
made to carry out a cancel and then lose its answer (time out, exit without a
word), nor to refuse a job on demand. The stand-in scancel does cancel: it
leaves a mark that the stand-in squeue then reports as CANCELLED, as Slurm
would once the job is gone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.backends.slurm.scancel_answer import ScancelAnswer, read_scancel_answer
from pbt_tracker.cli import cli
from tests.conftest import query

PBT = "tests.fixtures.pbt_echo"


@pytest.fixture
def running(in_repo: Path, tmp_path: Path, fake_bin, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    """Three experiments as jobs 7764 to 7766; squeue says RUNNING, or CANCELLED once scancel marked the job."""
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"\n')
    fake_bin("squeue", "#!/bin/sh\n"
             'for arg; do case "$arg" in --jobs=*) ids="${arg#--jobs=}";; esac; done\n'
             "IFS=,\n"
             f'for id in $ids; do if [ -e "{tmp_path}/cancelled-$id" ]; then state=CANCELLED; else state=RUNNING; fi\n'
             '    echo "$id|$state|0|node1|N/A|N/A|N/A|None||"; done\n')
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("PBT_TRACK_SCHEDULER_TIMEOUT", "1")
    work = tmp_path / "work"
    result = CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work),
                                      "--pause_between", "0", "--train_dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    return work


def _scancel_that_cancels_then(tmp_path: Path, then: str) -> str:
    return f'#!/bin/sh\nfor id; do touch "{tmp_path}/cancelled-$id"; done\n{then}\n'


def _record(work: Path) -> list[tuple]:
    return query(work / "pbt_tracker.db", "SELECT job_id, state, cancel_requested_at IS NOT NULL FROM submissions "
                 "WHERE job_id = '7765'")


@pytest.mark.parametrize(("then", "how"), [
    pytest.param("exec sleep 30", "timed out", marks=pytest.mark.slow, id="timeout"),  # waits out the 1 s time-out
    pytest.param("exit 1", "exit 1, nothing printed", id="silent-exit-1"),
    pytest.param("kill -9 $$", "killed by signal 9", id="killed"),
    pytest.param('echo "scancel: error: Kill job error: Socket timed out on send/recv operation" >&2; exit 1',
                 "timed out: scancel: error: Kill job error: Socket timed out on send/recv operation",
                 id="socket-timed-out"),
])
def test_a_lost_answer_says_the_job_may_have_been_cancelled_and_marks_nothing(  # type: ignore[no-untyped-def]
    running: Path, tmp_path: Path, fake_bin, then: str, how: str
) -> None:
    fake_bin("scancel", _scancel_that_cancels_then(tmp_path, then))

    result = CliRunner().invoke(cli, ["cancel", "--experiment", "01_echo_pbt", "--workdir", str(running)])

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        f"Maybe cancelled 01_echo_pbt (job 7765): scancel gave no answer ({how})\n",
        f"Error: scancel gave no answer ({how}) for 1 of 1 job(s), listed above: they may have been cancelled; "
        "the next sync records what Slurm says\n",
    )
    assert _record(running) == [("7765", "SUBMITTED", 0)]  # no answer is no evidence: nothing marked, no state
    [(returncode,)] = query(running / "pbt_tracker.db", "SELECT returncode FROM cancellations")
    assert returncode == {"timed out": None, "killed by signal 9": -9}.get(how, 1)

    assert CliRunner().invoke(cli, ["sync", "--workdir", str(running)]).exit_code == 0
    assert _record(running) == [("7765", "CANCELLED", 0)]  # squeue's word settles it


def test_a_refusal_about_the_job_says_it_was_not_cancelled(running: Path, tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    fake_bin("scancel", "#!/bin/sh\n"
             'echo "scancel: error: Kill job error on job id 7765: Access/permission denied" >&2\nexit 1\n')

    result = CliRunner().invoke(cli, ["cancel", "--experiment", "01_echo_pbt", "--workdir", str(running)])

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "Not cancelled 01_echo_pbt (job 7765): scancel said: Access/permission denied\n",
        "Error: scancel refused 1 of 1 job(s), listed above; their states were left as they were: run `pbt-track "
        "sync` to see where they stand\n",
    )
    assert _record(running) == [("7765", "SUBMITTED", 0)]
    assert CliRunner().invoke(cli, ["sync", "--workdir", str(running)]).exit_code == 0
    assert _record(running) == [("7765", "RUNNING", 0)]


def test_the_keeper_notes_a_lost_answer_as_unknown_not_as_cancelled() -> None:
    from pbt_tracker.keeper.actions import _cancel_outcome
    from pbt_tracker.tracker.cancel import CancelResult

    result = CancelResult([("01_echo_pbt", "7765")], False, [], lost={"7765": "timed out"})
    assert _cancel_outcome(result) == ("unknown: scancel gave no answer (timed out); it may have been cancelled, "
                                       "and the next sync records what Slurm says")


# --- reading scancel's answer ----------------------------------------------------------------


def test_a_failure_without_a_word_is_a_lost_answer_for_every_job() -> None:
    assert read_scancel_answer(["1", "2"], 1, "") == ScancelAnswer([], {}, {"1": "exit 1, nothing printed",
                                                                             "2": "exit 1, nothing printed"})


def test_a_killed_scancel_is_a_lost_answer() -> None:
    assert read_scancel_answer(["1"], -15, "") == ScancelAnswer([], {}, {"1": "killed by signal 15"})


def test_a_request_that_timed_out_is_a_lost_answer_with_scancels_words() -> None:
    stderr = "scancel: error: Kill job error: Socket timed out on send/recv operation\n"
    assert read_scancel_answer(["1"], 1, stderr) == ScancelAnswer(
        [], {}, {"1": "timed out: scancel: error: Kill job error: Socket timed out on send/recv operation"})


def test_a_failure_that_says_why_and_names_no_job_is_a_refusal_of_each() -> None:
    stderr = "scancel: error: Unable to contact slurm controller (connect failure)\n"
    assert read_scancel_answer(["1", "2"], 1, stderr) == ScancelAnswer([], {"1": stderr.strip(), "2": stderr.strip()})
