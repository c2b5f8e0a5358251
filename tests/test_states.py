"""Which job states are final, which may still run, and how users name them."""

import pytest

from pbt_tracker import states
from pbt_tracker.errors import OptionError

# The JOB STATE CODES of the squeue and sacct manual pages (Slurm 22.05), code and name.
MANUAL = {
    "BF": "BOOT_FAIL", "CA": "CANCELLED", "CD": "COMPLETED", "CF": "CONFIGURING", "CG": "COMPLETING",
    "DL": "DEADLINE", "F": "FAILED", "NF": "NODE_FAIL", "OOM": "OUT_OF_MEMORY", "PD": "PENDING",
    "PR": "PREEMPTED", "R": "RUNNING", "RD": "RESV_DEL_HOLD", "RF": "REQUEUE_FED", "RH": "REQUEUE_HOLD",
    "RQ": "REQUEUED", "RS": "RESIZING", "RV": "REVOKED", "SI": "SIGNALING", "SE": "SPECIAL_EXIT",
    "SO": "STAGE_OUT", "ST": "STOPPED", "S": "SUSPENDED", "TO": "TIMEOUT",
}
OWN = {"SUBMITTING", "SUBMITTED", "SUBMIT_FAILED", "SUBMIT_UNCERTAIN", "PRINT_ONLY", "UNKNOWN", "LOST"}

ALL_STATES = (
    "BOOT_FAIL, CANCELLED, COMPLETED, COMPLETING, CONFIGURING, DEADLINE, FAILED, LOST, NODE_FAIL, OUT_OF_MEMORY, "
    "PENDING, PREEMPTED, PRINT_ONLY, REQUEUED, REQUEUE_FED, REQUEUE_HOLD, RESIZING, RESV_DEL_HOLD, REVOKED, "
    "RUNNING, SIGNALING, SPECIAL_EXIT, STAGE_OUT, STOPPED, SUBMITTED, SUBMITTING, SUBMIT_FAILED, "
    "SUBMIT_UNCERTAIN, SUSPENDED, TIMEOUT, UNKNOWN"
)


def test_every_state_of_the_manual_pages_is_known_with_its_short_code():
    assert states.SHORT == MANUAL
    assert states.SLURM == set(MANUAL.values())
    assert states.KNOWN == set(MANUAL.values()) | OWN


def test_every_known_state_is_either_final_or_may_be_active_never_both():
    assert states.FINAL | states.MAY_BE_ACTIVE == states.KNOWN
    assert states.FINAL & states.MAY_BE_ACTIVE == set()


def test_final_states_are_the_ends_of_a_run():
    assert states.FINAL == {
        "SUBMIT_FAILED", "PRINT_ONLY", "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
        "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT", "LOST",
    }


@pytest.mark.parametrize("state", ["UNKNOWN", "SUBMIT_UNCERTAIN"])
def test_not_seen_and_uncertain_are_asked_again_and_reached_by_scancel(state):
    assert state not in states.FINAL
    assert state in states.MAY_BE_ACTIVE


@pytest.mark.parametrize(
    "state",
    ["SUSPENDED", "STOPPED", "RESIZING", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT",
     "SIGNALING", "STAGE_OUT", "REVOKED", "CONFIGURING", "COMPLETING", "REQUEUED"],
)
def test_held_suspended_and_transient_states_may_still_run(state):
    assert state in states.MAY_BE_ACTIVE


def test_waiting_states_hold_no_allocation_and_may_still_run():
    assert states.WAITING == {"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT"}
    assert states.WAITING <= states.MAY_BE_ACTIVE


# --- parse_states ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["PD"], ("PENDING",)),
        (["pd"], ("PENDING",)),
        (["COMPLETED,FAILED"], ("COMPLETED", "FAILED")),
        (["CD,F", "TO"], ("COMPLETED", "FAILED", "TIMEOUT")),
        (["r", "running", "R"], ("RUNNING",)),
        ([" cg , oom "], ("COMPLETING", "OUT_OF_MEMORY")),
        (["s,st,se,si,so,rv,rs,rq,rh,rf,rd"], (
            "SUSPENDED", "STOPPED", "SPECIAL_EXIT", "SIGNALING", "STAGE_OUT", "REVOKED", "RESIZING", "REQUEUED",
            "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD",
        )),
        (["CA,NF,PR,BF,DL,CF"], ("CANCELLED", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "CONFIGURING")),
        (["submit_uncertain,Unknown,print_only"], ("SUBMIT_UNCERTAIN", "UNKNOWN", "PRINT_ONLY")),
        (["PD,"], ("PENDING",)),
        ([], ()),
    ],
)
def test_states_are_read_as_squeue_takes_them(texts, expected):
    assert states.parse_states(texts) == expected


@pytest.mark.parametrize(
    ("texts", "named"),
    [(["PX"], "PX"), (["runing"], "RUNING (did you mean RUNNING?)"), (["PD,Px,R"], "PX"), (["R", "done"], "DONE"),
     (["pendng"], "PENDNG (did you mean PENDING?)")],
)
def test_a_word_that_is_no_state_is_refused_on_one_line_with_every_state(texts, named):
    with pytest.raises(OptionError) as excinfo:
        states.parse_states(texts)
    word, _, hint = named.partition(" ")
    assert str(excinfo.value) == f"{word} is not a job state{' ' + hint if hint else ''}; use one of {ALL_STATES}"


@pytest.mark.parametrize("texts", [[""], [" , "], ["PD", ","]])
def test_an_empty_state_list_is_refused_rather_than_read_as_no_filter(texts):
    with pytest.raises(OptionError) as excinfo:
        states.parse_states(texts)
    assert str(excinfo.value) == f"no job state given; use one of {ALL_STATES}"
