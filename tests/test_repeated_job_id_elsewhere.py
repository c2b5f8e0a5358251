"""The one-holder rule for job ids beyond a single sbatch answer: arrays, jobs found by their tag, chained jobs, NGC.

A live submission's job id is not given to a second one, wherever the id
comes from; job A and the tasks A_N of array A count as one id, since
scancel and squeue of A reach every task. The scheduler is stand-in programs
on PATH: a one-node Slurm never answers one job id twice, and NGC cannot be
reached from here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import query

PBT = "tests.fixtures.pbt_echo"
SLEEPERS = "tests.fixtures.sleepers"
CHAINING = "#!/bin/bash\ntimeout $TIMEOUT $CMD\nif [[ $$? -eq 124 ]]; then\n    sbatch $FILENAME\nfi\n"


def _submit(tmp_path: Path, run: str, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["submit", "--run", run, "--backend", "slurm", "--workdir", str(tmp_path / "work"),
                                    "--pause_between", "0", "--train_dir", str(tmp_path / "t"), *extra])


def _submissions(work: Path) -> list[tuple]:
    return query(work / "pbt_tracker.db", "SELECT e.name, s.attempt, s.job_id, s.state FROM submissions AS s "
                 "JOIN experiments AS e ON e.id = s.experiment_id ORDER BY s.id")


@pytest.fixture
def answers(tmp_path: Path, fake_bin):  # type: ignore[no-untyped-def]
    """A stand-in sbatch answering consecutive job ids from the one given; sacct answers nothing."""
    counter = tmp_path / "next-id"
    fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"\n')
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")
    return lambda first: counter.write_text(str(first))


def _squeue(fake_bin, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Stand-in squeue: `lines` (the user-listing format, Command and STDOUT after SubmitTime) for a listing of
    the user's jobs; asked by job id, every job RUNNING."""
    listing = "".join(f"echo '{line}'\n" for line in lines)
    fake_bin("squeue", "#!/bin/sh\n"
             'for arg; do case "$arg" in --jobs=*) ids="${arg#--jobs=}";; --user=*) user=1;; esac; done\n'
             f'if [ -n "$user" ]; then\n{listing}exit 0; fi\n'
             'IFS=,\nfor id in $ids; do echo "$id|RUNNING|0|node1|N/A|N/A|N/A|None|debug|1:00|"; done\n')


def _comment(work: Path, sql: str) -> str:
    ((argv,),) = query(work / "pbt_tracker.db", sql)
    (tag,) = [arg.split("=", 1)[1] for arg in json.loads(argv) if arg.startswith("--comment=")]
    return str(tag)


@pytest.mark.parametrize("first_as_array, holder", [(False, "01_echo_pbt (attempt 1, SUBMITTED)"),
                                                    (True, "00_echo_pbt (as job 7765_0, attempt 1, SUBMITTED)")])
def test_an_array_answered_an_id_a_live_job_or_task_holds_leaves_every_task_uncertain_and_sync_keeps_them_so(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, answers, fake_bin, first_as_array: bool, holder: str
) -> None:
    """The first launch holds 7765 as a single job (its second) or as array 7765's tasks; then the sleepers' array
    is answered 7765 too. The squeue that follows lists the array's tag on job 7765: its tasks stay uncertain."""
    work = tmp_path / "work"
    answers(7764 if not first_as_array else 7765)
    assert _submit(tmp_path, PBT, *(["--slurm_array", "true"] if first_as_array else [])).exit_code == 0
    answers(7765)

    result = _submit(tmp_path, SLEEPERS, "--slurm_array", "true")

    held = f"sbatch answered job 7765, which the record already holds for {holder}, so it is not taken as this one's"
    assert result.exit_code == 1, result.output
    for name in ("00_sleep_see_1", "01_sleep_see_2"):
        assert f"{name} may have been submitted ({held}); pbt-track will find out at the next sync\n" in result.stdout
    assert _submissions(work)[3:] == [("00_sleep_see_1", 1, None, "SUBMIT_UNCERTAIN"),
                                      ("01_sleep_see_2", 1, None, "SUBMIT_UNCERTAIN")]
    assert query(work / "pbt_tracker.db", "SELECT job_id, submit_stderr FROM slurm_arrays ORDER BY id")[-1] == (
        None, held)
    assert query(work / "pbt_tracker.db", "SELECT submission_id, detail FROM state_changes "
                 "WHERE state = 'SUBMIT_UNCERTAIN' ORDER BY id") == [(4, held), (5, held)]

    tag = _comment(work, "SELECT argv FROM slurm_arrays ORDER BY id DESC LIMIT 1")
    _squeue(fake_bin, [f"7765|RUNNING|0|node1|N/A|N/A|N/A|||None|debug|1:00|{tag}"])
    synced = CliRunner().invoke(cli, ["sync", "--workdir", str(work)])

    assert synced.exit_code == 0, synced.output
    on = "as job 7765, attempt 1, SUBMITTED" if not first_as_array else "attempt 1, SUBMITTED"
    holder = f"{'01' if not first_as_array else '00'}_echo_pbt ({on})"
    assert (f"{tag} stays SUBMIT_UNCERTAIN: squeue lists its tag {tag} on job 7765_0, which the record already "
            f"holds for {holder}, so it is not taken as this one's") in synced.output
    assert _submissions(work)[3:] == [("00_sleep_see_1", 1, None, "SUBMIT_UNCERTAIN"),
                                      ("01_sleep_see_2", 1, None, "SUBMIT_UNCERTAIN")]


def test_a_single_job_answered_the_id_of_a_live_arrays_tasks_is_left_uncertain(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, answers
) -> None:
    """Array 4242's tasks hold 4242_0 to 4242_2; `scancel 4242` would stop them with a single job 4242."""
    work = tmp_path / "work"
    answers(4242)
    assert _submit(tmp_path, PBT, "--slurm_array", "true").exit_code == 0
    answers(4242)

    result = _submit(tmp_path, SLEEPERS)

    held = ("sbatch answered job 4242, which the record already holds for 00_echo_pbt (as job 4242_0, attempt 1, "
            "SUBMITTED), so it is not taken as this one's")
    assert result.exit_code == 1, result.output
    assert f"00_sleep_see_1 may have been submitted ({held}); pbt-track will find out at the next sync\n" in (
        result.stdout)
    assert _submissions(work)[3:] == [("00_sleep_see_1", 1, None, "SUBMIT_UNCERTAIN"),
                                      ("01_sleep_see_2", 1, "4243", "SUBMITTED")]


def test_a_lost_answers_job_found_by_its_tag_under_an_id_a_live_submission_holds_stays_uncertain(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """sbatch's answer for the second job is lost; squeue then lists its tag on job 7764, which the first holds.

    The job listed as 7764 carries the second's tag, so by the same rule it is not the first's either: the first
    is UNKNOWN until an answer names its job."""
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", f"""#!/bin/sh
id=$(cat {counter}); echo $((id + 1)) > {counter}
if [ "$id" = 7765 ]; then echo "sbatch: error: Batch job submission failed: Socket timed out" >&2; exit 1; fi
echo "$id"
""")
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")
    work = tmp_path / "work"
    assert _submit(tmp_path, PBT).exit_code == 1
    tag = _comment(work, "SELECT argv FROM submissions WHERE job_id IS NULL")
    _squeue(fake_bin, [f"7764|RUNNING|0|node1|N/A|N/A|N/A|||None|debug|1:00|{tag}",
                       "7766|RUNNING|0|node1|N/A|N/A|N/A|||None|debug|1:00|"])

    result = CliRunner().invoke(cli, ["sync", "--workdir", str(work)])

    assert result.exit_code == 0, result.output
    assert (f"{tag} stays SUBMIT_UNCERTAIN: squeue lists its tag {tag} on job 7764, which the record already holds "
            "for 00_echo_pbt (attempt 1, SUBMITTED), so it is not taken as this one's") in result.output
    assert _submissions(work) == [("00_echo_pbt", 1, "7764", "UNKNOWN"), ("01_echo_pbt", 1, None, "SUBMIT_UNCERTAIN"),
                                  ("02_echo_pbt", 1, "7766", "RUNNING")]


def test_a_job_sent_by_a_tracked_job_is_not_recorded_under_an_id_a_live_submission_holds(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, answers, fake_bin
) -> None:
    """Squeue lists three untagged jobs running 00_echo_pbt's script: 7765 (01_echo_pbt's job), 4242 (the base of
    the sleepers' live array) and 7767, which no one holds. Only 7767 is 00_echo_pbt's next attempt."""
    work = tmp_path / "work"
    template = tmp_path / "template.sh"
    template.write_text(CHAINING)
    answers(7764)
    assert _submit(tmp_path, PBT, "--slurm_timeout", "60", "--slurm_sbatch_template", str(template)).exit_code == 0
    answers(4242)
    assert _submit(tmp_path, SLEEPERS, "--slurm_array", "true").exit_code == 0
    ((script,),) = query(work / "pbt_tracker.db", "SELECT path FROM scripts WHERE path LIKE '%00_echo_pbt%'")
    _squeue(fake_bin, [f"{job}|RUNNING|0|node1|N/A|N/A|N/A|{script}|{script}.out|None|debug|1:00|"
                       for job in ("7765", "4242", "7767")])

    result = CliRunner().invoke(cli, ["sync", "--workdir", str(work)])

    assert result.exit_code == 0, result.output
    assert query(work / "pbt_tracker.db", "SELECT e.name, s.attempt, s.job_id, s.origin FROM submissions AS s "
                 "JOIN experiments AS e ON e.id = s.experiment_id WHERE s.attempt > 1") == [
        ("00_echo_pbt", 2, "7767", "chain")]
    assert [row[:3] for row in _submissions(work)[:5]] == [
        ("00_echo_pbt", 1, "7764"), ("01_echo_pbt", 1, "7765"), ("02_echo_pbt", 1, "7766"),
        ("00_sleep_see_1", 1, "4242_0"), ("01_sleep_see_2", 1, "4242_1")]


def test_an_ngc_job_id_a_live_submission_holds_is_not_given_to_the_next_one(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """A stand-in ngc that answers every `batch run` with job 4417013."""
    fake_bin("ngc", "#!/bin/sh\nprintf ' Job Information\\n   Id: 4417013\\n Job Status\\n   Status: CREATED\\n'\n")
    template = tmp_path / "job.txt"
    template.write_text('ngc batch run --instance dgxa100.80g.1.norm --name "{{ name }}" '
                        '--commandline "{{ experiment_cmd }}"\n')
    work = tmp_path / "work"

    result = CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.ngc_trio", "--backend", "ngc",
                                      "--ngc_job_template", str(template), "--workdir", str(work),
                                      "--train_dir", str(tmp_path / "t")])

    held = ("ngc answered job 4417013, which the record already holds for 00_ant (attempt 1, SUBMITTED), so it is "
            "not taken as this one's")
    assert result.exit_code == 1, result.output
    for name in ("01_ant", "02_ant"):
        assert f"{name} may have been submitted ({held})\n" in result.stdout
    assert _submissions(work) == [("00_ant", 1, "4417013", "SUBMITTED"), ("01_ant", 1, None, "SUBMIT_UNCERTAIN"),
                                  ("02_ant", 1, None, "SUBMIT_UNCERTAIN")]
    assert query(work / "pbt_tracker.db", "SELECT submission_id, detail FROM state_changes "
                 "WHERE state = 'SUBMIT_UNCERTAIN' ORDER BY id") == [(2, held), (3, held)]
