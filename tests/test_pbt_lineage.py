"""Replacement events come from the lines IsaacGymEnvs' PBT prints, read incrementally from a growing log."""

from pbt_tracker.pbt.lineage import LineageRead, ProcessStart, ReplacementEvent, parse_start_args, read_lineage

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
    "Policy 3: Restarting self with args ['train.py', '++pbt_restart=True', 'checkpoint=/tmp/ant_p3/000014.pth', "
    "'learning_rate=0.0003']\n"
)


def test_a_replacement_names_the_policy_its_donor_the_iteration_and_the_checkpoint():
    read = read_lineage(REPLACED.encode())

    start = REPLACED.index("Policy 3: Preparing")
    event = ReplacementEvent(3, 1, 12, "/tmp/ant_p3/000011.pth", start)
    assert read == LineageRead([event], len(REPLACED), [
        ProcessStart(3, ("train.py", "++pbt_restart=True"), REPLACED.index("Policy 3: Restarting"), event),
    ])


def test_a_restart_that_only_mutates_params_has_the_policy_as_its_own_donor():
    assert read_lineage(MUTATED_ONLY.encode()).events == [
        ReplacementEvent(3, 3, 14, "/tmp/ant_p3/000014.pth", MUTATED_ONLY.index("Policy 3: Preparing"))
    ]


def test_an_unfinished_last_line_is_left_for_the_next_read():
    cut = REPLACED.index("Checkpoint /tmp") + 12

    read = read_lineage(REPLACED[:cut].encode())

    assert read == LineageRead([], 0)
    assert read_lineage(REPLACED.encode(), read.offset).events[0].checkpoint == "/tmp/ant_p3/000011.pth"


def test_reading_a_growing_log_piece_by_piece_finds_each_event_and_start_once_by_its_offset():
    """An event read again while its start is not printed yet has the same offset: the record keeps one row."""
    log = (REPLACED + "Policy 3: PBT init. Env frames: 12288000, pbt_iteration: 12\n" + MUTATED_ONLY).encode()
    events, starts, offset = {}, {}, 0
    for length in range(len(log) + 1):
        read = read_lineage(log[:length], offset)
        for event in read.events:
            assert events.setdefault(event.offset, event) == event
        for start in read.starts:
            assert start.offset not in starts
            starts[start.offset] = start
        offset = read.offset

    assert [(event.donor_idx, event.iteration) for event in events.values()] == [(1, 12), (3, 14)]
    assert [(start.event.donor_idx, start.event.iteration) for start in starts.values()] == [(1, 12), (3, 14)]
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


def test_an_event_whose_new_command_line_is_not_printed_yet_is_read_again_with_it():
    """IsaacGymEnvs prints the restart's command line just after announcing it: the start is read with its event."""
    announced = MUTATED_ONLY.split("Policy 3: Restarting")[0]

    first = read_lineage(announced.encode())
    second = read_lineage(MUTATED_ONLY.encode(), first.offset)

    assert first.offset == 0 and first.starts == []  # back to the iteration's line, which the event needs
    assert second.offset == len(MUTATED_ONLY)
    assert second.events == first.events  # the same event, at the same offset: the record keeps it once
    [start] = second.starts
    assert start.event == first.events[0] and start.args[-1] == "learning_rate=0.0003"


def test_a_restart_that_never_came_holds_the_offset_only_until_the_policys_next_iteration():
    log = MUTATED_ONLY.split("Policy 3: Restarting")[0] + "Policy 3: New pbt iteration 15!\nPolicy 3: Saving x\n"

    read = read_lineage(log.encode())

    assert read.offset == log.index("Policy 3: New pbt iteration 15")
    assert read.starts == []


def test_start_args_are_a_printed_list_of_strings_and_nothing_else():
    assert parse_start_args("['train.py', 'a=1', \"b='x y'\"]") == ("train.py", "a=1", "b='x y'")
    assert parse_start_args("['train.py', 3]") is None
    assert parse_start_args("[__import__('os')]") is None
    assert parse_start_args("['unterminated") is None
    log = b"Policy 2: Restarting self with args ['t.py', 1]\nPolicy 2: Restarting self with args not a list\n"
    assert read_lineage(log).starts == []
