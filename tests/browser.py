"""Headless Chromium driven over its DevTools protocol with nothing but the standard library.

`chromium --dump-dom` shows a page once, after it has loaded; an update that
appears without a reload can only be seen by keeping the page open and
looking again. The DevTools protocol is JSON over a websocket, and the few
websocket frames it takes (text out, masked; text, ping and close in) are
written here rather than adding a dependency.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["Browser", "Page", "chromium"]


def chromium() -> str | None:
    """Debian's `chromium` (or a distribution's `chromium-browser`), None when neither is installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium with its own profile; `open` gives a tab on a URL."""

    def __init__(self, profile: Path) -> None:
        program = chromium()
        assert program is not None, "chromium is not installed (scripts/test.sh installs it)"
        self.process = subprocess.Popen(
            [program, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--no-default-browser-check",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        announced = profile / "DevToolsActivePort"  # Chromium writes the port it chose here
        deadline = time.monotonic() + 60
        while not (announced.is_file() and announced.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError(f"chromium did not start its DevTools server (exit {self.process.returncode})")
            time.sleep(0.05)
        self.port = int(announced.read_text().split()[0])

    def open(self, url: str) -> Page:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?{quote(url, safe='')}", method="PUT")
        with urllib.request.urlopen(request, timeout=30) as response:
            target = json.load(response)
        return Page(target["webSocketDebuggerUrl"])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Page:
    """A tab, asked questions in JavaScript over one websocket."""

    def __init__(self, address: str) -> None:
        parts = urlsplit(address)
        self.socket = socket.create_connection((parts.hostname, parts.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.socket.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                            .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.socket.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.calls = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.calls += 1
        self._send(json.dumps({"id": self.calls, "method": method, "params": params}).encode())
        while True:
            message = json.loads(self._receive())
            if message.get("id") == self.calls:  # events (none are asked for) are passed over
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        """The expression's value in the page, as JSON gives it."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """The expression's first truthy value, asked every tenth of a second."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"still {value!r} after {timeout:g} s: {expression}")

    def close(self) -> None:
        self.socket.close()

    def _send(self, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        self.socket.sendall(head + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload)))

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.socket.recv(count - len(data))
            if not chunk:
                raise AssertionError("chromium closed the DevTools connection")
            data += chunk
        return data

    def _receive(self) -> bytes:
        """One whole message: its frames joined; pings are answered on the way."""
        message = b""
        while True:
            first, second = self._exactly(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._exactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._exactly(8))[0]
            mask = self._exactly(4) if second & 0x80 else b""
            payload = self._exactly(size)
            if mask:
                payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 0x8:
                raise AssertionError("chromium closed the page")
            if opcode == 0x9:
                self.socket.sendall(struct.pack("!BB", 0x8A, 0x80) + os.urandom(4))  # an empty, masked pong
                continue
            message += payload
            if first & 0x80:
                return message
