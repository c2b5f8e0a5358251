"""The sbatch templates that ship with pbt-track, rendered by pbt-track and run under bash."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.script import SlurmResources, check_template, render_script
from pbt_tracker.backends.slurm.timeout import check_timeout_for_template
from pbt_tracker.errors import OptionError
from pbt_tracker.templates import TEMPLATES, template_path, template_text
from tests.conftest import PYTHON, REPO_ROOT


def render(name: str, cmd: str, timeout: str) -> str:
    return render_script(template_text(name), cmd=cmd, filename="/w/s.sh", resources=SlurmResources(timeout=timeout))


def run_job(tmp_path: Path, cmd: str, timeout: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "job.sh"
    script.write_text(render("timeout_limited", cmd, timeout))
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("cmd, code", [("true", 0), ("false", 1), ("bash -c 'exit 3'", 3)])
def test_the_time_limited_job_exits_with_the_commands_own_code(tmp_path: Path, cmd: str, code: int) -> None:
    done = run_job(tmp_path, cmd, "1")
    assert (done.returncode, done.stderr) == (code, "")


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_the_time_limited_job_says_when_the_limit_stopped_it(tmp_path: Path) -> None:
    done = run_job(tmp_path, "sleep 5", "1")
    assert done.returncode == 124
    assert done.stderr == "pbt-track: the experiment reached its time limit (1) and was stopped (exit 124)\n"


def test_a_zero_limit_lets_the_command_run(tmp_path: Path) -> None:
    assert run_job(tmp_path, "sleep 0.2", "0").returncode == 0


def test_the_continuation_spot_is_marked_and_runs_nothing() -> None:
    lines = template_text("timeout_limited").splitlines()
    assert "    # CONTINUATION: a later step that continues the stopped experiment goes here." in lines
    assert "sbatch" not in template_text("timeout_limited")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_is_valid_and_runs_the_command(name: str) -> None:
    assert check_template(template_text(name), name) == []


def test_each_template_takes_the_spelling_of_its_use() -> None:
    assert check_timeout_for_template(template_text("sbatch_time"), "24:00:00", "sbatch_time") == []
    assert check_timeout_for_template(template_text("timeout_limited"), "23h", "timeout_limited") == []
    with pytest.raises(OptionError, match="cannot go to #SBATCH --time at line 2 of template sbatch_time"):
        check_timeout_for_template(template_text("sbatch_time"), "23h", "sbatch_time")
    with pytest.raises(OptionError, match="cannot go to `timeout` at line 8 of template timeout_limited"):
        check_timeout_for_template(template_text("timeout_limited"), "24:00:00", "timeout_limited")


def test_the_sbatch_time_template_puts_the_limit_in_its_directive() -> None:
    assert render("sbatch_time", "python train.py", "1-00:00:00").splitlines()[1] == "#SBATCH --time=1-00:00:00"


def test_the_module_lists_every_template_with_its_path() -> None:
    done = subprocess.run([PYTHON, "-m", "pbt_tracker.templates"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert [row[0] for row in rows] == list(TEMPLATES)
    assert all(Path(row[1]) == template_path(row[0]) and Path(row[1]).is_file() for row in rows)


def test_the_module_prints_one_template_or_says_it_has_none_by_that_name() -> None:
    shown = subprocess.run([PYTHON, "-m", "pbt_tracker.templates", "timeout_limited"], capture_output=True, text=True)
    assert (shown.returncode, shown.stdout) == (0, template_text("timeout_limited"))
    missing = subprocess.run([PYTHON, "-m", "pbt_tracker.templates", "nope"], capture_output=True, text=True)
    assert (missing.returncode, missing.stdout, missing.stderr) == (
        2, "", "error: no template named 'nope'; choose one of sbatch_time, timeout_limited, timeout_continue, submit_env\n"
    )


PBT_TRACK_STAND_IN = (
    "#!/bin/sh\necho \"pbt-track $*${SLURM_RESTART_COUNT:+ (SLURM_RESTART_COUNT leaked)}\" >> \"$0.calls\"\n"
    "exit ${CONTINUE_EXIT:-0}\n"
)


def run_continue_job(tmp_path: Path, fake_bin, cmd: str, script: Path, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The timeout_continue template under bash, with a stand-in pbt-track that writes down how it was called."""
    stand_in = fake_bin("pbt-track", PBT_TRACK_STAND_IN)
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(render_script(template_text("timeout_continue"), cmd=cmd, filename=str(script),
                                    resources=SlurmResources(timeout="1"), pbt_track=[str(stand_in)]))
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SLURM_JOB_ID": "77", **(env or {})})
    calls = Path(f"{stand_in}.calls")
    return done, calls.read_text() if calls.exists() else ""


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_at_its_limit_the_job_asks_for_its_continuation_and_exits_124(tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    done, calls = run_continue_job(tmp_path, fake_bin, "sleep 5", tmp_path / "w" / "sbatch_a.sh")
    assert done.returncode == 124
    assert calls == f"pbt-track continue --workdir {tmp_path / 'w'} --job 77\n"
    assert done.stderr == "pbt-track: the experiment reached its time limit (1) and was stopped (exit 124)\n"


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_a_continuation_script_names_the_workdir_above_it_and_an_array_task_its_own_id(tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "w" / "continuations" / "sbatch_a.2.sh"
    done, calls = run_continue_job(tmp_path, fake_bin, "sleep 5", script,
                                   {"SLURM_ARRAY_JOB_ID": "70", "SLURM_ARRAY_TASK_ID": "3"})
    assert (done.returncode, calls) == (124, f"pbt-track continue --workdir {tmp_path / 'w'} --job 70_3\n")


def test_a_crash_keeps_its_code_and_asks_for_nothing(tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    done, calls = run_continue_job(tmp_path, fake_bin, "bash -c 'exit 3'", tmp_path / "w" / "sbatch_a.sh")
    assert (done.returncode, calls, done.stderr) == (3, "", "")


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_a_continuation_that_could_not_be_sent_is_said_and_the_job_still_exits_124(tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    done, _calls = run_continue_job(tmp_path, fake_bin, "sleep 5", tmp_path / "w" / "sbatch_a.sh", {"CONTINUE_EXIT": "1"})
    assert done.returncode == 124
    assert done.stderr.splitlines()[-1] == (
        "pbt-track: no continuation was sent; pbt-track watch or resubmit-failed resumes it")


def test_a_requeued_job_hands_over_at_once_instead_of_running_its_command_again(tmp_path: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "ran"
    done, calls = run_continue_job(tmp_path, fake_bin, f"touch {marker}", tmp_path / "w" / "sbatch_a.sh",
                                   {"SLURM_RESTART_COUNT": "1"})
    assert (done.returncode, calls) == (0, f"pbt-track continue --workdir {tmp_path / 'w'} --job 77\n")
    assert done.stderr == "pbt-track: job 77 was requeued; its experiment continues in a new attempt\n"
    assert not marker.exists()
