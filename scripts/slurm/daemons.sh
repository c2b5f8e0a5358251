# shellcheck shell=bash
# daemons.sh -- sourced by start-local-slurm.sh and stop-local-slurm.sh: the daemons
# the start script owns, recorded as pid files in $STATE_DIR and names in $STATE_DIR/owned.
# The caller defines STATE_DIR and log() before calling these.

running_pid() {      # running_pid NAME: print the live pid from NAME's pid file
    local name=$1 pid comm
    [ -s "$STATE_DIR/$name.pid" ] || return 1
    pid=$(tr -dc '0-9' < "$STATE_DIR/$name.pid")
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    # the pid must still belong to that daemon (pids get reused) ...
    case "$name:$comm" in
        mariadb:mariadbd|mariadb:mysqld|munged:munged|slurmdbd:slurmdbd|slurmctld:slurmctld|slurmd:slurmd) ;;
        *) return 1 ;;
    esac
    # ... and must not be a zombie
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    echo "$pid"
}
own()      { grep -qx "$1" "$STATE_DIR/owned" || echo "$1" >> "$STATE_DIR/owned"; }
owned()    { grep -qx "$1" "$STATE_DIR/owned"; }
disown_d() { local rest; rest=$(grep -vx "$1" "$STATE_DIR/owned" || true); printf '%s' "${rest:+$rest$'\n'}" > "$STATE_DIR/owned"; }

stop_owned() {       # stop_owned NAME: SIGTERM, then SIGKILL, a daemon we started; 1 if it survives
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
                return 1
            fi
        fi
    else
        log "$name was no longer running"
    fi
    rm -f "$STATE_DIR/$name.pid"
    disown_d "$name"
}
