"""A job id sbatch answers that the record already gives a live submission is not given to a second one.

Two live submissions sharing one job id would take each other's states at
every sync, and a cancel of one would cancel the other. The scheduler here is
stand-in programs on PATH: a one-node Slurm never answers one job id twice,
nor starts its ids over as a cluster rebuilt from scratch does.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import query

PBT = "tests.fixtures.pbt_echo"


def _squeue(state: str) -> str:
    """Answers every job it is asked about in `state`; a listing of the user's jobs is 7765 alone, untagged."""
    return ("#!/bin/sh\n"
            'for arg; do case "$arg" in --jobs=*) ids="${arg#--jobs=}";; --user=*) user=1;; esac; done\n'
            f'if [ -n "$user" ]; then echo "7765|{state}|0|node1|N/A|N/A|N/A|||None||"; exit 0; fi\n'
            "IFS=,\n"
            f'for id in $ids; do echo "$id|{state}|0|node1|N/A|N/A|N/A|None||"; done\n')


@pytest.fixture
def same_id(in_repo: Path, fake_bin) -> None:  # type: ignore[no-untyped-def]
    fake_bin("sbatch", '#!/bin/sh\necho "7765"\n')
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")


def _submit(tmp_path: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["submit", "--run", PBT, "--backend", "slurm", "--workdir", str(tmp_path / "work"),
                                    "--pause_between", "0", "--train_dir", str(tmp_path / "t")])


def _submissions(work: Path) -> list[tuple]:
    return query(work / "pbt_tracker.db", "SELECT e.name, s.attempt, s.job_id, s.state FROM submissions AS s "
                 "JOIN experiments AS e ON e.id = s.experiment_id ORDER BY s.id")


def test_an_id_a_live_submission_holds_leaves_the_next_one_uncertain_and_without_it(  # type: ignore[no-untyped-def]
    same_id: None, tmp_path: Path, fake_bin
) -> None:
    work = tmp_path / "work"
    result = _submit(tmp_path)

    assert result.exit_code == 1
    held = ("sbatch answered job 7765, which the record already holds for 00_echo_pbt (SUBMITTED), so it is not "
            "taken as this one's")
    assert "Submitted 1 of 3 experiment(s): jobs 7765\n" in result.stdout
    for name in ("01_echo_pbt", "02_echo_pbt"):
        assert f"{name} may have been submitted ({held}); pbt-track will find out at the next sync\n" in result.stdout
    assert _submissions(work) == [("00_echo_pbt", 1, "7765", "SUBMITTED"), ("01_echo_pbt", 1, None, "SUBMIT_UNCERTAIN"),
                                  ("02_echo_pbt", 1, None, "SUBMIT_UNCERTAIN")]
    assert query(work / "pbt_tracker.db", "SELECT DISTINCT detail FROM state_changes WHERE state = 'SUBMIT_UNCERTAIN'"
                 ) == [(held,)]

    fake_bin("squeue", _squeue("RUNNING"))
    assert CliRunner().invoke(cli, ["sync", "--workdir", str(work)]).exit_code == 0
    assert [row[2:] for row in _submissions(work)] == [("7765", "RUNNING"), (None, "SUBMIT_UNCERTAIN"),
                                                       (None, "SUBMIT_UNCERTAIN")]


def test_an_id_held_by_a_live_submission_of_an_earlier_command_is_refused_too(  # type: ignore[no-untyped-def]
    same_id: None, tmp_path: Path, fake_bin
) -> None:
    """The record, not only the command's own answers, is asked who holds an id."""
    fake_bin("squeue", _squeue("RUNNING"))
    work = tmp_path / "work"
    assert _submit(tmp_path).exit_code == 1
    fake_bin("sbatch", '#!/bin/sh\necho "7765"\n')
    result = CliRunner().invoke(cli, ["resubmit-failed", "--include-uncertain", "--workdir", str(work)])

    assert "already holds for 00_echo_pbt (attempt 1, RUNNING)" in result.stdout
    assert [row for row in _submissions(work) if row[2] == "7765"] == [("00_echo_pbt", 1, "7765", "RUNNING")]


def test_an_id_an_ended_submission_held_goes_to_the_newer_one_and_sync_moves_only_that_one(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """A cluster whose ids started over: job 7764 ended NODE_FAIL (which sync still watches for a requeue),
    and the resubmission of its experiment is answered job 7764 again."""
    counter = tmp_path / "next-id"
    counter.write_text("7764")
    fake_bin("sbatch", f'#!/bin/sh\nid=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"\n')
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")
    work = tmp_path / "work"
    assert _submit(tmp_path).exit_code == 0
    fake_bin("squeue", _squeue("NODE_FAIL"))
    assert CliRunner().invoke(cli, ["sync", "--workdir", str(work)]).exit_code == 0
    assert _submissions(work)[0] == ("00_echo_pbt", 1, "7764", "NODE_FAIL")

    counter.write_text("7764")
    result = CliRunner().invoke(cli, ["resubmit-failed", "--experiment", "00_echo_pbt", "--no-sync",
                                      "--workdir", str(work)])
    assert result.exit_code == 0, result.output
    assert [row for row in _submissions(work) if row[0] == "00_echo_pbt"] == [
        ("00_echo_pbt", 1, "7764", "NODE_FAIL"), ("00_echo_pbt", 2, "7764", "SUBMITTED")]

    fake_bin("squeue", _squeue("RUNNING"))
    assert CliRunner().invoke(cli, ["sync", "--workdir", str(work)]).exit_code == 0
    assert [row for row in _submissions(work) if row[0] == "00_echo_pbt"] == [
        ("00_echo_pbt", 1, "7764", "NODE_FAIL"), ("00_echo_pbt", 2, "7764", "RUNNING")]
    assert query(work / "pbt_tracker.db", "SELECT state FROM state_changes WHERE submission_id = 1 ORDER BY id") == [
        ("SUBMITTING",), ("SUBMITTED",), ("NODE_FAIL",)]


def test_an_id_another_process_took_while_this_one_waited_on_sbatch_is_checked_again_as_it_is_written(  # type: ignore[no-untyped-def]
    in_repo: Path, tmp_path: Path, fake_bin
) -> None:
    """Two processes submitting at once into one workdir. The stand-in sbatch answers 7764, 7765, 7766; while it
    sends the second job, another `pbt-track submit` (of one_sleeper, with its own stand-in sbatch) is answered
    7765 and writes it down. The first process read who holds which id before that, so only the check made again
    in the transaction that writes its answers can see the other holder."""
    other_bin = tmp_path / "other-bin"
    other_bin.mkdir()
    (other_bin / "sbatch").write_text('#!/bin/sh\necho "7765"\n')
    (other_bin / "sbatch").chmod(0o755)
    work, calls = tmp_path / "work", tmp_path / "calls"
    other = shlex.join([str(Path(sys.executable).parent / "pbt-track"), "submit", "--run", "tests.fixtures.one_sleeper",
                        "--backend", "slurm", "--workdir", str(work), "--train_dir", str(tmp_path / "t2")])
    fake_bin("sbatch", f"""#!/bin/sh
echo x >> {calls}
case $(wc -l < {calls}) in
1) echo 7764 ;;
2) PATH={other_bin}:$PATH {other} > {tmp_path / 'other-output'} 2>&1 || exit 9; echo 7765 ;;
*) echo 7766 ;;
esac
""")
    fake_bin("sacct", "#!/bin/sh\nexit 0\n")

    result = _submit(tmp_path)

    assert "Submitted 1 of 1 experiment(s): jobs 7765\n" in (tmp_path / "other-output").read_text()
    held = ("sbatch answered job 7765, which the record already holds for 00_nap_see_1 (attempt 1, SUBMITTED), so it "
            "is not taken as this one's")
    assert result.exit_code == 1, result.output
    assert f"01_echo_pbt may have been submitted ({held}); pbt-track will find out at the next sync\n" in result.stdout
    assert "Submitted 2 of 3 experiment(s): jobs 7764 7766\n" in result.stdout
    assert _submissions(work) == [("00_echo_pbt", 1, "7764", "SUBMITTED"), ("01_echo_pbt", 1, None, "SUBMIT_UNCERTAIN"),
                                  ("02_echo_pbt", 1, "7766", "SUBMITTED"), ("00_nap_see_1", 1, "7765", "SUBMITTED")]
    assert query(work / "pbt_tracker.db", "SELECT detail FROM state_changes WHERE state = 'SUBMIT_UNCERTAIN'"
                 ) == [(held,)]
