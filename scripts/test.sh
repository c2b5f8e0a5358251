#!/usr/bin/env bash
# The whole test suite on a fresh machine: a virtualenv with pbt-track and pytest,
# then mypy, a real one-node Slurm (with accounting), and pytest. Arguments go to pytest.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh tests/slurm -x  # a part
#
# The real-Slurm tests are required here: if the cluster does not come up they fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${PBT_TRACK_TEST_VENV:-.venv-test}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'

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

SLURM_ACCOUNTING=${SLURM_ACCOUNTING:-1} scripts/slurm/start-local-slurm.sh

export PBT_TRACK_REQUIRE_SLURM=1
export PBT_TRACK_REQUIRE_CHROMIUM=1
exec "$VENV/bin/python" -m pytest "$@"
