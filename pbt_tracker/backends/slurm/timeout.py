"""What `--slurm_timeout` must look like, decided by what the template does with `$TIMEOUT`.

The launcher passes the value into the template untouched, and templates use
it in two ways that want different spellings: `#SBATCH --time=$TIMEOUT` needs
a Slurm time (`24:00:00`), `timeout $TIMEOUT $CMD` a GNU duration (`23h`). A
value fit for one is often unfit for the other (GNU timeout exits 125 at once
on `24:00:00`, and the job looks successful), so each use is checked, and only
where the template has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from string import Template

from pbt_tracker.errors import OptionError

# Slurm's --time forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; plus its words for "no limit".
_SLURM_TIME = re.compile(
    r"\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}", re.ASCII
)
_SLURM_NO_LIMIT = {"infinite", "unlimited"}

# GNU timeout's DURATION: a number, fractions allowed, with an optional s/m/h/d suffix; 0 means no limit.
_GNU_DURATION = re.compile(r"(\d+(\.\d*)?|\.\d+)[smhd]?", re.ASCII)

_SBATCH_TIME_OPTIONS = ("--time", "-t", "--time-min")
_TIMEOUT_OPTIONS_WITH_VALUE = ("-k", "--kill-after", "-s", "--signal")


def is_slurm_time(value: str) -> bool:
    return value.lower() in _SLURM_NO_LIMIT or _SLURM_TIME.fullmatch(value) is not None


def is_gnu_duration(value: str) -> bool:
    return _GNU_DURATION.fullmatch(value) is not None


@dataclass(frozen=True)
class TimeoutUse:
    """One place where the template hands $TIMEOUT to a program that reads it."""

    line: int  # 1-based, in the template
    what: str  # how the message names the use
    rendered: str  # the word that program will see, with the value put in


def timeout_uses(template_text: str, value: str) -> list[TimeoutUse]:
    """Where `$TIMEOUT` reaches `#SBATCH --time`/`-t` (before the first command, as sbatch reads) or `timeout`."""
    uses = []
    in_directives = True
    for number, line in enumerate(template_text.splitlines(), start=1):
        stripped = line.strip()
        if number == 1 and stripped.startswith("#!"):
            continue
        if stripped.startswith("#SBATCH"):
            if in_directives:
                word = _sbatch_time_value(stripped.split()[1:])
                if word is not None and _uses_timeout(word):
                    uses.append(TimeoutUse(number, "#SBATCH --time", _render(word, value)))
            continue
        if stripped and not stripped.startswith("#"):
            in_directives = False
            word = _timeout_duration(stripped.split())
            if word is not None and _uses_timeout(word):
                uses.append(TimeoutUse(number, "timeout", _render(word, value)))
    return uses


def ends_by_timeout(template_text: str) -> bool:
    """Whether the template runs its command under GNU `timeout $TIMEOUT`: its jobs then end FAILED 124 at the limit."""
    return any(use.what == "timeout" for use in timeout_uses(template_text, "1"))


def check_timeout_for_template(template_text: str, value: str, source: str) -> list[str]:
    """Refuse a value unfit for any of its uses; warn when the template makes no use of it."""
    uses = timeout_uses(template_text, value)
    for use in uses:
        if use.what == "timeout" and not is_gnu_duration(use.rendered):
            raise OptionError(
                f"--slurm_timeout {value!r} cannot go to `timeout` at line {use.line} of template {source}: "
                "give a GNU timeout duration such as 3600, 90m, 23h or 1.5h (0 means no limit)"
            )
        if use.what == "#SBATCH --time" and not is_slurm_time(use.rendered):
            raise OptionError(
                f"--slurm_timeout {value!r} cannot go to #SBATCH --time at line {use.line} of template {source}: "
                "give a Slurm time such as 90 (minutes), 24:00:00 or 1-00:00:00 (0 means no limit)"
            )
    if value != "0" and "TIMEOUT" not in Template(template_text).get_identifiers():
        return [
            f"--slurm_timeout {value} has no effect: the sbatch template has no $TIMEOUT "
            "(add `#SBATCH --time=$TIMEOUT` to a template of your own)"
        ]
    return []


def _sbatch_time_value(words: list[str]) -> str | None:
    """The value of --time/-t/--time-min among a directive's words, as sbatch would take it."""
    for index, word in enumerate(words):
        option, equals, rest = word.partition("=")
        if option in _SBATCH_TIME_OPTIONS:
            if equals:
                return rest
            return words[index + 1] if index + 1 < len(words) else None
        if word.startswith("-t") and not word.startswith("--"):
            return word[2:]
    return None


def _timeout_duration(words: list[str]) -> str | None:
    """The DURATION given to a `timeout` command on this line (or its -k value when that is where $TIMEOUT is)."""
    for start, word in enumerate(words):
        if word.strip("\"'").rsplit("/", 1)[-1] != "timeout":
            continue
        index = start + 1
        while index < len(words) and words[index].startswith("-"):
            option, equals, rest = words[index].partition("=")
            if option in ("-k", "--kill-after"):
                kill_after = rest if equals else (words[index + 1] if index + 1 < len(words) else "")
                if _uses_timeout(kill_after):
                    return kill_after
            if option in _TIMEOUT_OPTIONS_WITH_VALUE and not equals:
                index += 1
            index += 1
        return words[index] if index < len(words) else None
    return None


def _uses_timeout(word: str) -> bool:
    return any(
        (match.group("named") or match.group("braced")) == "TIMEOUT" for match in Template.pattern.finditer(word)
    )


def _render(word: str, value: str) -> str:
    """The word as the program sees it: $TIMEOUT filled in, shell quotes around it dropped."""
    text = Template(word).safe_substitute(TIMEOUT=value)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text
