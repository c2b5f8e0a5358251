"""The HTTP side: the standard library's threading server, a fixed set of routes, and who may ask.

Nothing in a request names a file: routes are matched whole, the static files
are a fixed list read from this package, an experiment and an attempt are
numbers looked up in the record. On 127.0.0.1 a request must name the host
as a loopback address (a page elsewhere cannot reach the server by a name it
controls); anywhere else it must carry the token the printed URL carries,
kept afterwards in a cookie of this port's own so that the page's own
requests carry it too.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import secrets
import socket
import sys
import time
import traceback
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pbt_tracker.errors import PbtTrackError, ServeError
from pbt_tracker.serve.follow import Workdir

__all__ = ["Server", "is_loopback", "make_server"]

STATIC = {"/static/page.js": "text/javascript; charset=utf-8", "/static/page.css": "text/css; charset=utf-8"}
_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
_COMPRESS_FROM = 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Server(ThreadingHTTPServer):
    """Serves the workdirs' pages; `token` is None where none is asked for (a loopback address)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], workdirs: list[Workdir], token: str | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)
        self.workdirs = workdirs
        self.token = token

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def cookie(self) -> str:
        return f"pbt_track_token_{self.port}"

    def url(self, host: str) -> str:
        shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.port}/" + (f"?token={self.token}" if self.token else "")


def make_server(workdirs: list[Workdir], host: str, port: int, require_token: bool = False) -> Server:
    """A server bound to host:port (port 0: any free one); a token unless bound to a loopback address and not asked for."""
    token = secrets.token_urlsafe(24) if require_token or not is_loopback(host) else None
    try:
        return Server((host, port), workdirs, token)
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port or --host")
    except OverflowError:
        raise ServeError(f"cannot listen on port {port}: choose a port from 0 to 65535") from None


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the standard library's name)
        """Pages poll every few seconds: a line per request would bury what matters."""

    def do_GET(self) -> None:  # noqa: N802  (the standard library's name)
        self._began = time.perf_counter()
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass
        except PbtTrackError as error:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, str(error).encode(), "text/plain; charset=utf-8")
        except Exception:  # a bug: said on the terminal, and the page gets a 500 rather than a dropped connection
            traceback.print_exc(file=sys.stderr)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"pbt-track serve failed; see its terminal",
                       "text/plain; charset=utf-8")

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        set_cookie = self._allowed(query)
        if set_cookie is None:
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: open the URL pbt-track serve printed, with its token",
                       "text/plain; charset=utf-8")
            return
        headers = {"Set-Cookie": set_cookie} if set_cookie else {}
        route = parts.path
        if route in STATIC:
            name = route.rsplit("/", 1)[1]
            body = resources.files("pbt_tracker.serve").joinpath("static", name).read_bytes()
            self._send(HTTPStatus.OK, body, STATIC[route], headers)
            return
        workdir = self._workdir(query)
        if workdir is None:
            self._not_found()
            return
        answer = self._route(route, workdir, query)
        if answer is None:
            self._not_found()
            return
        body, content_type = answer
        self._send(HTTPStatus.OK, body, content_type, headers)

    def _route(self, route: str, workdir: Workdir, query: dict[str, str]) -> tuple[bytes, str] | None:
        from pbt_tracker.serve import experiment, page, updates

        html = "text/html; charset=utf-8"
        if route == "/":
            workdir.refresh()
            with workdir.lock:
                return page.page_html(self.server.workdirs, workdir).encode(), html
        if route == "/updates":
            workdir.refresh()
            with workdir.lock:
                answer = updates.updates(workdir.population, updates.parse_cursor(query.get("cursor")), workdir.index)
            return json.dumps(answer).encode(), "application/json"
        experiment_id = _number(query.get("id"))
        if experiment_id is None:
            return None
        if route == "/experiment":
            workdir.refresh()
            text = experiment.experiment_page(workdir, experiment_id)
            return None if text is None else (text.encode(), html)
        if route == "/log":
            attempt, offset = _number(query.get("attempt")), _number(query.get("offset"))
            found = experiment.log_update(workdir, experiment_id, attempt or 0, offset or 0)
            return None if found is None else (json.dumps(found).encode(), "application/json")
        return None

    def _workdir(self, query: dict[str, str]) -> Workdir | None:
        index = _number(query.get("w", "0"))
        workdirs = self.server.workdirs
        return workdirs[index] if index is not None and index < len(workdirs) else None

    def _allowed(self, query: dict[str, str]) -> str | None:
        """None when the request may not be answered; else the cookie to set ("" for none)."""
        token = self.server.token
        if token is None:
            return "" if _host_name(self.headers.get("Host") or "") in _LOOPBACK_NAMES else None
        cookies = SimpleCookie()
        try:
            cookies.load(self.headers.get("Cookie") or "")
        except Exception:  # a malformed cookie header is no token
            cookies = SimpleCookie()
        held = cookies.get(self.server.cookie)
        if held is not None and secrets.compare_digest(held.value, token):
            return ""
        if secrets.compare_digest(query.get("token", ""), token):
            return f"{self.server.cookie}={token}; HttpOnly; SameSite=Strict; Path=/"
        return None

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        compress = len(body) >= _COMPRESS_FROM and "gzip" in (self.headers.get("Accept-Encoding") or "")
        if compress:
            body = gzip.compress(body, compresslevel=5)
        spent = (time.perf_counter() - self._began) * 1000  # shown by a browser's tools, read by the benchmark
        self.send_response(status)
        for name, value in {
            "Content-Type": content_type, "Content-Length": str(len(body)), "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Content-Security-Policy": _POLICY,
            "X-Frame-Options": "DENY", "Vary": "Accept-Encoding", "Server-Timing": f"serve;dur={spent:.1f}",
            **({"Content-Encoding": "gzip"} if compress else {}),
            **(headers or {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _host_name(header: str) -> str:
    """The Host header without its port: `localhost:8787` is `localhost`, `[::1]:8787` is `[::1]`."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _number(text: str | None) -> int | None:
    """A non-negative integer from the query, or None: ids, attempts and offsets are never anything else."""
    return int(text) if text is not None and text.isascii() and text.isdigit() and len(text) < 19 else None
