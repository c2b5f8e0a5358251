#!/usr/bin/env bash
# The whole test suite on a fresh machine: a virtualenv with pbt-track and pytest,
# then mypy, the documentation site (mkdocs build --strict), a real one-node Slurm
# (with accounting), and pytest. Arguments go to pytest.
#
#   scripts/test.sh                 # everything, on the default Python and the quick tier on the others
#   scripts/test.sh tests/slurm -x  # a part: exactly `pytest tests/slurm -x`, on the default Python only
#
# Without arguments every test runs on the default Python in three pytest processes at
# once: the real-Slurm tests (-m slurm, in two lanes) wait on the scheduler most of the
# time, while the others (-m "not slurm") keep the cores busy. Each part's output is shown
# whole once all are over, then a summary (each part's counts and seconds); the script
# fails if any part failed.
#
# pbt-track runs on Python 3.11, 3.12 and 3.13. Without arguments, each of them
# that the machine has (pythonX.Y on PATH, else pyenv's newest X.Y.*) other than
# the default's runs the quick tier (-m "not slow and not slurm") in a virtualenv
# of its own, <venv>-pyX.Y, once the default's tests without Slurm are done; one the
# machine lacks is named, not silently left out.
# PBT_TRACK_TEST_PYTHONS="3.12" chooses the versions (with arguments too, before ARGS run; "" none).
#
# The real-Slurm tests are required here: if the cluster does not come up they fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${PBT_TRACK_TEST_VENV:-.venv-test}
SUPPORTED="3.11 3.12 3.13"
if [ $# -eq 0 ]; then OTHERS=${PBT_TRACK_TEST_PYTHONS-$SUPPORTED}; else OTHERS=${PBT_TRACK_TEST_PYTHONS-}; fi

install_into() {  # VENV PYTHON: a virtualenv of PYTHON with pbt-track (editable) and its test extras
    if [ ! -x "$1/bin/python" ]; then
        "$2" -m venv "$1"
    fi
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
}

find_python() {  # X.Y: an interpreter of that version that runs, or nothing
    local candidate
    for candidate in "$(command -v "python$1" || true)" \
            $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1" 2>/dev/null | sort -V -r); do
        if [ -n "$candidate" ] && [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$1" ]; then
            echo "$candidate"
            return
        fi
    done
}

install_into "$VENV" "$PYTHON"
DEFAULT=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# The README's sqlite3 examples are run with the sqlite3 shell too.
if ! command -v sqlite3 >/dev/null 2>&1; then
    sudo_if_needed=""
    [ "$(id -u)" -eq 0 ] || sudo_if_needed=sudo
    $sudo_if_needed apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null \
        || { $sudo_if_needed apt-get update -qq && $sudo_if_needed apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null; }
fi

# pbt-track serve's page is tested in headless Chromium: Debian's package, as its own downloads are not reachable.
if ! command -v chromium >/dev/null 2>&1; then
    sudo_if_needed=""
    [ "$(id -u)" -eq 0 ] || sudo_if_needed=sudo
    $sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
        || { $sudo_if_needed apt-get update -qq && $sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
fi

# The type checker over pbt_tracker/ (its settings: setup.cfg's [mypy]); an error stops the run here.
if ! mypy_output=$("$VENV/bin/python" -m mypy 2>&1); then
    printf '%s\n' "$mypy_output"
    echo "scripts/test.sh: mypy found type errors; nothing else was run" >&2
    exit 1
fi
printf '%s\n' "$mypy_output" | tail -n 1

# The documentation site under docs/ (mkdocs.yml): --strict turns a broken link or a page left out
# of the navigation into a failure (not with --quiet, which hides the warnings strict mode counts).
# Built into a temporary directory, so the checkout stays clean.
site_dir=$(mktemp -d)
if ! mkdocs_output=$("$VENV/bin/python" -m mkdocs build --strict --site-dir "$site_dir" 2>&1); then
    rm -rf "$site_dir"
    printf '%s\n' "$mkdocs_output"
    echo "scripts/test.sh: mkdocs build --strict failed (docs/, mkdocs.yml); nothing else was run" >&2
    exit 1
fi
rm -rf "$site_dir"
echo "scripts/test.sh: the documentation site builds (mkdocs build --strict)"

SLURM_ACCOUNTING=${SLURM_ACCOUNTING:-1} scripts/slurm/start-local-slurm.sh

export PBT_TRACK_REQUIRE_SLURM=1
export PBT_TRACK_REQUIRE_CHROMIUM=1

# The other versions' virtualenvs, made before any test runs (pip's output would cut into theirs otherwise).
others=""
for version in $OTHERS; do
    if [ "$version" = "$DEFAULT" ]; then
        echo "scripts/test.sh: Python $version is the default: every test runs on it"
        continue
    fi
    interpreter=$(find_python "$version")
    if [ -z "$interpreter" ]; then
        echo "scripts/test.sh: Python $version not found (no python$version on PATH that runs, none under" \
             "${PYENV_ROOT:-$HOME/.pyenv}/versions): its quick tier is not run"
        continue
    fi
    echo "scripts/test.sh: the quick tier on Python $version ($interpreter), in $VENV-py$version"
    install_into "$VENV-py$version" "$interpreter"
    others="$others $version"
done

parts_dir=$(mktemp -d)
trap 'rm -rf "$parts_dir"' EXIT
parts=""

run_part() {  # NAME COMMAND...: the command's output in NAME.log, then "STATUS SECONDS" in NAME.done
    local started status=0
    started=$(date +%s)
    "${@:2}" >"$parts_dir/$1.log" 2>&1 </dev/null || status=$?
    echo "$status $(( $(date +%s) - started ))" >"$parts_dir/$1.done"
}

quick_tiers() {  # the other versions' quick tiers, side by side (no scheduler, no fixed port)
    local version
    for version in $others; do
        run_part "quick-py$version" "$VENV-py$version/bin/python" -m pytest -q -p no:cacheprovider \
            -m "not slow and not slurm" &
    done
    wait
}

summary=""
failed_parts=""
show_parts() {  # NAME...: each finished part's output whole, and its line of the summary
    local part part_status seconds counts
    for part in "$@"; do
        read -r part_status seconds <"$parts_dir/$part.done"
        echo "scripts/test.sh: part $part (exit $part_status, $seconds s):"
        cat "$parts_dir/$part.log"
        counts=$(grep -E '(passed|failed|error|skipped|deselected|no tests ran).* in [0-9.]+s' "$parts_dir/$part.log" \
            | tail -n 1 | sed -E 's/^=+ //; s/ =+$//; s/ in [0-9.]+s.*//' || true)
        summary="$summary$(printf '  %-14s %-6s %5s s  %s' "$part" \
            "$([ "$part_status" -eq 0 ] && echo ok || echo FAILED)" "$seconds" "${counts:-no pytest summary}")"$'\n'
        [ "$part_status" -eq 0 ] || failed_parts="$failed_parts $part"
    done
}

status=0
if [ $# -gt 0 ]; then
    # A part of the suite, as asked: the quick tiers chosen with PBT_TRACK_TEST_PYTHONS first, then pytest ARGS.
    quick_tiers
    for version in $others; do show_parts "quick-py$version"; done
    echo "scripts/test.sh: pytest $* on Python $DEFAULT, in $VENV"
    "$VENV/bin/python" -m pytest "$@" || status=$?
else
    # Everything, in parts at once: the real-Slurm tests mostly wait on the scheduler while the others keep the
    # cores busy. The Slurm tests go in two lanes of about equal length: one has the tests whose jobs are held
    # (they never take the node's CPUs), the scheduler-fault catalogue (its jobs take a CPU each, no GPU) and the
    # keeper's, the other the rest. The other versions' quick tiers follow the default's tests without Slurm, so that one
    # CPU-bound suite runs at a time.
    lane="tests/slurm/test_crash_safety.py tests/slurm/test_concurrency.py"
    lane="$lane tests/slurm/test_scheduler_fault_catalogue.py tests/slurm/test_keeper_on_slurm.py"
    ignored=""
    for path in $lane; do ignored="$ignored --ignore=$path"; done
    echo "scripts/test.sh: every test on Python $DEFAULT, in $VENV, in three parts at once" \
         "(-m slurm in two, -m \"not slurm\"), then the quick tier on each other version:${others:- none}"
    # shellcheck disable=SC2086  # the paths hold no spaces
    run_part slurm-1 "$VENV/bin/python" -m pytest -p no:cacheprovider --durations=10 -m slurm $lane &
    # shellcheck disable=SC2086
    run_part slurm-2 "$VENV/bin/python" -m pytest -p no:cacheprovider --durations=10 -m slurm $ignored &
    ( run_part not-slurm "$VENV/bin/python" -m pytest -p no:cacheprovider --durations=10 -m "not slurm"
      quick_tiers ) &
    wait
    show_parts slurm-1 slurm-2 not-slurm
    for version in $others; do show_parts "quick-py$version"; done
fi

if [ -n "$summary" ]; then
    echo "scripts/test.sh: summary, $SECONDS s since the script started:"
    printf '%s' "$summary"
fi
if [ -n "$failed_parts" ]; then
    echo "scripts/test.sh: failed:$failed_parts" >&2
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
