"""`python -m pbt_tracker.templates [NAME]`: list the shipped templates with their paths, or print one."""

from __future__ import annotations

import sys

from pbt_tracker.errors import PbtTrackError
from pbt_tracker.templates import TEMPLATES, template_path, template_text


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: python -m pbt_tracker.templates [NAME]", file=sys.stderr)
        return 2
    if argv:
        try:
            sys.stdout.write(template_text(argv[0]))
        except PbtTrackError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    for name, summary in TEMPLATES.items():
        print(f"{name}\t{template_path(name)}\t{summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
