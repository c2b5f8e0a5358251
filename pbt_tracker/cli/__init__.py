"""`pbt-track`: the command line. Importing the package registers every command on the group."""

from pbt_tracker.cli import actions, continue_, keeper, launch, launches, plot, records, show  # noqa: F401  (each registers its commands)
from pbt_tracker.cli.group import cli, main

__all__ = ["cli", "main"]
