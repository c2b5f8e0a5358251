"""`pbt-track submit`'s output for Slurm: progress with an ETA, the array hint, a summary with job id ranges."""

from __future__ import annotations

import io
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.backends.slurm.progress import Progress, array_hint, job_id_ranges, progress_text
from pbt_tracker.cli import cli
from tests.conftest import read_with


def test_job_ids_are_written_as_ranges() -> None:
    assert job_id_ranges([str(n) for n in range(7600, 7900)]) == "7600-7899"
    assert job_id_ranges(["7600", "7601", "7605", "4242_0", "4242_1", "4242_2", "7606"]) == (
        "7600-7601 7605 4242_[0-2] 7606"
    )
    assert job_id_ranges([]) == ""


def test_the_array_hint_comes_when_the_pauses_alone_exceed_a_minute() -> None:
    assert array_hint(61, 1, arrays=False) is None
    assert array_hint(300, 1, arrays=False) == (
        "Hint: 300 sbatch calls 1 s apart take 4m59s in pauses alone; --slurm-array sends them as one job array"
    )
    assert array_hint(300, 1, arrays=True) is None


def test_progress_is_a_bar_on_a_terminal_and_a_count_on_a_pipe() -> None:
    assert progress_text(120, 300, 60.0, bar=True) == "[############..................] 120/300  ETA 1m30s"
    assert progress_text(120, 300, 60.0, bar=False) == "120/300 sent, ETA 1m30s"
    assert progress_text(300, 300, 150.0, bar=False) == "300/300 sent"
    pipe = io.StringIO()
    progress = Progress(pipe, clock=lambda: 0.0)
    for sent in range(0, 21):
        progress(sent, 20)
    assert pipe.getvalue().splitlines() == [f"{n}/20 sent" + (", ETA 0s" if n < 20 else "") for n in range(2, 21, 2)]


def test_ctrl_c_stops_before_the_next_sbatch() -> None:
    progress = Progress(io.StringIO(), clock=lambda: 0.0)
    progress(3, 10)
    progress.request_stop(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        progress(4, 10)
    progress(10, 10)  # the end of the launch is no reason to stop


def test_submit_prints_a_summary_and_v_the_per_job_lines(in_repo: Path, tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """sbatch is a stand-in that counts its calls: a one-node Slurm cannot promise consecutive job ids."""
    counter = tmp_path / "next-id"
    counter.write_text("7600")
    fake_bin("sbatch", f'#!/bin/sh\nn=$(cat {counter}); echo $((n + 1)) > {counter}; echo "$n"')
    work = tmp_path / "w"
    argv = ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir", str(work),
            "--train_dir", str(tmp_path / "t"), "--pause_between", "0"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{read_with('Slurm')}\n"
        "Submitting 3 experiment(s) of run echo_pbt\n"
        "Submitted 3 of 3 experiment(s): jobs 7600-7602\n"
        f"Follow a log: pbt-track logs 00_echo_pbt -f --workdir {work}\n"
        f"Cancel them all: {work}/scancel.sh\n"
        f"Recorded in {work}/pbt_tracker.db (launch 1)\n"
    )
    assert result.stderr == "1/3 sent, ETA 0s\n2/3 sent, ETA 0s\n3/3 sent\n"
    argv[argv.index("--workdir") + 1] = str(tmp_path / "w2")
    result = CliRunner().invoke(cli, [*argv, "-v"])
    assert "Submitted 00_echo_pbt as job 7603\n" in result.stdout
    assert "Submitted 3 of 3 experiment(s): jobs 7603-7605\n" in result.stdout


def test_a_lost_sbatch_answer_is_told_as_may_have_been_submitted_not_as_a_failure(
        in_repo: Path, tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    """sbatch is a stand-in whose answer is lost: a one-node Slurm always answers."""
    fake_bin("sbatch", "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Socket timed out on "
                       "send/recv operation' >&2\nexit 1\n")
    work = tmp_path / "w"
    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_echo", "--backend", "slurm", "--workdir",
                                      str(work), "--train_dir", str(tmp_path / "t"), "--pause_between", "0"])
    reason = "sbatch exited with 1: sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [read_with("Slurm"), "Submitting 3 experiment(s) of run echo_pbt"]
    assert result.stdout.splitlines()[2:] == [
        "Submitted 0 of 3 experiment(s): jobs none",
        *[f"{name} may have been submitted ({reason}); pbt-track will find out at the next sync"
          for name in ("00_echo_pbt", "01_echo_pbt", "02_echo_pbt")],
        f"Recorded in {work}/pbt_tracker.db (launch 1)",
        f"3 of 3 experiments may have been submitted; pbt-track will find out at the next sync "
        f"(`pbt-track sync --workdir {work}`)",
    ]
