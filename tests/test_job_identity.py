"""A job's identity that sacct always stores: its name carries the experiment and a short form of pbt-track's tag.

Pure functions on literal strings: how the name is written onto sbatch's
command line, found again in sacct's answer, and what that answer proves
about a submission whose sbatch answer was lost.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pbt_tracker import states
from pbt_tracker.backends.slurm.array import array_name, job_name_of, sbatch_options
from pbt_tracker.backends.slurm.evidence import accounted_with, answers_for, uncertain_outcome
from pbt_tracker.backends.slurm.output import parse_sacct, sacct_window_argv, slurm_time
from pbt_tracker.backends.slurm.runs import is_same_job
from pbt_tracker.backends.slurm.script import SlurmResources, names_its_job, render_script, sbatch_argv
from pbt_tracker.backends.slurm.tags import carries, job_name, marks_in, name_mark, with_tag, without_tag
from pbt_tracker.commands import Deadline
from pbt_tracker.errors import SchedulerTimeout

UUID = "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6"
TAG = f"pbt-track:{UUID}:17"
ARRAY = f"pbt-track:{UUID}:array3"
NOW = datetime(2026, 12, 7, 12, 0, 0)


def test_the_name_is_the_experiment_then_the_tags_short_form() -> None:
    assert name_mark(TAG) == "pbt-1a2b3c4d-17"
    assert name_mark(ARRAY) == "pbt-1a2b3c4d-array3"
    assert job_name("01_ant_pbt", TAG) == "01_ant_pbt.pbt-1a2b3c4d-17"


def test_tagging_marks_the_job_name_and_a_new_tag_replaces_the_old_mark() -> None:
    argv = sbatch_argv(Path("/w/sbatch_01_ant.sh"), "/w/log-%j.out", SlurmResources(1, 2), name="01_ant")
    assert argv[:2] == ["sbatch", "--job-name=01_ant"]
    tagged = with_tag(argv, TAG)
    assert tagged[:3] == ["sbatch", f"--comment={TAG}", "--job-name=01_ant.pbt-1a2b3c4d-17"]
    again = with_tag(tagged, f"pbt-track:{UUID}:18")  # a resubmission of the recorded command
    assert again[2] == "--job-name=01_ant.pbt-1a2b3c4d-18"
    assert without_tag(tagged[1:]) == argv[1:]


def test_without_a_name_on_the_command_line_tagging_adds_none() -> None:
    argv = ["sbatch", "--parsable", "--output", "/w/l", "/w/s.sh"]
    assert with_tag(argv, TAG) == ["sbatch", f"--comment={TAG}", "--parsable", "--output", "/w/l", "/w/s.sh"]


@pytest.mark.parametrize(
    ("script", "named"),
    [
        ("#!/bin/bash\n#SBATCH --job-name=pbt\nrun\n", True),
        ("#!/bin/bash\n#SBATCH --job-name pbt\nrun\n", True),
        ("#!/bin/bash\n#SBATCH -J pbt\nrun\n", True),
        ("#!/bin/bash\n#SBATCH -Jpbt --time=5\nrun\n", True),
        ("#!/bin/bash\n#SBATCH --time=5\nrun\n", False),
        ("#!/bin/bash\nrun\n#SBATCH --job-name=late\n", False),  # sbatch stops reading at the first command
        ("#!/bin/bash\n# SBATCH --job-name=off\nrun\n", False),
    ],
)
def test_a_script_that_names_its_job_keeps_its_name(script: str, named: bool) -> None:
    assert names_its_job(script) is named


def test_templates_get_the_experiment_name() -> None:
    text = render_script("#!/bin/bash\necho $NAME\n$CMD\n", cmd="python t.py", filename="/w/s.sh",
                         resources=SlurmResources(), name="01_ant_pbt")
    assert text == "#!/bin/bash\necho 01_ant_pbt\npython t.py\n"


def test_an_array_is_named_by_what_its_experiments_share() -> None:
    assert array_name(["00_ant_pbt", "01_ant_pbt"]) == "ant_pbt"
    assert array_name(["ant_pbt_0", "ant_pbt_1", "ant_pbt_12"]) == "ant_pbt"
    assert array_name(["a", "b"]) == "array"


def test_an_experiments_name_does_not_keep_it_out_of_an_array() -> None:
    first = with_tag(sbatch_argv(Path("/w/a.sh"), "/w/a-%j", SlurmResources(), name="ant_0"), TAG)
    second = sbatch_argv(Path("/w/b.sh"), "/w/b-%j", SlurmResources(), name="ant_1")
    assert sbatch_options(first) == sbatch_options(second) == ["--gres=gpu:1", "-c", "16", "--parsable"]
    assert job_name_of(first) == "ant_0"


SACCT = (
    "5101|COMPLETED|0:0|vm|2026-12-07T11:50:01|2026-12-07T11:50:09|2026-12-07T11:50:00||01_ant.pbt-1a2b3c4d-16|\n"
    "5101.batch|COMPLETED|0:0|vm|2026-12-07T11:50:01|2026-12-07T11:50:09|2026-12-07T11:50:01||batch|\n"
    "5102|RUNNING|0:0|vm|2026-12-07T11:55:01|Unknown|2026-12-07T11:55:00||01_ant.pbt-1a2b3c4d-17|\n"
    "5103_[0-4]|PENDING|0:0|None assigned|Unknown|Unknown|2026-12-07T11:56:00|Priority|ant.pbt-1a2b3c4d-array3|\n"
    "5104|RUNNING|0:0|vm|2026-12-07T11:57:01|Unknown|2026-12-07T11:57:00||someone|else's|comment\n"
)


def test_sacct_reads_the_job_name_beside_the_comment() -> None:
    jobs = parse_sacct(SACCT)
    assert jobs["5102"][0].name == "01_ant.pbt-1a2b3c4d-17"
    assert jobs["5102"][0].comment is None
    assert jobs["5104"][0].name == "someone"  # a name holding the separator spills into the comment, not the id
    assert "5101.batch" not in jobs


def test_sacct_finds_a_lost_submission_by_its_name() -> None:
    jobs = parse_sacct(SACCT)
    assert accounted_with(jobs, TAG) == ["5102"]
    assert accounted_with(jobs, ARRAY) == ["5103_[0-4]"]
    assert accounted_with(jobs, f"pbt-track:{UUID}:99") == []


def test_sacct_speaks_for_the_record_only_when_it_lists_one_of_its_jobs() -> None:
    jobs = parse_sacct(SACCT)
    assert answers_for(jobs, {"5101"})
    assert answers_for(jobs, {"5103_2"})  # a task of an array sacct lists as still pending
    assert not answers_for(jobs, {"7764"})
    assert not answers_for({}, {"5101"})


def test_the_mark_decides_whether_an_answer_is_about_our_job_whatever_the_clocks_say() -> None:
    """A cluster that stores no comment, with the controller's clock 10 minutes behind."""
    (row,) = parse_sacct("5102|COMPLETED|0:0|vm|2026-12-07T11:45:01|2026-12-07T11:46:00|2026-12-07T11:45:00||"
                         "01_ant.pbt-1a2b3c4d-17|\n")["5102"]
    assert is_same_job(row, TAG)
    assert not is_same_job(row, f"pbt-track:{UUID}:18")  # another submission's job that had the id


def test_marks_are_read_only_at_the_end_of_a_name() -> None:
    assert marks_in("01_ant.pbt-1a2b3c4d-17") == {"pbt-1a2b3c4d-17"}
    assert marks_in("pbt-1a2b3c4d-17.copy") == set()
    assert marks_in(None) == set()
    assert carries(TAG, None, "my-own-name") is None
    assert carries(TAG, f"{TAG} note", None) is True
    assert carries(TAG, None, "01_ant.pbt-1a2b3c4d-18") is False


def test_sacct_is_asked_for_a_users_jobs_over_a_window_in_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        assert slurm_time(datetime(2026, 12, 7, 12, 0, 0)) == "2026-12-07T13:00:00"
        argv = sacct_window_argv("ann", datetime(2026, 12, 7, 10, 0), datetime(2026, 12, 7, 13, 0))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert argv[:6] == ["sacct", "--parsable2", "--noheader", "--allocations", "--duplicates", "--user=ann"]
    assert argv[6:8] == ["--starttime=2026-12-07T11:00:00", "--endtime=2026-12-07T14:00:00"]
    assert argv[8] == "--format=JobID,State,ExitCode,NodeList,Start,End,Submit,Reason,JobName,Partition,Timelimit,Comment"


@pytest.mark.parametrize(
    ("found", "accounted_without", "listed_without", "age", "expected"),
    [
        (True, False, False, 5, states.SUBMITTED),
        (True, False, False, 10_000, states.SUBMITTED),
        (False, True, False, 25, states.SUBMIT_FAILED),  # sacct answers for the record and lacks the tag
        (False, True, True, 5, states.SUBMIT_FAILED),  # ... and so does the controller's own listing
        (False, True, False, 5, None),  # too soon for sacct alone: it hears of a job a moment after it is queued
        (False, False, True, 25, None),  # squeue's listing of other jobs, without sacct: no proof
        (False, False, False, 10_000, None),  # nor does time alone
    ],
)
def test_a_lost_sbatch_answer_is_settled_by_an_identity_or_by_sacct(found, accounted_without, listed_without, age,  # type: ignore[no-untyped-def]
                                                                    expected) -> None:
    assert uncertain_outcome(found, accounted_without, listed_without, NOW - timedelta(seconds=age), NOW) == expected


def test_a_deadline_is_shared_and_the_call_after_it_is_not_run() -> None:
    deadline = Deadline(0.2)
    assert 0 < deadline.timeout("squeue") <= 0.2
    assert deadline.timeout("sacct", 0.05) == 0.05
    time.sleep(0.25)
    with pytest.raises(SchedulerTimeout, match=r"^scontrol was not asked: the calls before it took all of the 0.2 s"):
        deadline.timeout("scontrol")
