"""InBackground: a call that runs while its caller works, handing back its value or its error."""

import threading

import pytest

from pbt_tracker.errors import SchedulerError
from pbt_tracker.in_background import InBackground


def test_the_call_runs_before_its_result_is_asked_for_and_its_value_comes_back():
    started = threading.Event()

    def call() -> str:
        started.set()
        return "listed"

    pending = InBackground(call)
    assert started.wait(timeout=10)  # the caller went on while it ran
    assert pending.result() == "listed"


def test_the_caller_can_work_while_the_call_waits():
    caller_done = threading.Event()
    pending = InBackground(lambda: caller_done.wait(timeout=10))
    caller_done.set()  # would never happen if InBackground ran the call on the caller's thread
    assert pending.result() is True


def test_an_error_of_the_call_is_raised_by_result_on_the_callers_thread():
    def call() -> None:
        raise SchedulerError("squeue did not answer within 60 s")

    pending = InBackground(call)
    with pytest.raises(SchedulerError, match="^squeue did not answer within 60 s$"):
        pending.result()
