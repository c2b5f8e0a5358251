"""Replacement events come from the lines IsaacGymEnvs' PBT prints, read incrementally from a growing log."""

from pbt_tracker.pbt.lineage import LineageRead, ReplacementEvent, read_lineage

REPLACED = (
    "Policy 3: New pbt iteration 12!\n"
    "Policy 3: Saving /w/003/000012.yaml...\n"
    "Policy 3: PBT best_policies=[1, 0], worst_policies=[3, 2]\n"
    "Current policy 3 is among the worst_policies=[3, 2], consider replacing weights\n"
    "Replacing underperforming policy 3 with 1\n"
    "Policy 3: restarting from checkpoint /tmp/ant_p3/000011.pth, 11264000\n"
    "Policy 3: Preparing to restart the process with mutated parameters! Checkpoint /tmp/ant_p3/000011.pth\n"
    "Policy 3: Restarting self with args ['train.py', '++pbt_restart=True']\n"
)
MUTATED_ONLY = (
    "Policy 3: New pbt iteration 14!\n"
    "Policy 3: Difference in objective value (5.0 vs 4.9) is not sufficient to justify replacement,0.1, 1, 2, 3\n"
    "Policy 3: Preparing to restart the process with mutated parameters! Checkpoint /tmp/ant_p3/000014.pth\n"
)


def test_a_replacement_names_the_policy_its_donor_the_iteration_and_the_checkpoint():
    read = read_lineage(REPLACED.encode())

    start = REPLACED.index("Policy 3: Preparing")
    assert read == LineageRead([ReplacementEvent(3, 1, 12, "/tmp/ant_p3/000011.pth", start)], len(REPLACED))


def test_a_restart_that_only_mutates_params_has_the_policy_as_its_own_donor():
    assert read_lineage(MUTATED_ONLY.encode()).events == [
        ReplacementEvent(3, 3, 14, "/tmp/ant_p3/000014.pth", MUTATED_ONLY.index("Policy 3: Preparing"))
    ]


def test_an_unfinished_last_line_is_left_for_the_next_read():
    cut = REPLACED.index("Checkpoint /tmp") + 12

    read = read_lineage(REPLACED[:cut].encode())

    assert read == LineageRead([], 0)
    assert read_lineage(REPLACED.encode(), read.offset).events[0].checkpoint == "/tmp/ant_p3/000011.pth"


def test_reading_a_growing_log_piece_by_piece_finds_each_event_once():
    log = (REPLACED + "Policy 3: PBT init. Env frames: 12288000, pbt_iteration: 12\n" + MUTATED_ONLY).encode()
    events, offset = [], 0
    for length in range(len(log) + 1):
        read = read_lineage(log[:length], offset)
        events += read.events
        offset = read.offset

    assert [(event.donor_idx, event.iteration) for event in events] == [(1, 12), (3, 14)]
    assert offset == len(log)


def test_the_next_offset_keeps_the_iteration_of_a_policy_that_has_not_restarted_yet():
    head = REPLACED.split("Replacing")[0]

    read = read_lineage(head.encode())

    assert read == LineageRead([], 0)
    assert read_lineage(REPLACED.encode(), read.offset).events[0].iteration == 12


def test_an_event_without_its_iteration_line_has_no_iteration_and_other_text_is_ignored():
    log = (
        "garbage \xff line\r\n"
        "Replacing underperforming policy 0 with 2\r\n"
        "Policy 0: Preparing to restart the process with mutated parameters! Checkpoint /c/my ckpt.pth\r\n"
    ).encode("latin-1")

    assert read_lineage(log).events == [ReplacementEvent(0, 2, None, "/c/my ckpt.pth", log.index(b"Policy 0"))]
    assert read_lineage(b"") == LineageRead([], 0)
    assert read_lineage(log, len(log)) == LineageRead([], len(log))
