#!/usr/bin/env bash
# start-local-slurm.sh -- start (or refresh) pbt-track's one-node Slurm test cluster.
#
# pbt-track launches experiments with sbatch and follows them with squeue,
# scontrol, scancel and sacct.  Its integration tests and CI need a real Slurm
# to talk to, so this script builds one on the current Debian machine from the
# distribution's own packages:
#
#     munged  ->  [MariaDB -> slurmdbd]  ->  slurmctld  ->  slurmd
#
# Every daemon runs as a plain background process (no systemd needed), talks
# over 127.0.0.1 and uses plugins that need no cgroups (proctrack/linuxproc,
# task/none).  The single node advertises more CPUs than the machine has, plus
# a few fake GPUs, so that several tiny test jobs can run side by side.
#
# Idempotent: daemons this script started earlier and that are still alive are
# reused; when the generated configuration differs from what they run with,
# they are restarted; toggling SLURM_ACCOUNTING between runs starts or stops
# the accounting daemons.  The script returns 0 only once the node is idle and
# accepts jobs; on any failure it exits non-zero with an "ERROR:" line that
# names the step and the log to look at.  stop-local-slurm.sh undoes it.
#
# Knobs (environment variables, all optional)                     [default]
#   SLURM_ACCOUNTING=0|1    1 = also run MariaDB + slurmdbd so sacct works   [0]
#   SLURM_NODE_CPUS=N       CPUs the node advertises (may exceed the real
#                           CPU count: test jobs are tiny)                   [8]
#   SLURM_FAKE_GPUS=N       fake "gpu" GRES on the node, 0 = none            [4]
#   SLURM_MIN_JOB_AGE=S     seconds a finished job stays in squeue/scontrol  [300]
#   SLURM_MAX_JOB_COUNT=N   jobs the controller keeps in memory (benchmarks
#                           submit thousands within MinJobAge)             [100000]
#   SLURM_KILL_WAIT=S       seconds from SIGTERM to SIGKILL on cancel/timeout [5]
#   SLURM_NO_INSTALL=1      never run apt-get; fail if a package is missing  [0]
#   SLURM_START_TIMEOUT=S   how long to wait for each daemon and the node    [60]
#   LOCAL_SLURM_STATE_DIR=D pid files, list of daemons we own, fake GPUs     [/run/local-slurm]

set -Eeuo pipefail

PROG="start-local-slurm"
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$SECONDS

# Do not die with SIGPIPE when the caller pipes our output into `head`.
trap '' PIPE
log()  { echo "$PROG: $*" 2>/dev/null || true; }
die()  { echo "$PROG: ERROR: $*" >&2; exit 1; }
# Any unexpected failing command (set -e) is reported once, by the main shell.
trap 'rc=$?; [ "$BASH_SUBSHELL" -ne 0 ] || echo "$PROG: ERROR: command failed (exit $rc, line $LINENO): $BASH_COMMAND" >&2' ERR

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E bash "$0" "$@"
    fi
    die "must be run as root (and sudo is not available)"
fi

# ----------------------------------------------------------------------------
# knobs
# ----------------------------------------------------------------------------
ACCOUNTING=${SLURM_ACCOUNTING:-0}
NODE_CPUS=${SLURM_NODE_CPUS:-8}
FAKE_GPUS=${SLURM_FAKE_GPUS:-4}
MIN_JOB_AGE=${SLURM_MIN_JOB_AGE:-300}
MAX_JOB_COUNT=${SLURM_MAX_JOB_COUNT:-100000}
KILL_WAIT=${SLURM_KILL_WAIT:-5}
NO_INSTALL=${SLURM_NO_INSTALL:-0}
START_TIMEOUT=${SLURM_START_TIMEOUT:-60}
STATE_DIR=${LOCAL_SLURM_STATE_DIR:-/run/local-slurm}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
case "$ACCOUNTING" in 0|1) ;; *) die "SLURM_ACCOUNTING must be 0 or 1 (got '$ACCOUNTING')" ;; esac
case "$NO_INSTALL"  in 0|1) ;; *) die "SLURM_NO_INSTALL must be 0 or 1 (got '$NO_INSTALL')" ;; esac
if ! is_uint "$NODE_CPUS" || [ "$NODE_CPUS" -lt 1 ]; then
    die "SLURM_NODE_CPUS must be a positive integer (got '$NODE_CPUS')"
fi
is_uint "$FAKE_GPUS"     || die "SLURM_FAKE_GPUS must be an integer >= 0 (got '$FAKE_GPUS')"
is_uint "$MIN_JOB_AGE"   || die "SLURM_MIN_JOB_AGE must be an integer (got '$MIN_JOB_AGE')"
is_uint "$MAX_JOB_COUNT" || die "SLURM_MAX_JOB_COUNT must be an integer (got '$MAX_JOB_COUNT')"
is_uint "$KILL_WAIT"     || die "SLURM_KILL_WAIT must be an integer (got '$KILL_WAIT')"
is_uint "$START_TIMEOUT" || die "SLURM_START_TIMEOUT must be an integer (got '$START_TIMEOUT')"
[[ $STATE_DIR = /* ]]    || die "LOCAL_SLURM_STATE_DIR must be an absolute path (got '$STATE_DIR')"

# Fixed layout.  The cluster name is fixed because slurmctld refuses to start
# on a state directory written under another ClusterName.
CLUSTER=pbt-local
ETC=/etc/slurm
SLURM_CONF=$ETC/slurm.conf
GRES_CONF=$ETC/gres.conf
DBD_CONF=$ETC/slurmdbd.conf
DB_PASS_FILE=$ETC/.pbt-local-slurmdbd.pass
LOGS=/var/log/slurm
SPOOL=/var/lib/slurm
FAKE_GPU_DIR=$STATE_DIR/fake-gpus
MYSQL_SOCK=/run/mysqld/mysqld.sock
MYSQL_PIDFILE=/run/mysqld/pbt-local-mariadb.pid
MYSQL_LOG=/var/log/mysql/pbt-local-mariadb.log
HEADER="# pbt-track local test cluster: written by scripts/slurm/start-local-slurm.sh; edits are overwritten"

NODE=$(hostname -s 2>/dev/null || true)
NODE=${NODE:-localhost}

# ----------------------------------------------------------------------------
# packages
# ----------------------------------------------------------------------------
ensure_packages() {
    local pkgs=(munge slurmctld slurmd slurm-client) missing=() p rc=0 own_policy=0
    [ "$ACCOUNTING" = 1 ] && pkgs+=(slurmdbd mariadb-server mariadb-client)
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$NO_INSTALL" = 1 ] && die "missing Debian packages: ${missing[*]} (SLURM_NO_INSTALL=1 forbids installing them)"
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get on this machine"

    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The packages' maintainer scripts must not start services: this script
    # starts the daemons itself.  A policy-rc.d that says "no" prevents it.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    # Refresh the package lists only when apt does not know a package, or
    # when an install from the cached lists fails (stale mirrors).
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq || log "warning: apt-get update failed"
    fi
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        log "install failed; refreshing package lists and retrying"
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
    fi
    [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# ----------------------------------------------------------------------------
# daemons this script owns: pid files in $STATE_DIR, names in $STATE_DIR/owned
# ----------------------------------------------------------------------------
# shellcheck source=scripts/slurm/daemons.sh
. "$SCRIPT_DIR/daemons.sh"

wait_until() {       # wait_until SECONDS CMD...: poll CMD every 0.25 s
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.25
    done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# launch NAME LOGFILE CMD...: run a self-daemonizing daemon and record it as ours.
# Its stdin/stdout/stderr go to $STATE_DIR/NAME.out, never to our caller's
# pipes: a test harness that captures this script's output would otherwise
# wait for the daemon to exit.
launch() {
    local name=$1 logfile=$2
    shift 2
    log "$name: starting"
    if ! "$@" </dev/null >"$STATE_DIR/$name.out" 2>&1; then
        echo "$PROG: ERROR: $name failed to start; its output:" >&2
        tail -n 15 "$STATE_DIR/$name.out" >&2 || true
        die "$name failed to start (see also $logfile)"
    fi
    own "$name"
}

# ----------------------------------------------------------------------------
# munge
# ----------------------------------------------------------------------------
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if munge_works; then
        log "munged: already running"
        return 0
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile=/etc/munge/munge.key
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        fi
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 755 /run/munge
    # munged runs as "munge" and must be able to write its pid file
    rm -f "$STATE_DIR/munged.pid"
    install -o munge -g munge -m 644 /dev/null "$STATE_DIR/munged.pid"
    launch munged /var/log/munge/munged.log \
        runuser -u munge -- /usr/sbin/munged --force --pid-file="$STATE_DIR/munged.pid"
    wait_until 15 munge_works || die "munged does not answer (see /var/log/munge/munged.log)"
}

# ----------------------------------------------------------------------------
# MariaDB + accounting database (SLURM_ACCOUNTING=1 only)
# ----------------------------------------------------------------------------
mariadb_works() { mysqladmin --socket="$MYSQL_SOCK" ping >/dev/null 2>&1; }

start_mariadb() {
    if mariadb_works; then
        log "MariaDB: already running"
    else
        mkdir -p /run/mysqld /var/log/mysql
        chown mysql:mysql /run/mysqld /var/log/mysql
        if [ ! -d /var/lib/mysql/mysql ]; then
            log "MariaDB: creating the data directory"
            mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null \
                || die "mariadb-install-db failed"
        fi
        port_in_use 3306 && die "port 3306 is taken by a database that does not answer on $MYSQL_SOCK"
        rm -f "$MYSQL_PIDFILE" "$STATE_DIR/mariadb.pid"
        log "MariaDB: starting on 127.0.0.1:3306"
        # mariadbd stays in the foreground: detach it from this shell.
        setsid nohup /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql \
            --socket="$MYSQL_SOCK" --pid-file="$MYSQL_PIDFILE" \
            --bind-address=127.0.0.1 --port=3306 \
            --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 \
            --log-error="$MYSQL_LOG" </dev/null >/dev/null 2>&1 &
        own mariadb
        wait_until "$START_TIMEOUT" mariadb_works || die "MariaDB did not come up (see $MYSQL_LOG)"
        wait_until 10 test -s "$MYSQL_PIDFILE" || die "MariaDB wrote no pid file $MYSQL_PIDFILE"
        cp "$MYSQL_PIDFILE" "$STATE_DIR/mariadb.pid"
    fi
    # (Re)create the database and the slurm user with the current password.
    mysql --socket="$MYSQL_SOCK" -uroot <<EOF || die "could not set up the slurm_acct_db database (is root allowed in via unix_socket?)"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

# ----------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------
# Slurm 22.05 only counts GPU GRES that have a File= naming a character or
# block device.  Nothing opens these files (there are no cgroup device limits);
# they only give Slurm something to count, so /dev/null-like nodes (1,3) do.
make_fake_gpus() {
    local i
    GRES_FILES=""
    [ "$FAKE_GPUS" -gt 0 ] || return 0
    mkdir -p "$FAKE_GPU_DIR"
    for ((i = 0; i < FAKE_GPUS; i++)); do
        [ -c "$FAKE_GPU_DIR/gpu$i" ] && continue
        rm -f "$FAKE_GPU_DIR/gpu$i"
        if ! mknod -m 666 "$FAKE_GPU_DIR/gpu$i" c 1 3 2>/dev/null; then
            log "warning: mknod is not allowed here; falling back to one fake GPU backed by /dev/null"
            FAKE_GPUS=1
            GRES_FILES=/dev/null
            return 0
        fi
    done
    if [ "$FAKE_GPUS" -eq 1 ]; then
        GRES_FILES=$FAKE_GPU_DIR/gpu0
    else
        GRES_FILES="$FAKE_GPU_DIR/gpu[0-$((FAKE_GPUS - 1))]"
    fi
}

render_slurm_conf() {
    echo "$HEADER"
    cat <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$SPOOL/slurmctld
SlurmdSpoolDir=$SPOOL/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# plugins that work without systemd and cgroups
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
# the node advertises NODE_CPUS cores, which may be more than it has
SlurmdParameters=config_overrides
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# start queued jobs at once instead of every 3 s
SchedulerParameters=batch_sched_delay=0
# reject impossible requests (too many CPUs/GPUs) at submit time
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=$MIN_JOB_AGE
MaxJobCount=$MAX_JOB_COUNT
KillWait=$KILL_WAIT
InactiveLimit=0
Waittime=0
# one line per finished job, readable with "sacct -c" even without slurmdbd
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGS/jobcomp.log
EOF
    if [ "$ACCOUNTING" = 1 ]; then
        cat <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$NODE
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
EOF
    else
        echo "AccountingStorageType=accounting_storage/none"
        echo "JobAcctGatherType=jobacct_gather/none"
    fi
    local gres=""
    if [ "$FAKE_GPUS" -gt 0 ]; then
        echo "GresTypes=gpu"
        gres=" Gres=gpu:$FAKE_GPUS"
    fi
    cat <<EOF
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$NODE_CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$NODE_CPUS ThreadsPerCore=1 RealMemory=$NODE_MEM$gres State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
EOF
}

render_gres_conf() {
    echo "$HEADER"
    echo "AutoDetect=off"
    echo "NodeName=$NODE Name=gpu File=$GRES_FILES"
}

render_dbd_conf() {
    echo "$HEADER"
    cat <<EOF
AuthType=auth/munge
DbdHost=$NODE
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=slurm
PidFile=$STATE_DIR/slurmdbd.pid
LogFile=$LOGS/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
}

# put_file PATH MODE OWNER CONTENT: replace PATH when its content differs and
# set FILE_CHANGED=1 (0 when it was already up to date).
put_file() {
    local path=$1 mode=$2 owner=$3 content=$4 tmp
    FILE_CHANGED=0
    if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then
        return 0
    fi
    if [ -f "$path" ] && ! grep -qxF "$HEADER" "$path"; then
        cp -p "$path" "$path.orig.$(date +%Y%m%d%H%M%S)"
        log "kept the previous hand-written $path as $path.orig.*"
    fi
    tmp=$(mktemp "$path.XXXXXX")
    printf '%s\n' "$content" > "$tmp"
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    mv -f "$tmp" "$path"
    FILE_CHANGED=1
}

# ----------------------------------------------------------------------------
# Slurm daemons
# ----------------------------------------------------------------------------
start_slurmdbd() {
    if running_pid slurmdbd >/dev/null; then
        log "slurmdbd: already running"
    else
        port_in_use 6819 && die "port 6819 is taken by a slurmdbd this script did not start; stop it first"
        launch slurmdbd "$LOGS/slurmdbd.log" /usr/sbin/slurmdbd
        wait_until "$START_TIMEOUT" sacctmgr -n -P list cluster \
            || die "slurmdbd does not answer (see $LOGS/slurmdbd.log)"
    fi
    if ! sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER"; then
        log "slurmdbd: registering cluster $CLUSTER"
        sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
    fi
}

ctld_is_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }

start_slurmctld() {
    local saved=$SPOOL/slurmctld/clustername
    if running_pid slurmctld >/dev/null; then
        log "slurmctld: already running"
    else
        port_in_use 6817 && die "port 6817 is taken by a slurmctld this script did not start; stop it first"
        # slurmctld refuses a state directory written for another cluster name
        if [ -f "$saved" ] && [ "$(cat "$saved")" != "$CLUSTER" ]; then
            log "slurmctld: state in $SPOOL/slurmctld belongs to cluster '$(cat "$saved")'; forgetting it"
            rm -f "$saved"
        fi
        launch slurmctld "$LOGS/slurmctld.log" /usr/sbin/slurmctld
    fi
    wait_until "$START_TIMEOUT" ctld_is_up || die "slurmctld is not UP (see $LOGS/slurmctld.log)"
}

start_slurmd() {
    if running_pid slurmd >/dev/null; then
        log "slurmd: already running"
        return 0
    fi
    port_in_use 6818 && die "port 6818 is taken by a slurmd this script did not start; stop it first"
    launch slurmd "$LOGS/slurmd.log" /usr/sbin/slurmd -N "$NODE"
}

# The node is ready when slurmd has registered with the current configuration:
# a plain state (no "*" = not responding, no drain/down) and the CPU and GPU
# counts asked for.
node_ready() {
    local st info
    st=$(sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n1)
    case "$st" in idle|mixed|allocated|completing) ;; *) return 1 ;; esac
    info=$(scontrol -o show node "$NODE" 2>/dev/null) || return 1
    [[ $info =~ (^|\ )CPUTot=$NODE_CPUS(\ |$) ]] || return 1
    if [ "$FAKE_GPUS" -gt 0 ]; then
        [[ $info =~ (^|\ )Gres=gpu:$FAKE_GPUS(\ |$|\() ]] || return 1
    fi
}

wait_node_ready() {
    local start=$SECONDS deadline=$((SECONDS + START_TIMEOUT)) resumed=0 st
    until node_ready; do
        st=$(sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n1 || true)
        # A node left DOWN/DRAINED by an earlier run is put back into service once.
        if [ "$resumed" = 0 ] && [ "$SECONDS" -ge $((start + 5)) ]; then
            case "$st" in down*|drain*|inval*)
                log "node $NODE is '$st'; resuming it"
                scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
                resumed=1 ;;
            esac
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$PROG: ERROR: node $NODE not ready after ${START_TIMEOUT}s (state '${st:-unknown}')" >&2
            scontrol show node "$NODE" 2>&1 | grep -E 'State=|Reason=|CPUTot=|Gres=' >&2 || true
            echo "--- last lines of $LOGS/slurmd.log:" >&2
            tail -n 15 "$LOGS/slurmd.log" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.25
    done
}

# ----------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------
ensure_packages
SLURM_VERSION=$(slurmd -V 2>/dev/null | awk '{print $2}')
[ -n "$SLURM_VERSION" ] || die "slurmd is not installed or does not run"

mkdir -p "$STATE_DIR" "$ETC" "$LOGS" "$SPOOL/slurmctld" "$SPOOL/slurmd"
chmod 755 "$STATE_DIR"
touch "$STATE_DIR/owned"
chown slurm:slurm "$LOGS" "$SPOOL/slurmctld"

start_munge

# Refuse to run beside Slurm daemons somebody else started (say, under another
# LOCAL_SLURM_STATE_DIR) before touching any configuration they read.
check_ports_free() {
    local name port
    for name in slurmctld:6817 slurmd:6818 slurmdbd:6819; do
        port=${name#*:} name=${name%:*}
        [ "$name" != slurmdbd ] || [ "$ACCOUNTING" = 1 ] || continue
        if ! running_pid "$name" >/dev/null && port_in_use "$port"; then
            die "port $port is in use, but not by a $name this script started (state dir $STATE_DIR); stop that daemon first"
        fi
    done
}
check_ports_free

DB_PASS=""
if [ "$ACCOUNTING" = 1 ]; then
    if [ ! -s "$DB_PASS_FILE" ]; then
        (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$DB_PASS_FILE")
    fi
    DB_PASS=$(cat "$DB_PASS_FILE")
fi

# slurmd -C prints the real hardware: keep its memory size.  The CPU count is
# NODE_CPUS single-threaded cores instead (see config_overrides above).
NODE_MEM=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -n1)
[ -n "$NODE_MEM" ] || die "'slurmd -C' did not report the machine's memory"
make_fake_gpus

slurm_conf_changed=0
put_file "$SLURM_CONF" 644 root:root "$(render_slurm_conf)"
[ "$FILE_CHANGED" = 0 ] || slurm_conf_changed=1
if [ "$FAKE_GPUS" -gt 0 ]; then
    put_file "$GRES_CONF" 644 root:root "$(render_gres_conf)"
    [ "$FILE_CHANGED" = 0 ] || slurm_conf_changed=1
elif [ -f "$GRES_CONF" ] && grep -qxF "$HEADER" "$GRES_CONF"; then
    rm -f "$GRES_CONF"
    slurm_conf_changed=1
fi

if [ "$slurm_conf_changed" = 1 ] && { running_pid slurmctld >/dev/null || running_pid slurmd >/dev/null; }; then
    log "configuration changed; restarting slurmctld and slurmd"
    stop_owned slurmd || true
    stop_owned slurmctld || true
fi

if [ "$ACCOUNTING" = 1 ]; then
    start_mariadb
    put_file "$DBD_CONF" 600 slurm:slurm "$(render_dbd_conf)"
    if [ "$FILE_CHANGED" = 1 ] && running_pid slurmdbd >/dev/null; then
        log "slurmdbd.conf changed; restarting slurmdbd"
        stop_owned slurmdbd || true
    fi
    start_slurmdbd
else
    # accounting switched off: stop the accounting daemons an earlier run started
    stop_owned slurmdbd || true
    stop_owned mariadb || true
fi

start_slurmctld
start_slurmd
wait_node_ready

log "ready in $((SECONDS - T0))s: Slurm $SLURM_VERSION, cluster '$CLUSTER', node '$NODE'" \
    "with $NODE_CPUS CPUs and $FAKE_GPUS fake GPUs; partitions debug (default) and gpu;" \
    "accounting $([ "$ACCOUNTING" = 1 ] && echo 'on (sacct works)' || echo 'off (sacct -c only)')"
log "logs: $LOGS/  stop with: $SCRIPT_DIR/stop-local-slurm.sh"
