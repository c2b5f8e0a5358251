#!/usr/bin/env bash
# Rebuilds tests/data/b02cb14_fixture.tar.gz: a real workdir written by pbt-track at commit b02cb14,
# the last commit before the modules moved into folders, for tests/test_old_database.py.
#
#   tests/data/make_b02cb14_fixture.sh
#
# Needs the local one-node Slurm with accounting (scripts/slurm/start-local-slurm.sh; started here
# when it does not answer) and takes about three minutes. It checks out b02cb14 as a git worktree
# beside this one (OLD_CHECKOUT, default ../old-b02cb14; removed at the end unless KEEP_OLD=1),
# installs it in a venv of its own and, with that old pbt-track only, in $ROOT:
#
#   launch 1  toy_pbt (processes)      the shipped demo: four policies, policy 2 crashes once (exit 3);
#             `pbt-track watch --resume-failed` resumes it from its checkpoint as attempt 2
#   launch 2  toy_chain (slurm)        two policies under the shipped timeout_continue template with a
#                                      5 s limit: each job that reaches it sends its own continuation
#                                      (origin `continue`, parent_submission_id the attempt before);
#                                      policy 1 crashes once in a later attempt
#   launch 3  pbt-track-keeper (slurm) `watch --submit --resume-failed --max-attempts 2`: the keeper as
#                                      a Slurm job (run_module pbt_tracker.keeper); it gives policy 1
#                                      up, as its crash came at the last attempt allowed
#   launch 4  toy_tiny (processes)     two policies, policy 1 crashes once and is left FAILED, to be
#                                      resumed by the new code; a `pbt-track watch` killed (SIGKILL)
#                                      while it watched them leaves its lease row behind
#
# Then everything is final, one last sync records it, and $ROOT is packed (databases checkpointed,
# no WAL beside them). The record keeps absolute paths, so the tests unpack it at $ROOT again.
# The exact rows depend on timing (iterations per 5 s job): after a rebuild, update the expected
# rows in tests/test_old_database.py from `pbt-track report --all-attempts --all-launches`.
set -euo pipefail

COMMIT=b02cb14
ROOT=/tmp/pbt-track-b02cb14-fixture
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$REPO/tests/data/b02cb14_fixture.tar.gz}
OLD=${OLD_CHECKOUT:-$(dirname "$REPO")/old-$COMMIT}
W=$ROOT/workdir

say() { printf 'make_b02cb14_fixture: %s\n' "$*" >&2; }

created_old=0
cleanup() {
    if [ "$created_old" = 1 ] && [ "${KEEP_OLD:-0}" != 1 ]; then
        git -C "$REPO" worktree remove --force "$OLD" || say "could not remove $OLD"
    fi
}
trap cleanup EXIT

if [ ! -d "$OLD" ]; then
    git -C "$REPO" worktree add --detach "$OLD" "$COMMIT" >&2
    created_old=1
fi
[ "$(git -C "$OLD" rev-parse --short=7 HEAD)" = "$COMMIT" ] || { say "$OLD is not at $COMMIT"; exit 1; }
if [ ! -x "$OLD/.venv/bin/pbt-track" ]; then
    python3 -m venv "$OLD/.venv"
    "$OLD/.venv/bin/pip" install --quiet --disable-pip-version-check -e "$OLD[test]"
fi

if ! scontrol ping 2>/dev/null | grep -q 'is UP'; then
    SLURM_ACCOUNTING=1 "$REPO/scripts/slurm/start-local-slurm.sh"
fi

# Only the old code from here on: its pbt-track and its python, also inside the Slurm jobs
# (sbatch passes this environment on; timeout_continue runs `pbt-track continue`).
export PATH="$OLD/.venv/bin:$PATH"
unset PBT_TRACK_WORKDIR PYTHONPATH VIRTUAL_ENV
export NO_COLOR=1 COLUMNS=200
pbt-track --version >&2

rm -rf "$ROOT"
mkdir -p "$ROOT"
cd "$ROOT"

# The user's own run descriptions, importable from the directory the launches run in.
cat > toy_chain.py <<'EOF'
"""Two toy PBT policies of ten 1 s iterations for Slurm under a 5 s limit; policy 1 crashes once, in iteration 6."""

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

RUN_DESCRIPTION = RunDescription(
    "toy_chain",
    experiments=[
        Experiment(
            "toy_chain",
            "python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=2 pbt.workspace=ws pbt.interval_steps=1000 "
            "max_iterations=10 toy.iteration_seconds=1 pbt.fail_once_policy=1 pbt.fail_at_iteration=6",
            ParamGrid([("pbt.policy_idx", [0, 1])]).generate_params(randomize=False),
        )
    ],
    experiment_arg_name="experiment",
    experiment_dir_arg_name="hydra.run.dir",
    param_prefix="",
    customize_experiment_name=False,
)
EOF
cat > toy_tiny.py <<'EOF'
"""Two toy PBT policies of three 0.3 s iterations; policy 1 crashes once, in iteration 2."""

from pbt_tracker.run_description import Experiment, ParamGrid, RunDescription

RUN_DESCRIPTION = RunDescription(
    "toy_tiny",
    experiments=[
        Experiment(
            "toy_tiny",
            "python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=2 pbt.workspace=ws pbt.interval_steps=1000 "
            "max_iterations=3 toy.iteration_seconds=0.3 pbt.fail_once_policy=1 pbt.fail_at_iteration=2",
            ParamGrid([("pbt.policy_idx", [0, 1])]).generate_params(randomize=False),
        )
    ],
    experiment_arg_name="experiment",
    experiment_dir_arg_name="hydra.run.dir",
    param_prefix="",
    customize_experiment_name=False,
)
EOF

expect_exit() {  # expect_exit CODE COMMAND...: run it, and fail unless it exits CODE
    local want=$1 got=0
    shift
    "$@" || got=$?
    [ "$got" = "$want" ] || { say "'$*' exited $got, not $want"; exit 1; }
}

sql() {  # sql QUERY: its rows, columns joined by |, read with the old venv's python and plain sqlite3
    python -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(map(str, row)))' \
        "$W/pbt_tracker.db" "$1"
}

say "launch 1: the toy demo on local processes; policy 2 crashes once"
expect_exit 1 pbt-track submit --run pbt_tracker.examples.toy_pbt --workdir "$W" --train_dir "$ROOT/train"
say "the keeper resumes it from its checkpoint and stays until every experiment is final"
expect_exit 0 pbt-track watch --workdir "$W" --resume-failed --interval 1

say "launch 2: two policies on Slurm under timeout_continue, 5 s per job"
template=$(python -m pbt_tracker.templates | awk '$1 == "timeout_continue" {print $2}')
expect_exit 0 pbt-track submit --run toy_chain --backend slurm --slurm_workdir "$W" --train_dir "$ROOT/train" \
    --slurm_sbatch_template "$template" --slurm_timeout 5 --slurm_gpus_per_job 0 --slurm_cpus_per_gpu 1 \
    --pause_between 0
say "launch 3: the keeper as a Slurm job"
expect_exit 0 pbt-track watch --workdir "$W" --submit --resume-failed --max-attempts 2 --interval 3 \
    --keeper-time 00:05:00
keeper_job=$(sql "SELECT s.job_id FROM submissions s JOIN experiments e ON e.id = s.experiment_id
                  WHERE e.name = 'pbt-track-keeper' ORDER BY s.id DESC LIMIT 1")
say "waiting for keeper job $keeper_job to end (it ends once every experiment is final)"
# squeue -t all still lists an ended job for MinJobAge (300 s), whether or not accounting is on.
state=
for _ in $(seq 300); do
    state=$(squeue -h -t all -j "$keeper_job" -o %T 2>/dev/null || true)
    case "$state" in COMPLETED|FAILED|TIMEOUT|CANCELLED*|OUT_OF_MEMORY|NODE_FAIL) break ;; esac
    sleep 1
done
say "keeper job $keeper_job: $state"
[ "$state" = COMPLETED ] || { say "the keeper job did not complete"; exit 1; }

say "launch 4: two tiny policies on local processes; policy 1 crashes and is left FAILED"
pbt-track submit --run toy_tiny --workdir "$W" --train_dir "$ROOT/train" >&2 &
submit_pid=$!
for _ in $(seq 100); do [ "$(sql "SELECT count(*) FROM launches")" = 4 ] && break; sleep 0.1; done
say "a keeper killed (SIGKILL) while it watches launch 4 leaves its lease behind"
pbt-track watch --workdir "$W" --interval 30 >&2 &
watch_pid=$!
for _ in $(seq 100); do [ "$(sql "SELECT pid FROM keeper_lease")" = "$watch_pid" ] && break; sleep 0.1; done
kill -KILL "$watch_pid"
wait "$watch_pid" || true
[ "$(sql "SELECT pid FROM keeper_lease")" = "$watch_pid" ] || { say "the keeper took no lease before it was killed"; exit 1; }
got=0
wait "$submit_pid" || got=$?
[ "$got" = 1 ] || { say "launch 4 exited $got, not 1"; exit 1; }

say "waiting for every Slurm job of the record to leave the queue"
slurm_jobs=$(sql "SELECT group_concat(s.job_id) FROM submissions s JOIN experiments e ON e.id = s.experiment_id
                  JOIN launches l ON l.id = e.launch_id WHERE l.backend = 'slurm' AND s.job_id IS NOT NULL")
for _ in $(seq 120); do
    [ -z "$(squeue -h -o %i -j "$slurm_jobs" 2>/dev/null || true)" ] && break
    sleep 1
done
pbt-track sync --workdir "$W" >&2
pbt-track report --workdir "$W" --all-attempts --all-launches >&2
pending=$(sql "SELECT id || ':' || state FROM submissions
               WHERE state NOT IN ('COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED', 'OUT_OF_MEMORY', 'NODE_FAIL')")
[ -z "$pending" ] || { say "submissions not final: $pending"; exit 1; }

# One file holds the record: fold the WAL back in and close it.
sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
rm -rf "$ROOT/__pycache__"
[ ! -e "$W/pbt_tracker.db-wal" ] || { say "a WAL file is left beside the database"; exit 1; }

# POSIX (pax) headers keep the files' mtimes to the nanosecond: sync keys the iteration files it copied
# by path and mtime, so a second-rounded mtime would read as a new file and be copied again.
tar --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --sort=name --owner=0 --group=0 --numeric-owner \
    -C "$ROOT" -cf - . | gzip -n -9 > "$OUT"
say "wrote $OUT ($(stat -c %s "$OUT") bytes) from $ROOT"
