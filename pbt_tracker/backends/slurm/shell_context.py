"""Where in a template's shell text a `$VARIABLE` stands: unquoted, in quotes, in a comment or in a here-document.

A value pbt-track puts into a job script must reach the shell as the words it
means and nothing more, and what quoting does that depends on where the
template puts it. `$PBT_TRACK` (pbt-track's own interpreter and `-m
pbt_tracker`) is several words meant to start a command: it is quoted for an
unquoted place and refused anywhere its words would be read otherwise. The
reading is bash's for the cases templates have: quotes, backslashes, comments
and here-documents; a `$(...)` inside double quotes counts as quoted.
"""

from __future__ import annotations

import re
from string import Template

UNQUOTED = "unquoted"
COMMENT = "a comment"
SINGLE = "single quotes"
DOUBLE = "double quotes"
HEREDOC = "a here-document"

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z0-9_.-]+)\1")


def variable_places(template_text: str, name: str) -> list[tuple[int, str]]:
    """(line, context) of every `$name` or `${name}` in the template, lines counted from 1."""
    wanted = [match.start() for match in Template.pattern.finditer(template_text)
              if (match.group("named") or match.group("braced")) == name]
    places = []
    contexts = _contexts(template_text)
    for start in wanted:
        places.append((template_text.count("\n", 0, start) + 1, contexts[start]))
    return places


def _contexts(text: str) -> list[str]:
    """The context of each character of `text` as bash reads it; a template's `$$` is one literal `$`."""
    contexts = []
    state = UNQUOTED
    heredocs: list[str] = []  # delimiters of here-documents whose bodies start at the next line
    body_end: str | None = None  # the delimiter ending the here-document being read
    index = 0
    at_word_start = True
    while index < len(text):
        char = text[index]
        if body_end is not None:
            line_end = text.find("\n", index)
            line_end = len(text) if line_end < 0 else line_end + 1
            contexts += [HEREDOC] * (line_end - index)
            if text[index:line_end].strip("\t\n") == body_end:
                body_end = heredocs.pop(0) if heredocs else None
            index = line_end
            continue
        contexts.append(state)
        if state == COMMENT:
            if char == "\n":
                state = UNQUOTED
        elif state == SINGLE:
            if char == "'":
                state = UNQUOTED
        elif state == DOUBLE:
            if char == "\\" and index + 1 < len(text):
                contexts.append(DOUBLE)
                index += 1
            elif char == '"':
                state = UNQUOTED
        elif char == "\\" and index + 1 < len(text):
            contexts.append(UNQUOTED)
            index += 1
        elif char == "'":
            state = SINGLE
        elif char == '"':
            state = DOUBLE
        elif char == "#" and at_word_start:
            state = COMMENT
            contexts[-1] = COMMENT
        elif char == "<" and text.startswith("<<", index) and not text.startswith("<<<", index):
            found = _HEREDOC.match(text, index)
            if found:
                heredocs.append(found.group(2))
        if char == "\n" and state == UNQUOTED and heredocs:
            body_end = heredocs.pop(0)
        at_word_start = state == UNQUOTED and char in " \t\n;&|()"
        index += 1
    return contexts
