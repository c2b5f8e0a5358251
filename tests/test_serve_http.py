"""`pbt-track serve` over HTTP, in process: what each route answers, who may ask, and that the record is left as it was.

The record is `tests/test_plot.py`'s: a print-only launch of two policies
whose jobs were then written as sync records them, with iteration files
(policy 0 started over once) and a log in which policy 0 took policy 1's weights.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbt_tracker.pbt.history import copy_history
from pbt_tracker.serve import follow
from pbt_tracker.serve.follow import Workdir
from pbt_tracker.serve.server import Server, make_server
from pbt_tracker.store import open_store
from tests.conftest import file_digest, query
from tests.test_history import write_iteration
from tests.test_plot import START, work  # noqa: F401  (the fixture)


@pytest.fixture
def copied(work: Path) -> Path:  # noqa: F811
    store = open_store(work)
    try:
        copy_history(store)
    finally:
        store.close()
    return work


def serving(workdir: Path, host: str = "127.0.0.1", require_token: bool = False) -> Iterator[Server]:
    served = Workdir(workdir)
    served.refresh(force=True)
    server = make_server([served], host, 0, require_token)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def server(copied: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(follow, "MIN_INTERVAL", 0.0)  # every poll looks at the record: the tests change it between two
    yield from serving(copied)


def get(server: Server, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{server.port}", **(headers or {})})
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_the_page_holds_the_population_its_marks_and_the_feed_with_the_scripts_and_styles_of_this_server(server):
    status, headers, body = get(server, "/")
    page = body.decode()
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert headers["content-security-policy"].startswith("default-src 'none'; script-src 'self';")
    assert (headers["cache-control"], headers["x-content-type-options"], headers["referrer-policy"]) == (
        "no-store", "nosniff", "no-referrer")
    assert '<link rel="stylesheet" href="static/page.css"><script src="static/page.js" defer></script>' in page
    addresses = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert addresses and all(not re.match(r"[a-z]+:|//", address) for address in addresses)  # all of this server
    for sentence in ("policy 0 took policy 1&#x27;s weights after iteration 2", "policy 1 resumed as attempt 2",
                     "policy 0 restarted from scratch: life 2 (life_b)", '<a href="experiment?w=0&amp;id=2">01_ws_pbt</a>',
                     "&#9733; best", "01_ws_pbt</a> attempt 1, job 7601: <b>PRINT_ONLY</b>"):
        assert sentence in page, sentence
    for name, kind in (("page.js", "text/javascript; charset=utf-8"), ("page.css", "text/css; charset=utf-8")):
        status, headers, body = get(server, f"/static/{name}")
        assert (status, headers["content-type"]) == (200, kind)
        assert body == (Path(follow.__file__).parent / "static" / name).read_bytes()


ELSEWHERE = (
    "/nope", "/static/", "/static/page.js/", "/static/../pbt_tracker.db", "/static/%2e%2e/pbt_tracker.db",
    "/../pbt_tracker.db", "/pbt_tracker.db", "//pbt_tracker.db", "/static/..%2fpbt_tracker.db", "/static/page.js%00",
    "/experiment", "/experiment?id=99", "/experiment?id=../../pbt_tracker.db", "/experiment?id=-1",
    "/experiment?id=1&w=3", "/log?id=99&attempt=1&offset=0", "/log?id=%2e%2e", "/?w=1", "/updates?w=x",
    "/favicon.ico",
)


def test_anything_but_the_routes_is_not_found_and_no_path_reaches_a_file(server):
    answers = {path: get(server, path)[::2] for path in ELSEWHERE}
    assert answers == dict.fromkeys(ELSEWHERE, (404, b"not found"))


def test_a_request_naming_another_host_is_refused_on_a_loopback_address(server):
    assert get(server, "/", {"Host": "attacker.example:80"})[0] == 403
    assert get(server, "/updates", {"Host": f"localhost:{server.port}"})[0] == 200
    assert get(server, "/", {"Host": f"[::1]:{server.port}"})[0] == 200


def test_with_a_token_only_requests_carrying_it_are_answered_and_the_page_keeps_it_in_a_cookie(copied):
    for server in serving(copied, require_token=True):
        assert server.token and server.url("127.0.0.1") == f"http://127.0.0.1:{server.port}/?token={server.token}"
        for path in ("/", "/updates", "/static/page.js", f"/?token={server.token}x", "/?token="):
            assert get(server, path)[:3:2] == (403, b"forbidden: open the URL pbt-track serve printed, with its token")
        status, headers, _body = get(server, f"/?token={server.token}", {"Host": "login-node:8787"})
        assert status == 200
        assert headers["set-cookie"] == f"pbt_track_token_{server.port}={server.token}; HttpOnly; SameSite=Strict; Path=/"
        cookie = {"Cookie": f"pbt_track_token_{server.port}={server.token}"}
        assert [get(server, path, cookie)[0] for path in ("/updates", "/static/page.css", "/experiment?id=1")] == [
            200, 200, 200]
        assert get(server, "/", {"Cookie": f"pbt_track_token_{server.port}=guess"})[0] == 403


def test_an_address_other_than_loopback_always_gets_a_token():
    assert make_server([], "0.0.0.0", 0).token is not None
    assert make_server([], "127.0.0.1", 0).token is None
    assert make_server([], "127.0.0.1", 0, require_token=True).token is not None


def test_a_poll_gets_the_iteration_a_sync_copied_since_and_nothing_when_nothing_changed(server, copied):
    page = get(server, "/")[2].decode()
    cursor = page.split('data-cursor="', 1)[1].split('"', 1)[0]
    quiet = json.loads(get(server, f"/updates?cursor={cursor}")[2])
    assert set(quiet) == {"cursor", "status"} and quiet["cursor"] == cursor
    [(cmd,)] = query(copied / "pbt_tracker.db", "SELECT cmd FROM experiments WHERE name = '01_ws_pbt'")
    workspace = Path(cmd.split("hydra.run.dir=")[1].split()[0]) / "runs" / "ws"
    write_iteration(workspace / "001", 6, "life_c", 106.0, START + 95)
    store = open_store(copied)
    try:
        copy_history(store)  # what the next sync of `watch` or `report` does
    finally:
        store.close()
    answer = json.loads(get(server, f"/updates?cursor={cursor}")[2])
    assert answer["charts"]["iteration"]["grow"] == [["iteration-2-1", "L6 106"]]
    assert answer["charts"]["time"]["grow"] == [["time-2-1", f"L{START + 95 - server.workdirs[0].population.time_origin} 106"]]
    assert 'data-sort="6"' in answer["table"] and answer["cursor"] != cursor


def test_an_experiment_page_shows_its_attempts_scripts_and_log_and_a_poll_follows_the_log(server, copied):
    status, _headers, body = get(server, "/experiment?id=1")
    page = body.decode()
    assert status == 200
    assert "<td>7600</td><td class=\"state\">COMPLETED</td>" in page
    assert '<p class="progress">PBT policy 0: iteration 2, objective 3, best 40</p>' in page
    assert "sbatch_00_ws_pbt.sh <time>" in page and "conda activate conda_env_name\ncd ~/project\n" in page
    assert "Replacing underperforming policy 0 with 1\n" in page.split('<pre id="log">', 1)[1]
    offset = int(page.split('data-offset="', 1)[1].split('"', 1)[0])
    [(log_path,)] = query(copied / "pbt_tracker.db", "SELECT log_path FROM submissions WHERE id = 1")
    with open(log_path.replace("%j", "7600"), "a") as log:
        log.write("Policy 0: New pbt iteration 3! <b>\n")
    answer = json.loads(get(server, f"/log?id=1&attempt=1&offset={offset}")[2])
    assert (answer["attempt"], answer["text"], answer["offset"]) == (1, "Policy 0: New pbt iteration 3! <b>\n",
                                                                      offset + 35)
    moved = json.loads(get(server, "/log?id=2&attempt=1&offset=0")[2])
    assert moved["attempt"] == 2 and moved["note"].startswith("pbt-track: attempt 2 (job 7602, COMPLETED) started")


def test_serving_leaves_the_record_byte_for_byte_as_it_was(copied, monkeypatch):
    monkeypatch.setattr(follow, "MIN_INTERVAL", 0.0)
    files = sorted(path.name for path in copied.iterdir())
    before = file_digest(copied / "pbt_tracker.db")
    for server in serving(copied):
        for path in ("/", "/updates?cursor=0.0.0.0.0", "/experiment?id=1", "/experiment?id=2",
                     "/log?id=1&attempt=1&offset=0", "/", "/updates"):
            assert get(server, path)[0] == 200
    assert file_digest(copied / "pbt_tracker.db") == before
    assert sorted(path.name for path in copied.iterdir()) == files


def test_a_large_answer_is_compressed_for_a_browser_that_takes_gzip(server):
    status, headers, body = get(server, "/", {"Accept-Encoding": "gzip, deflate"})
    plain = get(server, "/")[2]
    assert (status, headers["content-encoding"]) == (200, "gzip") and gzip.decompress(body) == plain


def test_the_record_is_opened_again_only_once_its_files_changed(copied, monkeypatch):
    monkeypatch.setattr(follow, "MIN_INTERVAL", 0.0)
    opened = []
    real = follow.open_record
    monkeypatch.setattr(follow, "open_record", lambda path: opened.append(path) or real(path))
    served = Workdir(copied)
    assert served.refresh() is True and len(opened) == 1
    assert served.refresh() is False and len(opened) == 1  # nothing committed since: the files say so
    store = open_store(copied)
    try:
        with store.write() as connection:
            # as sync records what a page shows of an attempt: with the time of the change
            connection.execute("UPDATE submissions SET node = 'gpu7', updated_at = '2027-01-15 09:00:00' WHERE id = 1")
    finally:
        store.close()
    assert served.refresh() is True and len(opened) == 2
    assert [row.report.node for row in served.population.table if row.experiment_id == 1] == ["gpu7"]


def test_several_workdirs_are_a_tab_each(copied):
    first, second = Workdir(copied, 0), Workdir(copied, 1)
    first.refresh(force=True)
    server = make_server([first, second], "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        page = get(server, "/?w=1")[2].decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    tabs = page.split('<nav class="workdirs">', 1)[1].split("</nav>", 1)[0]
    assert tabs == (f'<a href="./?w=0">{copied.name}</a><a href="./?w=1" aria-current="page">{copied.name}</a>')
    assert 'data-workdir="1"' in page
