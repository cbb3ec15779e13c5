"""Serve a review site on localhost: the files the site consists of and links to, and nothing else.

Why not a plain static file server: the pages link the recorded videos relatively (``../run/episode_0000.mp4``),
so a file server would need a document root holding both the site and the recordings, and then everything below
that root (with ``--out`` elsewhere: ``/`` itself) would be readable by anyone who can reach the port, through
symbolic links too, and by any web page through DNS rebinding.

What is served: an allowlist built once at start from the site's own ``data/index.js``:

- the pages (``index.html``, ``episode.html``, ``compare.html``) and the ``static/`` assets ``build_site`` copies,
  ``data/index.js``, and each listed episode's ``data/episodes/<id>.js`` and thumbnail: files of the site folder;
- each listed episode's video: a file of the recordings folder.

A URL path is the file's path below the deepest folder holding both the site and the recordings, so the pages'
relative links resolve as they do on disk; ``/`` and the site folder redirect to the gallery. A site regenerated
while serving lists its new episodes only after a restart.

What is refused:

- every other path (404, the same answer whether the file exists or not) and every directory: no listings;
  paths with ``..``, ``.``, empty segments (``//``), backslashes, control characters or NUL, once decoded
  (decoding happens once, so ``%252e`` stays a literal name);
- symbolic links: at start, a linked file whose real path is not its plain path below the site or recordings
  folder (a link, or a link in a folder on the way, or outside both) is left out; at request time every file is
  opened segment by segment from a descriptor of its folder opened at start, following no link (``O_NOFOLLOW``),
  so a file replaced by a link later is refused too; only regular files are sent;
- a ``Host`` other than ``127.0.0.1:PORT``, ``localhost:PORT`` or ``[::1]:PORT`` (403; missing, empty or
  repeated: 400), which defeats DNS rebinding;
- a request a browser marks as made by another site's page (``Sec-Fetch-Site``; a link followed to a page
  excepted): 403, and every answer carries ``Cross-Origin-Resource-Policy: same-origin``: the data files are
  scripts, which another site's page could otherwise include and read;
- methods other than GET and HEAD (405).

Answers carry ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy allowing only the site's own
scripts, styles, images and videos. Video seeking needs byte ranges: one ``Range: bytes=a-b`` is answered 206,
an unsatisfiable one 416. The server binds 127.0.0.1 only and logs nothing.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

from embodia.envs.record.episode import DataFileError, JSONError, one_line, open_data_file, parse_json
from embodia.review.site import PAGES, SITE_FORMAT

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
CHUNK_BYTES = 64 * 1024
INDEX_DATA = "data/index.js"
INDEX_PREFIX = "window.EMBODIA_INDEX = "
#: the largest ``data/index.js`` read (one row of a few hundred bytes per episode: some 100,000 episodes)
MAX_INDEX_BYTES = 64 * 2**20
#: the only kinds of file served; a linked file of another kind is left out
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}
#: one range ``a-b`` or ``a-``, or a suffix ``-n``; 19 digits keep ``int()`` cheap (a longer one is ignored)
RANGE = re.compile(r"bytes=(?:(\d{1,19})-(\d{0,19})|-(\d{1,19}))")
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'none'; "
        "script-src 'self'; style-src 'self'; "  # no inline scripts, handlers or style attributes
        "img-src 'self'; media-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
)
#: ``Sec-Fetch-Site`` values of requests this server answers (absent: not a browser, or an old one); from another
#: site only a navigation to a page is answered (a link to the gallery): the other site cannot read what it opens
OWN_FETCH_SITES = ("same-origin", "none")
NO_FOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class ServeError(ValueError):
    """The site cannot be served: no readable ``data/index.js`` to build the allowlist from, or a platform that
    cannot open files without following links."""


class UnsatisfiableRangeError(ValueError):
    pass


@dataclass(frozen=True)
class ServedFile:
    folder: Path  # the site or the recordings folder (a real path); the file is opened below it, following no link
    parts: tuple[str, ...]  # the file's path below ``folder``
    content_type: str


@dataclass
class Allowlist:
    """URL path (below ``/``, percent-decoded) -> file; ``refused``: files the site links that are not served, why."""

    files: dict[str, ServedFile] = field(default_factory=dict)
    site_path: str = ""  # the site folder's URL path below ``/``, no trailing slash ("" when it is the top)
    refused: list[str] = field(default_factory=list)


def read_site_index(site: Path) -> dict[str, Any]:
    """The site's gallery data (what ``write_site`` puts in ``data/index.js``: ``window.EMBODIA_INDEX = {...};``),
    read as data and bounded (``MAX_INDEX_BYTES``, ``parse_json``'s nesting limit); anything else is a one-line
    ``ServeError``."""
    path = site / INDEX_DATA
    again = "build the site again with 'embodia review DIR'"
    try:
        with open_data_file(path, "a review site's data", DataFileError) as f:
            data = f.read(MAX_INDEX_BYTES + 1)
        if len(data) > MAX_INDEX_BYTES:
            raise JSONError(f"larger than {MAX_INDEX_BYTES} bytes")
        text = data.decode("utf-8").strip()
        script = text.startswith(INDEX_PREFIX) and text.endswith(";")
        index = parse_json(text.removeprefix(INDEX_PREFIX).removesuffix(";"), MAX_INDEX_BYTES) if script else None
    except UnicodeDecodeError as error:
        raise ServeError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); {again}") from None
    except (JSONError, DataFileError, OSError) as error:
        reason = one_line(error).removeprefix(f"{path}: ")
        raise ServeError(f"{path}: unreadable ({reason}); {again}") from None
    if not isinstance(index, dict) or index.get("format") != SITE_FORMAT:
        raise ServeError(f"{path} is not the data of an embodia review site; build it with 'embodia review DIR'")
    return index


def static_assets() -> list[str]:
    """The ``static/`` files ``copy_static`` writes: every file of the package's static folder but the pages."""
    folder = resources.files("embodia.review") / "static"
    return sorted(
        item.name
        for item in folder.iterdir()
        if item.is_file() and not item.name.startswith(".") and item.name not in PAGES
    )


def linked_files(site: Path) -> list[tuple[str, bool]]:
    """Every file the site consists of or links to, as a URL relative to the site folder, and whether it is a
    recording (it must lie in the recordings folder) rather than a file of the site."""
    episodes = read_site_index(site).get("episodes")
    rows = [row for row in episodes if isinstance(row, dict)] if isinstance(episodes, list) else []
    links = [(page, False) for page in (*PAGES, INDEX_DATA, *(f"static/{name}" for name in static_assets()))]
    for row in rows:
        links.append((f"data/episodes/{quote(str(row.get('id')), safe='')}.js", False))
        if isinstance(row.get("thumb"), str):
            links.append((row["thumb"], False))
        if isinstance(row.get("video"), str):
            links.append((row["video"], True))
    return links


def unsafe_characters(path: str) -> bool:
    """A backslash (a separator on Windows), NUL or another control character."""
    return any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in path)


def unsafe_segments(path: str) -> bool:
    """A decoded request path (no leading ``/``) that could name something else than its plain segments."""
    segments = path.split("/")
    inner_empty = any(segment == "" for segment in segments[:-1])  # ``a//b``; a trailing slash is allowed
    return inner_empty or any(segment in (".", "..") for segment in segments) or unsafe_characters(path)


def served_file(target: Path, folder: Path) -> ServedFile | str:
    """``target`` (a normalized absolute path) as a file to serve, or why it is not served."""
    content_type = CONTENT_TYPES.get(target.suffix.lower())
    if content_type is None:
        return "not a kind of file the site serves"
    if not target.is_relative_to(folder) or target == folder:
        return f"outside {folder}"
    if os.path.realpath(target) != str(target):
        return "a symbolic link, or below one"
    try:
        if not stat.S_ISREG(os.lstat(target).st_mode):
            return "not a regular file"
    except OSError:
        return "missing"
    return ServedFile(folder, target.relative_to(folder).parts, content_type)


def build_allowlist(site_dir: Path, recordings: Path) -> Allowlist:
    """The files to serve by URL path: those the site in ``site_dir`` consists of and links to, nothing else."""
    site, recordings = Path(os.path.realpath(site_dir)), Path(os.path.realpath(recordings))
    top = Path(os.path.commonpath([site, recordings]))
    allowlist = Allowlist(site_path="" if site == top else site.relative_to(top).as_posix())
    for url, is_recording in linked_files(site):
        relative = unquote(url)
        if relative.startswith("/") or unsafe_characters(relative):
            allowlist.refused.append(f"{url}: not a plain relative link")
            continue
        target = Path(os.path.normpath(site / relative))
        served = served_file(target, recordings if is_recording else site)
        if isinstance(served, str):
            allowlist.refused.append(f"{target}: {served}")
        else:
            allowlist.files[target.relative_to(top).as_posix()] = served
    return allowlist


def open_below(folder_fd: int, parts: tuple[str, ...]) -> int:
    """A descriptor of the regular file ``parts`` below the folder ``folder_fd``, opened following no link.

    Raises ``OSError`` when a segment is a symbolic link (``ELOOP``, also for a dangling one), is missing, or the
    file is not a regular file (a FIFO would block a plain open, hence ``O_NONBLOCK``).
    """
    fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder_fd)
    try:
        for name in parts[:-1]:
            inner = os.open(name, NO_FOLLOW | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        file_fd = os.open(parts[-1], NO_FOLLOW | os.O_NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(os.fstat(file_fd).st_mode):
        os.close(file_fd)
        raise OSError(f"{parts[-1]} is not a regular file")
    return file_fd


def byte_span(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive span one ``Range`` header asks for; None to send the whole file (no header, or one ignored:
    several ranges, another unit, ``b < a``). Raises ``UnsatisfiableRangeError`` when it starts beyond the end."""
    match = RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        if int(suffix) == 0 or size == 0:
            raise UnsatisfiableRangeError
        return max(size - int(suffix), 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise UnsatisfiableRangeError
    return start, min(int(last), size - 1) if last else size - 1


def request_path(target: str) -> str | None:
    """The decoded path below ``/`` of a request target, or None when it is not a plain absolute path."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/") or path.startswith("//"):
        return None
    try:
        decoded = unquote(path[1:], errors="strict")
    except UnicodeDecodeError:
        return None
    return None if unsafe_segments(decoded) else decoded


def loopback_hosts(port: int) -> set[str]:
    """The ``Host`` values a browser sends for this machine's loopback address on ``port``: any other is refused,
    which defeats DNS rebinding (a foreign name resolving to 127.0.0.1)."""
    hosts = (HOST, "localhost", "[::1]")
    return {f"{host}:{port}" for host in hosts} | (set(hosts) if port == 80 else set())


class ReviewServer(ThreadingHTTPServer):
    """Serves ``allowlist`` on 127.0.0.1 (port 0: a free one); ``folder_fds`` stay open until ``server_close``."""

    def __init__(self, allowlist: Allowlist, port: int = DEFAULT_PORT) -> None:
        super().__init__((HOST, port), ReviewRequestHandler)
        self.allowlist = allowlist
        self.port = self.server_address[1]
        self.allowed_hosts = loopback_hosts(self.port)
        site_url = "/".join(quote(part) for part in allowlist.site_path.split("/") if part)
        self.gallery_path = f"/{site_url + '/' if site_url else ''}index.html"
        self.redirects = {"", allowlist.site_path, allowlist.site_path + "/"}
        self.folder_fds: dict[Path, int] = {}
        try:
            for folder in {served.folder for served in allowlist.files.values()}:
                self.folder_fds[folder] = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            self.server_close()
            raise

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.gallery_path}"

    def server_close(self) -> None:
        super().server_close()
        for fd in self.folder_fds.values():
            os.close(fd)
        self.folder_fds.clear()


class ReviewRequestHandler(BaseHTTPRequestHandler):
    """GET and HEAD of the allowlisted files, for loopback ``Host`` values only; plain-text errors, no logs."""

    server: ReviewServer
    server_version = "embodia-review"
    timeout = 60  # an idle connection does not hold its thread forever

    def parse_request(self) -> bool:
        """Every request passes here first: refuse foreign ``Host`` values, other sites' pages, other methods."""
        if not super().parse_request():
            return False
        hosts = [host.strip().lower() for host in self.headers.get_all("Host") or []]
        if len(hosts) != 1 or not hosts[0]:
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        if hosts[0] not in self.server.allowed_hosts or not self.from_own_pages():
            self.send_error(HTTPStatus.FORBIDDEN)
            return False
        if self.command not in ("GET", "HEAD"):
            self.send_plain(HTTPStatus.METHOD_NOT_ALLOWED, {"Allow": "GET, HEAD"})
            return False
        return True

    def from_own_pages(self) -> bool:
        """What browsers say about who asks (``Sec-Fetch-*``): this site's pages, the user, or a link to a page."""
        fetch_site = self.headers.get("Sec-Fetch-Site", "none").strip().lower()
        mode, destination = self.headers.get("Sec-Fetch-Mode", ""), self.headers.get("Sec-Fetch-Dest", "")
        navigation = mode == "navigate" and destination == "document" and self.command == "GET"
        return fetch_site in OWN_FETCH_SITES or navigation

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def answer(self, send_body: bool) -> None:
        path = request_path(self.path)
        if path in self.server.redirects:
            self.send_plain(HTTPStatus.FOUND, {"Location": self.server.gallery_path})
            return
        served = self.server.allowlist.files.get(path) if path is not None else None
        try:
            fd = open_below(self.server.folder_fds[served.folder], served.parts) if served else None
        except OSError:
            fd = None
        if fd is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        with os.fdopen(fd, "rb") as source:
            self.send_file(source, served.content_type, send_body)

    def send_file(self, source: BinaryIO, content_type: str, send_body: bool) -> None:
        size = os.fstat(source.fileno()).st_size
        try:
            span = byte_span(self.headers.get("Range"), size)
        except UnsatisfiableRangeError:
            self.send_plain(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, {"Content-Range": f"bytes */{size}"})
            return
        start, end = span if span is not None else (0, size - 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if span is not None else HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if span is not None:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not send_body:
            return
        source.seek(start)
        remaining = end - start + 1
        try:
            while remaining > 0:
                chunk = source.read(min(CHUNK_BYTES, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
        except ConnectionError:  # the browser cancelled (it does when seeking a video)
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Also the base class's errors (a bad request line, an unknown method): no message, no explanation."""
        self.send_plain(HTTPStatus(code))

    def send_plain(self, status: HTTPStatus, headers: dict[str, str] | None = None) -> None:
        """A short plain-text answer: the status and nothing about the request or the filesystem."""
        body = f"{status.value} {status.phrase}\n".encode() if status >= 400 else b""
        self.close_connection = True
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except ConnectionError:
            pass

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        super().end_headers()

    def version_string(self) -> str:
        return self.server_version  # no Python version

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(site_dir: Path, recordings: Path, port: int = DEFAULT_PORT) -> tuple[ReviewServer, str]:
    """A server (not yet serving) of the site in ``site_dir`` and the recordings under ``recordings`` it links,
    and the URL of the gallery; port 0 picks a free port. ``server.allowlist.refused``: linked files not served."""
    if not hasattr(os, "O_NOFOLLOW") or os.open not in os.supports_dir_fd:
        raise ServeError("serving needs a POSIX system (files opened without following links); open the site from disk")
    server = ReviewServer(build_allowlist(Path(site_dir), Path(recordings)), port)
    return server, server.url
