"""The `pbt-track` group: one line per error, the environment checked first.

Each command lives in a module of this package by what it is about; a
command parses, calls the library, prints, and nothing more. Heavy modules are
imported inside the commands so that `pbt-track --help` stays instant.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pbt_tracker import __version__


class _OneLineErrors(click.Group):
    """Usage errors as one line (what is wrong, where to look), like every other error of pbt-track."""

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
@click.version_option(__version__, prog_name="pbt-track")
def cli() -> None:
    """Launch Population Based Training runs and keep track of every job.

    Each workdir holds a SQLite database (pbt_tracker.db) with every launch,
    generated script, submission and job id.
    """
    from pbt_tracker.errors import PbtTrackError
    from pbt_tracker.settings import check_all

    try:
        check_all()
    except PbtTrackError as error:
        raise click.ClickException(str(error)) from None




def main() -> None:
    cli(prog_name="pbt-track")
