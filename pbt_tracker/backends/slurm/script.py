"""Everything pbt-track writes for Slurm, as pure functions of their inputs.

Job scripts and the sbatch command line are text built here and nowhere
else (scancel.sh's is in `scancel_sh`), so that tests can pin them on
literal strings and the database can store exactly what was sent.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from pbt_tracker import processes
from pbt_tracker.backends.slurm.shell_context import COMMENT, UNQUOTED, Substitution, substitute, variable_places
from pbt_tracker.backends.slurm.tags import COMMENT_OPTION, NAME_OPTION
from pbt_tracker.errors import OptionError, TemplateError

SBATCH_TEMPLATE_DEFAULT = "#!/bin/bash\nconda activate conda_env_name\ncd ~/project\n"
"""The launcher's built-in template. It has no $CMD: the command is appended after it."""

TEMPLATE_VARIABLES = ("CMD", "FILENAME", "PARTITION", "GPU", "CPU", "TIMEOUT", "PBT_TRACK", "NAME")
# $PBT_TRACK is pbt-track itself, by absolute path: a job whose environment is the training one lacks it on PATH.
# $NAME is the experiment's name, which `check_experiment_name` keeps to characters the shell reads as they are.

# No '%': Slurm would read it in the --output pattern as one of its replacement symbols.


@dataclass(frozen=True)
class SlurmResources:
    """What each job asks Slurm for; the same for every job of a launch."""

    gpus_per_job: int = 1
    cpus_per_gpu: int = 16
    partition: str | None = None
    timeout: str = "0"

    def __post_init__(self) -> None:
        if self.gpus_per_job < 0:
            raise OptionError(f"--slurm_gpus_per_job must be 0 or more, not {self.gpus_per_job}")
        if self.cpus_per_gpu < 1:
            raise OptionError(f"--slurm_cpus_per_gpu must be 1 or more, not {self.cpus_per_gpu}")
        if self.partition is not None and not re.fullmatch(r"[A-Za-z0-9_.,-]+", self.partition):
            raise OptionError(
                f"--slurm_partition {self.partition!r} is not a partition name; "
                "use names as `sinfo -s` lists them, separated by commas"
            )

    @property
    def cpus(self) -> int:
        """CPUs per job: the launcher asks for cpus_per_gpu for every GPU of the job."""
        return self.cpus_per_gpu * max(self.gpus_per_job, 1)

    @property
    def partition_arg(self) -> str:
        """The $PARTITION text of templates: `-p NAME ` (with its trailing space) or nothing."""
        return f"-p {self.partition} " if self.partition else ""


def check_template(template_text: str, source: str) -> list[str]:
    """Fail on what would break rendering; return warnings for what would make a useless job."""
    template = Template(template_text)
    if not template.is_valid():
        try:
            template.substitute(defaultdict(str))
        except ValueError as error:
            where = re.search(r"line (\d+), col (\d+)", str(error))
            position = f" at line {where.group(1)}, column {where.group(2)}" if where else ""
            raise TemplateError(
                f"template {source} has a stray '$'{position}; write $$ for a literal dollar sign"
            ) from None
    unknown = [name for name in template.get_identifiers() if name not in TEMPLATE_VARIABLES]
    if unknown:
        known = " ".join(f"${name}" for name in TEMPLATE_VARIABLES)
        raise TemplateError(
            f"template {source} uses ${unknown[0]}, which is not one of {known}; "
            f"write $${unknown[0]} if the job script itself should see ${unknown[0]}"
        )
    for line, context in variable_places(template_text, "PBT_TRACK"):
        if context not in (UNQUOTED, COMMENT):
            raise TemplateError(
                f"template {source} puts $PBT_TRACK in {context} at line {line}; write it unquoted where a command "
                "starts: it stands for pbt-track's interpreter and `-m pbt_tracker`, quoted by pbt-track"
            )
    warnings = []
    if "CMD" not in template.get_identifiers():
        warnings.append(
            f"template {source} has no $CMD: its jobs will not run the experiments' commands"
        )
    return warnings


def render_script(
    template_text: str,
    *,
    cmd: str,
    filename: str,
    resources: SlurmResources,
    append_cmd: bool = False,
    pbt_track: Sequence[str] | None = None,
    name: str = "",
) -> str:
    """Fill in a template, each value quoted for where it stands; `append_cmd` puts the command on its own last line.

    The command goes in as its words (`command_words`, the reading the
    processes backend runs), each quoted where the shell would read it, so an
    ordinary command is written as the user wrote it and no value in it runs.
    The built-in template has no $CMD, so without `append_cmd` its jobs would
    do nothing at all. `$PBT_TRACK` is `pbt_track` (by default the pbt-track
    writing the script), each word quoted for the shell.
    """
    command = shell_command(cmd)
    values = {"CMD": Substitution(command, words=True), "FILENAME": Substitution(filename),
              "PARTITION": Substitution(resources.partition_arg, words=True),
              "GPU": Substitution(str(resources.gpus_per_job)), "CPU": Substitution(str(resources.cpus)),
              "TIMEOUT": Substitution(resources.timeout), "NAME": Substitution(name)}
    if "PBT_TRACK" in Template(template_text).get_identifiers():
        values["PBT_TRACK"] = Substitution(pbt_track_words(pbt_track), words=True)
    text = substitute(template_text, values)
    if append_cmd:
        if not text.endswith("\n"):
            text += "\n"
        text += command + "\n"
    return text


def shell_command(cmd: str) -> str:
    """The command as a job script's shell reads it into the same words a local process gets."""
    return shlex.join(processes.command_words(cmd))


def pbt_track_words(pbt_track: Sequence[str] | None = None) -> str:
    """The command that runs pbt-track, as shell words; refused where a line break would end a comment holding it."""
    words = list(pbt_track) if pbt_track is not None else processes.own_command()
    if any("\n" in word or "\r" in word for word in words):
        raise TemplateError(f"pbt-track's command {words!r} holds a line break, which a job script cannot hold "
                            "safely; install pbt-track under a path without one")
    return shlex.join(words)


def script_path(workdir: Path, experiment_name: str) -> Path:
    return workdir / f"sbatch_{experiment_name}.sh"


def launch_script_path(workdir: Path, experiment_name: str, launch_id: int, taken: Collection[str]) -> Path:
    """A script of this launch's own, for an experiment whose `script_path` another launch's record holds.

    Overwriting that file would make the other launch's held or requeued job,
    or its resubmission, run this launch's command. The name is
    `sbatch_<experiment>.L<launch>.sh`, numbered on in the odd case that an
    experiment of another launch is itself called `<experiment>.L<launch>`.
    """
    path = workdir / f"sbatch_{experiment_name}.L{launch_id}.sh"
    number = 2
    while str(path) in taken:
        path = workdir / f"sbatch_{experiment_name}.L{launch_id}.{number}.sh"
        number += 1
    return path


def log_path(workdir: Path, script: Path) -> str:
    """Slurm's --output pattern; Slurm replaces %j with the job id."""
    return f"{workdir}/{script.name}-slurm-%j.out"


def sbatch_argv(script: Path, log_pattern: str, resources: SlurmResources, comment: str | None = None,
                name: str | None = None) -> list[str]:
    """The experiment's own sbatch command; `comment` is the script's own, which `with_tag` keeps beside the tag.

    `name` (the experiment's, where the script names its job nothing) goes on
    the command line rather than into the script, so that the script keeps
    every line the launcher wrote; `with_tag` ends it with the tag's mark.
    """
    argv = ["sbatch"]
    if comment:
        argv.append(f"--comment={comment}")
    if name:
        argv.append(f"{NAME_OPTION}{name}")
    if resources.partition:
        argv += ["-p", resources.partition]
    argv += [
        f"--gres=gpu:{resources.gpus_per_job}",
        "-c",
        str(resources.cpus),
        "--parsable",
        "--output",
        log_pattern,
        str(script),
    ]
    return argv


def sbatch_comment(script_text: str) -> str | None:
    """The comment the script's own `#SBATCH --comment` asks for; the last one, as sbatch takes it."""
    comment = None
    for words in _directive_words(script_text):
        for index, word in enumerate(words):
            if word.startswith(COMMENT_OPTION):
                comment = word[len(COMMENT_OPTION):]
            elif word == "--comment" and index + 1 < len(words):
                comment = words[index + 1]
    return comment or None


def names_its_job(script_text: str) -> bool:
    """Whether the script's own `#SBATCH` lines name the job (`--job-name`, `-J`): then pbt-track names it nothing."""
    return any(word == "--job-name" or word.startswith(NAME_OPTION) or word.startswith("-J")
               for words in _directive_words(script_text) for word in words)


def _directive_words(script_text: str) -> list[list[str]]:
    found = []
    for directive in sbatch_directives(script_text):
        try:
            found.append(shlex.split(directive[len("#SBATCH"):]))
        except ValueError:
            found.append(directive[len("#SBATCH"):].split())
    return found


# --- job arrays -----------------------------------------------------------------


def sbatch_directives(script_text: str) -> tuple[str, ...]:
    """The script's `#SBATCH` lines, as sbatch reads them: up to the first command.

    Experiments whose scripts carry the same directives (and so ask Slurm for
    the same things) can go out as tasks of one array.
    """
    directives = []
    for line in script_text.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#SBATCH"):
            directives.append(stripped)
        elif stripped and not stripped.startswith("#"):
            break
    return tuple(directives)


def tail_hint(workdir: Path) -> str:
    return f"tail -f {shlex.quote(str(workdir))}/*.out"
