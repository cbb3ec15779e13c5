"""``embodia review DIR --serve``: only the site's own files and the videos it links, only to loopback hosts.

Real recordings, a real site, a real server on a free port in a thread, real HTTP: ``http.client`` for the
requests a browser would send, a raw socket for those a client library refuses to send (NUL bytes, spaces).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from process_support import sigint_as_in_a_terminal
from review_support import read_js_data, record

from embodia.review.server import ReviewServer, make_server
from embodia.review.site import build_site

#: (run folder under the recordings, episodes); Handover expert, 8 steps each: enough for a video to seek in
RUNS = (("run-a", 2), ("nested/run-b", 1))
EPISODE_STEPS = 8
#: request targets that try to leave the served files; every one must be 404 (``{site}``: the site's URL folder)
ATTACK_TARGETS = (
    "/etc/passwd",
    "/../../etc/passwd",
    "/../../../../../../../../etc/passwd",
    "/{site}/../../../../../../etc/passwd",
    "/{site}/static/../../../../../../../etc/passwd",
    "/{site}/index.html/../../../../../../etc/passwd",
    "/./etc/passwd",
    "/{site}/./index.html",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/.%2e/.%2e/.%2e/etc/passwd",
    "/{site}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "//etc/passwd",
    "///etc/passwd",
    "/%2fetc/passwd",
    "/%2F%2Fetc%2Fpasswd",
    "/{site}//index.html",
    "/..\\..\\..\\..\\etc\\passwd",
    "/{site}\\..\\..\\..\\..\\etc\\passwd",
    "/%5c..%5c..%5c..%5cetc%5cpasswd",
    "/{site}%5cindex.html",
    "/etc/passwd%00",
    "/{site}/index.html%00",
    "/{site}/index.html%00.jpg",
    "/etc/passwd\x00",
    "/{site}/index.html\x00",
    "/C:/Windows/win.ini",
    "/C:%5cWindows%5cwin.ini",
    "/c:\\windows\\win.ini",
    "/\\\\server\\share\\file",
    "http://127.0.0.1/etc/passwd",
    "file:///etc/passwd",
    "*",
    "etc/passwd",
    "/proc/self/environ",
    "/proc/self/cwd/pyproject.toml",
    "/root/",
    "/etc/",
)


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Served:
    server: ReviewServer
    url: str
    root: Path  # the recordings
    out: Path  # the site

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def site_path(self) -> str:
        return urlsplit(self.url).path.rsplit("/", 1)[0]

    @property
    def top(self) -> Path:
        """The folder URL paths are relative to."""
        return Path(os.path.commonpath([self.out.resolve(), self.root.resolve()]))

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        headers = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def raw(self, request: bytes) -> Response:
        """Send ``request`` byte for byte; read the answer until the server closes the connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(request)
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines)
        return Response(int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body)

    def raw_get(self, target: str, host_lines: str | None = None) -> Response:
        hosts = f"Host: 127.0.0.1:{self.port}\r\n" if host_lines is None else host_lines
        return self.raw(f"GET {target} HTTP/1.1\r\n{hosts}Connection: close\r\n\r\n".encode("latin-1"))


@contextmanager
def serving(out: Path, root: Path) -> Iterator[Served]:
    server, url = make_server(out, root, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(server, url, root, out)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recordings")
    for folder, episodes in RUNS:
        record(root / folder, "embodia/Handover-v0", "expert", episodes, EPISODE_STEPS)
    return root


@pytest.fixture(scope="module")
def served(recordings: Path) -> Iterator[Served]:
    """The site in its default place (DIR/review), with decoys next to the served files that must stay unserved."""
    result = build_site(recordings)
    (result.out / "extra.html").write_text("<p>not part of the site</p>")
    (result.out / "data" / "extra.js").write_text("window.SECRET = 1;\n")
    shutil.copy(recordings / "run-a" / "episode_0000.mp4", recordings / "run-a" / "unlinked.mp4")
    (recordings / "secret.txt").write_text("root:x:0:0:secret")
    with serving(result.out, recordings) as handle:
        yield handle


@pytest.fixture()
def private_root(recordings: Path, tmp_path: Path) -> Path:
    """A copy of the recordings that a test may change (replace files by links)."""
    return shutil.copytree(recordings, tmp_path / "runs", ignore=shutil.ignore_patterns("review", "secret.txt"))


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """A folder next to the recordings, not below them: what links may point to."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.mp4").write_bytes(b"root:x:0:0:not for the browser")
    return folder


def js_data(body: bytes) -> Any:
    text = body.decode("utf-8")
    return json.loads(text[text.index("= {") + 2 : -2])


class LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links.extend(value for name, value in attrs if name in ("src", "href") and value)


def site_references(served: Served) -> set[str]:
    """Every URL path the site references: its pages, what their HTML links, what their scripts build from the
    gallery data (thumbnails, videos, each episode's ``data/episodes/<id>.js``, as ``common.js`` loads it)."""
    base = f"http://127.0.0.1:{served.port}{served.site_path}/"
    pages, found = [urljoin(base, "index.html")], set()
    while pages:
        page = pages.pop()
        if urlsplit(page).path in found:
            continue
        found.add(urlsplit(page).path)
        parser = LinkParser()
        parser.feed(served.get(urlsplit(page).path).body.decode("utf-8"))
        for link in parser.links:
            target = urljoin(page, link)
            found.add(urlsplit(target).path)
            if urlsplit(target).path.endswith(".html"):
                pages.append(target)
    index = js_data(served.get(f"{served.site_path}/data/index.js").body)
    assert index["episodes"], "the site lists no episodes"
    for row in index["episodes"]:
        found.add(urlsplit(urljoin(base, f"data/episodes/{row['id']}.js")).path)
        found.update(urlsplit(urljoin(base, row[key])).path for key in ("thumb", "video"))
    return found


def assert_everything_referenced_is_served(served: Served) -> None:
    references = site_references(served)
    kinds = {Path(path).suffix for path in references}
    assert {".html", ".css", ".js", ".jpg", ".mp4"} <= kinds, kinds
    for path in sorted(references):
        response = served.get(path)
        assert response.status == 200, path
        assert response.body == (served.top / unquote(path.lstrip("/"))).read_bytes(), path
        assert response.headers["x-content-type-options"] == "nosniff"
    videos = [path for path in references if path.endswith(".mp4")]
    assert len(videos) == sum(episodes for _, episodes in RUNS)
    assert all(served.get(path).headers["content-type"] == "video/mp4" for path in videos)


def failed_response(response: Any) -> list[str]:
    """A browser's answer with an error status, but for the favicon a browser may ask for on its own."""
    return [f"{response.status}: {response.url}"] if response.status >= 400 and "favicon" not in response.url else []


def assert_refused(response: Response, *secrets: str) -> None:
    """Not served, and the answer says nothing about the filesystem."""
    assert response.status in (400, 403, 404), response.status
    assert b"root:" not in response.body and b"<a" not in response.body and b"passwd" not in response.body
    for secret in secrets:
        assert secret.encode() not in response.body


# --- what is served -------------------------------------------------------------------------------------------


def test_the_printed_url_opens_the_gallery_and_root_redirects_there(served: Served) -> None:
    assert served.url == f"http://127.0.0.1:{served.port}/review/index.html"
    with urllib.request.urlopen(served.url, timeout=10) as response:
        assert response.status == 200 and b"data/index.js" in response.read()
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    for folder in ("/", "/review", "/review/"):
        response = served.get(folder)
        assert (response.status, response.headers["location"], response.body) == (302, "/review/index.html", b"")
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/", timeout=10) as response:
        assert response.url == served.url  # urllib followed the redirect


def test_every_url_the_site_references_is_served(served: Served) -> None:
    assert_everything_referenced_is_served(served)


def test_answers_carry_protective_headers(served: Served) -> None:
    headers = served.get("/review/index.html").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["server"] == "embodia-review"  # no Python version
    assert served.get("/review/data/index.js").headers["content-type"] == "text/javascript; charset=utf-8"
    assert served.get("/review/static/style.css").headers["content-type"] == "text/css; charset=utf-8"


def test_byte_ranges_seek_in_a_video(served: Served) -> None:
    path = "/run-a/episode_0001.mp4"
    video = (served.root / "run-a" / "episode_0001.mp4").read_bytes()
    size = len(video)
    cases = {
        "bytes=100-199": (100, 199),
        "bytes=100-": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes=0-{size * 10}": (0, size - 1),  # an end beyond the file is cut to the file
    }
    for header, (start, end) in cases.items():
        response = served.get(path, {"Range": header})
        assert response.status == 206, header
        assert response.headers["content-range"] == f"bytes {start}-{end}/{size}", header
        assert response.body == video[start : end + 1], header
        assert response.headers["content-type"] == "video/mp4"
    for header in (f"bytes={size}-", f"bytes={size + 1000}-{size + 2000}", "bytes=-0"):
        response = served.get(path, {"Range": header})
        assert response.status == 416 and response.headers["content-range"] == f"bytes */{size}", header
    for ignored in ("bytes=0-9,20-29", "bytes=9-2", "lines=1-2", "bytes=-", "bytes=" + "9" * 40 + "-"):
        response = served.get(path, {"Range": ignored})
        assert response.status == 200 and response.body == video, ignored
    head = served.get(path, method="HEAD")
    assert head.status == 200 and head.body == b"" and head.headers["content-length"] == str(size)
    assert head.headers["accept-ranges"] == "bytes"


def test_only_get_and_head(served: Served) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "BREW"):
        response = served.get("/review/index.html", method=method)
        assert response.status == 405 and response.headers["allow"] == "GET, HEAD", method


# --- what is refused ------------------------------------------------------------------------------------------


def test_paths_leaving_the_served_files_are_404(served: Served) -> None:
    for template in ATTACK_TARGETS:
        target = template.replace("{site}", "review")
        response = served.raw_get(target)
        assert response.status == 404, target
        assert_refused(response, str(served.root))


def test_files_next_to_the_served_ones_are_404(served: Served) -> None:
    """Present at start and of a served kind, but not part of the site: decoys, episode files, sidecars."""
    for path in (
        "/review/extra.html",
        "/review/data/extra.js",
        "/run-a/unlinked.mp4",
        "/run-a/episode_0000.npz",
        "/run-a/episode_0000.json",
        "/run-a/meta.json",
        "/secret.txt",
        "/review/thumbs/nothing.jpg",
        "/review/data/episodes/0000000000000000.js",
    ):
        assert_refused(served.get(path))
        assert served.get(path).status == 404, path


def test_folders_are_never_listed(served: Served) -> None:
    for folder in (
        "/run-a",
        "/run-a/",
        "/nested/",
        "/nested/run-b/",
        "/review/data/",
        "/review/static",
        "/review/thumbs/",
    ):
        response = served.get(folder)
        assert response.status == 404 and b"episode_" not in response.body, folder
        assert_refused(response)


def test_only_loopback_host_headers(served: Served) -> None:
    port = served.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert served.get("/review/index.html", {"Host": host}).status == 200, host
    foreign = (
        f"evil.example:{port}",
        "evil.example",
        "127.0.0.1.evil.example",
        f"127.0.0.1.evil.example:{port}",
        f"localhost.evil:{port}",
        f"localhost.:{port}",
        f"127.0.0.1:{port}.evil.example",
        f"127.0.0.1:{port + 1 if port < 65535 else port - 1}",
        "127.0.0.1",
        "localhost",
        f"0.0.0.0:{port}",
        f"127.0.0.2:{port}",
        f"127.1:{port}",
        f"2130706433:{port}",
        f"[::ffff:127.0.0.1]:{port}",
        f"user@127.0.0.1:{port}",
    )
    for host in foreign:
        response = served.get("/review/index.html", {"Host": host})
        assert response.status == 403, host
        assert_refused(response, str(served.root), str(served.out))
        assert served.get("/run-a/episode_0000.mp4", {"Host": host}).status == 403, host
    for host_lines in ("", "Host: \r\n", f"Host: 127.0.0.1:{port}\r\nHost: evil.example:{port}\r\n"):
        response = served.raw_get("/review/index.html", host_lines)
        assert response.status == 400 and b"<html" not in response.body, repr(host_lines)


def test_requests_from_other_sites_pages_are_403(served: Served) -> None:
    """Another site's page could include the data scripts (``<script src=...data/index.js>``) and read them."""
    for fetch_site in ("cross-site", "same-site"):
        assert served.get("/review/data/index.js", {"Sec-Fetch-Site": fetch_site}).status == 403, fetch_site
    for fetch_site in ("same-origin", "none"):
        assert served.get("/review/data/index.js", {"Sec-Fetch-Site": fetch_site}).status == 200, fetch_site
    # a link to the gallery on another site's page opens it (that page cannot read what it opened) ...
    navigation = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    assert served.get("/review/index.html", navigation).status == 200
    # ... but cannot embed it, load its scripts, or post to it
    for changed in ({"Sec-Fetch-Dest": "iframe"}, {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}):
        assert served.get("/review/index.html", {**navigation, **changed}).status == 403, changed
    assert served.get("/review/index.html", navigation, method="POST").status == 403


def test_out_in_another_tree_serves_the_site_and_nothing_else(recordings: Path) -> None:
    """``--out`` under /var/tmp and the recordings under /tmp: the folder holding both is ``/``."""
    holder = Path(tempfile.mkdtemp(prefix="embodia-review-test-", dir="/var/tmp"))
    try:
        out = holder / "review"
        build_site(recordings, out)
        with serving(out, recordings) as served:
            assert served.top == Path("/")
            assert served.url == f"http://127.0.0.1:{served.port}{out.resolve()}/index.html"
            assert served.get("/").headers["location"] == f"{out.resolve()}/index.html"
            assert_everything_referenced_is_served(served)
            video = next(recordings.glob("run-a/episode_*.mp4"))
            assert served.get(str(video), {"Range": "bytes=0-9"}).status == 206
            for path in (
                "/etc/passwd",
                "/etc/",
                "/root/",
                "/tmp/",
                "/var/tmp/",
                f"{holder}/",
                f"{out}/data/",
                f"{recordings.parent}/",
                f"{recordings}/",
                f"{recordings}/run-a/",
                f"{recordings}/run-a/episode_0000.npz",
                f"{recordings}/secret.txt",
                f"{out}/../../../etc/passwd",
                "/proc/self/environ",
            ):
                response = served.raw_get(path)
                assert response.status == 404, path
                assert_refused(response, recordings.name)
    finally:
        shutil.rmtree(holder)


def test_links_present_at_start_are_not_served(private_root: Path, outside: Path) -> None:
    """A video replaced by a link out of the recordings, a site file linked to /etc/passwd, a run folder that is a
    link, and gallery data edited to point out: each is left out (and reported), and its URL is 404."""
    (private_root / "run-a" / "episode_0000.mp4").unlink()
    (private_root / "run-a" / "episode_0000.mp4").symlink_to(outside / "secret.mp4")
    result = build_site(private_root, thumbnails=False)
    out = result.out
    assert any("is a link out of" in skipped.reason for skipped in result.skipped)  # never put on the site
    linked_run = private_root / "nested" / "run-b"
    real_run = private_root / "nested" / "real-run-b"
    linked_run.rename(real_run)
    linked_run.symlink_to(real_run, target_is_directory=True)
    (out / "static" / "style.css").unlink()
    (out / "static" / "style.css").symlink_to("/etc/passwd")
    index = read_js_data(out / "data" / "index.js")
    edited = next(row for row in index["episodes"] if row["path"] == "run-a/episode_0001.npz")
    edited["video"] = "../../../../../../../../etc/passwd"
    edited["thumb"] = "../run-a/episode_0001.mp4"  # a recording is never a file of the site
    (out / "data" / "index.js").write_text(f"window.EMBODIA_INDEX = {json.dumps(index)};\n")
    with serving(out, private_root) as served:
        refused = "\n".join(served.server.allowlist.refused)
        for expected in ("style.css", "/etc/passwd", "run-b/episode_0000.mp4", "episode_0001.mp4"):
            assert expected in refused, (expected, refused)
        for path in (
            "/run-a/episode_0000.mp4",
            "/run-a/episode_0001.mp4",
            "/nested/run-b/episode_0000.mp4",
            "/nested/real-run-b/episode_0000.mp4",
            "/review/static/style.css",
            f"/{outside.relative_to(served.top.parent)}/secret.mp4",
            "/../outside/secret.mp4",
            "/etc/passwd",
        ):
            response = served.get(path)
            assert response.status == 404, path
            assert_refused(response)
        assert served.get("/review/index.html").status == 200


def test_files_replaced_by_links_after_start_are_refused(
    private_root: Path, outside: Path, capfd: pytest.CaptureFixture
) -> None:
    out = build_site(private_root, thumbnails=False).out
    with serving(out, private_root) as served:
        video = private_root / "run-a" / "episode_0000.mp4"
        assert served.get("/run-a/episode_0000.mp4").status == 200
        video.unlink()
        for target in (outside / "secret.mp4", Path("/etc/passwd"), outside / "missing.mp4", Path("relative.mp4")):
            video.unlink(missing_ok=True)
            video.symlink_to(target)  # a link out, a link to a system file, dangling links
            for headers in ({}, {"Range": "bytes=0-9"}):
                response = served.get("/run-a/episode_0000.mp4", headers)
                assert response.status == 404, target
                assert_refused(response)
        video.unlink()
        os.mkfifo(video)  # opening a FIFO would wait for a writer: refused without waiting
        assert served.get("/run-a/episode_0000.mp4").status == 404
        video.unlink()
        video.mkdir()
        assert served.get("/run-a/episode_0000.mp4").status == 404

        run = private_root / "nested" / "run-b"
        run.rename(outside / "run-b")
        run.symlink_to(outside / "run-b", target_is_directory=True)  # a folder on the way becomes a link
        assert served.get("/nested/run-b/episode_0000.mp4").status == 404

        index = out / "data" / "index.js"
        index.rename(outside / "index.js")
        index.symlink_to(outside / "index.js")
        assert served.get("/review/data/index.js").status == 404

        # the server keeps answering what is still a plain file, and printed nothing
        assert served.get("/review/index.html").status == 200
        assert served.get("/run-a/episode_0001.mp4").status == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out


# --- the command ----------------------------------------------------------------------------------------------


def test_serve_command_prints_a_working_url_and_stops_on_ctrl_c(private_root: Path) -> None:
    command = [sys.executable, "-m", "embodia.cli", "review", str(private_root), "--serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_as_in_a_terminal)  # fmt: skip
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("review site: 3 episodes") and lines[1].startswith("open: file://")
        assert lines[2].startswith("serving at http://127.0.0.1:"), lines
        url = lines[2].split()[2]
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"data/index.js" in response.read()
        video = urljoin(url, "../run-a/episode_0000.mp4")
        with urllib.request.urlopen(urllib.request.Request(video, headers={"Range": "bytes=0-9"}), timeout=10) as r:
            assert r.status == 206 and len(r.read()) == 10
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urljoin(url, "/etc/passwd"), timeout=10)
        assert refused.value.code == 404
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)  # a loaded CI machine; it stops within a second when idle
    assert process.returncode == 0 and err.strip() == "stopped", err


# --- the site in a browser under the Content-Security-Policy ---------------------------------------------------


def test_the_served_site_works_in_a_browser_under_its_security_policy(served: Served, tmp_path: Path) -> None:
    """No policy violation, no script error, no failed request: gallery, episode (video), compare, export."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    if executable is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is not installed; CI must run the browser tests")
        pytest.skip("chromium is not installed (tools/install-system-packages.sh)")
    rows = read_js_data(served.out / "data" / "index.js")["episodes"]
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            context = browser.new_context(accept_downloads=True)
            context.set_default_timeout(15_000)
            context.add_init_script(
                "document.addEventListener('securitypolicyviolation', e => "
                "(window.__violations = window.__violations || []).push(e.violatedDirective + ' ' + e.blockedURI))"
            )
            page = context.new_page()
            page.on("pageerror", lambda error: problems.append(f"error: {error}"))
            page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
            page.on("response", lambda response: problems.extend(failed_response(response)))

            def check(url: str, ready: str) -> None:
                page.goto(url)
                page.wait_for_selector("body[data-ready=true]")
                # a function, not an expression: Playwright polls an expression with eval(), which the CSP refuses
                page.wait_for_function(f"() => {ready}")
                problems.extend(page.evaluate("window.__violations || []"))

            check(served.url, "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            page.click(f'.card[data-id="{rows[0]["id"]}"] button.accept')
            with page.expect_download() as download:
                page.click("#export-review")
            download.value.save_as(tmp_path / "review.json")
            assert json.loads((tmp_path / "review.json").read_text())["episodes"][0]["verdict"] == "accepted"
            base = served.url.rsplit("/", 1)[0]
            check(f"{base}/episode.html?id={rows[1]['id']}", "document.querySelector('video').readyState >= 2")
            check(
                f"{base}/compare.html?a={rows[0]['id']}&b={rows[2]['id']}",
                "[...document.querySelectorAll('video')].every(v => v.readyState >= 2)",
            )
        finally:
            browser.close()
    assert problems == []
