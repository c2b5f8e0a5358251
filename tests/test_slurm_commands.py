"""Running Slurm's commands and reading what they print.

The parsers are tested on literal output. run_command and submit run tiny
fake programs written into tmp_path and called by absolute path: no mocks of
subprocess, and no Slurm needed.
"""

import re
import stat

import pytest

from pbt_tracker.backends.slurm.commands import (
    CommandResult,
    SubmitOutcome,
    parse_sbatch_output,
    require_command,
    run_command,
    submit,
)
from pbt_tracker.errors import SchedulerError, SchedulerTimeout


def fake_program(directory, name, body):
    """An executable /bin/sh script `name` in `directory` whose body is `body`."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


TIMEOUT_HINT = "the controller may be busy (raise PBT_TRACK_SCHEDULER_TIMEOUT to wait longer)"


# --- parse_sbatch_output ----------------------------------------------------------


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ("123\n", ("123", None)),
        ("123", ("123", None)),
        ("123\r\n", ("123", None)),
        ("123;cluster\n", ("123", "cluster")),
        ("123_4\n", ("123_4", None)),
        ("123_4;c2\n", ("123_4", "c2")),
        ("Submitted batch job 123\n", ("123", None)),
        ("Submitted batch job 9 on cluster c2\n", ("9", "c2")),
        ("banner\nsbatch: warning: x\n456\n", ("456", None)),
        ("Welcome to the cluster\nSubmitted batch job 77\n", ("77", None)),
        ("Submitted batch job 77\nRemember to acknowledge the cluster\n", ("77", None)),
        ("  88  \n\n", ("88", None)),
    ],
)
def test_sbatch_output_gives_the_job_id_and_cluster(stdout, expected):
    assert parse_sbatch_output(stdout) == expected


def test_sbatchs_own_sentence_wins_over_a_bare_number_printed_by_a_site_wrapper():
    """Site wrappers may print a number in their banner before or after sbatch's own answer."""
    assert parse_sbatch_output("2024\nSubmitted batch job 31\n") == ("31", None)
    assert parse_sbatch_output("Submitted batch job 31\n2024\n") == ("31", None)


def test_the_same_job_id_printed_twice_is_that_job_id():
    assert parse_sbatch_output("31\nSubmitted batch job 31\n31\n") == ("31", None)


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        ("31\n2024\n", "sbatch printed more than one job id (2024, 31): 31 2024"),
        ("== 3 jobs left in your quota ==\n31\n3\n", "sbatch printed more than one job id (3, 31): "
                                                       "== 3 jobs left in your quota == 31 3"),
        ("Submitted batch job 31\nSubmitted batch job 32\n", "sbatch printed more than one job id (31, 32): "
                                                               "Submitted batch job 31 Submitted batch job 32"),
    ],
)
def test_a_number_besides_the_job_id_is_refused_rather_than_taken_for_it(stdout, message):
    """The parsable answer `31` followed by a wrapper's `2024`: taking the last would record job 2024."""
    with pytest.raises(SchedulerError) as excinfo:
        parse_sbatch_output(stdout)

    assert str(excinfo.value) == message


def test_garbage_output_is_a_scheduler_error_quoting_it():
    with pytest.raises(SchedulerError) as excinfo:
        parse_sbatch_output("garbage")

    assert str(excinfo.value) == "sbatch printed no job id: garbage"


def test_empty_output_is_a_scheduler_error_saying_nothing_was_printed():
    with pytest.raises(SchedulerError) as excinfo:
        parse_sbatch_output("")

    assert str(excinfo.value) == "sbatch printed no job id: (nothing)"


def test_blank_output_counts_as_nothing():
    with pytest.raises(SchedulerError, match=re.escape("sbatch printed no job id: (nothing)")):
        parse_sbatch_output("  \n\n")


def test_multiline_garbage_is_quoted_on_one_line():
    with pytest.raises(SchedulerError) as excinfo:
        parse_sbatch_output("  job queued?\n\n  maybe 12a\n")

    assert str(excinfo.value) == "sbatch printed no job id: job queued? maybe 12a"


def test_long_garbage_is_cut_to_300_characters():
    with pytest.raises(SchedulerError) as excinfo:
        parse_sbatch_output("x" * 400)

    assert str(excinfo.value) == "sbatch printed no job id: " + "x" * 297 + "..."


@pytest.mark.parametrize("stdout", ["123 on cluster c2\n", "job 123\n", "12_\n", "-5\n", "123;\n"])
def test_lines_that_only_contain_a_number_are_not_job_ids(stdout):
    with pytest.raises(SchedulerError, match=re.escape("sbatch printed no job id: ")):
        parse_sbatch_output(stdout)


# --- run_command -----------------------------------------------------------------


def test_run_command_returns_exit_code_stdout_and_stderr(tmp_path):
    """A fake: a one-node Slurm cannot be made to print on both streams and fail on demand."""
    fake = fake_program(tmp_path, "sbatch", "echo out\necho err >&2\nexit 3\n")

    result = run_command([str(fake), "--parsable"], timeout=10)

    assert result == CommandResult([str(fake), "--parsable"], 3, "out\n", "err\n")


def test_run_command_passes_each_argv_element_unsplit_and_without_a_shell(tmp_path):
    """A fake that prints its arguments one a line: a one-node Slurm cannot echo its argv."""
    fake = fake_program(tmp_path, "echo-args", "printf '%s\\n' \"$@\"\n")

    result = run_command([str(fake), "/w/my runs/s.sh", "a;b", "$HOME", "*"], timeout=10)

    assert result.stdout == "/w/my runs/s.sh\na;b\n$HOME\n*\n"


def test_run_command_gives_the_program_an_empty_stdin(tmp_path):
    """A fake that reads stdin: a program that prompts must see end of file, not hang the launcher."""
    fake = fake_program(tmp_path, "reads-stdin", "cat\necho done\n")

    result = run_command([str(fake)], timeout=10)

    assert (result.returncode, result.stdout) == (0, "done\n")


def test_run_command_replaces_bytes_that_are_not_utf8(tmp_path):
    """A fake: a one-node Slurm cannot be made to print invalid UTF-8."""
    fake = fake_program(tmp_path, "latin1", "printf 'caf\\351\\n'\n")

    result = run_command([str(fake)], timeout=10)

    assert result.stdout == "caf\ufffd\n"


def test_run_command_that_does_not_answer_in_time_is_a_scheduler_timeout(tmp_path):
    """A fake that sleeps: a one-node Slurm does not hang on demand."""
    fake = fake_program(tmp_path, "sbatch", "exec sleep 30\n")

    with pytest.raises(SchedulerTimeout) as excinfo:
        run_command([str(fake)], timeout=0.5)

    assert str(excinfo.value) == f"{fake} did not answer within 0.5 s; {TIMEOUT_HINT}"


def test_run_command_killed_by_someone_else_is_its_result_not_a_timeout(tmp_path):
    fake = fake_program(tmp_path, "sbatch", "echo partial\nkill -9 $$\n")

    result = run_command([str(fake)], timeout=10)

    assert (result.returncode, result.stdout) == (-9, "partial\n")


def test_run_command_waits_for_the_exit_of_a_program_that_closed_its_output_first(tmp_path):
    fake = fake_program(tmp_path, "sbatch", "echo 41\nexec >&- 2>&-\nsleep 0.3\nexit 3\n")

    result = run_command([str(fake)], timeout=10)

    assert (result.returncode, result.stdout) == (3, "41\n")


def test_run_command_times_out_on_a_program_that_closed_its_output_and_hangs(tmp_path):
    fake = fake_program(tmp_path, "sbatch", "exec >&- 2>&-\nexec sleep 30\n")

    with pytest.raises(SchedulerTimeout) as excinfo:
        run_command([str(fake)], timeout=0.5)

    assert str(excinfo.value) == f"{fake} did not answer within 0.5 s; {TIMEOUT_HINT}"


def test_run_command_on_a_missing_program_says_it_was_not_found(tmp_path):
    missing = tmp_path / "no-such-sbatch"

    with pytest.raises(SchedulerError) as excinfo:
        run_command([str(missing)], timeout=10)

    assert type(excinfo.value) is SchedulerError
    assert str(excinfo.value) == f"{missing} was not found on PATH; run this on a Slurm login node"


def test_run_command_on_a_file_without_execute_permission_says_so(tmp_path):
    """A fake: a one-node Slurm's sbatch is always executable."""
    script = tmp_path / "sbatch"
    script.write_text("#!/bin/sh\necho 1\n")
    script.chmod(0o644)

    with pytest.raises(SchedulerError) as excinfo:
        run_command([str(script)], timeout=10)

    assert str(excinfo.value) == f"{script} is not executable; check the Slurm installation on PATH"


# --- submit ----------------------------------------------------------------------


def test_submit_gives_the_job_id_and_cluster_from_parsable_output(tmp_path):
    """A fake: a one-node Slurm has no federation, so it never prints a cluster name."""
    fake = fake_program(tmp_path, "sbatch", "echo '4242;clusterA'\n")

    outcome = submit([str(fake), "--parsable", "s.sh"], timeout=10)

    assert outcome == SubmitOutcome(
        CommandResult([str(fake), "--parsable", "s.sh"], 0, "4242;clusterA\n", ""),
        job_id="4242",
        cluster="clusterA",
    )


def test_submit_through_a_site_wrapper_skips_its_banner(tmp_path):
    """A fake site wrapper: a one-node Slurm's sbatch prints no banner."""
    fake = fake_program(
        tmp_path, "sbatch", "echo 'Welcome to the GPU cluster, please be nice'\necho 'Submitted batch job 77'\n"
    )

    outcome = submit([str(fake)], timeout=10)

    assert (outcome.job_id, outcome.cluster, outcome.error, outcome.uncertain) == ("77", None, None, False)


def test_submit_that_exits_non_zero_reports_sbatchs_stderr(tmp_path):
    """A fake: a one-node Slurm cannot be made to refuse a job with this exact message."""
    fake = fake_program(
        tmp_path,
        "sbatch",
        "echo 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\nexit 1\n",
    )

    outcome = submit([str(fake)], timeout=10)

    assert outcome.error == "sbatch exited with 1: sbatch: error: Batch job submission failed: Invalid partition name specified"
    assert outcome.job_id is None
    assert outcome.cluster is None
    assert outcome.uncertain is False
    assert outcome.result == CommandResult(
        [str(fake)], 1, "", "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    )


def test_submit_that_exits_non_zero_with_several_stderr_lines_reports_them_on_one_line(tmp_path):
    """A fake: a one-node Slurm cannot be made to print these two lines and fail."""
    fake = fake_program(tmp_path, "sbatch", "echo 'sbatch: error: first' >&2\necho '  second' >&2\nexit 2\n")

    outcome = submit([str(fake)], timeout=10)

    assert outcome.error == "sbatch exited with 2: sbatch: error: first second"


def test_submit_that_exits_non_zero_with_empty_stderr_reports_stdout(tmp_path):
    """A fake: a one-node Slurm's sbatch writes its errors to stderr."""
    fake = fake_program(tmp_path, "sbatch", "echo 'quota exceeded'\nexit 1\n")

    outcome = submit([str(fake)], timeout=10)

    assert outcome.error == "sbatch exited with 1: quota exceeded"


def test_submit_that_exits_non_zero_silently_says_no_message_and_is_uncertain(tmp_path):
    """A fake: a one-node Slurm's sbatch always explains a refusal. Without one, the job may exist."""
    fake = fake_program(tmp_path, "sbatch", "exit 1\n")

    outcome = submit([str(fake)], timeout=10)

    assert (outcome.error, outcome.job_id, outcome.uncertain) == ("sbatch exited with 1: no message", None, True)


def test_submit_with_garbage_output_reports_it_and_is_uncertain(tmp_path):
    """A fake: a one-node Slurm's sbatch --parsable always prints a job id. Exit 0: the job may well exist."""
    fake = fake_program(tmp_path, "sbatch", "echo 'the queue is full, try later'\n")

    outcome = submit([str(fake)], timeout=10)

    assert outcome == SubmitOutcome(
        CommandResult([str(fake)], 0, "the queue is full, try later\n", ""),
        error="sbatch printed no job id: the queue is full, try later",
        uncertain=True,
    )


def test_submit_with_a_number_after_the_job_id_records_no_id_and_is_uncertain(tmp_path):
    """A fake site wrapper that prints a count after sbatch's answer; a one-node Slurm's sbatch prints none."""
    fake = fake_program(tmp_path, "sbatch", "echo 4242\necho 17\n")

    outcome = submit([str(fake)], timeout=10)

    assert (outcome.job_id, outcome.error, outcome.uncertain) == (
        None, "sbatch printed more than one job id (17, 4242): 4242 17", True
    )


def test_submit_killed_by_a_signal_says_so_and_is_uncertain(tmp_path):
    """A fake that kills itself: a one-node Slurm's sbatch is not killed on demand."""
    fake = fake_program(tmp_path, "sbatch", "echo 'sbatch: sending' >&2\nkill -9 $$\n")

    outcome = submit([str(fake)], timeout=10)

    assert (outcome.job_id, outcome.error, outcome.uncertain) == (
        None, "sbatch was killed by signal 9: sbatch: sending", True
    )


def test_submit_whose_answer_was_lost_on_the_way_back_is_uncertain(tmp_path):
    """A fake: the controller created the job and the reply timed out; one node cannot lose a reply on demand."""
    fake = fake_program(
        tmp_path, "sbatch",
        "echo 'sbatch: error: Batch job submission failed: Socket timed out on send/recv operation' >&2\nexit 1\n",
    )

    outcome = submit([str(fake)], timeout=10)

    assert outcome.error == (
        "sbatch exited with 1: sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"
    )
    assert outcome.uncertain is True


def test_submit_refused_with_a_usage_error_is_definite(tmp_path):
    """A fake printing the real sbatch's answer to an unknown option (captured), to stay off the cluster."""
    fake = fake_program(
        tmp_path, "sbatch",
        "echo \"sbatch: unrecognized option '--bogus'\" >&2\n"
        "echo 'Try \"sbatch --help\" for more information' >&2\nexit 255\n",
    )

    outcome = submit([str(fake)], timeout=10)

    assert outcome.error == (
        "sbatch exited with 255: sbatch: unrecognized option '--bogus' Try \"sbatch --help\" for more information"
    )
    assert outcome.uncertain is False


def test_submit_that_times_out_is_uncertain_and_says_so(tmp_path):
    """A fake that sleeps: a one-node Slurm's controller does not hang on demand."""
    fake = fake_program(tmp_path, "sbatch", "exec sleep 30\n")

    outcome = submit([str(fake)], timeout=0.5)

    assert outcome == SubmitOutcome(
        None,
        error=f"{fake} did not answer within 0.5 s; {TIMEOUT_HINT}",
        uncertain=True,
    )


def test_submit_of_a_missing_program_is_a_certain_failure(tmp_path):
    missing = tmp_path / "sbatch"

    outcome = submit([str(missing)], timeout=10)

    assert outcome == SubmitOutcome(
        None, error=f"{missing} was not found on PATH; run this on a Slurm login node"
    )


def test_submit_of_a_program_the_kernel_cannot_execute_reports_it_instead_of_raising(tmp_path):
    """A fake: a broken sbatch wrapper (empty executable file); a one-node Slurm's sbatch is never broken."""
    broken = tmp_path / "sbatch"
    broken.write_text("")
    broken.chmod(0o755)

    outcome = submit([str(broken)], timeout=10)

    assert (outcome.result, outcome.job_id, outcome.uncertain) == (None, None, False)
    assert outcome.error.startswith(f"{broken} ")


# --- require_command -------------------------------------------------------------


def test_require_command_finds_sbatch_on_path(tmp_path, monkeypatch):
    """A fake sbatch: the test controls PATH, so a one-node Slurm's sbatch is not on it."""
    fake = fake_program(tmp_path, "sbatch", "echo 1\n")
    monkeypatch.setenv("PATH", str(tmp_path))

    assert require_command("sbatch") == str(fake)


def test_require_command_without_sbatch_on_path_says_where_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(SchedulerError) as excinfo:
        require_command("sbatch")

    assert str(excinfo.value) == (
        "sbatch was not found on PATH; run this on a Slurm login node, "
        "or use --slurm_print_only true to only write the scripts"
    )


def test_require_command_ignores_an_sbatch_file_that_is_not_executable(tmp_path, monkeypatch):
    (tmp_path / "sbatch").write_text("#!/bin/sh\necho 1\n")
    (tmp_path / "sbatch").chmod(0o644)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(SchedulerError, match=re.escape("sbatch was not found on PATH; run this on a Slurm login node")):
        require_command("sbatch")
