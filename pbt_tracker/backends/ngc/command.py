"""NGC job commands as argv lists, from the launcher's NGC job template.

The template is one `ngc` command line with `{{ name }}` and
`{{ experiment_cmd }}` in it, usually written over several lines with
backslash continuations. It is read as the original NGC backend reads it
(every backslash becomes a space, whitespace runs become one space, then the
two placeholders are filled in), so the same template gives the same command;
but the result is split like a shell splits it and run without one, so an
experiment's command cannot start anything the template did not say.
"""

from __future__ import annotations

import shlex

from pbt_tracker.errors import TemplateError

NAME = "{{ name }}"
EXPERIMENT_CMD = "{{ experiment_cmd }}"


def flatten_template(template_text: str) -> str:
    """The template on one line, as the original prints it after `NGC template:`."""
    return " ".join(template_text.replace("\\", " ").split())


def render_command(template_text: str, name: str, experiment_cmd: str) -> str:
    """The command line for one experiment; the name is filled in first, then the command."""
    return flatten_template(template_text).replace(NAME, name).replace(EXPERIMENT_CMD, experiment_cmd)


def ngc_argv(template_text: str, name: str, experiment_cmd: str, source: str = "NGC job template") -> list[str]:
    """`render_command` split like a shell would split it; never given to a shell."""
    command = render_command(template_text, name, experiment_cmd)
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise TemplateError(
            f"{source} gives a command for {name} that cannot be split ({error}): {command[:80]}; check its quotes"
        ) from None
    if not argv:
        raise TemplateError(f"{source} is empty; write the ngc command with {NAME} and {EXPERIMENT_CMD} in it")
    return argv


def check_ngc_template(template_text: str, source: str) -> list[str]:
    """Warnings for a template whose jobs would not run the experiments (the original runs it anyway)."""
    flat = flatten_template(template_text)
    if not flat:
        raise TemplateError(f"{source} is empty; write the ngc command with {NAME} and {EXPERIMENT_CMD} in it")
    if EXPERIMENT_CMD not in flat:
        return [f"{source} has no {EXPERIMENT_CMD}: its jobs will not run the experiments' commands"]
    return []
