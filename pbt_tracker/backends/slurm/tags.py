"""pbt-track's tag in a Slurm job's comment: how it is written, and how it is found again.

Every job pbt-track sends carries `pbt-track:<launch uuid>:<submission id>`
(or `...:array<N>` for every task of an array) in its `--comment`. It finds a
job whose id never reached the record, and tells our job from another that
got the same id; it does not depend on any clock.
"""

from __future__ import annotations

import re

TAG_PREFIX = "pbt-track:"
COMMENT_OPTION = "--comment="
# The shape of every tag below; a site's submit plugin may add words around it.
_TAG_RE = re.compile(re.escape(TAG_PREFIX) + r"[A-Za-z0-9]+:[A-Za-z0-9]+")


def tags_in(comment: str | None) -> set[str]:
    """pbt-track's tags within a comment, which a site's submit plugin may have extended."""
    return set(_TAG_RE.findall(comment or ""))


def submission_tag(launch_uuid: str, submission_id: int) -> str:
    """What the job carries in its Slurm comment, so it can be found if its id never reached the record."""
    return f"{TAG_PREFIX}{launch_uuid}:{submission_id}"


def with_tag(argv: list[str], tag: str) -> list[str]:
    """`argv` with `--comment=TAG [USER COMMENT]` right after the program.

    A command-line --comment replaces the script's `#SBATCH --comment`, so the
    user's comment (a `--comment=` of `argv`, or the words after an earlier tag
    of ours) goes after the tag rather than being lost. The tag comes first so
    that the argument still starts with `tag_argument(tag)`.
    """
    user_comment = None
    kept = []
    for arg in argv[1:]:
        if arg.startswith(COMMENT_OPTION):
            user_comment = _user_part(arg[len(COMMENT_OPTION):]) or None
        else:
            kept.append(arg)
    return [argv[0], tag_argument(tag, user_comment), *kept]


def tag_argument(tag: str, user_comment: str | None = None) -> str:
    """The sbatch argument that carries a tag; with TAG_PREFIX, the start of any of ours."""
    return f"{COMMENT_OPTION}{tag} {user_comment}" if user_comment else f"{COMMENT_OPTION}{tag}"


def without_tag(arguments: list[str]) -> list[str]:
    """The arguments without our tag; a user's comment that shared its argument is given back its own."""
    kept = []
    for arg in arguments:
        if arg.startswith(tag_argument(TAG_PREFIX)):
            user_comment = _user_part(arg[len(COMMENT_OPTION):])
            if user_comment:
                kept.append(f"{COMMENT_OPTION}{user_comment}")
        else:
            kept.append(arg)
    return kept


def _user_part(comment: str) -> str:
    """A comment without a leading tag of ours."""
    return comment.partition(" ")[2] if comment.startswith(TAG_PREFIX) else comment


def array_tag(launch_uuid: str, array_id: int) -> str:
    """The comment every task of one array carries: one tag finds the whole array."""
    return f"{TAG_PREFIX}{launch_uuid}:array{array_id}"
