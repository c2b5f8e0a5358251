"""One PBT iteration file, as IsaacGymEnvs' PBT writes it with ``yaml.dump``.

The file is read as YAML, not scanned, because everything in it counts: the
params mapping and the paths are what a continuation needs. IsaacGymEnvs
writes it in place, not atomically, so another process may read it half
written; such a file must be passed over (and read again later), never
treated as the policy's state.

A sync reads thousands of these files, and PyYAML spends most of its time
building nodes for them; so the layout ``yaml.dump`` gives IsaacGymEnvs'
document (``key: value`` lines, one nested block of two-space-indented
lines) is read directly, and only for values whose YAML meaning is plain
(numbers, true/false/null, words, single-quoted text). Any other line sends
the whole file to PyYAML, so both readers give the same document.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["IterationRecord", "parse_iteration_file", "read_dump"]


@dataclass(frozen=True)
class IterationRecord:
    """What one iteration file says; ``params`` are the hyperparameters the policy trained with."""

    iteration: int
    true_objective: float
    frame: int | None = None
    params: dict[str, object] = field(default_factory=dict)
    checkpoint: str | None = None
    pbt_checkpoint: str | None = None
    experiment_name: str | None = None


def parse_iteration_file(data: bytes, name_iteration: int | None = None) -> IterationRecord | None:
    """The file's record, or None for a file that is half written, broken or not an iteration file.

    ``yaml.dump`` sorts the keys, so ``true_objective`` is the last line it
    writes: a file that does not end in a newline, or lacks a numeric
    objective, is one still being written. `name_iteration` (from the file
    name) stands in for a missing ``iteration`` key.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.endswith("\n"):
        return None
    document = read_dump(text)
    if document is None:
        import yaml  # only here: a sync that finds nothing odd never pays for importing it

        # libyaml's safe loader reads the same documents about ten times faster than PyYAML's own.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            document = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, libyaml's when built with it
        except yaml.YAMLError:
            return None
    if not isinstance(document, dict):
        return None
    objective = _number(document.get("true_objective"))
    iteration = document.get("iteration", name_iteration)
    if objective is None or isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        return None
    frame = document.get("frame")
    params = document.get("params")
    return IterationRecord(
        iteration=iteration,
        true_objective=objective,
        frame=frame if isinstance(frame, int) and not isinstance(frame, bool) else None,
        params={str(key): value for key, value in params.items()} if isinstance(params, dict) else {},
        checkpoint=_string(document.get("checkpoint")),
        pbt_checkpoint=_string(document.get("pbt_checkpoint")),
        experiment_name=_string(document.get("experiment_name")),
    )


_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*(?:e[-+][0-9]+)?")
_SPECIAL_FLOATS = {".inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
_CONSTANTS = {"true": True, "false": False, "null": None}
# Plain words YAML 1.1 reads as something else than text (booleans, null); they take PyYAML's road.
_NOT_TEXT = {spelling for word in ("yes", "no", "true", "false", "on", "off", "null")
             for spelling in (word, word.capitalize(), word.upper())}
# A word starting with a letter, `_` or `/` in these characters is text to YAML unless it is in _NOT_TEXT;
# one starting with a digit is text when a letter past `f` shows it is no number (hex aside).
_WORD = re.compile(r"[A-Za-z_/][A-Za-z0-9_./+=-]*")
_DIGIT_WORD = re.compile(r"[0-9][A-Za-z0-9_./+=-]*")
_LETTER_PAST_F = re.compile(r"[g-zG-Z]")
_UNREAD = object()


def read_dump(text: str) -> dict[str, object] | None:
    """The document of a file in ``yaml.dump``'s layout of a flat mapping with nested blocks one level deep.

    None when any line is outside that layout or holds a value this reader
    does not resolve exactly as YAML would: PyYAML reads such a file.
    """
    document: dict[str, object] = {}
    block: dict[str, object] | None = None
    block_key = ""
    for line in text.split("\n")[:-1]:
        if line.startswith("  "):
            if block is None:
                return None
            key, sep, value = line[2:].partition(": ")
            parsed_key, parsed = _text_key(key), _scalar(value)
            if not sep or not isinstance(parsed_key, str) or parsed is _UNREAD:
                return None
            block[parsed_key] = parsed
            continue
        if block is not None and not block:
            document[block_key] = None  # `key:` with nothing under it is null
        block = None
        if line.endswith(":") and ": " not in line:
            read_key = _text_key(line[:-1])
            if not isinstance(read_key, str):
                return None
            block_key = read_key
            block = document[block_key] = {}
            continue
        key, sep, value = line.partition(": ")
        parsed_key, parsed = _text_key(key), _scalar(value)
        if not sep or not isinstance(parsed_key, str) or parsed is _UNREAD:
            return None
        document[parsed_key] = parsed
    if block is not None and not block:
        document[block_key] = None
    return document


_KEYS: dict[str, object] = {}  # every file repeats the same keys


def _text_key(text: str) -> object:
    known = _KEYS.get(text)
    if known is not None:
        return known
    value = _scalar(text)
    value = value if isinstance(value, str) and value == text else _UNREAD
    if len(_KEYS) < 4096:
        _KEYS[text] = value
    return value


def _scalar(text: str) -> object:
    """What YAML reads `text` as, or _UNREAD for a value left to PyYAML."""
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if text == "{}":
        return {}
    if _WORD.fullmatch(text):
        return _UNREAD if text in _NOT_TEXT else text
    if _DIGIT_WORD.fullmatch(text) and _LETTER_PAST_F.search(text) and text[:2] not in ("0x", "0X"):
        return text
    if len(text) >= 2 and text[0] == text[-1] == "'" and "'" not in text[1:-1].replace("''", ""):
        return text[1:-1].replace("''", "'")
    return _UNREAD


def _number(value: object) -> float | None:
    """A float from YAML's number, or from a string such as ``1e-3`` that YAML 1.1 leaves a string."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]  # what float() refuses raises TypeError, caught below
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _string(value: object) -> str | None:
    return None if value is None or isinstance(value, (list, dict)) else str(value)
