"""What pbt-track writes for Slurm: job scripts, sbatch argv, scancel.sh, pinned on literal text."""

import re
from pathlib import Path

import pytest

from pbt_tracker.backends.slurm.scancel_sh import compact_job_ids, scancel_script
from pbt_tracker.backends.slurm.script import (
    SBATCH_TEMPLATE_DEFAULT,
    SlurmResources,
    check_template,
    log_path,
    render_script,
    sbatch_argv,
    script_path,
    tail_hint,
)
from pbt_tracker.errors import RunDescriptionError, TemplateError
from pbt_tracker.launch.specs import check_experiment_name

ANT_CMD = "python -m isaacgymenvs.train task=Ant headless=True pbt.policy_idx=0 experiment=00_ant_v1"

ALL_VARIABLES_TEMPLATE = (
    "#!/bin/bash\n"
    "#SBATCH $PARTITION--gres=gpu:$GPU -c $CPU --time=$TIMEOUT\n"
    "# script: $FILENAME\n"
    "echo cost: $$5 for $${USER}\n"
    "$CMD\n"
)


# --- the built-in template ----------------------------------------------------


def test_default_template_is_bash_activating_a_conda_env_in_the_project_dir():
    assert SBATCH_TEMPLATE_DEFAULT == "#!/bin/bash\nconda activate conda_env_name\ncd ~/project\n"


def test_default_template_gets_the_command_on_its_own_last_line():
    text = render_script(
        SBATCH_TEMPLATE_DEFAULT,
        cmd=ANT_CMD,
        filename="/w/sbatch_00_ant_v1.sh",
        resources=SlurmResources(),
        append_cmd=True,
    )

    assert text == (
        "#!/bin/bash\n"
        "conda activate conda_env_name\n"
        "cd ~/project\n"
        "python -m isaacgymenvs.train task=Ant headless=True pbt.policy_idx=0 experiment=00_ant_v1\n"
    )


def test_default_template_without_append_cmd_runs_nothing_but_the_template():
    text = render_script(
        SBATCH_TEMPLATE_DEFAULT, cmd=ANT_CMD, filename="/w/s.sh", resources=SlurmResources()
    )

    assert text == "#!/bin/bash\nconda activate conda_env_name\ncd ~/project\n"


def test_appended_command_starts_a_new_line_when_the_template_lacks_a_final_newline():
    text = render_script(
        "#!/bin/bash\ncd ~/project", cmd="echo hi", filename="/w/s.sh",
        resources=SlurmResources(), append_cmd=True,
    )

    assert text == "#!/bin/bash\ncd ~/project\necho hi\n"


# --- user templates -------------------------------------------------------------


def test_user_template_gets_all_six_variables_with_a_partition():
    resources = SlurmResources(gpus_per_job=2, cpus_per_gpu=8, partition="gpu", timeout="1-12:00")

    text = render_script(
        ALL_VARIABLES_TEMPLATE, cmd=ANT_CMD, filename="/w/sbatch_00_ant_v1.sh", resources=resources
    )

    assert text == (
        "#!/bin/bash\n"
        "#SBATCH -p gpu --gres=gpu:2 -c 16 --time=1-12:00\n"
        "# script: /w/sbatch_00_ant_v1.sh\n"
        "echo cost: $5 for ${USER}\n"
        "python -m isaacgymenvs.train task=Ant headless=True pbt.policy_idx=0 experiment=00_ant_v1\n"
    )


def test_user_template_gets_an_empty_partition_when_none_is_given():
    resources = SlurmResources(gpus_per_job=1, cpus_per_gpu=4, partition=None, timeout="0")

    text = render_script(ALL_VARIABLES_TEMPLATE, cmd="echo hi", filename="/w/s.sh", resources=resources)

    assert text == (
        "#!/bin/bash\n"
        "#SBATCH --gres=gpu:1 -c 4 --time=0\n"
        "# script: /w/s.sh\n"
        "echo cost: $5 for ${USER}\n"
        "echo hi\n"
    )


def test_user_template_with_cmd_and_append_cmd_runs_the_command_twice():
    text = render_script(
        "#!/bin/sh\n$CMD\n", cmd="echo hi", filename="/w/s.sh", resources=SlurmResources(), append_cmd=True
    )

    assert text == "#!/bin/sh\necho hi\necho hi\n"


def test_command_goes_in_as_its_words_each_quoted_only_where_the_shell_would_read_it():
    """The words a local process gets; `name="my run"` is one word on both backends."""
    cmd = "python train.py name=\"my run\" tag='a b' 'x;y' 'it''s'"

    text = render_script("#!/bin/sh\n$CMD\n", cmd=cmd, filename="/w/s.sh", resources=SlurmResources())

    assert text == "#!/bin/sh\npython train.py 'name=my run' 'tag=a b' 'x;y' its\n"


@pytest.mark.parametrize(("cmd", "problem"), [
    ("python train.py msg='x'; echo foo", "';' outside quotes"),
    ("python train.py seed=$RANDOM", "'$' outside single quotes"),
    ('python train.py "seed=$RANDOM"', "'$' outside single quotes"),
    ("python train.py x=`id`", "'`' outside single quotes"),
    ("python train.py > out", "'>' outside quotes"),
    ("python ~/train.py", "'~' starting a word"),
    ("python train.py # note", "'#' starting a word"),
    ('python train.py "a\\$b"', "a backslash before '$' in double quotes"),
    ("python train.py a\\\nb", "a backslash before a line break"),
])
def test_a_command_the_shell_would_read_otherwise_is_refused_in_one_line(cmd, problem):
    with pytest.raises(RunDescriptionError) as refused:
        render_script(SBATCH_TEMPLATE_DEFAULT, cmd=cmd, filename="/w/s.sh", resources=SlurmResources(),
                      append_cmd=True)
    assert str(refused.value) == (
        f"the command {cmd!r} has {problem}, which a shell would read but an experiment's words carry as it is; "
        "put that part in single quotes ('...') to pass it on literally, or remove it")


def test_single_quoted_shell_text_is_passed_on_literally():
    text = render_script("#!/bin/sh\n$CMD\n", cmd="python t.py 'seed=$RANDOM; echo foo'", filename="/w/s.sh",
                         resources=SlurmResources())

    assert text == "#!/bin/sh\npython t.py 'seed=$RANDOM; echo foo'\n"


def test_zero_gpu_job_renders_gpu_0_and_cpus_per_gpu_cpus():
    resources = SlurmResources(gpus_per_job=0, cpus_per_gpu=6)

    text = render_script("$GPU $CPU\n", cmd="c", filename="f", resources=resources)

    assert text == "0 6\n"


# --- check_template -------------------------------------------------------------


def test_valid_template_gives_no_warning():
    assert check_template(ALL_VARIABLES_TEMPLATE, "my.sbatch") == []


def test_braced_variables_are_valid():
    assert check_template("#!/bin/sh\n${CMD} > ${FILENAME}.log\n", "my.sbatch") == []


def test_unknown_variable_in_template_names_the_variable_and_the_file():
    with pytest.raises(TemplateError) as excinfo:
        check_template("#!/bin/sh\ncd $HOME\n$CMD\n", "/site/my.sbatch")

    assert str(excinfo.value) == (
        "template /site/my.sbatch uses $HOME, which is not one of "
        "$CMD $FILENAME $PARTITION $GPU $CPU $TIMEOUT $PBT_TRACK $NAME; "
        "write $$HOME if the job script itself should see $HOME"
    )


def test_lowercase_variable_is_an_unknown_variable():
    with pytest.raises(
        TemplateError,
        match=re.escape("template t.sh uses $cmd, which is not one of $CMD $FILENAME $PARTITION $GPU $CPU $TIMEOUT $PBT_TRACK $NAME;"),
    ):
        check_template("$cmd\n", "t.sh")


def test_stray_dollar_in_template_names_line_and_column():
    with pytest.raises(TemplateError) as excinfo:
        check_template("cost: $ 5\n$CMD\n", "my.sbatch")

    assert str(excinfo.value) == (
        "template my.sbatch has a stray '$' at line 1, column 7; write $$ for a literal dollar sign"
    )


def test_stray_dollar_on_a_later_line_names_that_line():
    with pytest.raises(
        TemplateError,
        match=re.escape("template my.sbatch has a stray '$' at line 3, column 6; write $$ for a literal dollar sign"),
    ):
        check_template("#!/bin/sh\n$CMD\necho $1\n", "my.sbatch")


def test_unknown_variable_before_a_stray_dollar_is_still_a_template_error():
    with pytest.raises(TemplateError) as excinfo:
        check_template("$FOO cost $ 5\n$CMD\n", "my.sbatch")

    assert str(excinfo.value) == (
        "template my.sbatch has a stray '$' at line 1, column 11; write $$ for a literal dollar sign"
    )


def test_template_without_cmd_gives_one_warning():
    warnings = check_template("#!/bin/sh\nhostname\n", "my.sbatch")

    assert warnings == ["template my.sbatch has no $CMD: its jobs will not run the experiments' commands"]


def test_default_template_alone_warns_that_it_has_no_cmd():
    """The launcher appends the command itself, so it does not show this warning for the default."""
    assert check_template(SBATCH_TEMPLATE_DEFAULT, "default") == [
        "template default has no $CMD: its jobs will not run the experiments' commands"
    ]


# --- check_experiment_name -------------------------------------------------------


@pytest.mark.parametrize("name", ["00_ant_v1", "01_exp_p.p.idx_0", "00_lr_-0.1", "03_a+b=c,d:e@f"])
def test_names_generated_by_run_descriptions_are_accepted(name):
    assert check_experiment_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["a/b", "..", "../x", "a b", "a\nb", "00_ant_v1\n", "a'b", 'a"b', "a\x00b", "caf\u00e9", "", "-x", "a$b", "a`b"],
)
def test_names_that_escape_the_workdir_or_need_quoting_are_rejected(name):
    with pytest.raises(RunDescriptionError) as excinfo:
        check_experiment_name(name)

    assert str(excinfo.value) == (
        f"experiment name {name!r} cannot be used as a file name; use letters, digits and "
        "._+=,:@- only (rename the Experiment or change its parameter values)"
    )


def test_name_ending_in_a_newline_is_rejected():
    with pytest.raises(RunDescriptionError):
        check_experiment_name("00_ant_v1\n")


# --- paths and the sbatch command line ------------------------------------------


def test_script_path_is_sbatch_name_dot_sh_in_the_workdir():
    assert script_path(Path("/w/run"), "00_ant_v1") == Path("/w/run/sbatch_00_ant_v1.sh")


def test_log_path_is_a_slurm_pattern_next_to_the_script():
    script = script_path(Path("/w/run"), "00_ant_v1")

    assert log_path(Path("/w/run"), script) == "/w/run/sbatch_00_ant_v1.sh-slurm-%j.out"


def test_percent_in_an_experiment_name_is_rejected_because_slurm_would_expand_it_in_the_log_name():
    with pytest.raises(RunDescriptionError):
        check_experiment_name("00_lr_5%x")


def test_sbatch_argv_without_partition():
    script = Path("/w/run/sbatch_00_ant_v1.sh")

    argv = sbatch_argv(script, "/w/run/sbatch_00_ant_v1.sh-slurm-%j.out", SlurmResources())

    assert argv == [
        "sbatch",
        "--gres=gpu:1",
        "-c",
        "16",
        "--parsable",
        "--output",
        "/w/run/sbatch_00_ant_v1.sh-slurm-%j.out",
        "/w/run/sbatch_00_ant_v1.sh",
    ]


def test_sbatch_argv_with_partition_puts_p_first():
    script = Path("/w/run/sbatch_00_ant_v1.sh")
    resources = SlurmResources(gpus_per_job=2, cpus_per_gpu=8, partition="gpu", timeout="10:00")

    argv = sbatch_argv(script, "/w/run/sbatch_00_ant_v1.sh-slurm-%j.out", resources)

    assert argv == [
        "sbatch",
        "-p",
        "gpu",
        "--gres=gpu:2",
        "-c",
        "16",
        "--parsable",
        "--output",
        "/w/run/sbatch_00_ant_v1.sh-slurm-%j.out",
        "/w/run/sbatch_00_ant_v1.sh",
    ]


def test_sbatch_argv_for_a_zero_gpu_job_asks_for_gres_gpu_0_and_never_c_0():
    argv = sbatch_argv(Path("/w/s.sh"), "/w/s.sh-slurm-%j.out", SlurmResources(gpus_per_job=0, cpus_per_gpu=4))

    assert argv == ["sbatch", "--gres=gpu:0", "-c", "4", "--parsable", "--output", "/w/s.sh-slurm-%j.out", "/w/s.sh"]


def test_workdir_with_spaces_stays_one_argv_element(tmp_path):
    workdir = tmp_path / "my runs" / "ant v1"
    script = script_path(workdir, "00_ant_v1")
    log = log_path(workdir, script)

    argv = sbatch_argv(script, log, SlurmResources())

    assert script == Path(f"{tmp_path}/my runs/ant v1/sbatch_00_ant_v1.sh")
    assert log == f"{tmp_path}/my runs/ant v1/sbatch_00_ant_v1.sh-slurm-%j.out"
    assert argv == [
        "sbatch",
        "--gres=gpu:1",
        "-c",
        "16",
        "--parsable",
        "--output",
        f"{tmp_path}/my runs/ant v1/sbatch_00_ant_v1.sh-slurm-%j.out",
        f"{tmp_path}/my runs/ant v1/sbatch_00_ant_v1.sh",
    ]


# --- scancel.sh and the tail hint -----------------------------------------------


def test_scancel_script_cancels_every_listed_job_on_one_line():
    assert scancel_script(["12", "13_4"]) == (
        "#!/bin/sh\n"
        "# Written by pbt-track from its database: the jobs of this workdir that may still run.\n"
        "scancel 12 13_4\n"
    )


def test_scancel_script_without_jobs_has_no_scancel_line():
    assert scancel_script([]) == (
        "#!/bin/sh\n"
        "# Written by pbt-track from its database: the jobs of this workdir that may still run.\n"
        "# No job to cancel.\n"
    )


def test_scancel_script_accepts_any_iterable():
    assert scancel_script(iter(["7"])).endswith("\nscancel 7\n")


def test_scancel_script_quotes_a_weird_job_id():
    assert scancel_script(["12", "13; rm -rf ~"]) == (
        "#!/bin/sh\n"
        "# Written by pbt-track from its database: the jobs of this workdir that may still run.\n"
        "scancel 12 '13; rm -rf ~'\n"
    )


def test_scancel_script_names_the_tasks_of_an_array_in_slurms_range_notation_quoted_for_the_shell():
    assert scancel_script(["7", "42_0", "42_1", "42_2", "9", "42_5", "43_1", "42_7", "42_8"]).splitlines()[-1] == (
        "scancel 7 '42_[0-2,5,7-8]' 9 43_1"
    )


@pytest.mark.parametrize(
    "job_ids, compact",
    [([], []), (["42_3", "42_3"], ["42_3"]), (["42_1", "42_0"], ["42_[0-1]"]), (["5", "5"], ["5"]),
     (["42_0", "42_2", "42_4"], ["42_[0,2,4]"]), (["13; rm -rf ~"], ["13; rm -rf ~"])],
)
def test_compact_job_ids(job_ids, compact):
    assert compact_job_ids(job_ids) == compact


def test_tail_hint_leaves_a_plain_workdir_unquoted():
    assert tail_hint(Path("/w/run")) == "tail -f /w/run/*.out"


def test_tail_hint_quotes_a_workdir_with_spaces_and_leaves_the_glob_outside():
    assert tail_hint(Path("/w/my runs")) == "tail -f '/w/my runs'/*.out"
