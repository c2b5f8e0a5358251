"""Run descriptions must expand to the same names, commands and dirs as IsaacGymEnvs'."""

import os
from collections import Counter

import pytest

from pbt_tracker.run_description import (
    Experiment,
    ExperimentSpec,
    ParamGrid,
    ParamList,
    RunDescription,
    param_shorthand,
)

ANT_CMD = "python -m isaacgymenvs.train task=Ant headless=True pbt=pbt_default pbt.num_policies=3"


def ant_description(customize_experiment_name=False):
    experiment = Experiment(
        "ant_v1",
        ANT_CMD,
        ParamGrid([("pbt.policy_idx", [0, 1, 2])]).generate_params(randomize=False),
    )
    return RunDescription(
        "ant_v1",
        experiments=[experiment],
        experiment_arg_name="experiment",
        experiment_dir_arg_name="hydra.run.dir",
        param_prefix="",
        customize_experiment_name=customize_experiment_name,
    )


def as_multiset(dicts):
    return Counter(tuple(sorted(d.items())) for d in dicts)


# --- the IsaacGymEnvs Ant PBT description --------------------------------------


def test_pbt_grid_over_policy_idx_gives_one_experiment_per_policy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got = list(ant_description().generate_experiments("./train_dir"))

    assert got == [
        (
            f"{ANT_CMD} pbt.policy_idx={i} experiment=0{i}_ant_v1 hydra.run.dir=./train_dir/ant_v1/ant_v1_",
            f"0{i}_ant_v1",
            "ant_v1/ant_v1_",
            None,
        )
        for i in range(3)
    ]
    assert got[0][0] == (
        "python -m isaacgymenvs.train task=Ant headless=True pbt=pbt_default "
        "pbt.num_policies=3 pbt.policy_idx=0 experiment=00_ant_v1 "
        "hydra.run.dir=./train_dir/ant_v1/ant_v1_"
    )
    assert (tmp_path / "train_dir" / "ant_v1" / "ant_v1_").is_dir()


def test_customized_ant_names_abbreviate_every_dotted_and_underscored_part():
    # "pbt.policy_idx" splits on both "." and "_" into pbt / policy / idx.
    names = [name for _, name, _, _ in ant_description(True).generate_experiments("td", makedirs=False)]

    assert names == ["00_ant_v1_p.p.idx_0", "01_ant_v1_p.p.idx_1", "02_ant_v1_p.p.idx_2"]


def test_customized_ant_command_carries_the_customized_name():
    cmd, _, _, _ = next(ant_description(True).generate_experiments("./train_dir", makedirs=False))

    assert cmd == (
        f"{ANT_CMD} pbt.policy_idx=0 experiment=00_ant_v1_p.p.idx_0 "
        "hydra.run.dir=./train_dir/ant_v1/ant_v1_"
    )


# --- grids with the default "--" prefix -----------------------------------------


def test_two_key_grid_varies_first_key_slowest_and_uses_the_suffix_in_the_root_dir():
    grid = ParamGrid([("seed", [1, 2]), ("learning_rate", [0.1, 0.01])])
    run = RunDescription("run", [Experiment("base", "python train.py", grid.generate_params(randomize=False))])
    run.experiment_suffix = "s1"

    got = list(run.generate_experiments("td", makedirs=False))

    assert got == [
        (
            "python train.py --seed=1 --learning_rate=0.1 "
            "--experiment=00_base_see_1_l.rat_0.1 --train_dir=td/run/base_s1",
            "00_base_see_1_l.rat_0.1",
            "run/base_s1",
            None,
        ),
        (
            "python train.py --seed=1 --learning_rate=0.01 "
            "--experiment=01_base_see_1_l.rat_0.01 --train_dir=td/run/base_s1",
            "01_base_see_1_l.rat_0.01",
            "run/base_s1",
            None,
        ),
        (
            "python train.py --seed=2 --learning_rate=0.1 "
            "--experiment=02_base_see_2_l.rat_0.1 --train_dir=td/run/base_s1",
            "02_base_see_2_l.rat_0.1",
            "run/base_s1",
            None,
        ),
        (
            "python train.py --seed=2 --learning_rate=0.01 "
            "--experiment=03_base_see_2_l.rat_0.01 --train_dir=td/run/base_s1",
            "03_base_see_2_l.rat_0.01",
            "run/base_s1",
            None,
        ),
    ]


def test_grid_yields_the_cartesian_product_with_the_first_key_outermost():
    grid = ParamGrid([("x", [1, 2]), ("y", ["a", "b"]), ("z", [True])])

    assert list(grid.generate_params(randomize=False)) == [
        {"x": 1, "y": "a", "z": True},
        {"x": 1, "y": "b", "z": True},
        {"x": 2, "y": "a", "z": True},
        {"x": 2, "y": "b", "z": True},
    ]


def test_grouped_grid_key_sets_several_params_from_one_value_tuple():
    grid = ParamGrid([(("a", "b"), [(1, 2), (3, 4)]), ("c", [5])])

    assert list(grid.generate_params(randomize=False)) == [
        {"a": 1, "b": 2, "c": 5},
        {"a": 3, "b": 4, "c": 5},
    ]


def test_grouped_grid_key_may_be_a_list_of_names():
    grid = ParamGrid([(["a", "b"], [(1, 2)])])

    assert list(grid.generate_params(randomize=False)) == [{"a": 1, "b": 2}]


def test_grouped_params_show_up_one_by_one_in_names_and_commands():
    grid = ParamGrid([(("a", "b"), [(1, 2), (3, 4)]), ("c", [5])])
    run = RunDescription("r", [Experiment("g", "run.py", grid.generate_params(randomize=False))])

    got = [(cmd, name) for cmd, name, _, _ in run.generate_experiments("td", makedirs=False)]

    assert got == [
        ("run.py --a=1 --b=2 --c=5 --experiment=00_g_a_1_b_2_c_5 --train_dir=td/r/g_", "00_g_a_1_b_2_c_5"),
        ("run.py --a=3 --b=4 --c=5 --experiment=01_g_a_3_b_4_c_5 --train_dir=td/r/g_", "01_g_a_3_b_4_c_5"),
    ]


def test_empty_grid_yields_nothing():
    assert list(ParamGrid([]).generate_params(randomize=False)) == []
    assert list(ParamGrid([]).generate_params(randomize=True)) == []


def test_randomized_grid_yields_the_same_combinations():
    grid = ParamGrid([("x", range(5)), ("y", range(4))])

    ordered = list(grid.generate_params(randomize=False))
    shuffled = list(grid.generate_params(randomize=True))

    assert len(shuffled) == 20
    assert as_multiset(shuffled) == as_multiset(ordered)


def test_randomized_grouped_grid_keeps_groups_together():
    grid = ParamGrid([(("a", "b"), [(1, 2), (3, 4), (5, 6)]), ("c", [7, 8])])

    shuffled = list(grid.generate_params(randomize=True))

    assert as_multiset(shuffled) == as_multiset(grid.generate_params(randomize=False))
    assert all(p["b"] == p["a"] + 1 for p in shuffled)


# --- experiments without params, several experiments ----------------------------


def test_experiment_without_params_runs_once_under_its_base_name():
    run = RunDescription("r", [Experiment("base", "base")])

    assert list(run.generate_experiments("td", makedirs=False)) == [
        ("base --experiment=00_base --train_dir=td/r/base_", "00_base", "r/base_", None)
    ]


def test_experiment_with_an_empty_grid_also_runs_once():
    run = RunDescription("r", [Experiment("base", "base", ParamGrid([]).generate_params())])

    assert [name for _, name, _, _ in run.generate_experiments("td", makedirs=False)] == ["00_base"]


def test_numbering_restarts_for_each_experiment_and_each_gets_its_own_root_dir():
    seeds = [{"seed": 1}, {"seed": 2}]
    run = RunDescription(
        "r",
        [Experiment("a", "a.py", seeds), Experiment("b", "b.py", seeds)],
        customize_experiment_name=False,
    )

    got = [(name, root) for _, name, root, _ in run.generate_experiments("td", makedirs=False)]

    assert got == [("00_a", "r/a_"), ("01_a", "r/a_"), ("00_b", "r/b_"), ("01_b", "r/b_")]


def test_env_vars_are_passed_through_with_every_experiment():
    env = {"OMP_NUM_THREADS": "1"}
    run = RunDescription("r", [Experiment("e", "e.py", [{"s": 1}, {"s": 2}], env_vars=env)])

    assert [e for _, _, _, e in run.generate_experiments("td", makedirs=False)] == [env, env]


def test_param_values_are_formatted_with_str():
    run = RunDescription("r", [Experiment("e", "e.py", [{"lr": 1e-4, "flag": None}])])

    cmd, name, _, _ = next(run.generate_experiments("td", makedirs=False))

    assert cmd == "e.py --lr=0.0001 --flag=None --experiment=00_e_lr_0.0001_fla_None --train_dir=td/r/e_"
    assert name == "00_e_lr_0.0001_fla_None"


# --- shorthands -----------------------------------------------------------------


@pytest.mark.parametrize(
    "param, expected",
    [
        ("pbt.policy_idx", "p.p.idx"),
        ("learning_rate", "l.rat"),
        ("lr", "lr"),
        ("seed", "see"),
        ("train.lr", "t.lr"),
        ("train.lr_decay", "t.l.dec"),
        ("max-grad-norm", "m.g.nor"),
    ],
)
def test_shorthand_takes_initials_and_up_to_three_letters_of_the_last_part(param, expected):
    assert param_shorthand(param) == expected


def test_train_lr_and_train_lr_decay_do_not_clash():
    run = RunDescription("r", [Experiment("e", "e.py", [{"train.lr": 0.1, "train.lr_decay": 0.9}])])

    _, name, _, _ = next(run.generate_experiments("td", makedirs=False))

    assert name == "00_e_t.lr_0.1_t.l.dec_0.9"


def test_distinct_short_last_parts_need_no_growth():
    run = RunDescription("r", [Experiment("e", "e.py", [{"a.b": 1, "a.bc": 2}])])

    _, name, _, _ = next(run.generate_experiments("td", makedirs=False))

    assert name == "00_e_a.b_1_a.bc_2"


def test_clashing_shorthand_grows_the_last_part_one_letter_at_a_time():
    run = RunDescription(
        "r", [Experiment("e", "e.py", [{"model.hidden": 1, "model.hidden_size": 2, "m.hidden_sizes": 3}])]
    )

    _, name, _, _ = next(run.generate_experiments("td", makedirs=False))

    # model.hidden -> m.hid; model.hidden_size -> m.h.siz; m.hidden_sizes -> m.h.siz taken -> m.h.size
    assert name == "00_e_m.hid_1_m.h.siz_2_m.h.size_3"


def test_clash_that_cannot_be_resolved_keeps_the_duplicate_shorthand():
    # Same as the original: once the last part is used up, the shorthand repeats.
    assert param_shorthand("a.b_c", taken=["a.b.c"]) == "a.b.c"
    run = RunDescription("r", [Experiment("e", "e.py", [{"a.b_c": 1, "a.b.c": 2}])])

    _, name, _, _ = next(run.generate_experiments("td", makedirs=False))

    assert name == "00_e_a.b.c_1_a.b.c_2"


def test_shorthand_growth_only_depends_on_params_of_the_same_experiment():
    run = RunDescription("r", [Experiment("e", "e.py", [{"a.bcd": 1, "a.bcde": 2}, {"a.bcde": 3}])])

    names = [name for _, name, _, _ in run.generate_experiments("td", makedirs=False)]

    assert names == ["00_e_a.bcd_1_a.bcde_2", "01_e_a.bcd_3"]


@pytest.mark.parametrize(
    "param, expected",
    [
        # Behaviour choice: the original indexes the first character of every
        # part and crashes on empty ones; empty parts before the last are skipped.
        ("--lr", "lr"),
        ("a..b", "a.b"),
        ("-x-learning", "x.lea"),
        ("_", ""),
        # An empty *last* part did not crash in the original and is kept as is.
        ("lr_", "l."),
        ("", ""),
    ],
)
def test_empty_name_parts_are_skipped_instead_of_crashing(param, expected):
    assert param_shorthand(param) == expected


def test_dash_prefixed_param_with_empty_prefix_keeps_its_dashes_in_the_command():
    run = RunDescription("r", [Experiment("e", "e.py", [{"--lr": 0.1}])], param_prefix="")

    cmd, name, _, _ = next(run.generate_experiments("td", makedirs=False))

    assert cmd == "e.py --lr=0.1 --experiment=00_e_lr_0.1 --train_dir=td/r/e_"
    assert name == "00_e_lr_0.1"


def test_overlong_customized_name_warns_without_printing_to_stdout(capsys):
    run = RunDescription("r", [Experiment("e" * 100, "e.py", [{"seed": 1}])])

    with pytest.warns(UserWarning, match="characters long"):
        list(run.generate_experiments("td", makedirs=False))

    assert capsys.readouterr().out == ""


def test_overlong_plain_name_does_not_warn(recwarn):
    run = RunDescription("r", [Experiment("e" * 100, "e.py", [{"seed": 1}])], customize_experiment_name=False)

    list(run.generate_experiments("td", makedirs=False))

    assert len(recwarn) == 0


# --- ParamList --------------------------------------------------------------------


def test_param_list_in_order_yields_the_given_dicts():
    combos = [{"seed": s, "lr": lr} for s, lr in [(3, 0.1), (1, 0.2), (2, 0.3)]]

    assert list(ParamList(combos).generate_params(randomize=False)) == combos


def test_param_list_randomized_yields_the_same_dicts():
    combos = [{"seed": s} for s in range(10)]

    shuffled = list(ParamList(combos).generate_params(randomize=True))

    assert as_multiset(shuffled) == as_multiset(combos)
    assert as_multiset(ParamList(combos).generate_params()) == as_multiset(combos)


def test_param_list_accepts_a_one_shot_iterable():
    plist = ParamList(iter([{"a": 1}, {"a": 2}]))

    assert list(plist.generate_params(randomize=False)) == [{"a": 1}, {"a": 2}]
    assert list(plist.generate_params(randomize=False)) == [{"a": 1}, {"a": 2}]


# --- directories ------------------------------------------------------------------


def test_makedirs_creates_the_experiment_dir(tmp_path):
    run = RunDescription("run", [Experiment("base", "b.py", [{"seed": 1}, {"seed": 2}])])
    run.experiment_suffix = "v2"

    got = list(run.generate_experiments(str(tmp_path)))

    assert (tmp_path / "run" / "base_v2").is_dir()
    assert got[0][0].endswith(f" --train_dir={tmp_path}/run/base_v2")


def test_without_makedirs_nothing_is_created(tmp_path):
    run = RunDescription("run", [Experiment("base", "b.py", [{"seed": 1}])])

    list(run.generate_experiments(str(tmp_path), makedirs=False))
    run.experiment_specs(str(tmp_path))

    assert list(tmp_path.iterdir()) == []


def test_experiment_specs_can_create_the_dirs_too(tmp_path):
    run = RunDescription("run", [Experiment("base", "b.py")])

    run.experiment_specs(str(tmp_path), makedirs=True)

    assert (tmp_path / "run" / "base_").is_dir()


def test_existing_experiment_dir_is_fine(tmp_path):
    (tmp_path / "run" / "base_").mkdir(parents=True)
    run = RunDescription("run", [Experiment("base", "b.py")])

    assert len(list(run.generate_experiments(str(tmp_path)))) == 1


# --- experiment_specs -------------------------------------------------------------


def test_experiment_specs_agree_with_generate_experiments():
    grid = ParamGrid([("seed", [1, 2]), ("learning_rate", [0.1, 0.01])])
    env = {"CUDA_VISIBLE_DEVICES": "0"}
    run = RunDescription(
        "run",
        [
            Experiment("base", "python train.py", grid.generate_params(randomize=False), env_vars=env),
            Experiment("plain", "python plain.py"),
        ],
    )
    run.experiment_suffix = "s1"

    specs = run.experiment_specs("td")
    tuples = list(run.generate_experiments("td", makedirs=False))

    assert [(s.cmd, s.name, s.root_dir, s.env_vars) for s in specs] == tuples
    assert [s.train_dir for s in specs] == [os.path.join("td", s.root_dir) for s in specs]
    assert [s.base_name for s in specs] == ["base"] * 4 + ["plain"]
    assert [s.params for s in specs] == list(grid.generate_params(randomize=False)) + [{}]


def test_ant_experiment_specs_pin_every_field():
    specs = ant_description().experiment_specs("./train_dir")

    assert specs[1] == ExperimentSpec(
        name="01_ant_v1",
        base_name="ant_v1",
        cmd=f"{ANT_CMD} pbt.policy_idx=1 experiment=01_ant_v1 hydra.run.dir=./train_dir/ant_v1/ant_v1_",
        params={"pbt.policy_idx": 1},
        env_vars=None,
        root_dir="ant_v1/ant_v1_",
        train_dir="./train_dir/ant_v1/ant_v1_",
    )


def test_experiment_spec_is_frozen():
    spec = ant_description().experiment_specs("td")[0]

    with pytest.raises(AttributeError):
        spec.name = "other"
