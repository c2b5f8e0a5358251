"""NGC job templates rendered into argv lists, on literal strings."""

from __future__ import annotations

import pytest

from pbt_tracker.backends.ngc.command import check_ngc_template, flatten_template, ngc_argv, render_command
from pbt_tracker.errors import TemplateError

TEMPLATE = (
    "ngc batch run \\\n"
    "    --instance dgx1v.32g.1.norm \\\n"
    "    --name '{{ name }}' \\\n"
    "    --image nvcr.io/nvidian/isaacgym:latest \\\n"
    "    --result /results \\\n"
    '    --commandline "cd /workspace && {{ experiment_cmd }}"\n'
)
CMD = "python -m isaacgymenvs.train task=Ant experiment=00_ant hydra.run.dir=./train_dir/ant/ant_"


def test_continuations_and_whitespace_are_joined_as_the_original_prints_them() -> None:
    assert flatten_template(TEMPLATE) == (
        "ngc batch run --instance dgx1v.32g.1.norm --name '{{ name }}' --image nvcr.io/nvidian/isaacgym:latest "
        '--result /results --commandline "cd /workspace && {{ experiment_cmd }}"'
    )


def test_name_and_command_are_filled_in_after_joining() -> None:
    assert render_command("run  {{ name }}\t\\\n {{ experiment_cmd }}", "00_ant", "a  b") == "run 00_ant a  b"


def test_the_command_is_split_like_a_shell_splits_it() -> None:
    assert ngc_argv(TEMPLATE, "00_ant", CMD) == [
        "ngc", "batch", "run", "--instance", "dgx1v.32g.1.norm", "--name", "00_ant",
        "--image", "nvcr.io/nvidian/isaacgym:latest", "--result", "/results",
        "--commandline", f"cd /workspace && {CMD}",
    ]


def test_quotes_in_the_experiment_command_stay_inside_their_argument() -> None:
    argv = ngc_argv('ngc batch run --commandline "{{ experiment_cmd }}"', "00_x", "python -c 'print(1)' a=b")
    assert argv == ["ngc", "batch", "run", "--commandline", "python -c 'print(1)' a=b"]


def test_shell_words_are_arguments_not_operators() -> None:
    assert ngc_argv("ngc batch run {{ name }}; rm -rf $HOME", "00_x", "") == [
        "ngc", "batch", "run", "00_x;", "rm", "-rf", "$HOME"
    ]


def test_every_backslash_becomes_a_space_as_in_the_original() -> None:
    assert ngc_argv('ngc run --x "a\\b"', "n", "c") == ["ngc", "run", "--x", "a b"]


def test_a_command_that_cannot_be_split_is_one_line() -> None:
    with pytest.raises(TemplateError) as caught:
        ngc_argv('ngc batch run --commandline "{{ experiment_cmd }}', "00_x", "python a.py", "ngc.tmpl")
    assert str(caught.value) == (
        "ngc.tmpl gives a command for 00_x that cannot be split (No closing quotation): "
        'ngc batch run --commandline "python a.py; check its quotes'
    )


def test_an_empty_template_is_refused_and_one_without_the_command_is_pointed_out() -> None:
    with pytest.raises(TemplateError, match="^ngc.tmpl is empty; write the ngc command with"):
        check_ngc_template(" \\\n ", "ngc.tmpl")
    with pytest.raises(TemplateError, match="^ngc.tmpl is empty"):
        ngc_argv("", "n", "c", "ngc.tmpl")
    assert check_ngc_template("ngc batch run --name {{ name }}", "ngc.tmpl") == [
        "ngc.tmpl has no {{ experiment_cmd }}: its jobs will not run the experiments' commands"
    ]
    assert check_ngc_template(TEMPLATE, "ngc.tmpl") == []
