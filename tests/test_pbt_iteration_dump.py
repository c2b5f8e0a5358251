"""The direct reader of `yaml.dump`'s layout reads exactly what PyYAML reads, or leaves the file to PyYAML."""

from __future__ import annotations

import math

import pytest
import yaml

from pbt_tracker.pbt.iteration_file import IterationRecord, parse_iteration_file, read_dump

# As IsaacGymEnvs' pbt.py writes it: yaml.dump of the iteration's mapping, keys sorted.
ISAACGYMENVS_FILE = """\
checkpoint: /runs/ws/003/000012.pth
experiment_name: 03_ant_pbt_24-10-00-00
frame: 12288000
iteration: 12
params:
  task.env.actionScale: 1.2
  train.params.config.e_clip: 0.2
  train.params.config.learning_rate: 1.0e-05
  train.params.config.mini_epochs: 4
  train.params.config.name: Ant
  train.params.config.normalize_input: true
pbt_checkpoint: /runs/ws/003/000012.yaml
true_objective: -12.5
"""


def test_isaacgymenvs_file_is_read_directly_as_pyyaml_reads_it() -> None:
    document = read_dump(ISAACGYMENVS_FILE)

    assert document == yaml.safe_load(ISAACGYMENVS_FILE)
    assert document == {
        "checkpoint": "/runs/ws/003/000012.pth", "experiment_name": "03_ant_pbt_24-10-00-00", "frame": 12288000,
        "iteration": 12,
        "params": {"task.env.actionScale": 1.2, "train.params.config.e_clip": 0.2,
                   "train.params.config.learning_rate": 1e-05, "train.params.config.mini_epochs": 4,
                   "train.params.config.name": "Ant", "train.params.config.normalize_input": True},
        "pbt_checkpoint": "/runs/ws/003/000012.yaml", "true_objective": -12.5,
    }
    assert parse_iteration_file(ISAACGYMENVS_FILE.encode()) == IterationRecord(
        12, -12.5, 12288000, document["params"], "/runs/ws/003/000012.pth", "/runs/ws/003/000012.yaml",
        "03_ant_pbt_24-10-00-00",
    )


def test_every_cut_of_the_isaacgymenvs_file_is_skipped_as_half_written() -> None:
    data = ISAACGYMENVS_FILE.encode()

    assert [length for length in range(len(data) + 1) if parse_iteration_file(data[:length]) is not None] == [len(data)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 0\nb: -3\nc: 0.5\nd: 1.0e+20\ne: .inf\nf: -.inf\n", {"a": 0, "b": -3, "c": 0.5, "d": 1e20,
                                                                 "e": math.inf, "f": -math.inf}),
        ("a: true\nb: false\nc: null\nd: {}\n", {"a": True, "b": False, "c": None, "d": {}}),
        ("a: ''\nb: 'yes'\nc: '007'\nd: 'it''s: here'\n", {"a": "", "b": "yes", "c": "007", "d": "it's: here"}),
        ("params:\nx: 1\n", {"params": None, "x": 1}),  # a block with nothing under it is null
        ("name: 00_toy_pbt\npath: /w/000/000001.pth\nrun: a=b\n",
         {"name": "00_toy_pbt", "path": "/w/000/000001.pth", "run": "a=b"}),
    ],
)
def test_plain_values_are_what_yaml_makes_of_them(text: str, expected: dict[str, object]) -> None:
    assert read_dump(text) == expected == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: yes\n",  # YAML 1.1 booleans other than true/false
        "a: On\n",
        "a: ~\n",  # null spelled otherwise
        "a: 0x1F\n",  # hexadecimal, octal, underscores, sexagesimal: numbers to YAML
        "a: 017\n",
        "a: 1_000\n",
        "a: 12:30\n",
        "a: 2024-01-01\n",  # a date
        "a: a b\n",  # text with spaces
        'a: "quoted"\n',
        "a: [1, 2]\n",
        "a:\n- 1\n",
        "params:\n  a: /x/\n    wrapped\n",  # a long value that yaml.dump folded onto a second line
        "params:\n  inner:\n    a: 1\n",  # a block two levels deep
        "a: 1\r\n",
        "# a comment\na: 1\n",
        "\na: 1\n",
        "'a': 1\n",
        "1: a\n",  # a key that is no text
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert read_dump(text) is None


def test_a_file_left_to_pyyaml_is_still_read() -> None:
    text = "iteration: 3\nparams:\n  note: two words\ntrue_objective: 2.5\n"

    assert read_dump(text) is None
    assert parse_iteration_file(text.encode()) == IterationRecord(3, 2.5, params={"note": "two words"})
