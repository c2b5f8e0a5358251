#!/usr/bin/env bash
# The whole test suite on a fresh machine: a virtualenv with pbt-track and pytest,
# then mypy, the documentation site (mkdocs build --strict), a real one-node Slurm
# (with accounting), and pytest. Arguments go to pytest.
#
#   scripts/test.sh                 # everything: the quick tier on every other supported Python, then all
#   scripts/test.sh tests/slurm -x  # a part, on the default Python only
#
# pbt-track runs on Python 3.11, 3.12 and 3.13. Without arguments, each of them
# that the machine has (pythonX.Y on PATH, else pyenv's newest X.Y.*) other than
# the default's runs the quick tier (-m "not slow and not slurm") in a virtualenv
# of its own, <venv>-pyX.Y; one the machine lacks is named, not silently left out.
# PBT_TRACK_TEST_PYTHONS="3.12" chooses the versions (with arguments too; "" none).
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

failed=""
tiers=""
for version in $OTHERS; do
    if [ "$version" = "$DEFAULT" ]; then
        echo "scripts/test.sh: Python $version is the default: the full suite below runs on it"
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
    # The versions' quick tiers run side by side (no scheduler, no shared port); each one's output is shown whole.
    log=$(mktemp)
    ( "$VENV-py$version/bin/python" -m pytest -q -p no:cacheprovider -m "not slow and not slurm" >"$log" 2>&1 \
        || echo "$version" >"$log.failed" ) &
    tiers="$tiers $version:$log"
done
wait
for tier in $tiers; do
    version=${tier%%:*}
    log=${tier#*:}
    echo "scripts/test.sh: the quick tier on Python $version:"
    cat "$log"
    if [ -e "$log.failed" ]; then failed="$failed $version"; fi
    rm -f "$log" "$log.failed"
done

export PBT_TRACK_REQUIRE_SLURM=1
export PBT_TRACK_REQUIRE_CHROMIUM=1
echo "scripts/test.sh: pytest $* on Python $DEFAULT, in $VENV"
status=0
"$VENV/bin/python" -m pytest "$@" || status=$?
if [ -n "$failed" ]; then
    echo "scripts/test.sh: the quick tier failed on Python$failed" >&2
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
