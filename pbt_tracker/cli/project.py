"""The project file, `pbt-track.toml`: defaults for any option of any command, found as git finds `.git`.

It becomes click's `default_map`, which click consults after the command
line and the environment and before the built-in default: the order the
user expects (flag > environment > project file > default) is click's own.
A key is an option's long name with underscores (`slurm_partition`,
`max_attempts`), the same for every command that takes the option; it is
checked against every command, so a key no command takes, or a value of
the wrong kind, is refused with the file and the key named. tomllib is
imported only where a file is found: without one, start-up reads nothing.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from pbt_tracker.cli.paths import PROJECT_FILE, PathText, find_project_file

if TYPE_CHECKING:
    from collections.abc import Iterator

FILE_NAME = PROJECT_FILE

NAMES_TOO = frozenset({"run", "python"})
"""Path options that also take a name (a module, an interpreter on PATH): only a value that looks like a path is
made relative to the file."""

ENVIRONMENT = {"python": "PBT_TRACK_PYTHON"}
"""Options whose environment variable pbt-track reads itself rather than through click."""


class ProjectOption(NamedTuple):
    """One option as the project file names it, in one command."""

    key: str
    command: str
    param: click.Option


class ProjectFile(NamedTuple):
    path: Path
    values: dict[str, Any]  # checked and converted, relative paths made absolute


def key_of(param: click.Parameter) -> str | None:
    """The option's project-file key: its first long name, underscored; None for what the file cannot set."""
    if not isinstance(param, click.Option) or param.hidden or param.name in (None, "help", "version"):
        return None
    long = next((flag for flag in param.opts if flag.startswith("--")), None)
    return long[2:].replace("-", "_") if long else None


def project_options(group: click.Group, ctx: click.Context) -> Iterator[ProjectOption]:
    """Every option of every visible command (each command's module is imported: only with a file in place)."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        for param in command.params:
            key = key_of(param)
            if key is not None:
                assert isinstance(param, click.Option)
                yield ProjectOption(key, name, param)


def read(path: Path, options: list[ProjectOption]) -> ProjectFile:
    """The file's values, each checked against the option it names; one line for the first that is wrong."""
    import tomllib

    try:
        with path.open("rb") as stream:
            raw = tomllib.load(stream)
    except OSError as error:
        raise click.ClickException(f"cannot read the project file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise click.ClickException(f"the project file {path} is not valid TOML: {error}; fix it") from None
    by_key: dict[str, list[click.Option]] = {}
    for option in options:
        by_key.setdefault(option.key, []).append(option.param)
    values = {}
    for key, value in raw.items():
        normal = key.replace("-", "_")
        if normal not in by_key:
            import difflib  # only a mistyped key needs it, not every command's start

            close = difflib.get_close_matches(normal, list(by_key), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise click.ClickException(f"the project file {path} sets {key!r}, which is no option of any pbt-track "
                                       f"command{hint}; fix or remove that line (`pbt-track config` lists the keys)")
        values[normal] = _checked(path, key, value, by_key[normal][0])
    return ProjectFile(path, values)


_KINDS = {"integer": "an integer (like 8)", "float": "a number (like 1.5)", "boolean": "true or false",
          "text": 'a string in quotes (like "gpu")'}


def _kind(param: click.Option) -> str:
    if param.is_flag:
        return "boolean"
    name = getattr(param.type, "name", "")
    if name in ("integer", "integer range"):
        return "integer"
    if name in ("float", "float range"):
        return "float"
    return "text"


def _checked(path: Path, key: str, value: Any, param: click.Option) -> Any:
    kind = _kind(param)
    items = value if param.multiple and isinstance(value, list) else [value]
    converted = []
    for item in items:
        fits = {"boolean": isinstance(item, bool), "integer": isinstance(item, int) and not isinstance(item, bool),
                "float": isinstance(item, (int, float)) and not isinstance(item, bool)}.get(kind, isinstance(item, str))
        if kind == "text" and isinstance(item, bool) and _takes_true_false(param):
            item, fits = str(item).lower(), True  # submit's true|false options
        if not fits:
            raise click.ClickException(f"the project file {path} sets {key} = {_toml(value)}, but {key} must be "
                                       f"{_KINDS[kind]}; fix that line")
        if not param.is_flag:
            try:
                item = param.type.convert(item, param, None)
            except click.BadParameter as error:
                raise click.ClickException(f"the project file {path} sets {key} = {_toml(value)}: "
                                           f"{error.message.rstrip('.')}; fix that line") from None
        if isinstance(param.type, PathText) and isinstance(item, str):
            item = _from_file(path, key, item)
        converted.append(item)
    return converted if param.multiple else converted[0]


def _takes_true_false(param: click.Option) -> bool:
    return isinstance(param.type, click.Choice) and {str(choice) for choice in param.type.choices} == {"true", "false"}


def _from_file(path: Path, key: str, value: str) -> str:
    """A relative path is relative to the project file's folder, wherever the command is run from."""
    if key in NAMES_TOO and "/" not in value and not value.endswith(".py"):
        return value
    expanded = os.path.expanduser(value)
    return expanded if os.path.isabs(expanded) else os.path.normpath(path.parent / expanded)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, list)):
        import json

        return json.dumps(value)
    return str(value)


def default_map(project: ProjectFile, options: list[ProjectOption]) -> dict[str, dict[str, Any]]:
    """Each command's defaults from the file; an option whose environment variable is set keeps the environment's."""
    defaults: dict[str, dict[str, Any]] = {}
    for option in options:
        if option.key not in project.values or _environment_value(option.param) is not None:
            continue
        assert option.param.name is not None
        defaults.setdefault(option.command, {})[option.param.name] = project.values[option.key]
    return defaults


def _environment_value(param: click.Option) -> tuple[str, str] | None:
    """The environment variable that sets this option, and its value, where one is set."""
    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    key = key_of(param)
    if key in ENVIRONMENT:
        names.append(ENVIRONMENT[key])
    for name in names:
        if os.environ.get(name):
            return name, os.environ[name]
    return None


def load(group: click.Group, ctx: click.Context) -> tuple[ProjectFile, list[ProjectOption]] | None:
    path = find_project_file()
    if path is None:
        return None
    options = list(project_options(group, ctx))
    return read(path, options), options


def effective(options: list[ProjectOption], project: ProjectFile | None,
              table_defaults: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """Each key once: its value where no flag is given, and where that value comes from.

    click marks "no default" with an enum member of its own (8.3), None before.
    `submit`'s options have none in click (a launch settles them per backend):
    `table_defaults` are the launch option table's.
    """
    seen: dict[str, tuple[str, Any, str]] = {}
    for option in sorted(options, key=lambda option: option.key):
        if option.key in seen:
            continue
        from_environment = _environment_value(option.param)
        if from_environment is not None:
            seen[option.key] = (option.key, from_environment[1], f"environment {from_environment[0]}")
        elif project is not None and option.key in project.values:
            seen[option.key] = (option.key, project.values[option.key], f"project file {project.path}")
        else:
            default = option.param.get_default(click.Context(click.Command(option.command)), call=True)
            if isinstance(default, enum.Enum) or default is None:
                default = table_defaults.get(option.key)
            seen[option.key] = (option.key, default, "default")
    return list(seen.values())


def effective_lines(rows: list[tuple[str, Any, str]]) -> list[str]:
    """TOML lines, so that a line can be copied into the file as it is; an unset option is a comment."""
    lines = []
    for key, value, source in rows:
        if value is None or value == () or value == []:
            lines.append(f"# {key} is not set  ({source})")
        else:
            shown = _toml(list(value) if isinstance(value, tuple) else value)
            lines.append(f"{key} = {shown}  # {source}")
    return lines
