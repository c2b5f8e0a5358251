"""Reading the ngc CLI's answers: the forms pbt-track parses, pinned with literal outputs.

NGC's service cannot be reached from here; these outputs are written in the
forms the CLI prints: a labelled table by default, JSON with
`--format_type json` (a run's and an info's under "job", a list's as an array).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from pbt_tracker.backends.ngc.answers import STATUS_STATES, NgcJob, info_job, kill_answer, listed_jobs, run_job_id

RUN_TABLE = """--------------------------------------------------------
 Job Information
   Id: 4417013
   Name: 00_ant
   Number of Replicas: 1
   Job Type: BATCH
   Submitted By: Ada Lovelace
   Order: 50
   Priority: NORMAL
 Job Container Information
   Docker Image URL: nvidia/pytorch:24.01-py3
 Job Commands
   Command: python train.py task=Ant
 Datasets, Workspaces and Results
     Dataset ID: 88123
       Dataset Mount Point: /data
     Result Mount Point: /result
 Job Resources
   Instance Type: dgxa100.80g.1.norm
   Instance Details: 1 GPU, 30.0 CPU, 244 GB System Memory
   ACE: rl-ace
   Team: rl
 Job Status
   Created at: 2025-03-04 10:11:12 UTC
   Status: CREATED
   Preempt Class: RUNONCE
--------------------------------------------------------
"""


def job_json(job_id: int, status: str, **times: str) -> dict:  # type: ignore[type-arg]
    return {"id": job_id, "createdDate": "2025-03-04T10:11:12.000Z", "orgName": "acme", "teamName": "rl",
            "jobDefinition": {"name": "00_ant", "command": "python train.py task=Ant", "replicaCount": 1},
            "jobStatus": {"status": status, "statusType": "OK", **times}}


RUN_JSON = json.dumps({"job": job_json(4417013, "CREATED"), "jobStatusHistory": []}, indent=4)
INFO_JSON = json.dumps({"job": job_json(4417013, "RUNNING", startedAt="2025-03-04T10:12:40.500Z"),
                        "jobStatusHistory": [{"status": "QUEUED"}, {"status": "STARTING"}]}, indent=4)
INFO_TABLE = RUN_TABLE.replace("Status: CREATED", "Started at: 2025-03-04 10:12:40 UTC\n   Status: FINISHED_SUCCESS")
LIST_JSON = json.dumps([job_json(4417013, "FINISHED_SUCCESS", startedAt="2025-03-04T10:12:40Z",
                                 endedAt="2025-03-04T11:02:00Z"),
                        job_json(4417014, "KILLED_BY_USER"), job_json(4417015, "RESOURCE_RELEASED")], indent=4)


def test_a_run_table_gives_the_job_id_of_its_id_line_not_a_dataset_id() -> None:
    assert run_job_id(RUN_TABLE) == "4417013"


def test_a_run_in_json_gives_the_job_id() -> None:
    assert run_job_id(RUN_JSON) == "4417013"


@pytest.mark.parametrize("output", [
    "", "Job created.\n", "Error: Invalid org. Choose from ['acme']\n", RUN_TABLE.replace("   Id: 4417013\n", ""),
    json.dumps({"job": {"name": "00_ant"}}), json.dumps({"job": {"id": True}}), "{not json", "[1, 2]",
], ids=["empty", "no-table", "error", "no-id-line", "json-without-id", "json-bool-id", "broken-json", "json-list"])
def test_a_run_answer_without_a_readable_id_gives_none(output: str) -> None:
    assert run_job_id(output) is None


def test_an_info_in_json_gives_the_status_its_state_and_start() -> None:
    assert info_job(INFO_JSON, "4417013") == NgcJob("4417013", "RUNNING", "RUNNING",
                                                    datetime(2025, 3, 4, 10, 12, 40, 500000), None)


def test_an_info_table_gives_the_status_under_job_status() -> None:
    assert info_job(INFO_TABLE, "4417013") == NgcJob("4417013", "FINISHED_SUCCESS", "COMPLETED")


@pytest.mark.parametrize("output", [INFO_JSON, INFO_TABLE], ids=["json", "table"])
def test_an_info_about_another_job_is_no_answer(output: str) -> None:
    assert info_job(output, "4417099") is None


@pytest.mark.parametrize("output", ["", "Error: Job '4417013' not found.\n", "{}", RUN_TABLE.replace(
    "   Status: CREATED\n", "")], ids=["empty", "not-found", "empty-json", "no-status"])
def test_an_info_without_a_status_is_no_answer(output: str) -> None:
    assert info_job(output, "4417013") is None


def test_a_list_gives_each_job_by_id_with_its_times_and_an_unmapped_status_as_no_state() -> None:
    assert listed_jobs(LIST_JSON) == {
        "4417013": NgcJob("4417013", "FINISHED_SUCCESS", "COMPLETED", datetime(2025, 3, 4, 10, 12, 40),
                          datetime(2025, 3, 4, 11, 2)),
        "4417014": NgcJob("4417014", "KILLED_BY_USER", "CANCELLED"),
        "4417015": NgcJob("4417015", "RESOURCE_RELEASED", None),
    }


@pytest.mark.parametrize("output", ["", "[]", "Error: timed out\n", RUN_JSON])
def test_a_list_that_shows_no_jobs_gives_none(output: str) -> None:
    assert listed_jobs(output) == {}


def test_a_kill_answer_is_read_job_by_job() -> None:
    stdout = "Submitted job kill request for Job ID: '4417013'\n"
    stderr = "Killing of job ID: '4417014' failed: Job '4417014' is already in a terminal state.\n"
    assert kill_answer(stdout, stderr) == (["4417013"], {"4417014": "Job '4417014' is already in a terminal state."})


def test_every_status_ngc_prints_is_mapped_or_named_as_saying_nothing() -> None:
    """The statuses of NGC's job status enum: each is a state, or one of the two that say nothing of the run."""
    enum = ["UNKNOWN", "CREATED", "PENDING_TERMINATION", "RUNNING", "KILLED_BY_USER", "KILLED_BY_ADMIN",
            "FAILED_RUN_LIMIT_EXCEEDED", "FAILED", "FINISHED_SUCCESS", "QUEUED", "CANCELED", "TASK_LOST", "PREEMPTED",
            "PREEMPTED_BY_ADMIN", "STARTING", "KILLED_BY_SYSTEM", "PENDING_STORAGE_CREATION", "RESOURCE_GRANTED",
            "RESOURCE_GRANT_DENIED", "RESOURCE_CONSUMPTION_REQUEST_IN_PROGRESS", "RESOURCE_LIMIT_EXCEEDED",
            "RESOURCE_RELEASED", "INFINITY_POOL_MISSING", "IM_INTERNAL_ERROR", "REQUESTING_RESOURCE"]
    assert sorted(set(enum) - set(STATUS_STATES)) == ["RESOURCE_RELEASED", "UNKNOWN"]
    assert set(STATUS_STATES) <= set(enum)
    assert {STATUS_STATES[s] for s in ("FINISHED_SUCCESS", "FAILED", "KILLED_BY_USER", "QUEUED", "RUNNING")} == {
        "COMPLETED", "FAILED", "CANCELLED", "PENDING", "RUNNING"}
