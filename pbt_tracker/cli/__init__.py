"""`pbt-track`: the command line. Each command's module is imported when the command is asked for (group.py)."""

from pbt_tracker.cli.group import cli, main

__all__ = ["cli", "main"]
