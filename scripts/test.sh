#!/usr/bin/env bash
# The whole test suite on a fresh machine: a virtualenv with pbt-track and pytest,
# a real one-node Slurm (with accounting), then pytest. Arguments go to pytest.
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

SLURM_ACCOUNTING=${SLURM_ACCOUNTING:-1} scripts/slurm/start-local-slurm.sh

export PBT_TRACK_REQUIRE_SLURM=1
exec "$VENV/bin/python" -m pytest "$@"
