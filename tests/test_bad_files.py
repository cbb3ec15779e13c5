"""Crafted and broken files through the real CLI: one test per class of bad input, each a one-line error (exit 2).

Every crafted file starts from a real recorded episode (recorded once per module) and changes one thing. The CLI
runs in-process (``embodia.cli.main`` with capsys) and, where a traceback or an import would only show in a fresh
interpreter, in a subprocess. The helpers here are shared with ``test_fuzz_files.py``.

Long because it is one test per class of bad input over one set of crafted-file helpers; split by reader, the
helpers would move to a support module that every part imports anyway.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from embodia.agents.evaluate import run_episodes
from embodia.cli import main
from embodia.envs.record import episode as episode_format
from embodia.envs.record.episode import EpisodeFileError, load_episode

ENV_ID = "embodia/Reach-v0"
CLI_PEAK_MB = 400  # a refusing CLI process stays far below the 650 MB a decompression bomb would inflate to
#: the commands every bad episode file goes through; ``{file}``, ``{dir}`` and ``{out}`` are filled in
COMMANDS = {
    "replay": ["replay", "{file}", "--no-video"],
    "dataset info": ["dataset", "info", "{dir}"],
    "dataset validate": ["dataset", "validate", "{dir}"],
    "dataset filter": ["dataset", "filter", "{dir}", "--success", "--out", "{out}"],
    "review": ["review", "{dir}", "--out", "{out}"],
}


# ---------------------------------------------------------------------------------------------- helpers
def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
    return buffer.getvalue()


def npy_header(descr: str, shape: tuple, version: tuple[int, int] = (1, 0)) -> bytes:
    """A ``.npy`` header declaring ``descr`` and ``shape``, with no data after it."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape})
    length_format = "<H" if version == (1, 0) else "<I"
    prefix = 8 + struct.calcsize(length_format)
    text += " " * (-(prefix + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(length_format, len(text)) + text.encode("latin1")


def read_members(path: Path) -> dict[str, bytes]:
    """An episode file's entries (``name.npy`` -> raw ``.npy`` bytes), in file order."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_members(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def meta_of(members: dict[str, bytes]) -> dict:
    return json.loads(str(np.lib.format.read_array(io.BytesIO(members["meta.npy"])).item()))


def craft(
    source: Path,
    target: Path,
    meta: dict | Callable[[dict], object] | str | None = None,
    arrays: dict[str, np.ndarray | bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """``source`` with its metadata changed (a dict of updates, a function of the metadata, or raw JSON text),
    entries replaced or added (``name`` -> array or raw ``.npy`` bytes) and entries dropped; written to ``target``."""
    members = read_members(source)
    if meta is not None:
        if isinstance(meta, str):
            text = meta
        else:
            value = meta(meta_of(members)) if callable(meta) else {**meta_of(members), **meta}
            text = json.dumps(value)
        members["meta.npy"] = npy(np.array(text))
    for name, value in (arrays or {}).items():
        members[f"{name}.npy"] = value if isinstance(value, bytes) else npy(value)
    for name in drop:
        del members[f"{name}.npy"]
    return write_members(target, members)


def central_entries(data: bytes | bytearray) -> list[tuple[int, str]]:
    """(offset, name) of every central directory entry."""
    entries, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        name_length, extra_length, comment_length = struct.unpack("<HHH", data[at + 28 : at + 34])
        entries.append((at, data[at + 46 : at + 46 + name_length].decode("utf-8", "replace")))
        at = data.find(b"PK\x01\x02", at + 46 + name_length + extra_length + comment_length)
    return entries


def patch_entry(path: Path, name: str, *, flags: int | None = None, method: int | None = None, size: int | None = None):
    """Change an entry's zip flag bits, compression method or (central) uncompressed size in place."""
    data = bytearray(path.read_bytes())
    for central, entry in central_entries(data):
        if entry != name:
            continue
        local = struct.unpack("<I", data[central + 42 : central + 46])[0]
        if flags is not None:
            struct.pack_into("<H", data, central + 8, flags)
            struct.pack_into("<H", data, local + 6, flags)
        if method is not None:
            struct.pack_into("<H", data, central + 10, method)
            struct.pack_into("<H", data, local + 8, method)
        if size is not None:
            struct.pack_into("<I", data, central + 24, size)
    path.write_bytes(bytes(data))
    return path


def run(capsys: pytest.CaptureFixture, args: list[str]) -> tuple[int, str, str]:
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def fill(args: list[str], file: Path, out: Path) -> list[str]:
    return [a.format(file=file, dir=file.parent, out=out) for a in args]


def assert_one_line(status: int, err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert status == 2, (status, err)
    assert len(lines) == 1 and lines[0].startswith("embodia: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def assert_every_command_refuses(capsys, file: Path, tmp_path: Path, *fragments: str) -> None:
    """replay, dataset info|validate|filter and review all answer one line naming ``file``, exit 2."""
    for command, args in COMMANDS.items():
        out = tmp_path / f"out-{command.replace(' ', '-')}"
        status, stdout, err = run(capsys, fill(args, file, out))
        line = assert_one_line(status, err, file.name, *fragments)
        assert "Traceback" not in stdout, command
        if command != "review":  # review names it relative to the folder it was given
            assert str(file) in line, (command, line)
        assert not (out / "episode_0000.npz").exists(), command  # nothing written from a bad file


def embodia_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "embodia.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


#: runs its arguments as a process and writes that process's peak resident kB to the file named first. A process
#: forked from this test's own (hundreds of MB once earlier tests trained networks in it) reports the parent's
#: resident set as its peak, however little it touches; forked from this small launcher, it reports its own.
PEAK_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def embodia_cli_peak_mb(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``embodia_cli`` and the CLI process's own peak resident memory in MB."""
    report = tmp_path / "peak_kb.txt"
    command = [sys.executable, "-c", PEAK_LAUNCHER, str(report), sys.executable, "-m", "embodia.cli", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return result, int(report.read_text()) / 1024


def assert_subprocess_one_line(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert_one_line(result.returncode, result.stderr, *fragments)


# ---------------------------------------------------------------------------------------------- recordings
@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: one successful expert episode of Reach (25 steps)."""
    out = tmp_path_factory.mktemp("recorded") / "run"
    run_episodes(ENV_ID, episodes=1, record_dir=out, video=False, progress=False)
    return out


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: one failed random episode of Reach (8 steps)."""
    out = tmp_path_factory.mktemp("failed") / "run"
    run_episodes(ENV_ID, policy="random", episodes=1, record_dir=out, video=False, progress=False,
                 env_kwargs={"episode_steps": 8})  # fmt: skip
    return out


@pytest.fixture
def good(recorded: Path) -> Path:
    return recorded / "episode_0000.npz"


def target(tmp_path: Path, name: str = "episode_0000.npz") -> Path:
    """Where a crafted file goes: alone in its own run folder, named like an episode."""
    return tmp_path / "crafted" / name


# ---------------------------------------------------------------------------------------------- 1. code execution
def test_a_file_never_imports_or_runs_code(good: Path, tmp_path: Path, capsys) -> None:
    """``task`` and ``env_id`` name modules; a pickled object array would run its reduce. Nothing is imported."""
    folder = tmp_path / "crafted"
    marker = tmp_path / "IMPORTED"
    folder.mkdir()
    (folder / "evil_marker.py").write_text(f"open({str(marker)!r}, 'w').close()\nX = object\n")  # beside the file
    zen = craft(good, folder / "episode_0000.npz", meta={"env_id": "embodia/Unknown-v0", "task": "this:X"})
    probe = (
        "import sys\nfrom embodia.cli import main\ncode = main(sys.argv[1:])\n"
        "print('MODULES', 'this' in sys.modules, 'evil_marker' in sys.modules)\nsys.exit(code)\n"
    )
    for args in (["replay", str(zen), "--no-video"], ["dataset", "validate", str(folder)], ["review", str(folder)]):
        result = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=300, cwd=folder
        )
        assert "MODULES False False" in result.stdout, result.stdout + result.stderr
        assert "Beautiful is better than ugly" not in result.stdout and "Traceback" not in result.stderr
        assert result.returncode in (1, 2)  # validate: the replay is a problem (1); replay, review: an error (2)
    assert_subprocess_one_line(embodia_cli("replay", str(zen), "--no-video", cwd=folder), "unknown task")

    for meta in (
        {"env_id": "evil_marker:embodia/Reach-v0"},  # Gymnasium's "module:env" syntax
        {"env_id": "embodia/Unknown-v0", "task": "evil_marker:X"},
    ):
        path = craft(good, tmp_path / "m" / "episode_0000.npz", meta=meta)
        assert_subprocess_one_line(embodia_cli("replay", str(path), "--no-video", cwd=folder), "unknown task")
        assert not marker.exists()

    # Minari export passes the env id to gym.spec: refused before, even with the module importable
    from embodia.envs.record import dataset as ds

    sys.path.insert(0, str(folder))
    try:
        with pytest.raises(ds.DatasetError, match="unknown task"):
            ds.export_minari([tmp_path / "m" / "episode_0000.npz"], "embodia/evil/test-v0", "expert")
    finally:
        sys.path.remove(str(folder))
    assert "evil_marker" not in sys.modules and not marker.exists()

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    pickled = craft(
        good, target(tmp_path, "p/episode_0000.npz"), arrays={"actions": np.array([Payload()], dtype=object)}
    )
    assert_every_command_refuses(capsys, pickled, tmp_path, "Python objects (pickled data, never loaded)")
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------- 2. size limits
@pytest.fixture(scope="module")
def bomb(good_module: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~0.7 MB file whose extra info array decompresses to 650 MB of zeros (as deflate allows, ~1000x)."""
    path = tmp_path_factory.mktemp("bomb") / "episode_0000.npz"
    rows, width = 26, 25_000_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in read_members(good_module).items():
            archive.writestr(name, data)
        with archive.open("info/bomb.npy", "w", force_zip64=True) as entry:
            entry.write(npy_header("|u1", (rows, width)))
            chunk = bytes(16 * 2**20)
            left = rows * width
            while left:
                entry.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
    return path


@pytest.fixture(scope="module")
def good_module(recorded: Path) -> Path:
    return recorded / "episode_0000.npz"


def test_declared_sizes_are_checked_before_anything_is_read(good: Path, bomb: Path, tmp_path: Path, capsys) -> None:
    assert bomb.stat().st_size < 3 * 2**20
    tracemalloc.start()
    with pytest.raises(EpisodeFileError, match="decompression bomb"):
        load_episode(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20, peak
    assert_every_command_refuses(capsys, bomb, tmp_path, "decompression bomb")
    result, peak_mb = embodia_cli_peak_mb(tmp_path, "dataset", "validate", str(bomb.parent))
    assert_subprocess_one_line(result, "decompression bomb")
    assert peak_mb < CLI_PEAK_MB, peak_mb  # the CLI with numpy and MuJoCo, not the 650 MB the bomb inflates to

    huge = craft(good, target(tmp_path, "a/episode_0000.npz"), arrays={"info/huge": npy_header("<f8", (10**12,))})
    assert_every_command_refuses(capsys, huge, tmp_path, "declares 8000000000000 bytes", "zip entry holds 0")

    # the zip directory claims 3 GB for an entry: refused from the directory, before the entry is opened
    claims = craft(good, target(tmp_path, "b/episode_0000.npz"), arrays={"info/big": npy_header("<f8", (26,))})
    patch_entry(claims, "info/big.npy", size=3 * 10**9)
    assert_every_command_refuses(capsys, claims, tmp_path, "more than an episode file may hold")

    members = read_members(good)
    many = {**members, **{f"info/x{k}.npy": npy(np.zeros(26, bool)) for k in range(5000)}}
    crowded = write_members(target(tmp_path, "c/episode_0000.npz"), many)
    assert_every_command_refuses(capsys, crowded, tmp_path, f"{len(many)} entries")

    rows = craft(good, target(tmp_path, "d/episode_0000.npz"), arrays={"obs/wide": npy_header("<f8", (26, 10**7))})
    assert_every_command_refuses(capsys, rows, tmp_path, "'obs/wide'")

    static = {**read_members(good), "model/body_mass.npy": npy(np.zeros(2**23 + 1))}  # stored: no bomb, just big
    static = write_members(target(tmp_path, "e/episode_0000.npz"), static, zipfile.ZIP_STORED)
    assert_every_command_refuses(capsys, static, tmp_path, "'model/body_mass' is 67108872 bytes, at most 67108864")

    text = write_members(target(tmp_path, "f/episode_0000.npz"), {**read_members(good), "notes.txt": b"hello"})
    assert_every_command_refuses(capsys, text, tmp_path, "'notes.txt' is not a .npy array")


def test_unsupported_zip_features_are_refused(good: Path, tmp_path: Path, capsys) -> None:
    """Only stored and deflate entries, never encrypted ones: checked from the zip directory."""
    for sub, patch, message in (
        ("method", {"method": 99}, "compression method 99"),
        ("bzip2", {"method": 12}, "compression method 12"),
        ("encrypted", {"flags": 0x1}, "encrypted"),
        ("strong", {"flags": 0x41}, "encrypted"),
    ):
        path = craft(good, target(tmp_path, f"{sub}/episode_0000.npz"))
        patch_entry(path, "rewards.npy", **patch)
        assert_every_command_refuses(capsys, path, tmp_path, "'rewards.npy'", message)


# ---------------------------------------------------------------------------------------------- 3. metadata
DEEP = 100_000


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ('{"format": "embodia.episode", "x": ' + "[" * DEEP + "]" * DEEP + "}", "nested more than 16 levels"),
        ("[1, 2, 3]", "metadata is a JSON array"),
        ("null", "metadata is a JSON null"),
        ("{not json", "invalid JSON"),
        (lambda m: {**m, "control_hz": float("nan")}, "NaN is not a JSON number"),
        (lambda m: {**m, "env_kwargs": None}, "'env_kwargs' must be a JSON object"),
        (lambda m: {**m, "env_kwargs": [1]}, "'env_kwargs' must be a JSON object"),
        (lambda m: {**m, "env_kwargs": {"physics": {"timestep_s": 1}}}, "env_kwargs['physics'] must be"),
        (lambda m: {**m, "seed": "abc"}, "'seed' must be null or a non-negative integer, got 'abc'"),
        (lambda m: {**m, "seed": -1}, "'seed' must be"),
        (lambda m: {**m, "seed": True}, "'seed' must be"),
        (lambda m: {**m, "control_hz": "fast"}, "'control_hz' must be a positive number, got 'fast'"),
        (lambda m: {**m, "control_hz": 0}, "'control_hz' must be a positive number"),
        (lambda m: {**m, "control_hz": 1e999}, "Infinity is not a JSON number"),
        (lambda m: {**m, "length": 24}, "metadata says 24 steps, 'actions' has 25"),
        (lambda m: {**m, "length": "25"}, "'length' must be a non-negative integer"),
        (lambda m: {**m, "env_id": 7}, "'env_id' must be a task id"),
        (lambda m: {**m, "schema_version": 3}, "schema version 3 is not supported"),
        (lambda m: {**m, "schema_version": "2"}, "schema version '2' is not supported"),
        (lambda m: {**m, "versions": ["1.0"]}, "'versions' must be"),
        (lambda m: {**m, "instruction": 7}, "'instruction' must be a string of at most 256 characters, got 7"),
        (lambda m: {**m, "instruction": "x" * 257}, "'instruction' must be a string of at most 256 characters"),
        (lambda m: {k: v for k, v in m.items() if k != "format"}, "not an embodia episode file"),
        ('{"format": "embodia.episode", "n": ' + "1" * 5000 + "}", "invalid JSON"),
        ('"' + "x" * (2**18 + 10) + '"', "'meta' must be one JSON string of at most 262144 characters"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_bad_metadata_is_one_line(good: Path, tmp_path: Path, capsys, meta, message: str) -> None:
    path = craft(good, target(tmp_path), meta=meta)
    assert_every_command_refuses(capsys, path, tmp_path, message)


# ---------------------------------------------------------------------------------------------- 4. array layout
@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"rewards": np.float64(1.0)}, "array 'rewards' is float64 (), expected shape (25,)"),
        ({"rewards": np.zeros((25, 1))}, "array 'rewards' is float64 (25, 1), expected shape (25,)"),
        ({"terminated": np.zeros(24, bool)}, "array 'terminated' is bool (24,), expected shape (25,)"),
        ({"truncated": np.zeros(25)}, "array 'truncated' holds floats, expected booleans"),
        ({"actions": np.zeros(25)}, "'actions' must be a 2-D float array"),
        ({"actions": np.full((25, 7), "a")}, "array 'actions' holds strings (<U1)"),
        ({"actions": np.zeros((25, 7), complex)}, "array 'actions' holds complex numbers"),
        ({"actions": np.zeros((25, 7), int)}, "'actions' must be a 2-D float array"),
        ({"actions": np.zeros((25, 100))}, "at most 64 values"),
        ({"mj_state": np.zeros(26)}, "array 'mj_state' is float64 (26,), expected shape (26, state size)"),
        ({"mj_state": np.zeros((26, 131), np.int64)}, "array 'mj_state' holds integers, expected floats"),
        ({"info/success": np.bool_(True)}, "array 'info/success' is bool (), expected shape (26,)"),
        ({"info/success": np.zeros((26, 2), bool)}, "array 'info/success' is bool (26, 2), expected shape (26,)"),
        ({"info/extra": np.zeros(3)}, "array 'info/extra' is float64 (3,), expected shape (26, ...)"),
        ({"obs/robot_tcp_pos": np.zeros((25, 3))}, "array 'obs/robot_tcp_pos' is float64 (25, 3)"),
        ({"obs/x": np.array(["a"] * 26)}, "array 'obs/x' holds strings"),
        ({"meta": np.zeros(3)}, "holds floats (<f8); expected a JSON string"),
        ({"other": np.zeros(3)}, "unexpected entry 'other'"),
        ({"obs/" + "k" * 300: np.zeros(26)}, "unexpected entry"),
        ({"rewards": npy_header("<f8", (25,), (3, 0))}, ".npy format version (3, 0)"),
        ({"rewards": npy_header("<f8", (-25,))}, "expected at most 4 non-negative sizes"),
        ({"rewards": npy_header("<f8", (1, 1, 1, 1, 25))}, "expected at most 4 non-negative sizes"),
        ({"rewards": b"\x93NUMPY\x02\x00" + struct.pack("<I", 10**9)}, "an array header longer than 4096 bytes"),
        ({"rewards": np.zeros(25, dtype=[("a", "<f8")])}, "structured records"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_arrays_of_the_wrong_shape_or_kind_are_one_line(good: Path, tmp_path: Path, capsys, arrays, message) -> None:
    path = craft(good, target(tmp_path), arrays=arrays)
    assert_every_command_refuses(capsys, path, tmp_path, message)


def test_missing_entries(good: Path, tmp_path: Path, capsys) -> None:
    assert_every_command_refuses(capsys, craft(good, target(tmp_path, "a/episode_0000.npz"), drop=("meta",)),
                                 tmp_path, "not an embodia episode file (no 'meta' entry)")  # fmt: skip
    assert_every_command_refuses(capsys, craft(good, target(tmp_path, "b/episode_0000.npz"), drop=("mj_state",)),
                                 tmp_path, "lacks mj_state")  # fmt: skip
    obs = [n[:-4] for n in read_members(good) if n.startswith("obs/")]
    assert_every_command_refuses(capsys, craft(good, target(tmp_path, "c/episode_0000.npz"), drop=tuple(obs)),
                                 tmp_path, "no observations")  # fmt: skip


# ---------------------------------------------------------------------------------------------- 5. env_kwargs
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"episode_steps": 10**9}, "episode_steps"),
        ({"episode_steps": 1e9}, "episode_steps"),
        ({"episode_steps": 5}, "the episode has 25 steps, more than its episode_steps=5"),
        ({"frobnicate": 1}, "unknown option(s) 'frobnicate'"),
        ({"config": [1, 2]}, "unknown option(s) 'config'"),
        ({"render_mode": "human"}, "unknown option(s) 'render_mode'"),
        ({"control_hz": "fast"}, "recorded env_kwargs are not valid"),
        ({"reward_mode": 3}, "recorded env_kwargs are not valid"),
        ({"obs_mode": "points"}, "recorded env_kwargs are not valid"),
    ],
)
def test_recorded_env_kwargs_are_checked_like_the_constructor(good: Path, tmp_path: Path, capsys, kwargs, message):
    """Replay refuses in one line; validate reports the replay as a problem (exit 1) and does not count it."""
    path = craft(good, target(tmp_path), meta={"env_kwargs": kwargs})
    status, _, err = run(capsys, ["replay", str(path), "--no-video"])
    assert_one_line(status, err, str(path), message)
    status, out, err = run(capsys, ["dataset", "validate", str(path.parent)])
    assert status == 1 and err == "", err
    assert f"problem: {path}: cannot be replayed" in out and message in out
    assert "(1 episodes checked, 0 replayed exactly, 1 problems)" in out


def test_the_memory_error_path_is_bounded(good: Path, tmp_path: Path) -> None:
    """episode_steps=10**9 made a care task allocate its person's motion for 10**9 steps (MemoryError); now the
    recorded value is refused before any env is built."""
    path = craft(good, target(tmp_path), meta={"env_id": "embodia/Handover-v0", "env_kwargs": {"episode_steps": 10**9}})
    result, peak_mb = embodia_cli_peak_mb(tmp_path, "replay", str(path), "--no-video")
    assert_subprocess_one_line(result, str(path), "episode_steps")
    assert peak_mb < CLI_PEAK_MB, peak_mb


# ---------------------------------------------------------------------------------------------- 6. not a file
def test_paths_that_are_not_episode_files(good: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "crafted"
    folder.mkdir()
    dangling = folder / "episode_0000.npz"
    dangling.symlink_to(tmp_path / "gone.npz")
    assert_every_command_refuses(capsys, dangling, tmp_path, "a symbolic link to", "which does not exist")
    dangling.unlink()

    dangling.mkdir()
    assert_every_command_refuses(capsys, dangling, tmp_path, "a folder, not an episode file")
    dangling.rmdir()

    dangling.write_bytes(b"")
    assert_every_command_refuses(capsys, dangling, tmp_path, "an empty file (0 bytes)")
    dangling.write_bytes(b"\x00" * 100)
    assert_every_command_refuses(capsys, dangling, tmp_path, "not a zip archive")
    dangling.write_bytes(good.read_bytes()[:-30])  # the end record cut off
    assert_every_command_refuses(capsys, dangling, tmp_path, "no zip directory at its end")
    dangling.unlink()

    os.mkfifo(dangling)  # a pipe would block a reader forever
    assert_every_command_refuses(capsys, dangling, tmp_path, "not a regular file")
    dangling.unlink()


def test_an_unreadable_file(good: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    path = shutil.copy(good, tmp_path / "episode_0000.npz")
    path = Path(path)
    if os.geteuid() == 0:  # root reads anything: make the open fail as it would for anyone else
        real_open = os.open

        def refuse(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(episode_format.os, "open", refuse)
    else:
        path.chmod(0)
    for command, args in COMMANDS.items():
        status, _, err = run(capsys, fill(args, path, tmp_path / f"out-{command.replace(' ', '-')}"))
        assert_one_line(status, err, "episode_0000.npz", "cannot be read (Permission denied)")


def test_json_files_passed_to_replay_say_which_file_to_pass(recorded: Path, capsys) -> None:
    for name, what in (
        ("episode_0000.json", "the JSON summary (sidecar) of episode_0000.npz"),
        ("summary.json", "the run's summary (summary.json)"),
        ("meta.json", "the run's metadata (meta.json)"),
    ):
        status, _, err = run(capsys, ["replay", str(recorded / name)])
        line = assert_one_line(status, err, str(recorded / name), what, "not an episode file")
        assert str(recorded / "episode_0000.npz") in line and "pickle" not in line


# ---------------------------------------------------------------------------------------------- 7. folders
def test_a_folder_with_a_bad_file_among_good_ones(recorded: Path, failed: Path, tmp_path: Path, capsys) -> None:
    """dataset info/validate/filter refuse the dataset naming the bad file (a summary or copy that silently left
    it out would mislead); review skips it with one warning line and shows the others."""
    folder = tmp_path / "runs"
    shutil.copytree(recorded, folder / "a")
    shutil.copytree(failed, folder / "b")
    bad = craft(folder / "a" / "episode_0000.npz", folder / "c" / "episode_0000.npz", meta={"seed": "abc"})
    for command in ("info", "validate"):
        status, _, err = run(capsys, ["dataset", command, str(folder)])
        assert_one_line(status, err, str(bad), "'seed' must be")
    status, _, err = run(capsys, ["dataset", "filter", str(folder), "--success", "--out", str(tmp_path / "kept")])
    assert_one_line(status, err, str(bad))
    assert not (tmp_path / "kept").exists()
    status, out, err = run(capsys, ["review", str(folder)])
    assert status == 0 and "review site: 2 episodes, 1 warnings" in out
    assert err.strip().splitlines() == [f"embodia: warning: c/episode_0000.npz: {err.split(': ', 3)[-1].strip()}"]
    assert "'seed' must be" in err and err.strip().endswith("; skipped")


# ---------------------------------------------------------------------------------------------- 8. sidecars
def test_filter_decides_from_the_episode_and_validate_reports_a_lying_sidecar(
    recorded: Path, failed: Path, tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "runs"
    shutil.copytree(recorded, folder / "a")
    shutil.copytree(failed, folder / "b")
    sidecar = folder / "b" / "episode_0000.json"
    result = json.loads(sidecar.read_text())
    assert result["success"] is False
    sidecar.write_text(json.dumps({**result, "success": True, "return": 99.0}))
    status, out, _ = run(capsys, ["dataset", "filter", str(folder), "--success", "--out", str(tmp_path / "kept")])
    assert status == 0 and "kept 1 of 2 episodes" in out
    kept = tmp_path / "kept"
    assert load_episode(kept / "episode_0000.npz").metadata["policy"] == "expert"
    assert json.loads((kept / "episode_0000.json").read_text())["success"] is True  # written from the episode
    status, out, _ = run(
        capsys, ["dataset", "filter", str(folder), "--min-return", "1e9", "--out", str(tmp_path / "x")]
    )
    assert status == 2 and not (tmp_path / "x").exists()
    status, out, _ = run(capsys, ["dataset", "validate", str(folder), "--replay-sample", "0"])
    assert status == 1
    assert f"problem: {sidecar}: disagrees with episode_0000.npz: success True (episode: False)" in out
    assert "return 99.0 (episode: " in out

    sidecar.write_text("[" * 1000 + "]" * 1000)
    status, out, _ = run(capsys, ["dataset", "validate", str(folder), "--replay-sample", "0"])
    assert status == 1 and f"problem: {sidecar}: JSON nested more than 16 levels deep" in out
    status, out, err = run(capsys, ["review", str(folder)])  # the review ignores it with a warning
    assert status == 0 and "JSON nested more than 16 levels deep; ignored" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------------------------------------- 9. validate counts
def test_validate_counts_only_replays_that_ran(recorded: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "runs"
    shutil.copytree(recorded, folder / "a")
    craft(recorded / "episode_0000.npz", folder / "b" / "episode_0000.npz", meta={"env_kwargs": {"episode_steps": 5}})
    status, out, _ = run(capsys, ["dataset", "validate", str(folder), "--replay-sample", "2"])
    assert status == 1 and "(2 episodes checked, 1 replayed exactly, 1 problems)" in out
    status, _, err = run(capsys, ["dataset", "validate", str(folder), "--replay-sample", "-1"])
    assert_one_line(status, err, "--replay-sample must be >= 0 (0: none), got -1")


# ---------------------------------------------------------------------------------------------- 10. schema 1
def test_version_1_files_replay(good: Path, tmp_path: Path, capsys) -> None:
    assert episode_format.v1_observation_key("robot.tcp_pos") == "robot_tcp_pos"
    assert episode_format.v1_observation_key("camera.robot/wrist") == "camera_robot_wrist"
    assert episode_format.v1_observation_key("flat") == "flat"
    members = read_members(good)
    old = {}
    for name, data in members.items():
        if name.startswith("obs/"):
            group, _, rest = name.removeprefix("obs/").partition("_")  # robot_tcp_pos -> robot.tcp_pos
            name = f"obs/{group}.{rest}"
        old[name] = data
    meta = meta_of(members)
    old["meta.npy"] = npy(np.array(json.dumps({**meta, "schema_version": 1})))
    path = write_members(tmp_path / "v1" / "episode_0000.npz", old)
    assert "obs/robot.tcp_pos.npy" in read_members(path)
    episode = load_episode(path)
    assert "robot_tcp_pos" in episode.observations and "task_target_pos" in episode.observations
    assert episode.metadata["schema_version"] == 2 and episode.metadata["converted_from_schema_version"] == 1
    status, out, _ = run(capsys, ["replay", str(path), "--no-video"])
    assert status == 0 and "restored observations: identical" in out and "re-simulated states: identical" in out
    assert json.loads(str(np.lib.format.read_array(io.BytesIO(members["meta.npy"])).item()))["schema_version"] in (1, 2)
    assert episode_format.SCHEMA_VERSION == 2


# ---------------------------------------------------------------------------------------------- 11. nothing lost
def test_filtering_a_minari_dataset_into_itself_is_refused(recorded: Path, tmp_path: Path, monkeypatch, capsys):
    """--overwrite onto the source id would delete the episodes it reads."""
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    from embodia.envs.record import dataset as ds

    folder = ds.export_minari([recorded / "episode_0000.npz"], "embodia/reach/test-v0", "expert")
    before = sorted(p.name for p in (folder / ds.EPISODES_DIR).iterdir())
    args = ["dataset", "filter", "embodia/reach/test-v0", "--success", "--out", "embodia/reach/test-v0", "--overwrite"]
    status, _, err = run(capsys, args)
    assert_one_line(status, err, "is the source dataset")
    assert sorted(p.name for p in (folder / ds.EPISODES_DIR).iterdir()) == before
    with pytest.raises(ds.DatasetError, match="holds the episodes to export"):
        ds.export_minari(sorted((folder / ds.EPISODES_DIR).glob("episode_*.npz")), "embodia/reach/test-v0",
                         "expert", overwrite=True)  # fmt: skip
    assert sorted(p.name for p in (folder / ds.EPISODES_DIR).iterdir()) == before


def test_an_episode_beyond_the_reading_limits_is_still_written(good: Path, tmp_path: Path, monkeypatch) -> None:
    episode = load_episode(good)
    monkeypatch.setattr(episode_format, "MAX_ROW_BYTES", 16)
    with pytest.warns(episode_format.EpisodeLimitWarning, match="written all the same"):
        path = episode.save(tmp_path / "episode_0000.npz")
    assert path.is_file()
    with pytest.raises(EpisodeFileError, match="rows of more than 16 bytes"):
        load_episode(path)
    monkeypatch.undo()
    assert load_episode(path).length == 25  # with the real limits it reads


def test_no_traceback_in_a_fresh_interpreter(good: Path, tmp_path: Path) -> None:
    """A sample through subprocesses: exit 2, one line on stderr, no traceback."""
    cases = {
        "meta": craft(good, target(tmp_path, "a/episode_0000.npz"), meta={"control_hz": "fast"}),
        "array": craft(good, target(tmp_path, "b/episode_0000.npz"), arrays={"actions": np.zeros((25, 7), complex)}),
        "header": craft(good, target(tmp_path, "c/episode_0000.npz"), arrays={"info/x": npy_header("<f8", (10**12,))}),
    }
    for path in cases.values():
        for args in (["replay", str(path), "--no-video"], ["dataset", "info", str(path.parent)]):
            assert_subprocess_one_line(embodia_cli(*args), str(path))


def test_a_crafted_minari_dataset_never_imports_code(recorded: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """Minari builds the env of its metadata's env spec (importing the entry point) when the spaces are missing,
    and an env spec's ``task`` kwarg names a module too: both are refused before Minari reads anything."""
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    from embodia.envs.record import dataset as ds

    marker = tmp_path / "IMPORTED"
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "evil_marker.py").write_text(f"open({str(marker)!r}, 'w').close()\nX = object\n")
    monkeypatch.syspath_prepend(str(modules))
    folder = ds.export_minari([recorded / "episode_0000.npz"], "embodia/reach/evil-v0", "expert")
    metadata = folder / "data" / "metadata.json"
    original = json.loads(metadata.read_text())
    spec = json.loads(original["env_spec"])
    for changes in (
        {"observation_space": None, "env_spec": json.dumps({**spec, "entry_point": "evil_marker:X"})},
        {"env_spec": json.dumps({**spec, "kwargs": {"task": "evil_marker:X"}})},
        {"env_spec": json.dumps({**spec, "id": "evil_marker:embodia/Reach-v0"})},
        {"eval_env_spec": json.dumps({**spec, "entry_point": "evil_marker:X"})},
    ):
        metadata.write_text(json.dumps({k: v for k, v in {**original, **changes}.items() if v is not None}))
        for command in ("info", "validate"):
            status, _, err = run(capsys, ["dataset", command, "embodia/reach/evil-v0"])
            assert_one_line(status, err, str(metadata))
        assert not marker.exists() and "evil_marker" not in sys.modules
    metadata.write_text("[" * 100_000)
    status, _, err = run(capsys, ["dataset", "info", "embodia/reach/evil-v0"])
    assert_one_line(status, err, str(metadata), "nested more than 16 levels")

    # recorded env_kwargs reach the exported dataset's env spec only as checked options (never "task")
    episode = craft(recorded / "episode_0000.npz", tmp_path / "e" / "episode_0000.npz",
                    meta={"env_kwargs": {"task": "evil_marker:X"}})  # fmt: skip
    with pytest.raises(ds.DatasetError, match=r"unknown option\(s\) 'task'"):
        ds.export_minari([episode], "embodia/reach/evil2-v0", "expert")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "not a review file (JSON nested more than 16 levels deep)"),
        ('{"format": "embodia.review", "schema_version": NaN, "episodes": []}', "NaN is not a JSON number"),
        ('{"format": "embodia.review", "schema_version": 1, "root": [1], "episodes": []}', "'root' must be"),
        ('{"format": "embodia.review", "schema_version": 1, "episodes": [{"path": 1}]}', "'path' must be"),
        (b"\xff\xfe{", "not UTF-8 text"),
        ("", "invalid JSON"),
    ],
)
def test_bad_review_files_are_one_line(recorded: Path, tmp_path: Path, capsys, text, message) -> None:
    review = tmp_path / "review.json"
    review.write_bytes(text if isinstance(text, bytes) else text.encode())
    status, _, err = run(
        capsys, ["dataset", "filter", str(recorded), "--review", str(review), "--out", str(tmp_path / "o")]
    )
    assert_one_line(status, err, str(review), message)
    assert not (tmp_path / "o").exists()
