"""The launcher's command line, without a cluster: print-only launches, and fake sbatch for failures.

Launches that really reach Slurm are in tests/slurm/.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from pbt_tracker.launcher.run import main
from tests.conftest import FIXTURES, PYTHON, REPO_ROOT, file_digest, query
from tests.test_claim_lines import expected_claim

PBT = "tests.fixtures.pbt_echo"


def launch(*argv: str) -> int:
    return main(list(argv))


def test_print_only_writes_and_records_every_script_but_submits_nothing(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-slurm-here"))
    work = tmp_path / "work"
    code = launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(work),
                  "--slurm_print_only", "true", "--train_dir", str(tmp_path / "train"))
    assert code == 0
    out = capsys.readouterr().out
    script = work / "sbatch_00_echo_pbt.sh"
    assert (
        f"Would run sbatch --job-name=00_echo_pbt --gres=gpu:1 -c 16 --parsable --output {work}/sbatch_00_echo_pbt.sh-slurm-%j.out {script}"
        in out.splitlines()
    )
    assert not any(line.startswith("Executing") for line in out.splitlines())
    assert "Print only: 3 sbatch scripts written, nothing submitted." in out
    assert f"Recorded in {work / 'pbt_tracker.db'} (launch 1)" in out

    db = work / "pbt_tracker.db"
    assert query(db, "SELECT run_name, run_module, backend, print_only FROM launches") == [
        ("echo_pbt", PBT, "slurm", 1)
    ]
    experiments = query(db, "SELECT position, name, base_name, cmd, params, train_dir FROM experiments ORDER BY id")
    assert [row[1] for row in experiments] == ["00_echo_pbt", "01_echo_pbt", "02_echo_pbt"]
    assert experiments[1][3] == (
        "python -c \"import sys; print('policy args:', ' '.join(sys.argv[1:]))\" pbt.num_policies=3 "
        f"pbt.policy_idx=1 experiment=01_echo_pbt hydra.run.dir={tmp_path / 'train'}/echo_pbt/echo_pbt_"
    )
    assert json.loads(experiments[1][4]) == {"pbt.policy_idx": 1}
    assert query(db, "SELECT DISTINCT state, job_id, attempt FROM submissions") == [("PRINT_ONLY", None, 1)]
    (path, text, digest), *_ = query(db, "SELECT path, text, sha256 FROM scripts ORDER BY id")
    assert path == str(script) and script.read_text() == text and file_digest(script) == digest
    assert text.endswith(shlex.join(shlex.split(experiments[0][3])) + "\n")  # its words, as a local process gets them
    assert "scancel" not in (work / "scancel.sh").read_text().split("\n", 2)[2]


def test_launcher_runs_as_a_module_from_the_command_line(tmp_path: Path) -> None:
    work = tmp_path / "work"
    done = subprocess.run(
        [PYTHON, "-m", "pbt_tracker.launcher.run", "--run", PBT, "--backend", "slurm",
         "--slurm_workdir", str(work), "--slurm_print_only", "true", "--train_dir", str(tmp_path / "t")],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in work.glob("sbatch_*.sh")) == [
        "sbatch_00_echo_pbt.sh", "sbatch_01_echo_pbt.sh", "sbatch_02_echo_pbt.sh"
    ]


@pytest.mark.parametrize(
    "backend, listed, absent",
    [("slurm", "--slurm_array", "--max_parallel"), ("processes", "--max_parallel", "--slurm_array")],
)
def test_module_help_lists_the_flags_of_the_chosen_backend(backend: str, listed: str, absent: str) -> None:
    done = subprocess.run([PYTHON, "-m", "pbt_tracker.launcher.run", "--backend", backend, "--help"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert listed in done.stdout and absent not in done.stdout


def test_user_template_gets_every_variable(in_repo: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    assert launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(work), "--slurm_print_only", "true",
                  "--slurm_sbatch_template", str(FIXTURES / "echo_template.sh"), "--slurm_partition", "gpu",
                  "--slurm_gpus_per_job", "2", "--slurm_cpus_per_gpu", "3", "--slurm_timeout", "1:00:00",
                  "--train_dir", str(tmp_path / "t")) == 0
    text = (work / "sbatch_02_echo_pbt.sh").read_text()
    ((launch_uuid,),) = query(work / "pbt_tracker.db", "SELECT uuid FROM launches")
    claim = expected_claim(f"{tmp_path}/t/echo_pbt/echo_pbt_/.pbt-track/02_echo_pbt.lock", str(work), launch_uuid,
                           "02_echo_pbt", f"{work}/sbatch_02_echo_pbt.sh")
    assert text.splitlines()[:9] == [
        "#!/bin/bash",
        "#SBATCH --job-name=pbt-track-test",
        "#SBATCH --time=1:00:00",
        *claim.splitlines(),
        f"# script: {work}/sbatch_02_echo_pbt.sh, gpus: 2, cpus: 6, partition: '-p gpu '",
        'echo "running $SLURM_JOB_ID"',
    ]
    argv = json.loads(query(work / "pbt_tracker.db", "SELECT argv FROM submissions WHERE id = 3")[0][0])
    assert argv == ["sbatch", "-p", "gpu", "--gres=gpu:2", "-c", "6", "--parsable", "--output",
                    f"{work}/sbatch_02_echo_pbt.sh-slurm-%j.out", str(work / "sbatch_02_echo_pbt.sh")]


def test_template_without_cmd_is_used_with_a_warning(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "bare.sh"
    template.write_text("#!/bin/bash\necho nothing\n")
    assert launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(tmp_path / "w"),
                  "--slurm_print_only", "true", "--slurm_sbatch_template", str(template),
                  "--train_dir", str(tmp_path / "t")) == 0
    err = capsys.readouterr().err
    assert f"Warning: template {template} has no $CMD: its jobs will not run the experiments' commands\n" == err
    ((launch_uuid,),) = query(tmp_path / "w" / "pbt_tracker.db", "SELECT uuid FROM launches")
    claim = expected_claim(f"{tmp_path}/t/echo_pbt/echo_pbt_/.pbt-track/00_echo_pbt.lock", str(tmp_path / "w"),
                           launch_uuid, "00_echo_pbt", f"{tmp_path}/w/sbatch_00_echo_pbt.sh")
    assert (tmp_path / "w" / "sbatch_00_echo_pbt.sh").read_text() == f"#!/bin/bash\n{claim}echo nothing\n"


# --- failures a one-node Slurm cannot produce on demand: fake sbatch programs -------------------

COUNTING_SBATCH = """#!/bin/sh
# fake sbatch: the second call is refused, the others get ids 501, 503, ...
n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$0.count"
printf '%s\\n' "$@" > "$0.argv.$n"
if [ $n = 2 ]; then echo "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy" >&2; exit 1; fi
echo "50$n;clusterB"
"""


def test_failed_sbatch_is_recorded_and_the_other_experiments_still_go_out(
    in_repo: Path, tmp_path: Path, fake_bin, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fake sbatch: a QOS refusal in the middle of a launch and the `id;cluster` form."""
    sbatch = fake_bin("sbatch", COUNTING_SBATCH)
    work = tmp_path / "work dir"
    code = launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(work), "--pause_between", "0",
                  "--train_dir", str(tmp_path / "t"))
    assert code == 1
    out = capsys.readouterr().out
    assert "Jobs queued: ['501', '503']" in out
    assert (
        "FAILED to submit 01_echo_pbt: sbatch exited with 1: "
        "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy"
    ) in out.splitlines()
    assert "1 of 3 experiments were not submitted." in out

    db = work / "pbt_tracker.db"
    assert query(db, "SELECT state, job_id, cluster, submit_returncode FROM submissions ORDER BY id") == [
        ("SUBMITTED", "501", "clusterB", 0),
        ("SUBMIT_FAILED", None, None, 1),
        ("SUBMITTED", "503", "clusterB", 0),
    ]
    assert query(db, "SELECT submit_stderr FROM submissions WHERE id = 2") == [
        ("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy\n",)
    ]
    history = query(db, "SELECT submission_id, state FROM state_changes ORDER BY id")
    assert history == [(1, "SUBMITTING"), (2, "SUBMITTING"), (3, "SUBMITTING"),
                       (1, "SUBMITTED"), (2, "SUBMIT_FAILED"), (3, "SUBMITTED")]
    assert (work / "scancel.sh").read_text().splitlines()[-1] == "scancel 501 503"
    assert os.access(work / "scancel.sh", os.X_OK)
    # paths with spaces reach sbatch as single arguments
    assert Path(f"{sbatch}.argv.1").read_text().splitlines()[-1] == str(work / "sbatch_00_echo_pbt.sh")


def test_sbatch_output_without_a_job_id_is_an_uncertain_failure(in_repo: Path, tmp_path: Path, fake_bin) -> None:
    """Fake sbatch: a site wrapper that answers with a notice instead of a job id.

    sbatch exited 0, so the job may exist: it is not recorded as refused (which resubmit-failed would send again).
    """
    fake_bin("sbatch", "#!/bin/sh\necho 'Your job is held for review'\n")
    work = tmp_path / "w"
    assert launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(work), "--pause_between", "0",
                  "--train_dir", str(tmp_path / "t")) == 1
    assert query(work / "pbt_tracker.db", "SELECT DISTINCT state, submit_stderr FROM submissions") == [
        ("SUBMIT_UNCERTAIN", "sbatch printed no job id: Your job is held for review")
    ]


def test_a_second_launch_keeps_the_first_launchs_jobs_in_scancel(in_repo: Path, tmp_path: Path, fake_bin) -> None:
    """Fake sbatch: ids from a counter, so that two launches can be told apart without a cluster."""
    fake_bin("sbatch", "#!/bin/sh\nn=$(cat \"$0.n\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$0.n\"; echo 70$n\n")
    work = tmp_path / "w"
    for suffix in ("", "again"):
        assert launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(work), "--pause_between", "0",
                      "--train_dir", str(tmp_path / "t"), "--experiment_suffix", suffix) == 0
    assert (work / "scancel.sh").read_text().splitlines()[-1] == "scancel 701 702 703 704 705 706"
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM launches") == [(2,)]


# --- bad input: one line, non-zero exit, nothing written ----------------------------------------

BAD_INPUTS = [
    (["--run", "tests.fixtures.does_not_exist"],
     "cannot import run module tests.fixtures.does_not_exist: no module named tests.fixtures.does_not_exist; "
     "pass a module importable from the current directory (a.b.c) or the path of a .py file, or, where it is "
     "installed in the training environment, that environment's interpreter with --python"),
    (["--run", "tests.fixtures.no_description"],
     "run module tests.fixtures.no_description defines no RUN_DESCRIPTION; assign a RunDescription to it "
     "(see pbt_tracker.examples)"),
    (["--run", "tests.fixtures.wrong_type"],
     "RUN_DESCRIPTION in tests.fixtures.wrong_type is a dict without run_name, experiments, experiment_arg_name, "
     "experiment_dir_arg_name, customize_experiment_name, param_prefix, generate_experiments; "
     "build it with pbt_tracker.run_description.RunDescription (or IsaacGymEnvs' RunDescription)"),
    (["--run", "tests.fixtures.fails_on_import"],
     "run module tests.fixtures.fails_on_import failed while importing (RuntimeError: cluster config not found); "
     "run `python -c 'import tests.fixtures.fails_on_import'` to see the traceback"),
    (["--run", "tests.fixtures.empty_run"],
     "run empty describes no experiments; add an Experiment to RUN_DESCRIPTION"),
    (["--run", "tests.fixtures.duplicate_names"],
     "run dups has two experiments named 00_same; give its Experiments different names"),
    (["--run", "tests.fixtures.slash_in_name"],
     "experiment name '00_../../etc/evil' cannot be used as a file name; use letters, digits and ._+=,:@- only "
     "(rename the Experiment or change its parameter values)"),
    ([], "no run given; pass --run with a module that defines RUN_DESCRIPTION, e.g. --run pbt_tracker.examples.ant_pbt"),
    (["--run", PBT, "--slurm_sbatch_template", "/nonexistent/template.sh"],
     "template /nonexistent/template.sh does not exist; pass an existing file to --slurm_sbatch_template"),
    (["--run", PBT, "--slurm_sbatch_template", str(FIXTURES / "unknown_var_template.sh")],
     "template {fixtures}/unknown_var_template.sh uses $SLURM_JOB_ID, which is not one of $CMD $FILENAME "
     "$PARTITION $GPU $CPU $TIMEOUT $PBT_TRACK $NAME; write $$SLURM_JOB_ID if the job script itself should see $SLURM_JOB_ID"),
    (["--run", PBT, "--slurm_timeout", "2 hours", "--slurm_sbatch_template", str(FIXTURES / "echo_template.sh")],
     "--slurm_timeout '2 hours' cannot go to #SBATCH --time at line 3 of template {fixtures}/echo_template.sh: "
     "give a Slurm time such as 90 (minutes), 24:00:00 or 1-00:00:00 (0 means no limit)"),
    (["--run", PBT, "--slurm_gpus_per_job", "-1"], "--slurm_gpus_per_job must be 0 or more, not -1"),
    (["--run", PBT, "--slurm_cpus_per_gpu", "0"], "--slurm_cpus_per_gpu must be 1 or more, not 0"),
    (["--run", PBT, "--slurm_partition", "gpu; rm -rf ~"],
     "--slurm_partition 'gpu; rm -rf ~' is not a partition name; use names as `sinfo -s` lists them, "
     "separated by commas"),
    (["--run", PBT, "--pause_between", "-2"], "--pause_between must be 0 or more seconds, not -2"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_INPUTS, ids=[m[:40] for _, m in BAD_INPUTS])
def test_bad_input_is_one_line_and_leaves_the_workdir_untouched(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    work = tmp_path / "work"
    code = launch("--backend", "slurm", "--slurm_workdir", str(work), "--slurm_print_only", "true", *extra)
    assert code == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: {message.format(fixtures=FIXTURES)}\n"
    assert not work.exists()


def test_missing_workdir_option_is_explained(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert launch("--run", PBT, "--backend", "slurm") == 1
    assert capsys.readouterr().err == (
        "error: the Slurm backend needs a workdir; pass --slurm_workdir DIR (or --workdir DIR)\n"
    )


def test_no_sbatch_on_path_is_explained_before_anything_is_recorded(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(tmp_path / "w"))
    assert code == 1
    assert capsys.readouterr().err == (
        "error: sbatch was not found on PATH; run this on a Slurm login node, "
        "or use --slurm_print_only true to only write the scripts\n"
    )
    assert not (tmp_path / "w").exists()


def test_a_failed_launch_leaves_an_existing_database_byte_for_byte(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "w"
    assert launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(work), "--slurm_print_only", "true",
                  "--train_dir", str(tmp_path / "t")) == 0
    before = {p.name: file_digest(p) for p in work.iterdir()}
    assert launch("--run", "tests.fixtures.duplicate_names", "--backend", "slurm", "--slurm_workdir", str(work)) == 1
    assert {p.name: file_digest(p) for p in work.iterdir()} == before


def test_workdir_that_is_a_file_is_refused(in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "w").write_text("not a dir")
    assert launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(tmp_path / "w"),
                  "--slurm_print_only", "true") == 1
    assert capsys.readouterr().err == (
        f"error: workdir {tmp_path / 'w'} is a file, not a directory; choose another --workdir\n"
    )


def test_a_timeout_the_template_does_not_use_is_pointed_out(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert launch("--run", PBT, "--backend", "slurm", "--slurm_workdir", str(tmp_path / "w"),
                  "--slurm_print_only", "true", "--slurm_timeout", "24:00:00", "--train_dir", str(tmp_path / "t")) == 0
    assert capsys.readouterr().err == (
        "Warning: --slurm_timeout 24:00:00 has no effect: the sbatch template has no $TIMEOUT "
        "(add `#SBATCH --time=$TIMEOUT` to a template of your own)\n"
    )


def test_a_script_that_cannot_be_written_fails_its_experiment_alone(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "w" / "sbatch_01_echo_pbt.sh").mkdir(parents=True)  # a directory where the script should go
    code = launch("--run", PBT, "--backend", "slurm", "--workdir", str(tmp_path / "w"), "--slurm_print_only", "true",
                  "--train_dir", str(tmp_path / "t"))
    assert code == 1
    db = tmp_path / "w" / "pbt_tracker.db"
    assert query(db, "SELECT e.name, s.state, s.submit_stderr FROM submissions s JOIN experiments e "
                     "ON e.id = s.experiment_id ORDER BY e.position") == [
        ("00_echo_pbt", "PRINT_ONLY", None),
        ("01_echo_pbt", "SUBMIT_FAILED", f"cannot write {tmp_path}/w/sbatch_01_echo_pbt.sh: Is a directory"),
        ("02_echo_pbt", "PRINT_ONLY", None),
    ]
    assert f"FAILED to submit 01_echo_pbt: cannot write {tmp_path}/w/sbatch_01_echo_pbt.sh: Is a directory" \
        in capsys.readouterr().out.splitlines()
