"""Which sbatch failures prove a refusal, and which leave the job's existence open.

Literal messages: those marked (captured) came from the one-node Slurm 22.05.8
here; the others are Slurm's own error texts as sbatch prints them, which a
one-node cluster cannot be made to produce on demand.
"""

import pytest

from pbt_tracker.backends.slurm.sbatch_answer import DEFINITE, UNCERTAIN, classify_sbatch_failure

E = "sbatch: error: Batch job submission failed: "

REFUSED = [
    # (captured)
    (1, "sbatch: error: invalid partition specified: nosuch\n" + E + "Invalid partition name specified\n"),
    (1, E + "More processors requested than permitted\n"),
    (255, "sbatch: unrecognized option '--bogus'\nTry \"sbatch --help\" for more information\n"),
    (255, "sbatch: error: Invalid --time specification\n"),
    (1, "sbatch: error: Unable to open file /nonexistent.sh\n"),
    # Slurm's error texts
    (1, E + "Invalid qos specification\n"),
    (1, E + "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)\n"),
    (1, E + "Requested node configuration is not available\n"),
    (1, E + "Invalid account or account/partition combination specified\n"),
    (1, E + "Invalid generic resource (gres) specification\n"),
    (1, E + "Invalid Trackable RESource (TRES) specification\n"),
    (1, E + "Requested time limit is invalid (missing or exceeds some limit)\n"),
    (1, E + "Requested partition configuration not available now\n"),
    (1, E + "Node count specification invalid\n"),
    (1, E + "Memory required by task is not available\n"),
    (1, E + "Invalid feature specification\n"),
    (1, E + "Invalid job array specification\n"),
    (1, E + "Requested reservation is invalid\n"),
    (1, E + "Access/permission denied\n"),
    (1, E + "User's group not permitted to use this partition\n"),
    (1, "sbatch: error: CPU count per node can not be satisfied\n" + E + "Requested node configuration is not "
        "available\n"),
    (1, "sbatch: error: This does not look like a batch script.  The first\n"
        "sbatch: error: line must start with #! followed by the path to an interpreter.\n"),
    (1, "sbatch: error: Batch script is empty!\n"),
    (1, "sbatch: error: Batch script contains DOS line breaks (\\r\\n)\n"),
    (255, "sbatch: option '--partition' requires an argument\nTry \"sbatch --help\" for more information\n"),
    (255, "sbatch: error: Invalid numeric value \"x\" for --cpus-per-task.\n"),
]

NOT_PROVEN = [
    (None, ""),  # no answer in time
    (-9, ""),  # killed by SIGKILL
    (-15, E + "Invalid partition name specified\n"),  # killed after a first, refused try: a retry may have gone in
    (1, E + "Socket timed out on send/recv operation\n"),
    (1, "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n"),
    (1, "sbatch: error: slurm_receive_msg: Zero Bytes were transmitted or received\n" + E + "Zero Bytes were "
        "transmitted or received\n"),
    (1, E + "Communication connection failure\n"),
    (1, "sbatch: error: Sending message to controller: Connection refused\n"),
    (1, "sbatch: error: slurm_receive_msg: Connection reset by peer\n"),
    (1, "sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying\n"
        + E + "Resource temporarily unavailable\n"),
    (1, E + "Socket timed out on send/recv operation\n" + E + "Invalid qos specification\n"),
    (1, E + "Unspecified error\n"),  # a site's submit plugin, saying nothing
    (1, "quota exceeded\n"),
    (1, ""),
    (137, ""),  # a site wrapper whose sbatch was killed: 128 + SIGKILL
]


@pytest.mark.parametrize(("returncode", "stderr"), REFUSED)
def test_a_message_that_proves_refusal_is_definite(returncode, stderr):
    assert classify_sbatch_failure(returncode, stderr) == DEFINITE


@pytest.mark.parametrize(("returncode", "stderr"), NOT_PROVEN)
def test_a_failure_that_does_not_prove_refusal_is_uncertain(returncode, stderr):
    assert classify_sbatch_failure(returncode, stderr) == UNCERTAIN


def test_case_does_not_matter():
    assert classify_sbatch_failure(1, "SBATCH: ERROR: INVALID PARTITION NAME SPECIFIED") == DEFINITE
    assert classify_sbatch_failure(1, "socket TIMED OUT") == UNCERTAIN
