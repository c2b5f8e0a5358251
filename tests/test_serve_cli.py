"""`pbt-track serve` as a command: what it prints, what it refuses in one line, and a real process serving."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from pbt_tracker.cli import cli
from tests.conftest import REPO_ROOT, file_digest
from tests.test_plot import work  # noqa: F401  (the fixture)

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def serve(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve", *argv])
    return result.exit_code, result.output


def test_help_says_what_it_serves_with_an_example_and_the_laptop_tunnel():
    code, out = serve("--help")
    assert code == 0
    assert "  Example:\n      pbt-track serve --workdir ./slurm_logs\n      ssh -L 8787:localhost:8787 login-node     " \
           "# on your laptop; then open http://localhost:8787/\n" in out
    assert [line.split()[0] for line in out.split("Options:\n")[1].splitlines() if line.startswith("  -")] == [
        "--workdir", "--port", "--host", "--token", "-h,"]


def test_a_workdir_without_a_record_is_one_line(tmp_path: Path):
    assert serve("--workdir", str(tmp_path), "--port", "0") == (
        1, f"Error: no pbt-track database in {tmp_path} (looked for pbt_tracker.db); "
           "pass the --workdir of a launch, or set PBT_TRACK_WORKDIR\n")


def test_a_record_of_an_older_schema_is_left_to_a_command_that_upgrades_it(tmp_path: Path):
    db = tmp_path / "pbt_tracker.db"
    db.write_bytes((REPO_ROOT / "tests" / "data" / "schema_0001.db").read_bytes())
    db.chmod(0o600)
    assert serve("--workdir", str(tmp_path), "--port", "0") == (
        1, f"Error: {db} was written by an older pbt-track; run `pbt-track report --workdir {tmp_path}` once to "
           "upgrade it (serve only ever reads the record)\n")
    assert file_digest(db) == file_digest(REPO_ROOT / "tests" / "data" / "schema_0001.db")


def test_a_record_of_a_newer_schema_asks_for_a_newer_pbt_track(work: Path):  # noqa: F811
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.close()
    before = file_digest(work / "pbt_tracker.db")
    assert serve("--workdir", str(work), "--port", "0") == (
        1, f"Error: {work / 'pbt_tracker.db'} was written by a newer pbt-track; upgrade pbt-track "
           "(pip install -U pbt-track) to serve it\n")
    assert file_digest(work / "pbt_tracker.db") == before


def test_a_port_in_use_is_one_line(work: Path):  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve("--workdir", str(work), "--port", str(port)) == (
            1, f"Error: cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port or --host\n")


def started(*argv: str) -> tuple[subprocess.Popen[str], list[str]]:
    """A real `pbt-track serve`, and the two lines it prints once it answers."""
    process = subprocess.Popen([PBT_TRACK, "serve", "--port", "0", *argv], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, [process.stdout.readline().rstrip("\n"), process.stdout.readline().rstrip("\n")]


def test_a_real_server_prints_its_url_answers_there_and_ctrl_c_ends_it_quietly(work: Path):  # noqa: F811
    process, lines = started("--workdir", str(work))
    try:
        url = lines[0].rsplit(" ", 1)[1]
        port = url.split(":")[2].rstrip("/")
        assert lines == [f"Serving {work} read-only at http://127.0.0.1:{port}/",
                         f"From a laptop: ssh -L {port}:localhost:{port} <this host>, then open "
                         f"http://localhost:{port}/ . Ctrl-C stops."]
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b"01_ws_pbt" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_on_any_address_but_loopback_the_printed_url_carries_the_token_it_asks_for(work: Path):  # noqa: F811
    process, lines = started("--workdir", str(work), "--host", "0.0.0.0")
    try:
        url = lines[0].rsplit(" ", 1)[1]
        assert url.startswith(f"http://{socket.gethostname()}:") and "/?token=" in url
        assert lines[1] == "Only requests carrying this URL's token are answered. Ctrl-C stops."
        # The host part alone: a short host name such as `vm` may also occur inside the random token.
        local = url.replace(f"http://{socket.gethostname()}:", "http://127.0.0.1:", 1)
        try:
            urllib.request.urlopen(local.split("?")[0], timeout=30)
            raise AssertionError("answered without its token")
        except urllib.error.HTTPError as error:
            assert error.code == 403
        with urllib.request.urlopen(local, timeout=30) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
