"""A bounded, seeded fuzz of real episode files through the CLI: whatever the bytes, a clear answer.

Each mutation of a real recorded episode (byte flips in the zip's local and central headers and in the ``.npy``
headers, truncations, entries replaced by crafted ``.npy`` headers, metadata JSON mutations, extreme array values,
decompression bombs) goes through ``replay --no-video``, ``dataset info``, ``dataset validate``, ``dataset filter
--failure`` (the base episode fails) and ``review``, in-process (``embodia.cli.main``, output captured at the file
descriptors) and, for a small sample, in a subprocess. Every run must end with exit status 0, 1 (only ``replay``:
a replay that departs, or ``validate``: INVALID) or 2 with exactly one ``embodia: error:`` line naming the file; no
traceback, no code executed (modules beside the file and pickles that would leave a marker), memory bounded.

The counts per class are printed (``pytest -s``) as the table in the hardening report:

    MUJOCO_GL=egl .venv/bin/python -m pytest -s -q tests/test_fuzz_files.py
"""

from __future__ import annotations

import io
import json
import resource
import shutil
import subprocess
import sys
import time
import traceback
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from test_bad_files import (
    central_entries,
    craft,
    meta_of,
    npy,
    npy_header,
    read_members,
    write_members,
)

from embodia.agents.evaluate import run_episodes
from embodia.cli import main

SEED = 20240601
#: mutations per class, tuned to keep the whole test under ~60 s on a 2-core machine
COUNTS = {
    "zip local header flips": 40,
    "zip central header flips": 40,
    "npy header flips": 60,
    "truncations": 30,
    "crafted npy headers": 60,
    "meta JSON mutations": 60,
    "array values": 12,
    "decompression bombs": 4,
    "sidecar JSON mutations": 20,
}
#: inputs also run in a fresh interpreter (replay and dataset info)
SUBPROCESS_SAMPLE = 4
#: the fuzz may use this much more memory than before it started (the bombs declare hundreds of MB)
MEMORY_BUDGET_KB = 300 * 1024
MARKER_MODULE = "fuzz_marker"


class Payload:
    """Unpickling this (it never should be) leaves the marker file."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short real episode (random Reach, 6 steps), so that mutations that still load replay quickly."""
    out = tmp_path_factory.mktemp("fuzz-base") / "run"
    run_episodes("embodia/Reach-v0", policy="random", episodes=1, record_dir=out, video=False, progress=False,
                 env_kwargs={"episode_steps": 6})  # fmt: skip
    return out / "episode_0000.npz"


# ---------------------------------------------------------------------------------------------- mutations
def flip(data: bytes, rng: np.random.Generator, spans: list[tuple[int, int]], count: int = 3) -> bytes:
    """``count`` random bytes within ``spans`` set to random values."""
    out = bytearray(data)
    for _ in range(count):
        start, stop = spans[rng.integers(len(spans))]
        out[int(rng.integers(start, stop))] = int(rng.integers(256))
    return bytes(out)


def local_header_spans(data: bytes) -> list[tuple[int, int]]:
    spans = []
    for central, _ in central_entries(data):
        local = int.from_bytes(data[central + 42 : central + 46], "little")
        name_length = int.from_bytes(data[local + 26 : local + 28], "little")
        spans.append((local, local + 30 + name_length))
    return spans


def central_spans(data: bytes) -> list[tuple[int, int]]:
    spans = [(at, at + 46) for at, _ in central_entries(data)]
    end = data.rfind(b"PK\x05\x06")
    return [*spans, (end, end + 22)]


def mutate_npy_header(members: dict[str, bytes], rng: np.random.Generator) -> dict[str, bytes]:
    name = list(members)[rng.integers(len(members))]
    data = members[name]
    header_end = data.index(b"\n") + 1 if b"\n" in data[:4096] else min(len(data), 128)
    members[name] = flip(data, rng, [(0, header_end)], count=int(rng.integers(1, 4)))
    return members


DESCRS = ["<f8", "<f4", "|b1", "<i8", "|u1", "<c16", "<U8", "|S4", "|O", "<M8[s]", "<f2", ">f8"]
SHAPES = [(), (0,), (7,), (6,), (6, 7), (7, 7), (7, 131), (6, 2), (10**12,), (2**31, 2**31), (7, 10**7), (0, 10**18)]


def mutate_crafted_header(members: dict[str, bytes], rng: np.random.Generator, payload: Payload) -> dict[str, bytes]:
    """An entry replaced by a header of a random dtype and shape, with matching, short or no data, or a pickle."""
    names = [n for n in members if n != "meta.npy"] + ["info/extra.npy", "model/body_mass.npy", "task/x.npy"]
    name = names[rng.integers(len(names))]
    choice = rng.integers(5)
    if choice == 0:  # a real pickle, which must never be loaded
        members[name] = npy(np.array([payload, payload], dtype=object))
        return members
    descr, shape = DESCRS[rng.integers(len(DESCRS))], SHAPES[rng.integers(len(SHAPES))]
    header = npy_header(descr, shape, (1, 0) if rng.random() < 0.8 else (2, 0))
    size = np.dtype(descr).itemsize * int(np.prod(shape, dtype=object))
    data = bytes(size) if size < 2**20 and choice < 3 else bytes(int(rng.integers(0, 64)))
    members[name] = header + data
    return members


def mutated_meta(meta: dict, rng: np.random.Generator, folder: Path) -> str:
    """The metadata with one field (or the whole) changed to another JSON type, an extreme value or deep nesting."""
    values = [
        None, True, -1, 0, 2**70, "abc", "", [], [1, 2], {}, {"a": {"b": 1}}, 1e308, "NaN", "Infinity",
        f"{MARKER_MODULE}:X", "this:X", "embodia/Unknown-v0", "embodia/Handover-v0", 10**9,
    ]  # fmt: skip
    keys = ["format", "schema_version", "env_id", "env_kwargs", "seed", "control_hz", "length", "policy", "task",
            "versions", "episode"]  # fmt: skip
    kind = rng.integers(6)
    meta = dict(meta)
    if kind == 0:
        return json.dumps(values[rng.integers(len(values))])
    if kind == 1:
        depth = int(rng.choice([17, 1000, 100_000]))
        meta[keys[rng.integers(len(keys))]] = json.loads("[" * 10 + "]" * 10)
        text = json.dumps(meta)
        return text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    if kind == 2:
        options = ["episode_steps", "control_hz", "frobnicate", "config", "obs_mode", "render_camera", "reward_mode"]
        meta["env_kwargs"] = {options[rng.integers(len(options))]: values[rng.integers(len(values))]}
    elif kind == 3:
        meta.pop(keys[rng.integers(len(keys))], None)
    else:
        meta[keys[rng.integers(len(keys))]] = values[rng.integers(len(values))]
    text = json.dumps(meta)
    for constant in ("NaN", "Infinity"):  # JSON's non-numbers, as Python's json would write them
        text = text.replace(f'"{constant}"', constant)
    return text


def mutate_values(members: dict[str, bytes], rng: np.random.Generator) -> dict[str, bytes]:
    """An array of the right shape and dtype with extreme values in it (the file stays well-formed)."""
    names = [n for n in members if n != "meta.npy"]
    name = names[rng.integers(len(names))]
    array = np.lib.format.read_array(io.BytesIO(members[name]))
    extremes = [np.nan, np.inf, -np.inf, 1e300, -1e300, 0, 1, -1, 2**40]
    flat = array.reshape(-1)
    for _ in range(int(rng.integers(1, 4))):
        if flat.size:
            value = extremes[rng.integers(len(extremes))]
            if array.dtype.kind != "f" and not np.isfinite(value):
                value = 1
            with np.errstate(all="ignore"):
                flat[rng.integers(flat.size)] = np.asarray(value).astype(array.dtype)
    members[name] = npy(array)
    return members


def bomb(members: dict[str, bytes], rng: np.random.Generator, path: Path) -> Path:
    """Zeros that deflate ~1000x into an array declared (and, where a header allows, also claimed) huge."""
    rows = 7
    width = int(rng.choice([10**7, 3 * 10**7]))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        with archive.open(f"obs/bomb{rng.integers(100)}.npy", "w", force_zip64=True) as entry:
            entry.write(npy_header("|u1", (rows, width)))
            chunk = bytes(2**24)
            for start in range(0, rows * width, len(chunk)):
                entry.write(chunk[: min(len(chunk), rows * width - start)])
    return path


def mutated_sidecars(base: Path, folder: Path, rng: np.random.Generator) -> None:
    """The real episode with its summary (``episode_0000.json``) and the run's ``meta.json`` beside it mutated."""
    summary = json.loads(base.with_suffix(".json").read_text())
    texts = [
        "[" * 100_000,
        "{not json",
        "null",
        json.dumps([summary]),
        json.dumps({**summary, "success": not summary["success"]}),
        json.dumps({**summary, "safety": {"peak_force_n": int("9" * 400), "f": {"hand": "x"}, "g": [1]}}),
        json.dumps({**summary, "return": "NaN"}).replace('"NaN"', "NaN"),
        json.dumps({**summary, "seed": "abc", "length": -1}),
        '{"n": ' + "1" * 5000 + "}",
        json.dumps({"policy": ["x"], "policy_class": {"a": 1}, "control_hz": "fast", "seed": 1e308}),
    ]
    for name in ("episode_0000.json", "meta.json"):
        if rng.random() < 0.7:
            choice = rng.integers(len(texts) + 1)
            (folder / name).write_bytes(texts[choice].encode() if choice < len(texts) else b"\xff\xfe{")  # not UTF-8


def make_input(kind: str, base: Path, folder: Path, rng: np.random.Generator, payload: Payload) -> Path:
    path = folder / "episode_0000.npz"
    data = base.read_bytes()
    members = read_members(base)
    if kind == "zip local header flips":
        path.write_bytes(flip(data, rng, local_header_spans(data), int(rng.integers(1, 4))))
    elif kind == "zip central header flips":
        path.write_bytes(flip(data, rng, central_spans(data), int(rng.integers(1, 4))))
    elif kind == "npy header flips":
        write_members(path, mutate_npy_header(members, rng))
    elif kind == "truncations":
        path.write_bytes(data[: int(rng.integers(0, len(data)))])
    elif kind == "crafted npy headers":
        write_members(path, mutate_crafted_header(members, rng, payload))
    elif kind == "meta JSON mutations":
        craft(base, path, meta=mutated_meta(meta_of(members), rng, folder))
    elif kind == "array values":
        write_members(path, mutate_values(members, rng))
    elif kind == "decompression bombs":
        bomb(members, rng, path)
    elif kind == "sidecar JSON mutations":
        shutil.copy(base, path)
        mutated_sidecars(base, folder, rng)
    return path


# ---------------------------------------------------------------------------------------------- the fuzz
COMMANDS = {
    "replay": (["replay", "{file}", "--no-video"], {0, 1, 2}),
    "dataset info": (["dataset", "info", "{dir}"], {0, 2}),
    "dataset validate": (["dataset", "validate", "{dir}"], {0, 1, 2}),
    "dataset filter": (["dataset", "filter", "{dir}", "--failure", "--out", "{out}"], {0, 2}),
    "review": (["review", "{dir}", "--out", "{out}"], {0, 2}),
}


#: the files a clear error may name: the episode, or a JSON file beside it
NAMES = ("episode_0000.npz", "episode_0000.json", "meta.json")


def judge(status: int | None, out: str, err: str, allowed: set[int]) -> str:
    """``clear error`` (exit 2, one line naming the file), ``exit 0``, ``exit 1``, or what went wrong."""
    if status is None or "Traceback" in out + err:
        return "traceback"
    if status not in allowed:
        return f"exit {status}"
    lines = [line for line in err.splitlines() if line.strip()]
    if status == 2:
        one = len(lines) == 1 and lines[0].startswith("embodia: error: ") and any(n in lines[0] for n in NAMES)
        return "clear error" if one else "unclear error"
    if any(not line.startswith(("embodia: warning: ", "WARNING: ")) for line in lines):
        return "stray stderr"  # MuJoCo's own "WARNING: Nan, Inf or huge value" is fair for a state of 1e300
    return f"exit {status}"


def test_fuzzed_episode_files_get_clear_answers(base: Path, tmp_path: Path, capfd, monkeypatch) -> None:
    rng = np.random.default_rng(SEED)
    marker = tmp_path / "CODE-RAN"
    payload = Payload()
    Payload.marker = str(marker)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / f"{MARKER_MODULE}.py").write_text(f"open({str(marker)!r}, 'w').close()\nX = object\n")
    monkeypatch.syspath_prepend(str(folder))  # a module beside the file would be importable
    assert "this" not in sys.modules and MARKER_MODULE not in sys.modules
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    table: dict[str, Counter] = defaultdict(Counter)
    failures: list[str] = []
    started = time.monotonic()
    sampled = 0
    for kind, count in COUNTS.items():
        for index in range(count):
            path = make_input(kind, base, folder, rng, payload)
            table[kind]["inputs"] += 1
            outcomes = set()
            for command, (args, allowed) in COMMANDS.items():
                out_dir = tmp_path / "out"
                argv = [a.format(file=path, dir=folder, out=out_dir) for a in args]
                try:
                    status = main(argv)
                except BaseException:  # anything escaping main is what this test looks for
                    status = None
                    print(traceback.format_exc(), file=sys.stderr)
                captured = capfd.readouterr()
                outcome = judge(status, captured.out, captured.err, allowed)
                outcomes.add(outcome)
                table[kind]["runs"] += 1
                table[kind][outcome] += 1
                if outcome not in ("clear error", "exit 0", "exit 1"):
                    failures.append(f"{kind} #{index} {command}: {outcome}: {captured.err.strip()[-600:]}")
                shutil.rmtree(out_dir, ignore_errors=True)
            ran_code = marker.exists() or "this" in sys.modules or MARKER_MODULE in sys.modules
            table[kind]["code executions"] += int(ran_code)
            if ran_code:
                failures.append(f"{kind} #{index}: code ran")
                marker.unlink(missing_ok=True)
            table[kind]["refused inputs"] += int("clear error" in outcomes)
            if sampled < SUBPROCESS_SAMPLE and index == 0 and kind != "decompression bombs":
                sampled += 1
                for args in (["replay", str(path), "--no-video"], ["dataset", "info", str(folder)]):
                    result = subprocess.run([sys.executable, "-m", "embodia.cli", *args], capture_output=True,
                                            text=True, timeout=300)  # fmt: skip
                    outcome = judge(result.returncode, result.stdout, result.stderr, {0, 1, 2})
                    table[kind]["subprocess runs"] += 1
                    if outcome not in ("clear error", "exit 0", "exit 1"):
                        failures.append(f"{kind} #{index} subprocess {args[0]}: {outcome}: {result.stderr[-600:]}")
            for extra in [*folder.glob("episode_*"), folder / "meta.json"]:
                extra.unlink(missing_ok=True)
    elapsed = time.monotonic() - started
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before

    columns = ["inputs", "runs", "exit 0", "exit 1", "clear error", "refused inputs", "traceback", "code executions"]
    print(f"\nfuzz: seed {SEED}, {sum(COUNTS.values())} inputs x {len(COMMANDS)} commands in {elapsed:.1f} s, "
          f"max RSS grew {grown_kb / 1024:.0f} MB")  # fmt: skip
    print(f"{'class':<26}" + "".join(f"{c:>16}" for c in columns))
    for kind in COUNTS:
        print(f"{kind:<26}" + "".join(f"{table[kind][c]:>16}" for c in columns))
    totals = sum(table.values(), Counter())
    print(f"{'total':<26}" + "".join(f"{totals[c]:>16}" for c in columns))
    others = {k: v for k, v in totals.items() if k not in columns and k != "subprocess runs"}
    print(f"other outcomes: {others or 'none'}; subprocess runs: {totals['subprocess runs']}")

    assert not failures, "\n".join(failures[:20])
    assert totals["traceback"] == 0 and totals["code executions"] == 0
    assert grown_kb < MEMORY_BUDGET_KB, f"max RSS grew {grown_kb} kB"
