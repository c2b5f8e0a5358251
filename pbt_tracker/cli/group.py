"""The `pbt-track` group: one line per error, the environment checked first.

Each command lives in a module of this package by what it is about; a
command parses, calls the library, prints, and nothing more. Heavy modules are
imported inside the commands so that `pbt-track --help` stays instant.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

import click

from pbt_tracker import __version__

COMMAND_MODULES = {
    "cancel": "actions", "config": "config", "resubmit-failed": "resubmit", "continue": "continue_", "guard": "guard", "watch": "keeper",
    "submit": "launch", "launches": "launches", "forget": "launches", "plot": "plot", "report": "records",
    "sync": "records", "serve": "serve", "show": "show", "logs": "show",
}
"""Which module of this package defines each command: a command imports its own module only, when it runs."""


class _OneLineErrors(click.Group):
    """Usage errors as one line (what is wrong, where to look), like every other error of pbt-track.

    Commands are loaded by name (COMMAND_MODULES), so that `cancel` or a Tab
    does not pay for building `submit`'s hundred options.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context | None, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            importlib.import_module(f"pbt_tracker.cli.{COMMAND_MODULES[name]}")  # its decorators register it
        return super().get_command(ctx, name)  # type: ignore[arg-type]  # click's Group reads no ctx; tests pass None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            from pbt_tracker.errors import did_you_mean

            ctx.fail(f"No such command {name!r}{did_you_mean(name, self.list_commands(ctx))}.")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # before click's own handler, which ends with status 1
            _reader_gone()
            raise click.exceptions.Exit(0) from None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.UsageError as error:
            where = f"`{error.ctx.command_path} --help`" if error.ctx else "`pbt-track --help`"
            click.echo(f"Error: {error.format_message()} (see {where})", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="pbt-track")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Launch Population Based Training runs and keep track of every job.

    Each workdir holds a SQLite database (pbt_tracker.db) with every launch,
    generated script, submission and job id. Options' defaults may come from
    a pbt-track.toml in this folder or a parent (`pbt-track config`).
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.settings import check_all

    try:
        check_all()
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None
    if ctx.invoked_subcommand != "config":  # config reads the file itself, and shows what is wrong in it too
        _project_defaults(ctx)


def _project_defaults(ctx: click.Context) -> None:
    """The project file's values as click's default_map, which the command's context inherits from this one."""
    from pbt_tracker.cli import project

    assert isinstance(ctx.command, click.Group)
    found = project.load(ctx.command, ctx)
    if found is not None:
        ctx.default_map = project.default_map(*found)




def _reader_gone() -> None:
    """The reader closed the pipe (`pbt-track report | head -1`): it chose to stop, as `git log | head` shows.

    What is still buffered goes to /dev/null, so that the flush at exit
    neither fails nor prints; the command ends quietly, with status 0.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # a stdout with no descriptor (a test's) keeps nothing for the exit
        pass


def main() -> None:
    from pbt_tracker import collector

    collector.for_one_command()
    try:
        cli(prog_name="pbt-track")
        sys.stdout.flush()  # what the last write left buffered, while a closed pipe can still be told apart
    except BrokenPipeError:
        _reader_gone()
    finally:
        # The process ends here, and the collector's passes over every object at exit would only delay
        # it: nothing pbt-track leaves for them holds unwritten data (files and the record are closed).
        gc.freeze()
