"""Path options: their click type, and where the project file is; what completion and the project file share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

PROJECT_FILE = "pbt-track.toml"


class PathText(click.ParamType):
    """A path option's value, kept as the text given: only the shell's completion and a project file treat it as a path.

    The completion item's type hands the word to the shell's own completion
    of files (or of folders), so `~`, quoting and symlinks are the shell's.
    """

    name = "path"

    def __init__(self, folder: bool = False) -> None:
        self.folder = folder

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="dir" if self.folder else "file")]


def find_project_file(start: Path | None = None) -> Path | None:
    """The project file in `start` (the current directory) or its nearest parent that has one, as git finds .git."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None
