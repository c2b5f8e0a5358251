#!/usr/bin/env bash
# stop-local-slurm.sh -- stop pbt-track's one-node Slurm test cluster.
#
# Stops only the daemons that start-local-slurm.sh started itself (they are
# listed in $LOCAL_SLURM_STATE_DIR/owned), each through its pid file and only
# after checking that the pid still belongs to that daemon.  A munged or
# MariaDB that was already running before the start script is left alone.
#
# Before the Slurm daemons go, jobs still pending or running are cancelled so
# that no test job keeps running without a controller (SLURM_KEEP_JOBS=1 skips
# this; slurmctld keeps its state on disk and the next start picks them up).
# Configuration, logs, Slurm's state (job ids keep counting up) and the
# accounting database are kept for the next start.
#
# Knobs:
#   LOCAL_SLURM_STATE_DIR=D  same value as given to the start script  [/run/local-slurm]
#   SLURM_KEEP_JOBS=1        do not cancel queued/running jobs          [0]
#
# Exits 0 when every daemon it owned is gone (also when nothing was running),
# non-zero with an "ERROR:" line if one survives SIGKILL.

set -uo pipefail

PROG="stop-local-slurm"
trap '' PIPE
log() { echo "$PROG: $*" 2>/dev/null || true; }
die() { echo "$PROG: ERROR: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E bash "$0" "$@"
    fi
    die "must be run as root (and sudo is not available)"
fi

STATE_DIR=${LOCAL_SLURM_STATE_DIR:-/run/local-slurm}
OWNED=$STATE_DIR/owned

if [ ! -s "$OWNED" ]; then
    log "nothing to stop (no daemons recorded in $OWNED)"
    exit 0
fi

# shellcheck source=scripts/slurm/daemons.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/daemons.sh"

failed=0
# Cancel leftover jobs while our controller can still reach the node.
if [ "${SLURM_KEEP_JOBS:-0}" != 1 ] && owned slurmctld && running_pid slurmctld >/dev/null; then
    mapfile -t jobs < <(squeue -h -o '%A' -t PENDING,CONFIGURING,RUNNING,SUSPENDED,REQUEUED 2>/dev/null)
    if [ "${#jobs[@]}" -gt 0 ]; then
        log "cancelling ${#jobs[@]} job(s): ${jobs[*]}"
        scancel "${jobs[@]}" 2>/dev/null || true
        for _ in $(seq 60); do
            [ -z "$(squeue -h -o '%A' -t RUNNING,COMPLETING,CONFIGURING 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
fi

# Reverse start order: node daemon, controller, accounting, munge.
for d in slurmd slurmctld slurmdbd mariadb munged; do
    stop_owned "$d" || failed=1
done

[ "$failed" = 0 ] || die "some daemons could not be stopped"
log "stopped"
