"""The NGC backend: each rendered ngc command on record before it runs, its job id after, its states and cancel.

NGC's service and its CLI cannot be reached from here, so these tests put a
stand-in `ngc` first on PATH: a small Python program that logs its arguments
together with the states the record held while it ran (which proves each
command was on record, SUBMITTING, before it ran), keeps its jobs' statuses
in a JSON file the tests set, and prints what the real CLI prints, in the
forms tests/test_ngc_answers.py pins: `batch run` a job table with its `Id:`
line (JSON with --format_type json), `batch info`/`list` JSON, `batch kill`
one line per job. It refuses the jobs named in NGC_STANDIN_REFUSE the way the
CLI refuses a job (a message on stderr, exit 1), and prints no id with
NGC_STANDIN_NO_ID.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.launcher.run import main
from tests.conftest import query, read_with

RUN = "tests.fixtures.ngc_trio"
TEMPLATE = """ngc batch run \\
  --instance dgxa100.80g.1.norm \\
  --name "{{ name }}" \\
  --commandline "{{ experiment_cmd }}"
"""
STANDIN = f"""#!{sys.executable}
import json, os, sqlite3, sys
args = sys.argv[1:]
states = [row[0] for row in sqlite3.connect(os.environ["NGC_STANDIN_DB"]).execute(
    "SELECT state FROM submissions ORDER BY id")] if os.path.exists(os.environ["NGC_STANDIN_DB"]) else []
with open(os.environ["NGC_STANDIN_LOG"], "a") as log:
    log.write(json.dumps({{"argv": args, "states": states}}) + "\\n")
path = os.environ["NGC_STANDIN_JOBS"]
jobs = json.load(open(path)) if os.path.exists(path) else {{}}
def job(job_id):
    return {{"id": int(job_id), "jobDefinition": {{"name": jobs[job_id]["name"]}},
             "jobStatus": {{"status": jobs[job_id]["status"]}}}}
if args[:2] == ["batch", "run"]:
    name = args[args.index("--name") + 1]
    if name in os.environ.get("NGC_STANDIN_REFUSE", "").split(","):
        print("Error: Invalid instance type dgxa100.80g.1.norm", file=sys.stderr)
        sys.exit(1)
    job_id = str(4417013 + len(jobs))
    jobs[job_id] = {{"name": name, "status": "CREATED"}}
    json.dump(jobs, open(path, "w"))
    if "--format_type" in args and args[args.index("--format_type") + 1] == "json":
        print(json.dumps({{"job": job(job_id), "jobStatusHistory": []}}, indent=4))
    elif os.environ.get("NGC_STANDIN_NO_ID"):
        print("Job created.")
    else:
        print(" Job Information\\n   Id: " + job_id + "\\n   Name: " + name + "\\n Job Status\\n   Status: CREATED")
elif args[:2] == ["batch", "info"]:
    if args[2] not in jobs:
        print("Error: Job '" + args[2] + "' not found.", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({{"job": job(args[2]), "jobStatusHistory": []}}, indent=4))
elif args[:2] == ["batch", "list"]:
    shown = [job_id for job_id in jobs if job_id not in os.environ.get("NGC_STANDIN_UNLISTED", "").split(",")]
    print(json.dumps([job(job_id) for job_id in shown], indent=4))
elif args[:2] == ["batch", "kill"]:
    for job_id in args[2].split(","):
        if job_id in jobs and jobs[job_id]["status"] in ("CREATED", "QUEUED", "STARTING", "RUNNING"):
            jobs[job_id]["status"] = "KILLED_BY_USER"
            print("Submitted job kill request for Job ID: '" + job_id + "'")
        else:
            print("Killing of job ID: '" + job_id + "' failed: Job is already in a terminal state.", file=sys.stderr)
    json.dump(jobs, open(path, "w"))
"""
NOT_FOUND = "ngc was not found on PATH; install the NGC CLI, or use --ngc_print_only true"
IDS = ["4417013", "4417014", "4417015"]


def command(policy: int, train_dir: Path) -> list[str]:
    return ["ngc", "batch", "run", "--instance", "dgxa100.80g.1.norm", "--name", f"0{policy}_ant", "--commandline",
            f"python train.py task=Ant pbt.policy_idx={policy} experiment=0{policy}_ant "
            f"hydra.run.dir={train_dir}/trio/ant_"]


@pytest.fixture
def ngc(in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in ngc first on PATH; returns its log. Slurm's programs stay on PATH, unused."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "ngc"
    program.write_text(STANDIN)
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NGC_STANDIN_DB", str(tmp_path / "w" / "pbt_tracker.db"))
    monkeypatch.setenv("NGC_STANDIN_LOG", str(tmp_path / "ngc.log"))
    monkeypatch.setenv("NGC_STANDIN_JOBS", str(tmp_path / "ngc_jobs.json"))
    (tmp_path / "job.txt").write_text(TEMPLATE)
    return tmp_path / "ngc.log"


def calls(log: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def submit(tmp_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["submit", "--run", RUN, "--backend", "ngc", "--ngc_job_template",
                                    str(tmp_path / "job.txt"), "--workdir", str(tmp_path / "w"),
                                    "--train_dir", str(tmp_path / "t"), *extra])


def shown(policy: int, train_dir: Path, preview: bool = False) -> list[str]:
    import shlex

    return [f"Job name: 0{policy}_ant", f"{'Would run' if preview else 'Executing'} {shlex.join(command(policy, train_dir))}"]


def head(submit: bool = True) -> list[str]:
    """What both command lines print first; `pbt-track submit` starts with which Python read the run."""
    return [*([read_with("NGC")] if submit else []), "Starting processes with base cmds: ['python train.py task=Ant']",
            'NGC template: ngc batch run --instance dgxa100.80g.1.norm --name "{{ name }}" '
            '--commandline "{{ experiment_cmd }}"',
            "3 experiments to run"]


def db(tmp_path: Path) -> Path:
    return tmp_path / "w" / "pbt_tracker.db"


def test_print_only_records_each_command_as_print_only_and_runs_none(ngc: Path, tmp_path: Path) -> None:
    result = submit(tmp_path, "--ngc_print_only")
    t = tmp_path / "t"
    assert (result.exit_code, result.output.splitlines()) == (0, [
        *head(), *shown(0, t, preview=True), *shown(1, t, preview=True), *shown(2, t, preview=True),
        "Print only: 3 ngc commands shown, nothing run.", f"Recorded in {db(tmp_path)} (launch 1)", "Done!"])
    assert calls(ngc) == []
    assert query(db(tmp_path), "SELECT backend, print_only, template_text FROM launches") == [("ngc", 1, TEMPLATE)]
    assert query(db(tmp_path), "SELECT argv, state, script_id FROM submissions ORDER BY id") == [
        (json.dumps(command(policy, t)), "PRINT_ONLY", None) for policy in range(3)]


def test_each_command_is_on_record_before_it_runs_and_its_answer_after(ngc: Path, tmp_path: Path) -> None:
    result = submit(tmp_path)
    t = tmp_path / "t"
    assert (result.exit_code, result.output.splitlines()) == (0, [
        *head(), *shown(0, t), *shown(1, t), *shown(2, t), f"Recorded in {db(tmp_path)} (launch 1)",
        "Done!"])
    assert calls(ngc) == [
        {"argv": command(0, t)[1:], "states": ["SUBMITTING"] * 3},
        {"argv": command(1, t)[1:], "states": ["SUBMITTED", "SUBMITTING", "SUBMITTING"]},
        {"argv": command(2, t)[1:], "states": ["SUBMITTED", "SUBMITTED", "SUBMITTING"]},
    ]
    assert query(db(tmp_path), "SELECT argv, state, job_id, submit_returncode, submit_stdout, submit_stderr, "
                 "submitted_at IS NOT NULL FROM submissions ORDER BY id") == [
        (json.dumps(command(p, t)), "SUBMITTED", IDS[p], 0,
         f" Job Information\n   Id: {IDS[p]}\n   Name: 0{p}_ant\n Job Status\n   Status: CREATED\n", "", 1)
        for p in range(3)]
    assert query(db(tmp_path), "SELECT submission_id, state FROM state_changes ORDER BY id") == [
        (1, "SUBMITTING"), (2, "SUBMITTING"), (3, "SUBMITTING"), (1, "SUBMITTED"), (2, "SUBMITTED"),
        (3, "SUBMITTED")]


def test_a_refused_command_is_recorded_and_the_others_still_go(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NGC_STANDIN_REFUSE", "01_ant")
    result = submit(tmp_path)
    t = tmp_path / "t"
    failure = "ngc exited with 1: Error: Invalid instance type dgxa100.80g.1.norm"
    assert (result.exit_code, result.output.splitlines()) == (1, [
        *head(), *shown(0, t), *shown(1, t), f"ngc failed for 01_ant: {failure}", *shown(2, t),
        f"FAILED to submit 01_ant: {failure}", f"Recorded in {db(tmp_path)} (launch 1)",
        "1 of 3 experiments were not submitted. `pbt-track resubmit-failed` sends them again."])
    assert len(calls(ngc)) == 3
    assert query(db(tmp_path), "SELECT state, submit_returncode, submit_stderr FROM submissions ORDER BY id") == [
        ("SUBMITTED", 0, ""), ("SUBMIT_FAILED", 1, "Error: Invalid instance type dgxa100.80g.1.norm\n"),
        ("SUBMITTED", 0, "")]


def test_without_ngc_on_path_nothing_is_written_and_one_line_says_what_to_do(
    in_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "job.txt").write_text(TEMPLATE)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = submit(tmp_path)
    assert (result.exit_code, result.stdout, result.stderr) == (1, read_with("NGC") + "\n", f"Error: {NOT_FOUND}\n")
    argv = ["--run", RUN, "--backend", "ngc", "--ngc_job_template", str(tmp_path / "job.txt"), "--workdir",
            str(tmp_path / "w"), "--train_dir", str(tmp_path / "t")]
    assert main(argv) == 1
    assert capsys.readouterr() == ("", f"error: {NOT_FOUND}\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["job.txt"]


def test_the_launcher_prints_what_the_original_prints(
    ngc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = tmp_path / "t"
    assert main(["--run", RUN, "--backend", "ngc", "--ngc_job_template", str(tmp_path / "job.txt"), "--workdir",
                 str(tmp_path / "w"), "--train_dir", str(t)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        *head(submit=False), *shown(0, t), *shown(1, t), *shown(2, t), f"Recorded in {db(tmp_path)} (launch 1)",
        "Done!"]


def test_resubmit_failed_sends_the_recorded_command_again_as_the_next_attempt(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NGC_STANDIN_REFUSE", "01_ant")
    assert submit(tmp_path).exit_code == 1
    monkeypatch.delenv("NGC_STANDIN_REFUSE")
    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(tmp_path / "w")])
    assert (result.exit_code, result.output.splitlines()) == (0, shown(1, tmp_path / "t"))
    assert calls(ngc)[-1] == {"argv": command(1, tmp_path / "t")[1:],
                              "states": ["PENDING", "SUBMIT_FAILED", "PENDING", "SUBMITTING"]}
    assert query(db(tmp_path), "SELECT id, attempt, argv, state, origin, parent_submission_id FROM submissions "
                 "WHERE id = 4") == [(4, 2, json.dumps(command(1, tmp_path / "t")), "SUBMITTED", "resubmit", 2)]


def test_resubmit_failed_without_ngc_records_no_attempt(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NGC_STANDIN_REFUSE", "01_ant")
    assert submit(tmp_path).exit_code == 1
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(cli, ["resubmit-failed", "--workdir", str(tmp_path / "w"), "--no-sync"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {NOT_FOUND}\n")
    assert query(db(tmp_path), "SELECT count(*) FROM submissions") == [(3,)]


def test_logs_of_an_ngc_experiment_say_where_they_are_rather_than_wait(ngc: Path, tmp_path: Path) -> None:
    submit(tmp_path)
    result = CliRunner().invoke(cli, ["logs", "00_ant", "-f", "--workdir", str(tmp_path / "w")])
    assert (result.exit_code, result.output) == (1, "Error: 00_ant is an experiment of a ngc launch: NGC keeps the "
                                                    "logs of its jobs; read them with the ngc CLI or in NGC's web "
                                                    "interface\n")


def test_an_isaacgymenvs_run_description_goes_to_ngc_as_its_twin_does(
    ngc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in package with IsaacGymEnvs' module path (tests/fixtures/igestandin), through the stand-in ngc."""
    from tests.conftest import FIXTURES

    monkeypatch.syspath_prepend(str(FIXTURES / "igestandin"))

    def run(name: str, work: str, *extra: str) -> list[list[str]]:
        result = CliRunner().invoke(cli, ["submit", "--run", name, "--backend", "ngc", "--ngc_job_template",
                                          str(tmp_path / "job.txt"), "--workdir", str(tmp_path / work),
                                          "--train_dir", str(tmp_path / "t"), *extra])
        assert result.exit_code == 0, result.output
        rows = query(tmp_path / work / "pbt_tracker.db", "SELECT argv, state FROM submissions ORDER BY id")
        assert {state for _argv, state in rows} == {"PRINT_ONLY" if extra else "SUBMITTED"}
        return [json.loads(argv) for argv, _state in rows]

    foreign = run("isaacgymenvs.pbt.experiments.echo_pbt_standin", "w", "--ngc_print_only")
    assert foreign == run("tests.fixtures.standin_twins", "twin", "--ngc_print_only")  # pbt-track's own classes
    monkeypatch.setenv("NGC_STANDIN_DB", str(tmp_path / "sent" / "pbt_tracker.db"))
    assert run("isaacgymenvs.pbt.experiments.echo_pbt_standin", "sent") == foreign
    assert [["ngc", *call["argv"]] for call in calls(ngc)] == foreign
