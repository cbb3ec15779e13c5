"""The teleoperation server: the page, the live frames and the operator's controls, on 127.0.0.1 only.

Why these guards: whoever reaches the port moves the robot and writes into the recordings folder.

- A token (128 random bits) in the URL the command prints. Opening that URL sets it as a ``SameSite=Strict``,
  ``HttpOnly`` cookie, which the page's own requests then carry; a request with neither the cookie nor the
  ``X-Embodia-Token`` header is refused (403) before anything else is looked at.
- ``Host`` must be a loopback name with this port (DNS rebinding), as for ``embodia review --serve``; requests a
  browser marks as made by another site's page are refused.
- One operator: the first tab to take control holds it while it keeps asking for frames; other tabs watch (their
  controls are refused with a message) and may take over once it is gone.
- Control messages are bounded (``MAX_MESSAGE_BYTES``), validated field by field (``operator.parse_input``) and
  rate limited per tab (``CONTROL_RATE_HZ``); a refused one is answered 400/413/429 with its reason, and logged as
  one line (flooding is logged once a second with the count dropped).

Endpoints: ``GET /?token=T`` the page; ``GET /static/<file>``; ``GET /frame?after=N&client=C`` the next JPEG frame
(status as JSON in ``X-Embodia-Status``); ``POST /control`` an input state; ``POST /command`` take control, save,
discard, switch camera or leave.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from embodia.review.server import HOST, OWN_FETCH_SITES, loopback_hosts
from embodia.teleop.operator import MAX_MESSAGE_BYTES, OperatorInputError, parse_input
from embodia.teleop.session import COMMANDS, NotControllingError, TeleopSession

COOKIE = "embodia_teleop"
TOKEN_HEADER = "X-Embodia-Token"
STATUS_HEADER = "X-Embodia-Status"
#: a tab's id, made by the page: letters, digits and dashes
CLIENT_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
#: control messages a tab may send per second (the page sends on change; a gamepad polled at 60 Hz at most)
CONTROL_RATE_HZ = 120.0
CONTROL_BURST = 60
#: a frame request waits at most this long for a new frame
FRAME_WAIT_S = 1.0
STATIC_FILES = {"teleop.js": "text/javascript; charset=utf-8", "teleop.css": "text/css; charset=utf-8"}
PAGE = "teleop.html"
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
)


class _Bucket:
    """A token bucket per tab: ``CONTROL_BURST`` messages at once, ``CONTROL_RATE_HZ`` sustained."""

    def __init__(self) -> None:
        self.tokens = float(CONTROL_BURST)
        self.time = time.monotonic()
        self.dropped = 0
        self.logged = 0.0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(CONTROL_BURST, self.tokens + (now - self.time) * CONTROL_RATE_HZ)
        self.time = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.dropped += 1
        return False


class TeleopServer(ThreadingHTTPServer):
    """Serves one ``TeleopSession`` on 127.0.0.1 (port 0: a free one)."""

    daemon_threads = True

    def __init__(self, session: TeleopSession, port: int = 0, log=None) -> None:
        super().__init__((HOST, port), TeleopRequestHandler)
        self.session = session
        self.port = self.server_address[1]
        self.allowed_hosts = loopback_hosts(self.port)
        self.token = secrets.token_urlsafe(16)
        self.buckets: dict[str, _Bucket] = {}
        self.buckets_lock = threading.Lock()
        self.log = log or (lambda line: print(f"embodia teleop: {line}", file=sys.stderr, flush=True))

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def bucket(self, client: str) -> _Bucket:
        with self.buckets_lock:
            return self.buckets.setdefault(client, _Bucket())


class TeleopRequestHandler(BaseHTTPRequestHandler):
    server: TeleopServer
    server_version = "embodia-teleop"
    protocol_version = "HTTP/1.1"  # keep-alive: a frame or a key press costs no new connection
    #: headers and body go out as two writes; with Nagle's algorithm the body waits for the client's delayed ACK
    #: of the headers (up to 40 ms on Linux), which was a third of the key-to-frame latency
    disable_nagle_algorithm = True
    timeout = 60

    # ------------------------------------------------------------------------------ guards
    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        hosts = [host.strip().lower() for host in self.headers.get_all("Host") or []]
        if len(hosts) != 1 or not hosts[0]:
            self.send_text(HTTPStatus.BAD_REQUEST, "one Host header is required")
            return False
        fetch_site = self.headers.get("Sec-Fetch-Site", "none").strip().lower()
        if hosts[0] not in self.server.allowed_hosts or fetch_site not in OWN_FETCH_SITES:
            self.send_text(HTTPStatus.FORBIDDEN, "forbidden")
            return False
        if not self.authorized():
            self.send_text(HTTPStatus.FORBIDDEN, "open the URL embodia teleop printed (it holds the session's token)")
            return False
        return True

    def authorized(self) -> bool:
        token = self.server.token.encode()
        offered = [self.headers.get(TOKEN_HEADER, ""), *parse_qs(urlsplit(self.path).query).get("token", [])]
        cookie = SimpleCookie()
        with contextlib.suppress(CookieError):  # a malformed cookie header holds no token
            cookie.load(self.headers.get("Cookie", ""))
        if COOKIE in cookie:
            offered.append(cookie[COOKIE].value)
        return any(hmac.compare_digest(value.encode(), token) for value in offered if value)

    # ------------------------------------------------------------------------------ routes
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/":
            self.send_static(PAGE, "text/html; charset=utf-8", set_cookie=True)
        elif url.path.startswith("/static/") and url.path[len("/static/") :] in STATIC_FILES:
            name = url.path[len("/static/") :]
            self.send_static(name, STATIC_FILES[name])
        elif url.path == "/frame":
            self.send_frame(parse_qs(url.query))
        elif url.path == "/favicon.ico":
            self.send_text(HTTPStatus.NO_CONTENT, "")
        else:
            self.send_text(HTTPStatus.NOT_FOUND, "not found")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path not in ("/control", "/command"):
            self.send_text(HTTPStatus.NOT_FOUND, "not found")
            return
        message = self.read_message()
        if message is None:
            return
        client = message.pop("client", None)
        if not isinstance(client, str) or not CLIENT_ID.fullmatch(client):
            self.refuse(
                HTTPStatus.BAD_REQUEST, f"client={client!r:.40}; valid: the page's tab id (8-64 letters, digits, -)"
            )
            return
        if path == "/control":
            self.handle_control(client, message)
        else:
            self.handle_command(client, message)

    def handle_control(self, client: str, message: dict[str, Any]) -> None:
        bucket = self.server.bucket(client)
        if not bucket.take():
            now = time.monotonic()
            if now - bucket.logged >= 1.0:
                self.server.log(f"tab {client[:8]}: more than {CONTROL_RATE_HZ:g} control messages a second; "
                                f"{bucket.dropped} dropped so far")  # fmt: skip
                bucket.logged = now
            self.send_text(HTTPStatus.TOO_MANY_REQUESTS, f"at most {CONTROL_RATE_HZ:g} control messages a second")
            return
        try:
            operator_input = parse_input(message)
            self.server.session.control(client, operator_input)
        except OperatorInputError as error:
            self.refuse(HTTPStatus.BAD_REQUEST, f"control message refused: {error}")
            return
        except NotControllingError as error:
            self.send_text(HTTPStatus.CONFLICT, str(error))
            return
        self.send_text(HTTPStatus.NO_CONTENT, "")

    def handle_command(self, client: str, message: dict[str, Any]) -> None:
        name = message.get("command")
        session = self.server.session
        if name == "claim":
            ok = session.claim(client)
            self.send_json(
                {"operator": ok, "message": "" if ok else "another tab controls the robot; this one watches"}
            )
        elif name == "leave":
            session.leave(client)
            self.send_text(HTTPStatus.NO_CONTENT, "")
        elif name in COMMANDS:
            try:
                session.command(client, name)
            except NotControllingError as error:
                self.send_text(HTTPStatus.CONFLICT, str(error))
                return
            self.send_text(HTTPStatus.NO_CONTENT, "")
        else:
            valid = ", ".join(("claim", "leave", *COMMANDS))
            self.refuse(HTTPStatus.BAD_REQUEST, f"command={name!r:.40}; valid: {valid}")

    def read_message(self) -> dict[str, Any] | None:
        """The request's JSON object, bounded; None after answering with the reason it was refused."""
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.refuse(HTTPStatus.LENGTH_REQUIRED, "a control message needs a Content-Length")
            return None
        if int(length) > MAX_MESSAGE_BYTES:
            self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"a control message of {int(length)} bytes; valid: at most {MAX_MESSAGE_BYTES}")  # fmt: skip
            return None
        body = self.rfile.read(int(length))
        try:
            message = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError) as error:
            self.refuse(HTTPStatus.BAD_REQUEST, f"a control message is JSON ({str(error)[:80]})")
            return None
        if not isinstance(message, dict):
            self.refuse(HTTPStatus.BAD_REQUEST, f"a control message is a JSON object, got {type(message).__name__}")
            return None
        return message

    # ------------------------------------------------------------------------------ answers
    def send_frame(self, query: dict[str, list[str]]) -> None:
        client = (query.get("client") or [""])[0]
        after = (query.get("after") or ["0"])[0]
        if not CLIENT_ID.fullmatch(client) or not after.lstrip("-").isdigit() or len(after) > 19:
            self.refuse(HTTPStatus.BAD_REQUEST, "a frame request names its tab (client) and the last frame (after)")
            return
        session = self.server.session
        role = session.role(client)
        frame = session.wait_frame(int(after), FRAME_WAIT_S)
        if frame is None:
            self.send_text(HTTPStatus.SERVICE_UNAVAILABLE, "no frame yet: take control to start an episode")
            return
        status = {**frame.status, "frame": frame.number, "input_seq": frame.input_seq, "role": role}
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(frame.jpeg)))
        self.send_header(STATUS_HEADER, json.dumps(status, ensure_ascii=True, separators=(",", ":")))
        self.end_headers()
        self.write(frame.jpeg)

    def send_static(self, name: str, content_type: str, set_cookie: bool = False) -> None:
        body = (resources.files("embodia.teleop") / "static" / name).read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if set_cookie:
            self.send_header("Set-Cookie", f"{COOKIE}={self.server.token}; Path=/; HttpOnly; SameSite=Strict")
        self.end_headers()
        self.write(body)

    def send_json(self, value: Any) -> None:
        body = json.dumps(value).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.write(body)

    def refuse(self, status: HTTPStatus, reason: str) -> None:
        """A bad request: answered with its reason, and one log line."""
        self.server.log(f"{self.command} {urlsplit(self.path).path}: {reason}")
        self.send_text(status, reason)

    def send_text(self, status: HTTPStatus, text: str) -> None:
        body = f"{text}\n".encode() if text else b""
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status >= 400 and status not in (HTTPStatus.CONFLICT, HTTPStatus.TOO_MANY_REQUESTS):
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.write(body)

    def write(self, body: bytes) -> None:
        try:
            self.wfile.write(body)
        except ConnectionError:
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.send_text(HTTPStatus(code), HTTPStatus(code).phrase)

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        super().end_headers()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")
