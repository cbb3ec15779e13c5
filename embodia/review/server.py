"""Serve a review site on localhost.

The site links videos relatively (``../run/episode_0000.mp4``), so the server's document root is the folder
holding both the site and the recordings. Python's ``SimpleHTTPRequestHandler`` ignores ``Range`` headers, and
a browser cannot seek in a video served without them, so this handler answers single byte ranges (206).
"""

from __future__ import annotations

import functools
import os
import re
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK_BYTES = 64 * 1024


class RangeRequestHandler(SimpleHTTPRequestHandler):
    """Static files with single ``Range: bytes=a-b`` requests (what video seeking uses); quiet logs."""

    def send_head(self):
        match = RANGE.match(self.headers.get("Range", "").strip())
        path = self.translate_path(self.path)
        if match is None or not os.path.isfile(path):
            self._range = None
            return super().send_head()
        size = os.path.getsize(path)
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        elif last:  # a suffix: the last N bytes
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = 0, size - 1
        if start >= size or start > end:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        handle = open(path, "rb")  # noqa: SIM115 (closed by the base class after copyfile)
        handle.seek(start)
        self._range = end - start + 1
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(self._range))
        self.end_headers()
        return handle

    def copyfile(self, source, outputfile) -> None:
        remaining = getattr(self, "_range", None)
        if remaining is None:
            super().copyfile(source, outputfile)
            return
        while remaining > 0:
            chunk = source.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)

    def end_headers(self) -> None:
        if getattr(self, "_range", None) is None and self.command in ("GET", "HEAD"):
            self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


def document_root(site_dir: Path, recordings: Path) -> Path:
    """The deepest folder holding both the site and the recordings its pages link to."""
    return Path(os.path.commonpath([site_dir.resolve(), recordings.resolve()]))


def make_server(site_dir: Path, recordings: Path, port: int = DEFAULT_PORT) -> tuple[ThreadingHTTPServer, str]:
    """A server (not yet serving) and the URL of the gallery; port 0 picks a free port."""
    top = document_root(site_dir, recordings)
    handler = functools.partial(RangeRequestHandler, directory=str(top))
    server = ThreadingHTTPServer((HOST, port), handler)
    site_path = "/".join(quote(p) for p in site_dir.resolve().relative_to(top).parts)
    url = f"http://{HOST}:{server.server_address[1]}/{site_path + '/' if site_path else ''}index.html"
    return server, url
