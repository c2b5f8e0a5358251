"""One call run in a thread while the caller goes on with its own work.

A sync (and a cancel's settle) starts its squeue listing this way and
reads the record while squeue runs, rather than one after the other. The
thread only runs a scheduler command and parses its answer; the record is
read and written on the caller's thread alone, on its one connection. concurrent.futures would
do the same, but importing it costs a cancel's start-up more than all of this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class InBackground(Generic[T]):
    """Starts `call` at once; `result()` waits for it, and returns its value or raises what it raised."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)  # never keeps an interrupted command alive
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as error:  # handed to the caller by result(), which raises it on its own thread
            self._error = error

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)  # set by _run, which raised nothing
