"""The files training, policies and the review site read are data, and bounded: crafted ones are one line.

One test per reader, each with real crafted files, through the real CLI where there is one: a run folder's
``meta.json`` and a Minari dataset given to ``embodia train --demos`` (a dataset naming an entry point is never
imported, checked in a fresh interpreter), a run's ``run.json`` and ``progress_<steps>.json`` read by
``embodia train --resume`` and ``embodia run --policy``, a corrupt or long MP4 made into a thumbnail by
``embodia review``, and a site's ``data/index.js`` read by ``embodia review --serve``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from embodia.agents.evaluate import run_episodes
from embodia.cli import main

REACH = "embodia/Reach-v0"
DEEP = "[" * 100_000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: one expert episode of Reach (25 steps), no video."""
    out = tmp_path_factory.mktemp("recorded") / "run"
    run_episodes(REACH, episodes=1, record_dir=out, video=False, progress=False)
    return out


def one_line(status: int, err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert status == 2, (status, err)
    assert len(lines) == 1 and lines[0].startswith("embodia: error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().err


def write_mp4(path: Path, frames: int, size: tuple[int, int] = (48, 64)) -> Path:
    """An MP4 whose frame k is uniformly grey level 2k (so the frame read back says which it was)."""
    import imageio.v2 as imageio

    with imageio.get_writer(str(path), fps=20, format="FFMPEG", macro_block_size=1) as writer:
        for k in range(frames):
            writer.append_data(np.full((*size, 3), 2 * k % 256, np.uint8))
    return path


# ---------------------------------------------------------------------------------------------- 1. demonstrations
def test_demonstrations_are_checked_before_they_are_read(recorded: Path, tmp_path: Path, capsys, monkeypatch):
    """A run folder's meta.json is bounded JSON; a Minari dataset whose metadata lacks the spaces and names the
    entry point ``this:X`` (Minari would import it to build the env) is refused before Minari reads it."""
    demos = tmp_path / "demos"
    demos.mkdir()
    os.link(recorded / "episode_0000.npz", demos / "episode_0000.npz")
    train = ["train", REACH, "--algo", "bc", "--out", str(tmp_path / "out"), "--quiet"]
    (demos / "meta.json").write_text(DEEP)
    status, err = cli(capsys, *train, "--demos", str(demos))
    one_line(status, err, str(demos / "meta.json"), "nested more than 16 levels")
    (demos / "meta.json").write_text(json.dumps({"env_id": ["embodia/Reach-v0"]}))
    status, err = cli(capsys, *train, "--demos", str(demos))
    one_line(status, err, str(demos / "meta.json"), "'env_id' must be a task id")
    assert not (tmp_path / "out").exists()

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    from embodia.envs.record import dataset as ds

    folder = ds.export_minari([recorded / "episode_0000.npz"], "embodia/reach/evil-v0", "expert")
    metadata = folder / "data" / "metadata.json"
    original = json.loads(metadata.read_text())
    spec = {**json.loads(original["env_spec"]), "entry_point": "this:X"}
    crafted = {k: v for k, v in original.items() if k not in ("observation_space", "action_space")}
    metadata.write_text(json.dumps({**crafted, "env_spec": json.dumps(spec)}))
    script = (
        "import sys; from embodia.cli import main; "
        f"status = main({[*train, '--demos', 'embodia/reach/evil-v0']!r}); "
        "print('this imported' if 'this' in sys.modules else 'this not imported'); sys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "this not imported" in result.stdout and "Beautiful is better" not in result.stdout, result.stdout
    one_line(result.returncode, result.stderr, str(metadata), "lacks the observation and action spaces")


# ---------------------------------------------------------------------------------------------- 2. training runs
def test_run_records_and_progress_files_are_bounded_data(tmp_path: Path, capsys) -> None:
    """``train --resume`` and ``run --policy`` read run.json (and a checkpoint's progress file) as bounded data of
    the right types: deep nesting, huge numbers and wrong types are one line naming the file."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    record = run / "run.json"
    resume = ["train", REACH, "--algo", "sac", "--out", str(run), "--resume", "--quiet"]
    policy = ["run", REACH, "--policy", str(run), "--episodes", "1", "--no-video", "--quiet"]
    cases = [
        ('{"env_id": ' + DEEP, "nested more than 16 levels"),
        ('{"env_id": "embodia/Reach-v0", "algo": ' + "9" * 5000 + "}", "invalid JSON"),
        ('{"env_id": "embodia/Reach-v0", "algo": 12345678901234567890123}', "algo must be a name"),
    ]
    for text, message in cases:
        record.write_text(text)
        for args in (resume, policy):
            one_line(*cli(capsys, *args), str(record), message)
    good = {"format": "embodia.train", "env_id": REACH, "algo": "sac", "env_kwargs": {}, "config": {},
            "policy_class": "stable_baselines3.sac.policies:SACPolicy", "seed": 0}  # fmt: skip
    for changes, message in (
        ({"env_kwargs": ["obs_mode"]}, "env_kwargs must be an object"),
        ({"seed": 10**40}, "seed must be an integer"),
        ({"policy_class": {"module": "os"}}, "policy_class must be text"),
    ):
        record.write_text(json.dumps({**good, **changes}))
        one_line(*cli(capsys, *policy), str(record), message)

    # a checkpoint whose progress record is beyond belief; a file named like no checkpoint is not one
    record.write_text(json.dumps(good))
    (run / "checkpoints" / "model_32.zip").write_bytes(b"not read: the progress record is checked first")
    (run / "checkpoints" / "model_abc.zip").write_bytes(b"")
    progress = run / "checkpoints" / "progress_32.json"
    for text, message in (
        ('{"steps": 32, "wall_s": 1e400}', "'wall_s' must be the seconds trained"),
        ('{"steps": 32, "wall_s": "12"}', "'wall_s' must be the seconds trained"),
        ("[" * 50 + "]" * 50, "nested more than 16 levels"),
    ):
        progress.write_text(text)
        one_line(*cli(capsys, *resume), "cannot resume", str(progress), message)


# ---------------------------------------------------------------------------------------------- 3. thumbnails
def test_thumbnails_hold_one_frame_and_a_corrupt_video_is_a_warning(recorded: Path, tmp_path: Path, capsys) -> None:
    from embodia.review import thumbnails
    from embodia.review.thumbnails import ThumbnailError, last_frame

    run = tmp_path / "run"
    run.mkdir()
    for name in ("episode_0000.npz", "episode_0000.json", "meta.json", "summary.json"):
        if (recorded / name).exists():
            os.link(recorded / name, run / name)
    good = write_mp4(tmp_path / "good.mp4", 26)
    (run / "episode_0000.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # cut: no index
    status = main(["review", str(run), "--out", str(tmp_path / "site")])
    captured = capsys.readouterr()
    assert status == 0 and "Traceback" not in captured.err, captured.err
    warnings = captured.err.strip().splitlines()
    assert len(warnings) == 1 and "episode_0000.mp4" in warnings[0] and "no thumbnail" in warnings[0], warnings
    assert "cannot open the video" in warnings[0] and warnings[0].endswith("; skipped")

    # the frame asked for; a shorter video's last; a longer one read no further than asked; one frame at a time
    assert last_frame(good, 26).mean() == pytest.approx(50, abs=2)
    assert last_frame(good, 10).mean() == pytest.approx(18, abs=2)
    long = write_mp4(tmp_path / "long.mp4", 200, size=(96, 128))
    tracemalloc.start()
    frame = last_frame(long, 10**9)  # more than the video holds: decoded to its end, not kept
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert frame.mean() == pytest.approx(398 % 256, abs=2)
    assert peak < 20 * frame.nbytes, peak  # all 200 frames would be 200 * 36,864 bytes
    thumbnails.MAX_FRAME_PIXELS, saved = 64 * 48 - 1, thumbnails.MAX_FRAME_PIXELS
    try:
        with pytest.raises(ThumbnailError, match="frames of 64x48 pixels"):
            last_frame(good, 26)
    finally:
        thumbnails.MAX_FRAME_PIXELS = saved


# ---------------------------------------------------------------------------------------------- 4. review site
def test_a_crafted_site_index_is_one_line_when_served(recorded: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """``data/index.js`` is parsed as bounded JSON once its ``window.EMBODIA_INDEX = ...;`` is stripped."""
    from embodia.review import server, site
    from embodia.review.server import INDEX_DATA, INDEX_PREFIX, ServeError, make_server, read_site_index

    real = site.build_site(recorded, tmp_path / "site", thumbnails=False)
    assert len(read_site_index(real.out)["episodes"]) == 1  # a real site reads within the limits
    index = real.out / INDEX_DATA
    monkeypatch.setattr(site, "build_site", lambda *args, **kwargs: real)  # serve the crafted file as it is
    command = ["review", str(recorded), "--out", str(real.out), "--serve", "--port", "0"]
    for text, message in (
        (f"{INDEX_PREFIX}{DEEP};", "nested more than 16 levels"),
        (f'{INDEX_PREFIX}{{"format": "embodia.review-site", "episodes": [NaN]}};', "NaN is not a JSON number"),
        (f"{INDEX_PREFIX}{{}};", "is not the data of an embodia review site"),
    ):
        index.write_text(text)
        with pytest.raises(ServeError, match=message):
            make_server(real.out, recorded, 0)
        status = main(command)
        one_line(status, capsys.readouterr().err, str(index), message)
    monkeypatch.setattr(server, "MAX_INDEX_BYTES", 1000)
    index.write_text(f'{INDEX_PREFIX}{{"format": "embodia.review-site", "episodes": ["{"x" * 1000}"]}};')
    one_line(main(command), capsys.readouterr().err, str(index), "larger than 1000 bytes")
