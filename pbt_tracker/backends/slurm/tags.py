"""pbt-track's tag on a Slurm job, in its comment and in its name: how it is written, and how it is found again.

Every job pbt-track sends carries `pbt-track:<launch uuid>:<submission id>`
(or `...:array<N>` for every task of an array) in its `--comment`. It finds a
job whose id never reached the record, and tells our job from another that
got the same id; it does not depend on any clock. Many clusters keep no
comment in accounting, so the job's name carries a short form of the tag too
(`<experiment>.pbt-<uuid's first 8>-<submission id>`): sacct stores every
job's name, and squeue shows whose job it is at a glance.
"""

from __future__ import annotations

import re
from functools import lru_cache

TAG_PREFIX = "pbt-track:"
COMMENT_OPTION = "--comment="
NAME_OPTION = "--job-name="
# The shape of every tag below; a site's submit plugin may add words around it.
_TAG_RE = re.compile(re.escape(TAG_PREFIX) + r"[A-Za-z0-9]+:[A-Za-z0-9]+")


def tags_in(comment: str | None) -> set[str]:
    """pbt-track's tags within a comment, which a site's submit plugin may have extended."""
    return set(_TAG_RE.findall(comment or ""))


# The short form of a tag at the end of a job name: `.pbt-1a2b3c4d-17`, `.pbt-1a2b3c4d-array3`.
_MARK_RE = re.compile(r"\.(pbt-[0-9a-f]{8}-(?:array)?[0-9]+)$")


def name_mark(tag: str) -> str:
    """The tag's short form that a job name ends with: what sacct can find when it keeps no comment."""
    uuid, _, submission = tag[len(TAG_PREFIX):].partition(":")
    return f"pbt-{uuid[:8]}-{submission}"


def marks_in(name: str | None) -> set[str]:
    """The tag's short form at the end of a job name, if it carries one."""
    found = _MARK_RE.search(name or "")
    return {found.group(1)} if found else set()


@lru_cache(maxsize=1024)  # the tasks of an array, asked about together, share their tag, comment and name
def carries(tag: str, comment: str | None, name: str | None) -> bool | None:
    """Whether a job whose comment and name are these is the one of `tag`; None when it carries no tag of ours."""
    tags, marks = tags_in(comment), marks_in(name)
    if not tags and not marks:
        return None
    return tag in tags or name_mark(tag) in marks


def job_name(base: str, tag: str) -> str:
    """`base` (the experiment's name, without any mark) followed by the tag's short form."""
    return f"{base}.{name_mark(tag)}"


def submission_tag(launch_uuid: str, submission_id: int) -> str:
    """What the job carries in its Slurm comment, so it can be found if its id never reached the record."""
    return f"{TAG_PREFIX}{launch_uuid}:{submission_id}"


def with_tag(argv: list[str], tag: str) -> list[str]:
    """`argv` with `--comment=TAG [USER COMMENT]` right after the program, and the tag's mark on its job name.

    A command-line --comment replaces the script's `#SBATCH --comment`, so the
    user's comment (a `--comment=` of `argv`, or the words after an earlier tag
    of ours) goes after the tag rather than being lost. The tag comes first so
    that the argument still starts with `tag_argument(tag)`. A `--job-name=`
    in `argv` is pbt-track's (the script named none): it ends with this tag's
    mark, in place of an earlier one's.
    """
    user_comment = None
    kept = []
    for arg in argv[1:]:
        if arg.startswith(COMMENT_OPTION):
            user_comment = _user_part(arg[len(COMMENT_OPTION):]) or None
        elif arg.startswith(NAME_OPTION):
            kept.append(NAME_OPTION + job_name(_unmarked(arg[len(NAME_OPTION):]), tag))
        else:
            kept.append(arg)
    return [argv[0], tag_argument(tag, user_comment), *kept]


def tag_argument(tag: str, user_comment: str | None = None) -> str:
    """The sbatch argument that carries a tag; with TAG_PREFIX, the start of any of ours."""
    return f"{COMMENT_OPTION}{tag} {user_comment}" if user_comment else f"{COMMENT_OPTION}{tag}"


def without_tag(arguments: list[str]) -> list[str]:
    """The arguments without our tag and its mark; a user's comment that shared its argument is given back its own."""
    kept = []
    for arg in arguments:
        if arg.startswith(tag_argument(TAG_PREFIX)):
            user_comment = _user_part(arg[len(COMMENT_OPTION):])
            if user_comment:
                kept.append(f"{COMMENT_OPTION}{user_comment}")
        elif arg.startswith(NAME_OPTION):
            kept.append(NAME_OPTION + _unmarked(arg[len(NAME_OPTION):]))
        else:
            kept.append(arg)
    return kept


def _unmarked(name: str) -> str:
    """A job name without the mark of a tag at its end."""
    found = _MARK_RE.search(name)
    return name[:found.start()] if found else name


def _user_part(comment: str) -> str:
    """A comment without a leading tag of ours."""
    return comment.partition(" ")[2] if comment.startswith(TAG_PREFIX) else comment


def array_tag(launch_uuid: str, array_id: int) -> str:
    """The comment every task of one array carries: one tag finds the whole array."""
    return f"{TAG_PREFIX}{launch_uuid}:array{array_id}"
