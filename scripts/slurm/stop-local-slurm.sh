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

running_pid() {      # running_pid NAME: print the live pid from NAME's pid file
    local name=$1 pid comm
    [ -s "$STATE_DIR/$name.pid" ] || return 1
    pid=$(tr -dc '0-9' < "$STATE_DIR/$name.pid")
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    case "$name:$comm" in
        mariadb:mariadbd|mariadb:mysqld|munged:munged|slurmdbd:slurmdbd|slurmctld:slurmctld|slurmd:slurmd) ;;
        *) return 1 ;;
    esac
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    echo "$pid"
}
owned()    { grep -qx "$1" "$OWNED"; }
disown_d() { local rest; rest=$(grep -vx "$1" "$OWNED" || true); printf '%s' "${rest:+$rest$'\n'}" > "$OWNED"; }

failed=0
stop_owned() {
    local name=$1 pid
    owned "$name" || return 0
    if pid=$(running_pid "$name"); then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 60); do running_pid "$name" >/dev/null || break; sleep 0.5; done
        if pid=$(running_pid "$name"); then
            log "$name still alive after 30 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            for _ in $(seq 10); do running_pid "$name" >/dev/null || break; sleep 0.5; done
            if running_pid "$name" >/dev/null; then
                echo "$PROG: ERROR: $name (pid $pid) does not die" >&2
                failed=1
                return 0
            fi
        fi
    else
        log "$name was no longer running"
    fi
    rm -f "$STATE_DIR/$name.pid"
    disown_d "$name"
}

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
    stop_owned "$d"
done

[ "$failed" = 0 ] || die "some daemons could not be stopped"
log "stopped"
