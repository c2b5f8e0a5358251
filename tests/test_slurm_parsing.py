"""Reading what squeue, sacct and scontrol print about jobs.

Pure functions on literal text: no subprocess, no cluster. The squeue, sacct
and the first scontrol outputs were captured on a Slurm 22.05 machine whose
zone is UTC; Slurm prints local time without a zone, so every test runs with
TZ=UTC unless it sets another zone itself.
"""

import time
from datetime import datetime

import pytest

from pbt_tracker.backends.slurm.commands import DEFAULT_MAX_ARRAY_SIZE, max_array_size, parse_max_array_size
from pbt_tracker.backends.slurm.output import (
    SQUEUE_USER_FIELDS,
    JobObservation,
    _exit_pair,
    _wait_status,
    array_task_ids,
    normalize_state,
    parse_sacct,
    parse_scontrol_jobs,
    parse_slurm_time,
    parse_squeue,
    sacct_argv,
    squeue_argv,
)


@pytest.fixture(autouse=True)
def utc_clock(monkeypatch):
    """Slurm's times are local; pin the local zone, and restore it (and tzset) afterwards."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(hour, minute, second, *, year=2026, month=11, day=24):
    return datetime(year, month, day, hour, minute, second)


# --- captured outputs (verbatim) ---------------------------------------------------

SQUEUE_OUTPUT = """\
62|FAILED|768|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06|
63|RUNNING|0|vm|2026-11-24T17:26:06|NONE|2026-11-24T17:26:06|
64|CANCELLED|15|vm|2026-11-24T17:26:46|2026-11-24T17:26:48|2026-11-24T17:26:46|
65|PENDING|0||N/A|N/A|2026-11-24T17:26:49|
"""

SACCT_OUTPUT = """\
62|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06
63|PENDING|0:0|vm|2026-11-24T17:26:06|Unknown|2026-11-24T17:26:06
64|CANCELLED by 0|0:0|vm|2026-11-24T17:26:46|2026-11-24T17:26:48|2026-11-24T17:26:46
"""

SCONTROL_CANCELLED = (
    "JobId=64 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901696 Nice=0 "
    "Account=root QOS=normal JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 "
    "BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:00:02 TimeLimit=UNLIMITED TimeMin=N/A "
    "SubmitTime=2026-11-24T17:26:46 EligibleTime=2026-11-24T17:26:46 AccrueTime=2026-11-24T17:26:46 "
    "StartTime=2026-11-24T17:26:46 EndTime=2026-11-24T17:26:48 Deadline=N/A SuspendTime=None "
    "SecsPreSuspend=0 LastSchedEval=2026-11-24T17:26:46 Scheduler=Main Partition=debug "
    "AllocNode:Sid=localhost:1066 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm "
    "NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 "
    "Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 "
    "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) "
    "Command=(null) WorkDir=/tmp StdErr=/tmp/slurm-64.out StdIn=/dev/null StdOut=/tmp/slurm-64.out Power= "
)

SCONTROL_FAILED = (
    "JobId=62 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901698 Nice=0 "
    "Account=root QOS=normal JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 "
    "BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A "
    "SubmitTime=2026-11-24T17:26:06 EligibleTime=2026-11-24T17:26:06 AccrueTime=2026-11-24T17:26:06 "
    "StartTime=2026-11-24T17:26:06 EndTime=2026-11-24T17:26:06 Deadline=N/A SuspendTime=None "
    "SecsPreSuspend=0 LastSchedEval=2026-11-24T17:26:06 Scheduler=Main Partition=debug "
    "AllocNode:Sid=localhost:1066 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm "
    "NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 "
    "Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 "
    "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) "
    "Command=(null) WorkDir=/tmp StdErr=/tmp/slurm-62.out StdIn=/dev/null StdOut=/tmp/slurm-62.out Power= "
)

SCONTROL_PENDING = (
    "JobId=65 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901695 Nice=0 "
    "Account=root QOS=normal JobState=PENDING Reason=Resources Dependency=(null) Requeue=1 Restarts=0 "
    "BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A "
    "SubmitTime=2026-11-24T17:26:49 EligibleTime=2026-11-24T17:26:49 AccrueTime=2026-11-24T17:26:49 "
    "StartTime=Unknown EndTime=Unknown Deadline=N/A SuspendTime=None "
    "SecsPreSuspend=0 LastSchedEval=2026-11-24T17:26:49 Scheduler=Main Partition=debug "
    "AllocNode:Sid=localhost:1066 ReqNodeList=(null) ExcNodeList=(null) NodeList=(null) "
    "NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 "
    "Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 "
    "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) "
    "Command=(null) WorkDir=/tmp StdErr=/tmp/slurm-65.out StdIn=/dev/null StdOut=/tmp/slurm-65.out Power= "
)

SCONTROL_ARRAY_TASK = (
    "JobId=430 ArrayJobId=428 ArrayTaskId=2 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A "
    "Priority=4294901690 Nice=0 Account=root QOS=normal JobState=RUNNING Reason=None Dependency=(null) "
    "Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:03 TimeLimit=UNLIMITED "
    "TimeMin=N/A SubmitTime=2026-11-24T17:29:58 EligibleTime=2026-11-24T17:29:58 "
    "AccrueTime=2026-11-24T17:29:58 StartTime=2026-11-24T17:30:01 EndTime=Unknown Deadline=N/A "
    "SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-24T17:30:01 Scheduler=Main Partition=debug "
    "AllocNode:Sid=localhost:1066 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm "
    "NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 "
    "Command=(null) WorkDir=/tmp StdErr=/tmp/slurm-428_2.out StdIn=/dev/null StdOut=/tmp/slurm-428_2.out Power= "
)

SQUEUE_62 = JobObservation("62", "FAILED", 3, None, "vm", at(17, 26, 6), at(17, 26, 6), at(17, 26, 6), "squeue")
SQUEUE_63 = JobObservation("63", "RUNNING", 0, None, "vm", at(17, 26, 6), None, at(17, 26, 6), "squeue")
SQUEUE_64 = JobObservation("64", "CANCELLED", 0, 15, "vm", at(17, 26, 46), at(17, 26, 48), at(17, 26, 46), "squeue")
SQUEUE_65 = JobObservation("65", "PENDING", 0, None, None, None, None, at(17, 26, 49), "squeue")

SACCT_62 = JobObservation("62", "FAILED", 3, None, "vm", at(17, 26, 6), at(17, 26, 6), at(17, 26, 6), "sacct")
SACCT_63 = JobObservation("63", "PENDING", 0, None, "vm", at(17, 26, 6), None, at(17, 26, 6), "sacct")
SACCT_64 = JobObservation("64", "CANCELLED", 0, None, "vm", at(17, 26, 46), at(17, 26, 48), at(17, 26, 46), "sacct")


# --- parse_slurm_time --------------------------------------------------------------


def test_slurm_time_in_utc_zone_is_the_same_naive_datetime():
    assert parse_slurm_time("2026-11-24T17:26:06") == datetime(2026, 11, 24, 17, 26, 6)


def test_slurm_time_is_read_after_stripping_surrounding_whitespace():
    assert parse_slurm_time("  2026-11-24T17:26:06\n") == datetime(2026, 11, 24, 17, 26, 6)


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("2026-11-24T17:26:06", datetime(2026, 11, 24, 16, 26, 6)),  # CET, UTC+1
        ("2026-07-01T12:00:00", datetime(2026, 7, 1, 10, 0, 0)),  # CEST, UTC+2
    ],
)
def test_slurm_local_time_in_berlin_becomes_naive_utc(monkeypatch, local, utc):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    assert parse_slurm_time(local) == utc


@pytest.mark.parametrize(
    "text",
    ["Unknown", "N/A", "None", "NONE", "(null)", "", "   ", "garbage", "2026-11-24", "2026-11-24 17:26:06", "2026-13-24T17:26:06"],
)
def test_slurm_time_without_a_parsable_time_is_none(text):
    assert parse_slurm_time(text) is None


# --- normalize_state ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("CANCELLED by 1234", "CANCELLED"),
        ("CANCELLED by 0", "CANCELLED"),
        ("cancelled", "CANCELLED"),
        ("RUNNING", "RUNNING"),
        ("CANCELLED+", "CANCELLED"),
        ("  PENDING \n", "PENDING"),
        ("OUT_OF_MEMORY", "OUT_OF_MEMORY"),
        ("", ""),
    ],
)
def test_normalize_state_gives_the_bare_upper_case_state(text, state):
    assert normalize_state(text) == state


# --- exit codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "pair"),
    [
        ("768", (3, None)),
        ("15", (0, 15)),
        ("0", (0, None)),
        ("9", (0, 9)),
        ("139", (0, 11)),  # SIGSEGV with the core-dump bit
        ("256", (1, None)),
        ("65280", (255, None)),
        (" 768 ", (3, None)),
        ("", (None, None)),
        ("N/A", (None, None)),
    ],
)
def test_squeue_wait_status_is_split_into_exit_code_and_signal(status, pair):
    assert _wait_status(status) == pair


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("3:0", (3, None)),
        ("0:15", (0, 15)),
        ("0:0", (0, None)),
        ("0:125", (0, 125)),
        ("255:0", (255, None)),
        ("3", (3, None)),
        ("", (None, None)),
        ("x:y", (None, None)),
        ("3:x", (None, None)),
    ],
)
def test_sacct_and_scontrol_exit_pair_is_exit_code_and_signal(text, pair):
    assert _exit_pair(text) == pair


# --- squeue ------------------------------------------------------------------------


def test_squeue_argv_asks_for_all_states_of_the_given_jobs_pipe_separated_unstarted_array_tasks_as_one_record():
    assert squeue_argv(["1", "2"]) == [
        "squeue",
        "--noheader",
        "--states=all",
        "--jobs=1,2",
        "--Format=JobArrayID:|,State:|,exit_code:|,NodeList:|,StartTime:|,EndTime:|,SubmitTime:|,Reason:|,Partition:|,"
        "TimeLimit:|,Comment:|",
    ]


def test_squeue_argv_takes_any_iterable_of_job_ids():
    assert squeue_argv(job_id for job_id in ("1", "2")) == squeue_argv(["1", "2"])


def test_squeue_output_gives_one_observation_per_job_in_order():
    jobs = parse_squeue(SQUEUE_OUTPUT)
    assert list(jobs) == ["62", "63", "64", "65"]
    assert jobs == {"62": SQUEUE_62, "63": SQUEUE_63, "64": SQUEUE_64, "65": SQUEUE_65}


def test_squeue_wait_status_768_is_exit_code_3():
    line = "62|FAILED|768|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06|"
    assert parse_squeue(line) == {"62": SQUEUE_62}


def test_squeue_running_job_with_end_time_NONE_has_no_end():
    line = "63|RUNNING|0|vm|2026-11-24T17:26:06|NONE|2026-11-24T17:26:06|"
    assert parse_squeue(line) == {"63": SQUEUE_63}


def test_squeue_wait_status_15_is_signal_15_with_exit_code_0():
    line = "64|CANCELLED|15|vm|2026-11-24T17:26:46|2026-11-24T17:26:48|2026-11-24T17:26:46|"
    assert parse_squeue(line) == {"64": SQUEUE_64}


def test_squeue_pending_job_has_no_node_and_no_start_or_end():
    line = "65|PENDING|0||N/A|N/A|2026-11-24T17:26:49|"
    assert parse_squeue(line) == {"65": SQUEUE_65}


def test_squeue_line_without_the_trailing_bar_is_read_too():
    line = "62|FAILED|768|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06"
    assert parse_squeue(line) == {"62": SQUEUE_62}


def test_squeue_times_are_converted_from_the_local_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    line = "62|FAILED|768|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06|"
    assert parse_squeue(line) == {
        "62": JobObservation("62", "FAILED", 3, None, "vm", at(16, 26, 6), at(16, 26, 6), at(16, 26, 6), "squeue")
    }


@pytest.mark.parametrize(
    "noise",
    [
        "",
        "\n\n",
        "squeue: error: Invalid job id specified",
        "62|FAILED|768",
        "|RUNNING|0|vm|2026-11-24T17:26:06|NONE|2026-11-24T17:26:06|",
    ],
)
def test_squeue_blank_short_and_idless_lines_are_ignored(noise):
    line = "63|RUNNING|0|vm|2026-11-24T17:26:06|NONE|2026-11-24T17:26:06|"
    assert parse_squeue(f"{noise}\n{line}\n{noise}\n") == {"63": SQUEUE_63}


def test_squeue_and_scontrol_key_the_same_array_task_alike():
    """squeue's JobArrayID field prints an array task as 428_2 (its JobID field would print 430)."""
    assert "--Format=JobArrayID:|" in " ".join(squeue_argv(["428_2"]))
    squeue_line = "428_2|RUNNING|0|vm|2026-11-24T17:30:01|NONE|2026-11-24T17:29:58|"
    assert list(parse_squeue(squeue_line)) == list(parse_scontrol_jobs(SCONTROL_ARRAY_TASK)) == ["428_2"]


def test_squeue_pending_job_with_an_expected_start_time_has_not_started():
    line = "66|PENDING|0||2026-11-24T18:00:00|2026-11-24T19:00:00|2026-11-24T17:26:49|"
    assert parse_squeue(line) == {
        "66": JobObservation("66", "PENDING", 0, None, None, None, None, at(17, 26, 49), "squeue")
    }


# --- sacct -------------------------------------------------------------------------


def test_sacct_argv_asks_for_allocations_and_duplicates_of_the_given_jobs():
    assert sacct_argv(["1", "2"]) == [
        "sacct",
        "--parsable2",
        "--noheader",
        "--allocations",
        "--duplicates",
        "--jobs=1,2",
        "--format=JobID,State,ExitCode,NodeList,Start,End,Submit,Reason,JobName,Partition,Timelimit,Comment",
    ]


def test_sacct_output_gives_a_list_of_observations_per_job_in_order():
    jobs = parse_sacct(SACCT_OUTPUT)
    assert list(jobs) == ["62", "63", "64"]
    assert jobs == {"62": [SACCT_62], "63": [SACCT_63], "64": [SACCT_64]}


def test_sacct_exit_code_3_0_is_exit_code_3_without_signal():
    line = "62|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06"
    assert parse_sacct(line) == {"62": [SACCT_62]}


def test_sacct_end_Unknown_is_no_end():
    line = "63|PENDING|0:0|vm|2026-11-24T17:26:06|Unknown|2026-11-24T17:26:06"
    assert parse_sacct(line) == {"63": [SACCT_63]}


def test_sacct_cancelled_by_uid_is_cancelled():
    line = "64|CANCELLED by 0|0:0|vm|2026-11-24T17:26:46|2026-11-24T17:26:48|2026-11-24T17:26:46"
    assert parse_sacct(line) == {"64": [SACCT_64]}


@pytest.mark.parametrize(
    "step",
    [
        "62.batch|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06",
        "62.extern|COMPLETED|0:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06",
        "62.0|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06",
        "428_0.batch|COMPLETED|0:0|vm|2026-11-24T17:30:00|2026-11-24T17:30:05|2026-11-24T17:30:00",
    ],
)
def test_sacct_step_rows_are_skipped(step):
    job = "62|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06"
    assert parse_sacct(f"{job}\n{step}\n") == {"62": [SACCT_62]}


def test_sacct_array_task_is_kept_under_its_array_id():
    line = "428_0|COMPLETED|0:0|vm|2026-11-24T17:30:00|2026-11-24T17:30:05|2026-11-24T17:29:58"
    assert parse_sacct(line) == {
        "428_0": [JobObservation("428_0", "COMPLETED", 0, None, "vm", at(17, 30, 0), at(17, 30, 5), at(17, 29, 58), "sacct")]
    }


def test_sacct_pending_array_range_is_kept_unexpanded_under_its_bracket_id():
    """Pinned: the still-pending tasks of an array are one row, not expanded to 428_2..428_9."""
    line = "428_[2-9]|PENDING|0:0|None assigned|Unknown|Unknown|2026-11-24T17:29:58"
    assert parse_sacct(line) == {
        "428_[2-9]": [JobObservation("428_[2-9]", "PENDING", 0, None, None, None, None, at(17, 29, 58), "sacct")]
    }


OLD_70 = "70|COMPLETED|0:0|vm|2026-01-05T10:00:00|2026-01-05T10:00:10|2026-01-05T09:59:59"
NEW_70 = "70|RUNNING|0:0|vm|2026-11-24T17:30:00|Unknown|2026-11-24T17:29:59"
OLD_70_OBS = JobObservation(
    "70", "COMPLETED", 0, None, "vm",
    at(10, 0, 0, month=1, day=5), at(10, 0, 10, month=1, day=5), at(9, 59, 59, month=1, day=5), "sacct",
)
NEW_70_OBS = JobObservation("70", "RUNNING", 0, None, "vm", at(17, 30, 0), None, at(17, 29, 59), "sacct")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([OLD_70, NEW_70], [OLD_70_OBS, NEW_70_OBS]),
        ([NEW_70, OLD_70], [NEW_70_OBS, OLD_70_OBS]),
    ],
    ids=["old-first", "new-first"],
)
def test_sacct_duplicate_rows_for_one_id_are_all_kept_in_output_order(lines, expected):
    assert parse_sacct("\n".join(lines)) == {"70": expected}


def test_sacct_node_None_assigned_is_no_node():
    line = "71|CANCELLED by 0|0:0|None assigned|None|2026-11-24T17:31:00|2026-11-24T17:30:50"
    assert parse_sacct(line) == {
        "71": [JobObservation("71", "CANCELLED", 0, None, None, None, at(17, 31, 0), at(17, 30, 50), "sacct")]
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "80|OUT_OF_MEMORY|0:125|vm|2026-11-24T17:40:00|2026-11-24T17:40:30|2026-11-24T17:39:59",
            JobObservation("80", "OUT_OF_MEMORY", 0, 125, "vm", at(17, 40, 0), at(17, 40, 30), at(17, 39, 59), "sacct"),
        ),
        (
            "81|NODE_FAIL|1:0|vm|2026-11-24T17:40:00|2026-11-24T17:45:00|2026-11-24T17:39:59",
            JobObservation("81", "NODE_FAIL", 1, None, "vm", at(17, 40, 0), at(17, 45, 0), at(17, 39, 59), "sacct"),
        ),
        (
            "82|TIMEOUT|0:0|vm|2026-11-24T17:40:00|2026-11-24T17:41:00|2026-11-24T17:39:59",
            JobObservation("82", "TIMEOUT", 0, None, "vm", at(17, 40, 0), at(17, 41, 0), at(17, 39, 59), "sacct"),
        ),
        (
            "83|CANCELLED+|0:0|vm|2026-11-24T17:40:00|2026-11-24T17:40:02|2026-11-24T17:39:59",
            JobObservation("83", "CANCELLED", 0, None, "vm", at(17, 40, 0), at(17, 40, 2), at(17, 39, 59), "sacct"),
        ),
    ],
    ids=["OUT_OF_MEMORY", "NODE_FAIL", "TIMEOUT", "CANCELLED+"],
)
def test_sacct_final_states_are_read(line, expected):
    assert parse_sacct(line) == {expected.job_id: [expected]}


def test_sacct_blank_short_garbage_and_idless_lines_are_ignored():
    text = (
        "\n"
        "   \n"
        "garbage\n"
        "62|FAILED|3:0|vm\n"
        "62|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06\n"
        "|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06\n"
        "\n"
    )
    assert parse_sacct(text) == {"62": [SACCT_62]}


def test_sacct_of_nothing_is_empty():
    assert parse_sacct("") == {}


# --- scontrol ----------------------------------------------------------------------


def test_scontrol_cancelled_job_has_signal_15_and_its_times():
    assert parse_scontrol_jobs(SCONTROL_CANCELLED) == {
        "64": JobObservation("64", "CANCELLED", 0, 15, "vm", at(17, 26, 46), at(17, 26, 48), at(17, 26, 46), "scontrol",
                             partition="debug", time_limit="UNLIMITED")
    }


def test_scontrol_failed_job_has_exit_code_3():
    assert parse_scontrol_jobs(SCONTROL_FAILED) == {
        "62": JobObservation("62", "FAILED", 3, None, "vm", at(17, 26, 6), at(17, 26, 6), at(17, 26, 6), "scontrol",
                             partition="debug", time_limit="UNLIMITED")
    }


def test_scontrol_pending_job_has_no_node_and_no_start_or_end():
    assert parse_scontrol_jobs(SCONTROL_PENDING) == {
        "65": JobObservation("65", "PENDING", 0, None, None, None, None, at(17, 26, 49), "scontrol", "Resources",
                             partition="debug", time_limit="UNLIMITED")
    }


def test_scontrol_array_task_is_keyed_by_array_job_and_task_id():
    assert parse_scontrol_jobs(SCONTROL_ARRAY_TASK) == {
        "428_2": JobObservation("428_2", "RUNNING", 0, None, "vm", at(17, 30, 1), None, at(17, 29, 58), "scontrol",
                                partition="debug", time_limit="UNLIMITED")
    }


def test_scontrol_one_line_per_job_gives_every_job_in_order():
    text = "\n".join([SCONTROL_FAILED, SCONTROL_CANCELLED, SCONTROL_PENDING, SCONTROL_ARRAY_TASK]) + "\n"
    assert list(parse_scontrol_jobs(text)) == ["62", "64", "65", "428_2"]


@pytest.mark.parametrize("text", ["No jobs in the system", "No jobs in the system\n", "", "\n\n"])
def test_scontrol_without_jobs_is_empty(text):
    assert parse_scontrol_jobs(text) == {}


def test_a_users_listing_gives_each_array_task_a_line_and_a_query_by_id_one_record_of_unstarted_tasks():
    """A user's listing is read line by line for the ids wanted; asked by id, `job_units` reads records back per task."""
    assert squeue_argv(["1", "2"], user="alice")[2:5] == ["--array", "--states=all", "--user=alice"]
    assert squeue_argv(["1", "2"])[2:4] == ["--states=all", "--jobs=1,2"]


# --- job arrays --------------------------------------------------------------------

SCONTROL_PENDING_ARRAY = (
    "JobId=54516 ArrayJobId=54516 ArrayTaskId=0-4%2 ArrayTaskThrottle=2 JobName=d.sh UserId=root(0) "
    "JobState=PENDING Reason=JobHeldUser ExitCode=0:0 SubmitTime=2026-11-24T17:29:58 StartTime=Unknown "
    "EndTime=Unknown NodeList=(null)"
)


def test_scontrol_pending_array_record_stands_for_each_of_its_tasks():
    jobs = parse_scontrol_jobs(SCONTROL_PENDING_ARRAY)
    assert list(jobs) == ["54516_0", "54516_1", "54516_2", "54516_3", "54516_4"]
    assert {job.state for job in jobs.values()} == {"PENDING"}
    assert jobs["54516_3"].job_id == "54516_3"


@pytest.mark.parametrize(
    "text, ids",
    [
        ("7", [7]),
        ("0-4%2", [0, 1, 2, 3, 4]),
        ("1,3,5-9:2", [1, 3, 5, 7, 9]),
        ("2-3,x,8", [2, 3, 8]),
        ("", []),
    ],
)
def test_array_task_ids_read_slurms_array_notation(text, ids):
    assert array_task_ids(text) == ids


def test_squeue_with_array_lists_each_pending_task_under_its_own_id():
    text = "54516_0|PENDING|0||N/A|N/A|2026-11-24T17:29:58|\n54516_1|PENDING|0||N/A|N/A|2026-11-24T17:29:58|\n"
    assert list(parse_squeue(text, {"54516_1"})) == ["54516_1"]


@pytest.mark.parametrize(
    "text, size",
    [
        ("ClusterName=x\nMaxArraySize=50\n", 50),
        ("maxarraysize = 7 # site limit\n", 7),
        ("MaxArraySize            = 1001\n", 1001),
        ("# MaxArraySize=3\nMaxJobCount=10\n", None),
        ("", None),
    ],
)
def test_max_array_size_is_read_from_slurm_conf_or_scontrol_show_config(text, size):
    assert parse_max_array_size(text) == size


def test_max_array_size_comes_from_the_conf_file_without_asking_the_controller(tmp_path, monkeypatch):
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=c\nMaxArraySize=64\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # no scontrol to ask
    assert max_array_size(str(conf)) == 64


def test_max_array_size_without_conf_or_scontrol_is_slurms_default(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert max_array_size(str(tmp_path / "missing.conf")) == DEFAULT_MAX_ARRAY_SIZE == 1001


# --- signals, pending reasons and comments -----------------------------------------
# Captured on the one-node Slurm 22.05.8 with today's formats (Reason and Comment last). Job 252 ran
# `kill -9 $$` under a pbt-track-shaped comment; 217 was a held job of a launch, cancelled; 251 was
# requeued with `scontrol requeue` while running.

SQUEUE_WITH_REASONS = """\
217|CANCELLED|0||2026-11-29T19:53:13|2026-11-29T19:53:13|2026-11-29T19:53:07|JobHeldUser|debug|UNLIMITED|pbt-track:c5d3dcb713a54fd09852d339b86d6e89:1|
251|PENDING|0||2026-11-29T19:59:27|NONE|2026-11-29T19:57:26|BeginTime|debug|30:00|states-probe|
252|FAILED|9|vm|2026-11-29T19:57:45|2026-11-29T19:57:45|2026-11-29T19:57:45|JobLaunchFailure|gpu|1-00:00:00|pbt-track:0123abcd:7|
"""

SACCT_WITH_STEPS_AND_REQUEUE = """\
1_2|CANCELLED|0:15|vm|2026-11-29T19:51:53|2026-11-29T19:51:55|2026-11-29T19:51:52|None|
1_2.batch|CANCELLED|0:15|vm|2026-11-29T19:51:53|2026-11-29T19:51:55|2026-11-29T19:51:53||
217|CANCELLED by 0|0:0|None assigned|None|2026-11-29T19:53:13|2026-11-29T19:53:07|JobHeldUser|
251|REQUEUED|0:0|vm|2026-11-29T19:57:24|2026-11-29T19:57:25|2026-11-29T19:57:24|None|
251.batch|CANCELLED|0:15|vm|2026-11-29T19:57:24|2026-11-29T19:57:25|2026-11-29T19:57:24||
251|PENDING|0:0|None assigned|Unknown|Unknown|2026-11-29T19:57:26|None|
252|FAILED|0:9|vm|2026-11-29T19:57:45|2026-11-29T19:57:45|2026-11-29T19:57:45|None|
252.batch|CANCELLED|0:9|vm|2026-11-29T19:57:45|2026-11-29T19:57:45|2026-11-29T19:57:45||
"""


def nov29(hour, minute, second):
    return at(hour, minute, second, day=29)


TAG_217 = "pbt-track:c5d3dcb713a54fd09852d339b86d6e89:1"


def test_squeue_gives_the_signal_the_pending_reason_and_the_comment():
    assert parse_squeue(SQUEUE_WITH_REASONS) == {
        "217": JobObservation(
            "217", "CANCELLED", 0, None, None, nov29(19, 53, 13), nov29(19, 53, 13), nov29(19, 53, 7), "squeue",
            None, TAG_217, partition="debug", time_limit="UNLIMITED",
        ),
        "251": JobObservation(
            "251", "PENDING", 0, None, None, None, None, nov29(19, 57, 26), "squeue", "BeginTime", "states-probe",
            partition="debug", time_limit="30:00",
        ),
        "252": JobObservation(
            "252", "FAILED", 0, 9, "vm", nov29(19, 57, 45), nov29(19, 57, 45), nov29(19, 57, 45), "squeue",
            None, "pbt-track:0123abcd:7", partition="gpu", time_limit="1-00:00:00",
        ),
    }


def test_squeue_reason_is_kept_only_while_the_job_waits():
    """A cancelled job still shows why it had waited (JobHeldUser); that is no reason it waits now."""
    jobs = parse_squeue(SQUEUE_WITH_REASONS)
    assert (jobs["217"].reason, jobs["251"].reason, jobs["252"].reason) == (None, "BeginTime", None)


@pytest.mark.parametrize(
    ("state", "printed", "reason"),
    [
        ("PENDING", "JobHeldUser", "JobHeldUser"),
        ("REQUEUE_HOLD", "JobHeldAdmin", "JobHeldAdmin"),
        ("SPECIAL_EXIT", "JobHeldUser", "JobHeldUser"),
        ("RESV_DEL_HOLD", "ReservationDeleted", "ReservationDeleted"),
        ("PENDING", "None", None),
        ("RUNNING", "None", None),
        ("SUSPENDED", "Priority", None),
    ],
)
def test_squeue_reason_is_that_of_a_waiting_state(state, printed, reason):
    line = f"90|{state}|0|vm|N/A|N/A|2026-11-29T19:00:00|{printed}|c|"
    assert parse_squeue(line)["90"].reason == reason


def test_squeue_comment_holding_the_separator_does_not_shift_the_fields():
    """A stand-in comment: pbt-track's own tags have no '|', but a site's submit plugin may add one."""
    line = "91|RUNNING|0|vm|2026-11-29T19:00:00|NONE|2026-11-29T19:00:00|None|gpu|2:00:00|site|pbt-track:ab:3|x|"
    job = parse_squeue(line)["91"]
    assert (job.state, job.node, job.comment) == ("RUNNING", "vm", "site|pbt-track:ab:3|x")


def test_squeue_job_without_comment_has_none():
    line = "92|RUNNING|0|vm|2026-11-29T19:00:00|NONE|2026-11-29T19:00:00|None||"
    assert parse_squeue(line)["92"].comment is None


def test_sacct_failed_job_killed_by_sigkill_has_exit_code_0_and_signal_9():
    assert parse_sacct(SACCT_WITH_STEPS_AND_REQUEUE)["252"] == [
        JobObservation("252", "FAILED", 0, 9, "vm", nov29(19, 57, 45), nov29(19, 57, 45), nov29(19, 57, 45), "sacct")
    ]


def test_sacct_skips_step_rows_and_keeps_array_tasks_and_every_run_of_a_requeued_job():
    jobs = parse_sacct(SACCT_WITH_STEPS_AND_REQUEUE)
    assert list(jobs) == ["1_2", "217", "251", "252"]
    assert jobs["1_2"] == [
        JobObservation("1_2", "CANCELLED", 0, 15, "vm", nov29(19, 51, 53), nov29(19, 51, 55), nov29(19, 51, 52),
                       "sacct")
    ]
    assert jobs["251"] == [
        JobObservation("251", "REQUEUED", 0, None, "vm", nov29(19, 57, 24), nov29(19, 57, 25), nov29(19, 57, 24),
                       "sacct"),
        JobObservation("251", "PENDING", 0, None, None, None, None, nov29(19, 57, 26), "sacct"),
    ]


def test_sacct_pending_reason_and_comment_where_the_cluster_stores_comments():
    """A stand-in row: this one-node cluster does not store job comments (AccountingStoreFlags=job_comment)."""
    line = ("93|PENDING|0:0|None assigned|Unknown|Unknown|2026-11-29T19:00:00|Priority|a.pbt-ab-4|gpu|1-00:00:00|"
            "pbt-track:ab:4")
    assert parse_sacct(line) == {
        "93": [JobObservation("93", "PENDING", 0, None, None, None, None, nov29(19, 0, 0), "sacct", "Priority",
                              "pbt-track:ab:4", name="a.pbt-ab-4", partition="gpu", time_limit="1-00:00:00")]
    }


def test_sacct_reason_of_an_ended_job_is_dropped():
    row = "217|CANCELLED by 0|0:0|None assigned|None|2026-11-29T19:53:13|2026-11-29T19:53:07|JobHeldUser|"
    assert parse_sacct(row)["217"][0].reason is None


def test_sacct_lines_of_the_older_format_without_reason_and_comment_are_read():
    line = "62|FAILED|3:0|vm|2026-11-24T17:26:06|2026-11-24T17:26:06|2026-11-24T17:26:06"
    assert parse_sacct(line) == {"62": [SACCT_62]}


SCONTROL_SIGKILLED = (
    "JobId=252 JobName=wrap UserId=root(0) JobState=FAILED Reason=JobLaunchFailure ExitCode=0:9 "
    "SubmitTime=2026-11-29T19:57:45 StartTime=2026-11-29T19:57:45 EndTime=2026-11-29T19:57:45 NodeList=vm "
    "Comment=pbt-track:0123abcd:7"
)
SCONTROL_REQUEUED_PENDING = (
    "JobId=251 JobName=wrap UserId=root(0) JobState=PENDING Reason=BeginTime ExitCode=0:0 "
    "SubmitTime=2026-11-29T19:57:26 StartTime=2026-11-29T19:59:27 EndTime=Unknown NodeList= Comment=states-probe"
)


def test_scontrol_gives_the_signal_the_pending_reason_and_the_comment():
    """Fields of `scontrol -o show job 252` and `251` as captured, the others left out."""
    assert parse_scontrol_jobs(f"{SCONTROL_SIGKILLED}\n{SCONTROL_REQUEUED_PENDING}\n") == {
        "252": JobObservation("252", "FAILED", 0, 9, "vm", nov29(19, 57, 45), nov29(19, 57, 45), nov29(19, 57, 45),
                              "scontrol", None, "pbt-track:0123abcd:7"),
        "251": JobObservation("251", "PENDING", 0, None, None, None, None, nov29(19, 57, 26), "scontrol",
                              "BeginTime", "states-probe"),
    }


def test_a_users_listing_is_read_only_for_the_jobs_that_concern_the_record() -> None:
    """Tracked ids, pbt-track's tag, and the folder of a recorded script keep a line; other jobs are not parsed."""
    listing = (
        "7|RUNNING|0|vm|2026-11-29T10:00:00|N/A|2026-11-29T09:59:00|/home/u/other.sh|/home/u/o.out|None||\n"
        "8|RUNNING|0|vm|2026-11-29T10:00:00|N/A|2026-11-29T09:59:00|/home/u/x.sh|/home/u/x.out|None||\n"
        "9|PENDING|0||N/A|N/A|2026-11-29T09:59:00|/home/u/y.sh|/home/u/y.out|Priority|debug|30:00|pbt-track:ab:3|\n"
        "10|PENDING|0||N/A|N/A|2026-11-29T09:59:00|/w/logs/00_a.sh|/w/logs/00_a.sh-%j.out|Priority||\n"
    )

    jobs = parse_squeue(listing, {"8"}, SQUEUE_USER_FIELDS, ("pbt-track:", "/w/logs/"))

    assert sorted(jobs) == ["10", "8", "9"]
    assert (jobs["9"].comment, jobs["10"].command) == ("pbt-track:ab:3", "/w/logs/00_a.sh")


def test_a_users_listing_asked_only_for_states_leaves_out_the_script_and_output_fields():
    """cancel's settle needs no chain detection: the two longest fields of each line are not asked for."""
    argv = squeue_argv(["1"], user="alice")
    assert argv[4] == "--user=alice"
    assert "Command" not in argv[5] and "STDOUT" not in argv[5]
    assert "Command:|" in squeue_argv([], user="alice", scripts=True)[5]
