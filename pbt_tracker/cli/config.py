"""`pbt-track config`: the value each option takes where no flag is given, and where it comes from."""

from __future__ import annotations

import click

from pbt_tracker.cli.group import cli


@cli.command()
def config() -> None:
    """Print every option's value where no flag gives one, and its source: environment, project file or default.

    The project file is pbt-track.toml in this folder or the nearest parent
    that has one; its keys are option names with underscores, and relative
    paths in it are relative to it. A flag wins over the environment, which
    wins over the file, which wins over the default. Each line is TOML.

    \b
    Example:
        pbt-track config
        pbt-track config | grep slurm_
    """
    from pbt_tracker.backends.options import table
    from pbt_tracker.cli import project

    ctx = click.get_current_context()
    group = ctx.find_root().command
    assert isinstance(group, click.Group)
    found = project.load(group, ctx)
    if found is None:
        options = list(project.project_options(group, ctx))
        click.echo(f"# no {project.FILE_NAME} here or in a parent folder: only the environment and defaults apply")
        file = None
    else:
        file, options = found
        click.echo(f"# project file: {file.path}")
    click.echo("\n".join(project.effective_lines(project.effective(options, file, {row.name: row.default for row in table()}))))
