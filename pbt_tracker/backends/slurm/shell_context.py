"""Where in a template's shell text a `$VARIABLE` stands, and its value quoted for exactly that place.

A value pbt-track puts into a job script must reach the shell as the words it
means and nothing more, and what quoting does that depends on where the
template puts it: `'...'` is right where a word starts and wrong inside
double quotes, where the shell reads `$` and backquotes but not `'`. So each
place is read as bash reads it (quotes, backslashes, comments, `$(...)` and
backquotes with their own quoting inside double quotes, here-documents with
a quoted delimiter or not), and the value is quoted for that place; a value
no quoting keeps inert there (a line break in a comment) is refused. A
template's `$$` is one literal `$`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from string import Template

from pbt_tracker.errors import TemplateError

UNQUOTED = "unquoted"
COMMENT = "a comment"
SINGLE = "single quotes"
DOUBLE = "double quotes"
HEREDOC = "a here-document"
QUOTED_HEREDOC = "a quoted here-document"

_HEREDOC = re.compile(r"<<-?\s*(\\?)(['\"]?)([A-Za-z0-9_.-]+)\2")


def variable_places(template_text: str, name: str) -> list[tuple[int, str]]:
    """(line, context) of every `$name` or `${name}` in the template, lines counted from 1."""
    contexts = _contexts(template_text)
    return [(template_text.count("\n", 0, start) + 1, contexts[start])
            for start, found in _variables(template_text) if found == name]


def _variables(template_text: str) -> list[tuple[int, str]]:
    return [(match.start(), match.group("named") or match.group("braced"))
            for match in Template.pattern.finditer(template_text)
            if match.group("named") or match.group("braced")]


def quote_for(context: str, value: str, words: bool = False) -> str:
    """`value` as text that the shell reads back as exactly `value` in `context`.

    With `words`, an unquoted `value` is already shell words (a command,
    quoted by its maker) and goes in as it is; anywhere else it is one string.
    """
    if context == UNQUOTED:
        return value if words else shlex.quote(value)
    if context == DOUBLE:
        return re.sub(r'([\\$`"])', r"\\\1", value)
    if context == SINGLE:
        return value.replace("'", "'\\''")
    if "\n" in value:
        raise TemplateError(f"{value[:60]!r} holds a line break, which would end {context} of the template "
                            "and run the rest; use a value without one, or move the variable out of " + context)
    if context == HEREDOC:
        return re.sub(r"([\\$`])", r"\\\1", value)
    return value


@dataclass(frozen=True)
class Substitution:
    """A template variable's value: one string (a path), or shell words already quoted (a command)."""

    text: str
    words: bool = False


def substitute(template_text: str, values: dict[str, Substitution]) -> str:
    """The template with each variable's value quoted for its own place; `$$` becomes `$`."""
    contexts = _contexts(template_text)
    quoted = {start: quote_for(contexts[start], values[name].text, values[name].words)
              for start, name in _variables(template_text) if name in values}

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return "$"
        if match.start() not in quoted:  # check_template refuses these before any script is rendered
            raise TemplateError(f"the template has {match.group(0)!r}, which is not one of its variables")
        return quoted[match.start()]

    return Template.pattern.sub(replace, template_text)


class _Reader:
    """bash's reading of a template, character by character, with a stack for `$(...)` and backquotes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.contexts: list[str] = []
        self.state = UNQUOTED
        self.stack: list[tuple[str, str, int]] = []  # (closer, state to go back to, open parentheses)
        self.depth = 0
        self.heredocs: list[tuple[str, bool]] = []  # (delimiter, quoted) of bodies starting at the next line
        self.at_word_start = True

    def mark(self, count: int, context: str) -> None:
        self.contexts += [context] * count

    def read(self) -> list[str]:
        text, index = self.text, 0
        while index < len(text):
            index = self.step(index)
        return self.contexts

    def step(self, index: int) -> int:
        text, char, state = self.text, self.text[index], self.state
        if state == COMMENT:
            self.mark(1, COMMENT)
            if char == "\n":
                return self.newline(index)
            return index + 1
        if state == SINGLE:
            self.mark(1, SINGLE)
            self.state = UNQUOTED if char == "'" else SINGLE
            self.at_word_start = False
            return index + 1
        if text.startswith("$$", index):  # the template's literal dollar: maybe `$(` opening a command
            self.mark(2, state)
            if text.startswith("(", index + 2):
                self.mark(1, state)
                self.stack.append((")", state, self.depth))
                self.state, self.depth, self.at_word_start = UNQUOTED, 0, True
                return index + 3
            self.at_word_start = False
            return index + 2
        if char == "\\" and index + 1 < len(text):
            self.mark(2, state)
            self.at_word_start = False
            return index + 2
        if char == "`":
            self.mark(1, state)
            if self.stack and self.stack[-1][0] == "`":
                self.state, self.depth = self.stack.pop()[1:]
            else:
                self.stack.append(("`", state, self.depth))
                self.state, self.depth = UNQUOTED, 0
            self.at_word_start = state == UNQUOTED
            return index + 1
        self.mark(1, state)
        if state == DOUBLE:
            if char == '"':
                self.state = UNQUOTED
            return index + 1
        return self.unquoted(index, char)

    def unquoted(self, index: int, char: str) -> int:
        text = self.text
        if char == "'":
            self.state = SINGLE
        elif char == '"':
            self.state = DOUBLE
        elif char == "#" and self.at_word_start:
            self.state = COMMENT
            self.contexts[-1] = COMMENT
            return index + 1
        elif char == "(":
            self.depth += 1
        elif char == ")":
            if self.depth == 0 and self.stack and self.stack[-1][0] == ")":
                self.state, self.depth = self.stack.pop()[1:]
                self.at_word_start = self.state == UNQUOTED
                return index + 1
            self.depth = max(0, self.depth - 1)
        elif char == "<" and text.startswith("<<", index) and not text.startswith("<<<", index):
            found = _HEREDOC.match(text, index)
            if found:
                self.heredocs.append((found.group(3), bool(found.group(1) or found.group(2))))
        elif char == "\n":
            return self.newline(index)
        self.at_word_start = char in " \t\n;&|()"
        return index + 1

    def newline(self, index: int) -> int:
        """After a line break: the bodies of the here-documents opened on that line, each to its delimiter."""
        self.state = UNQUOTED if self.state == COMMENT else self.state
        self.at_word_start = True
        index += 1
        while self.heredocs and self.state == UNQUOTED:
            delimiter, quoted = self.heredocs.pop(0)
            context = QUOTED_HEREDOC if quoted else HEREDOC
            while index < len(self.text):
                line_end = self.text.find("\n", index)
                line_end = len(self.text) if line_end < 0 else line_end + 1
                self.mark(line_end - index, context)
                ended = self.text[index:line_end].strip("\t\n") == delimiter
                index = line_end
                if ended:
                    break
        return index


def _contexts(text: str) -> list[str]:
    """The context of each character of the template `text` as bash reads it."""
    return _Reader(text).read()
