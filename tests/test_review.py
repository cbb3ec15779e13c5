"""``embodia review``: the site generator on real recordings, its bad-input errors, the server, the review file."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pytest
from PIL import Image
from process_support import sigint_as_in_a_terminal
from review_support import read_js_data, recorded_root  # noqa: F401  (recorded_root is a fixture)

from embodia.cli import main
from embodia.envs.record.episode import load_episode, save_episode
from embodia.envs.record.review_file import ReviewFileError, load_review_file
from embodia.review.collect import episode_id
from embodia.review.server import make_server
from embodia.review.site import build_site
from embodia.review.thumbnails import THUMB_WIDTH_PX


def file_digests(root: Path, skip: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and skip not in p.parents
    }


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture()
def site(recorded_root: Path, tmp_path: Path) -> tuple[Path, Path]:  # noqa: F811
    """A private copy of the recordings (so tests may add bad files) and its built site."""
    root = copy_run(recorded_root, tmp_path / "runs")
    build_site(root)
    return root, root / "review"


def test_gallery_rows_come_from_the_episode_files(site: tuple[Path, Path]) -> None:
    root, out = site
    index = read_js_data(out / "data" / "index.js")
    assert index["format"] == "embodia.review-site" and index["root"] == str(root.resolve())
    rows = index["episodes"]
    npz_files = sorted(p.relative_to(root).as_posix() for p in root.rglob("episode_*.npz"))
    assert [r["path"] for r in rows] == npz_files and len(rows) == 5
    assert {(r["env_id"], r["policy"]) for r in rows} == {
        ("embodia/BinPicking-v0", "expert"),
        ("embodia/BinPicking-v0", "random"),
        ("embodia/Handover-v0", "expert"),
    }
    for row in rows:
        episode = load_episode(root / row["path"])
        sidecar = json.loads((root / row["path"]).with_suffix(".json").read_text())
        assert row["id"] == episode_id(row["path"]) and row["policy_class"]
        assert row["return"] == pytest.approx(float(episode.rewards.sum()), rel=1e-12)
        assert row["return"] == pytest.approx(sidecar["return"], rel=1e-12)
        assert (row["success"], row["length"], row["seed"]) == (sidecar["success"], sidecar["length"], sidecar["seed"])
        # the video is linked, not copied, and the link resolves from the site folder
        assert (out / row["video"]).resolve() == (root / row["path"]).with_suffix(".mp4").resolve()
        with Image.open(out / row["thumb"]) as thumb:
            assert thumb.format == "JPEG" and thumb.width <= THUMB_WIDTH_PX and thumb.height > 10
    assert sum(r["success"] for r in rows) == 2  # the full-length BinPicking expert episodes
    for page in (
        "index.html",
        "episode.html",
        "compare.html",
        "static/common.js",
        "static/plots.js",
        "static/style.css",
    ):
        assert (out / page).is_file(), page
    assert not list(out.rglob("*.mp4")), "the site must not copy videos"


def test_episode_data_holds_every_plotted_signal(site: tuple[Path, Path]) -> None:
    root, out = site
    index = read_js_data(out / "data" / "index.js")
    row = next(r for r in index["episodes"] if r["env_id"] == "embodia/Handover-v0")
    data = read_js_data(out / "data" / "episodes" / f"{row['id']}.js")
    episode = load_episode(root / row["path"])
    plots = {p["name"]: p for p in data["plots"]}
    assert data["frames"] == episode.length + 1 and data["control_hz"] == 20.0
    assert plots["reward"]["first_frame"] == 1
    np.testing.assert_allclose(plots["reward"]["series"]["reward"], episode.rewards, rtol=1e-4, atol=1e-9)
    width = plots["gripper width"]["series"]["gripper_width_m"]
    np.testing.assert_allclose(width, episode.observations["robot_gripper_width"][:, 0], rtol=1e-4)
    distances = plots["distances"]["series"]
    assert {"bottle_to_palm_m", "tcp_to_bottle_m"} <= set(distances)
    np.testing.assert_allclose(distances["bottle_to_palm_m"], episode.info["bottle_to_palm_m"], rtol=1e-4)
    assert set(plots["reward terms"]["series"]) == {
        k.removeprefix("reward_terms/") for k in episode.info if k.startswith("reward_terms/")
    }
    forces = {k for k in episode.info if k.endswith("_n") or "_n/" in k}
    assert set(plots["forces"]["series"]) == forces if forces else "forces" not in plots


def test_safety_figures_and_forces_are_shown_when_recorded(recorded_root: Path, tmp_path: Path) -> None:  # noqa: F811
    source = next(recorded_root.glob("handover-expert/episode_0000.npz"))
    episode = load_episode(source)
    force = np.linspace(0.0, 42.0, episode.length + 1)
    episode.info["safety/test_peak_force_n"] = force
    episode.info["safety/force_n/test_region"] = force / 2
    expected = {k for k in episode.info if k.endswith("_n") or "_n/" in k}  # with the task's own force signals
    run = tmp_path / "safety-run"
    run.mkdir()
    save_episode(episode, run / "episode_0000.npz")
    (run / "episode_0000.json").write_text(json.dumps({"seed": 0, "safety": {"peak_force_n": 42.0, "note": "x"}}))
    result = build_site(run)
    assert result.episodes == 1 and result.skipped == []
    row = read_js_data(result.out / "data" / "index.js")["episodes"][0]
    assert row["safety"] == {"peak_force_n": 42.0} and row["video"] is None and row["thumb"] is None
    data = read_js_data(result.out / "data" / "episodes" / f"{row['id']}.js")
    forces = next(p for p in data["plots"] if p["name"] == "forces")
    assert forces["unit"] == "N" and set(forces["series"]) == expected
    assert forces["series"]["safety/test_peak_force_n"][-1] == 42.0
    assert forces["series"]["safety/force_n/test_region"][-1] == 21.0


def test_regenerating_never_touches_the_recordings_and_drops_stale_data(site: tuple[Path, Path]) -> None:
    root, out = site
    before = file_digests(root, skip=out)
    first = read_js_data(out / "data" / "index.js")["episodes"]
    gone = root / "binpicking" / "random"
    shutil.rmtree(gone)
    before = {k: v for k, v in before.items() if not k.startswith("binpicking/random/")}
    result = build_site(root)
    assert file_digests(root, skip=out) == before
    rows = read_js_data(out / "data" / "index.js")["episodes"]
    assert result.episodes == len(rows) == len(first) - 2
    kept = {f"{r['id']}.js" for r in rows}
    assert {p.name for p in (out / "data" / "episodes").iterdir()} == kept
    assert {p.stem for p in (out / "thumbs").iterdir()} == {r["id"] for r in rows}


def review_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    status = main(["review", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status: int, err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("embodia: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_bad_folders_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    status, _, err = review_cli(capsys, str(tmp_path / "missing"))
    assert_one_line_error(status, err, "no such folder", "embodia run TASK --record")
    empty = tmp_path / "empty"
    empty.mkdir()
    status, _, err = review_cli(capsys, str(empty))
    assert_one_line_error(status, err, "is empty", "embodia run TASK --record")
    (empty / "notes.txt").write_text("no episodes here")
    (empty / "run").mkdir()
    (empty / "run" / "episode_0000.mp4").write_bytes(b"")
    status, _, err = review_cli(capsys, str(empty))
    assert_one_line_error(status, err, "holds no recorded episodes", "episode_*.npz")
    assert not (empty / "review").exists()


def test_corrupt_episode_is_skipped_with_a_warning(site: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    root, out = site
    bad = root / "binpicking" / "random" / "episode_0001.npz"
    bad.write_bytes(bad.read_bytes()[:500])  # truncated, as by a full disk
    status, stdout, err = review_cli(capsys, str(root))
    assert status == 0
    assert err.strip().splitlines() == [
        f"embodia: warning: binpicking/random/episode_0001.npz: {err.split('episode_0001.npz: ', 1)[1].strip()}"
    ]
    assert "not a readable episode file" in err and err.strip().endswith("; skipped")
    assert "review site: 4 episodes, 1 warnings" in stdout
    index = read_js_data(out / "data" / "index.js")
    assert len(index["episodes"]) == 4 and index["skipped"][0]["path"] == "binpicking/random/episode_0001.npz"

    only_bad = tmp_path_run = root.parent / "only-bad"
    only_bad.mkdir()
    shutil.copy(bad, tmp_path_run / "episode_0000.npz")
    status, _, err = review_cli(capsys, str(only_bad))
    assert_one_line_error(status, err, "none of its 1 episode files is readable", "record the run again")


def test_unknown_task_is_a_one_line_error(recorded_root: Path, tmp_path: Path, capsys) -> None:  # noqa: F811
    episode = load_episode(next(recorded_root.glob("handover-expert/episode_0000.npz")))
    episode.metadata["env_id"] = "embodia/Teleport-v9"
    save_episode(episode, tmp_path / "run" / "episode_0000.npz")
    status, _, err = review_cli(capsys, str(tmp_path))
    assert_one_line_error(status, err, "unknown task 'embodia/Teleport-v9'", "embodia/Handover-v0", "review it with")


def test_out_must_be_a_folder_of_its_own(site: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    root, _ = site
    status, _, err = review_cli(capsys, str(root), "--out", str(root))
    assert_one_line_error(status, err, "is the recorded folder itself")
    status, _, err = review_cli(capsys, str(root), "--out", str(root / "handover-expert"))
    assert_one_line_error(status, err, "holds recorded episodes")
    status, stdout, _ = review_cli(capsys, str(root / "handover-expert"), "--out", str(root.parent / "elsewhere"))
    assert status == 0 and "review site: 1 episodes" in stdout
    row = read_js_data(root.parent / "elsewhere" / "data" / "index.js")["episodes"][0]
    assert row["video"] == "../runs/handover-expert/episode_0000.mp4"


def test_a_folder_of_other_files_is_never_taken_for_the_site(site: tuple[Path, Path], capsys) -> None:
    """Regenerating a site replaces and removes files in it: a folder the user keeps other files in is refused."""
    root, out = site
    home = root.parent / "home"
    (home / "thumbs").mkdir(parents=True)
    (home / "thumbs" / "holiday.jpg").write_bytes(b"not ours")
    (home / "index.html").write_text("my page")
    status, _, err = review_cli(capsys, str(root), "--out", str(home))
    assert_one_line_error(status, err, "holds other files and no review site")
    assert (home / "thumbs" / "holiday.jpg").read_bytes() == b"not ours"
    assert (home / "index.html").read_text() == "my page"
    status, _, _ = review_cli(capsys, str(root), "--out", str(out))  # a site made before regenerates
    assert status == 0


def test_a_video_linked_out_of_the_folder_is_not_put_on_the_site(site: tuple[Path, Path], capsys) -> None:
    root, out = site
    outside = root.parent / "outside.mp4"
    video = sorted(root.rglob("episode_*.mp4"))[0]
    shutil.move(video, outside)
    video.symlink_to(outside)
    status, _, err = review_cli(capsys, str(root))
    assert status == 0 and "is a link out of" in err
    rows = read_js_data(out / "data" / "index.js")["episodes"]
    linked = [r for r in rows if r["path"] == video.relative_to(root).with_suffix(".npz").as_posix()]
    assert linked and linked[0]["video"] is None


def test_server_answers_pages_and_byte_ranges(site: tuple[Path, Path]) -> None:
    root, out = site
    server, url = make_server(out, root, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/review/index.html")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"data/index.js" in response.read()
        row = read_js_data(out / "data" / "index.js")["episodes"][0]
        video_url = urljoin(url, row["video"])  # resolved as a browser does: the server refuses ".." in a path
        video = (out / row["video"]).resolve().read_bytes()
        request = urllib.request.Request(video_url, headers={"Range": "bytes=100-199"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-199/{len(video)}"
            assert response.read() == video[100:200]
        with urllib.request.urlopen(video_url, timeout=10) as response:
            assert response.status == 200 and response.headers["Accept-Ranges"] == "bytes"
            assert response.read() == video
    finally:
        server.shutdown()
        server.server_close()


def test_serve_prints_the_url_and_stops_on_ctrl_c(site: tuple[Path, Path]) -> None:
    root, _ = site
    command = [sys.executable, "-m", "embodia.cli", "review", str(root), "--serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=sigint_as_in_a_terminal)  # fmt: skip
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("review site: 5 episodes") and lines[1].startswith("open: file://")
        url = lines[2].split()[2]
        assert lines[2].startswith("serving at http://127.0.0.1:") and url.endswith("/review/index.html")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)  # a loaded CI machine; it stops within a second when idle
    assert process.returncode == 0 and err.strip() == "stopped"


def write_review(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_review_file_reader(tmp_path: Path) -> None:
    document = {
        "format": "embodia.review",
        "schema_version": 1,
        "created_utc": "2025-01-01T00:00:00Z",
        "root": "/data/runs",
        "episodes": [
            {"path": "a/episode_0000.npz", "env_id": "embodia/Handover-v0", "policy": "expert", "seed": 0,
             "verdict": "accepted"},
            {"path": "b/c/episode_0001.npz", "env_id": "embodia/Handover-v0", "policy": "random", "seed": 1,
             "verdict": "rejected"},
        ],
    }  # fmt: skip
    verdicts = load_review_file(write_review(tmp_path / "ok.json", document))
    assert verdicts == {"a/episode_0000.npz": "accepted", "b/c/episode_0001.npz": "rejected"}

    with pytest.raises(FileNotFoundError, match="no such review file"):
        load_review_file(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ReviewFileError, match=r"bad.json: not a review file \(invalid JSON"):
        load_review_file(tmp_path / "bad.json")
    cases = [
        ({**document, "format": "embodia.episode"}, "not an embodia review file"),
        ({**document, "schema_version": 2}, "schema version 2 is not supported"),
        ({**document, "episodes": {}}, "'episodes' must be a list"),
        ({**document, "episodes": [{**document["episodes"][0], "verdict": "maybe"}]}, "'verdict' must be one of"),
        ({**document, "episodes": [{**document["episodes"][0], "path": "/abs/episode_0000.npz"}]}, "relative"),
        ({**document, "episodes": [{**document["episodes"][0], "path": "a/../episode_0000.npz"}]}, "relative"),
        ({**document, "episodes": [{**document["episodes"][0], "path": "a/episode_0000.mp4"}]}, "ending in .npz"),
        (
            {**document, "episodes": [document["episodes"][0], {**document["episodes"][0], "verdict": "rejected"}]},
            "both accepted and rejected",
        ),
    ]
    for broken, message in cases:
        with pytest.raises(ReviewFileError, match=message):
            load_review_file(write_review(tmp_path / "broken.json", broken))
