"""Compiled and settled body shapes kept on disk between processes, so that a care task's reset finds them ready.

Why: each person shape (sex, stature percentile, structure: up to 198 per care task) is compiled in its furniture
and settled there once per process (``shape.body_shape``, about 35 ms). Every fresh process (each Ray worker,
each test, each CLI run) paid that in its first episodes: a reset that met a new shape took 23-41 ms instead of
2-3. The cache keeps each shape's compiled model as MJB, MuJoCo's exact binary form (zlib-compressed, about
10 kB: the model holds the person and their furniture, no floor or textures), and its resting pose, in one file
per shape, so a loaded shape is the one compiling and settling would give, bit for bit. The file is raw bytes
(``ENTRY_MAGIC``, a CRC of the rest, the pose as 8 float64, the model's arrays a layout reads, then the compressed
MJB) rather than an ``.npz``: reading four members of a zip cost 0.5 ms of the 1.5 ms a first meeting with a shape
took. The arrays come first and the MJB is turned into a model only when asked (``Kept.model``): a task lays a new
shape out from its arrays alone, and needs a model only for the first shape of each body tree it binds (its
layout plan), so each further shape no longer pays the 0.4-0.7 ms of ``MjModel.from_binary_path``.

Beside each shape, a second kind of entry (``LAYOUT_SUFFIX``) keeps that shape laid out as one task model's rows
(``ShapeBinding.laid_out``), with its resting pose: what a reset writes into the simulation. Laying a shape out (its
bounding volumes above all) cost about half of what a reset that met a new shape paid for it; read back, a reset
meets a new shape for the price of one small file. Its key adds a digest of the task model and of the task's
attached geoms and sites to the shape's key, so another task, option or model gets entries of its own.

The key covers everything that makes an entry: the person's configuration, the mujoco version, the machine type,
and the source of the modules that build and settle the person and their furniture (``envs/human``,
``envs/scene``, ``envs/physics``). An edit or an upgrade therefore writes new entries rather than loading stale
ones. Where: ``$EMBODIA_CACHE_DIR``, else ``$XDG_CACHE_HOME/embodia``, else ``~/.cache/embodia``;
``EMBODIA_CACHE_DIR=off`` turns it off. Each build (mujoco version, machine type, that source) keeps its entries in
a folder of its own (``generation``), marked as used when a process first asks for it; the first time a process
does, it deletes what no build has used for ``UNUSED_DAYS`` (the folders of earlier builds, and entries of the
layout before folders), so that upgrades and edits do not grow the cache without end. Entries are written under a
temporary name and renamed into place, so processes sharing the folder never read a half-written one; an entry that
cannot be read is computed again and replaced. A folder that cannot be written is skipped.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import platform
import shutil
import struct
import tempfile
import time
import zlib
from pathlib import Path

import mujoco
import numpy as np

from embodia.envs.human.config import HumanConfig
from embodia.envs.human.rest import RestingPose

#: the packages whose source makes a shape: a change in any of them is a new key
SOURCE_PACKAGES = ("human", "scene", "physics")
CACHE_VARIABLE = "EMBODIA_CACHE_DIR"
FOLDER = "body-shapes"
MODEL_NAME = "shape.mjb"  # the name the compressed MJB is loaded under (MuJoCo's in-memory files)
ENTRY_SUFFIX = ".shape"
#: an entry's first bytes: the format and its version (a file of another layout is not read as this one)
ENTRY_MAGIC = b"embodia-shape-2\n"
POSE_VALUES = 8  # the resting pose after the magic: pos (3), quat (4), speed_m_s, as little-endian float64
LAYOUT_SUFFIX = ".layout"
#: a laid-out shape's file: the magic, a CRC, the resting pose, then its rows in one task model, every field's
#: values one after another as float64 (the binding knows each field's shape: ``ShapeBinding.layout_key`` covers it)
LAYOUT_MAGIC = b"embodia-layout-2\n"
#: a build's folder (or an entry of the layout before folders) that no process has used for this long is deleted
UNUSED_DAYS = 30


def cache_dir() -> Path | None:
    """This build's folder of shapes (``generation``), or None when the cache is turned off."""
    environ = os.environ
    return _cache_dir(environ.get(CACHE_VARIABLE), environ.get("XDG_CACHE_HOME"), environ.get("HOME"))


@functools.lru_cache(maxsize=8)  # asked at every new shape: pathlib's joins cost more than the file's read
def _cache_dir(chosen: str | None, xdg_cache_home: str | None, home: str | None) -> Path | None:
    if chosen is not None:
        if chosen.strip().lower() in ("", "off", "0", "none"):
            return None
        root = Path(chosen) / FOLDER
    else:
        root = Path(xdg_cache_home or str(Path.home() / ".cache")) / "embodia" / FOLDER
    folder = root / generation()
    prune_unused(root, keep=folder)  # once per process and folder: this function's result is kept
    return folder


def generation() -> str:
    """The name of this build's folder: what every entry key holds besides the person (mujoco, machine, source)."""
    build = "\n".join([mujoco.__version__, platform.machine(), source_digest()])
    return hashlib.sha256(build.encode()).hexdigest()[:16]


def prune_unused(root: Path, keep: Path, unused_days: float = UNUSED_DAYS) -> None:
    """Mark ``keep`` as used now, and delete from ``root`` the other builds' folders and loose entries (the layout
    before folders) unused for ``unused_days``. Another build in use keeps its folder by marking it at its start; a
    process still reading a deleted entry computes it again. A folder that cannot be changed is left as it is."""
    now = time.time()
    try:
        if keep.is_dir():
            os.utime(keep, (now, now))
        paths = list(root.iterdir())
    except OSError:  # no cache yet, or one this process may not change
        return
    for path in paths:
        try:
            if path == keep or now - path.stat().st_mtime < unused_days * 86400:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.name.endswith((ENTRY_SUFFIX, LAYOUT_SUFFIX, ".part")):
                path.unlink(missing_ok=True)
        except OSError:  # gone meanwhile (another process pruned it), or not ours to delete
            continue


@functools.cache
def source_digest() -> str:
    """A digest of the source of the modules that build and settle a person (read once per process)."""
    envs = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in SOURCE_PACKAGES:
        for path in sorted((envs / package).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def entry_key(config: HumanConfig) -> str:
    """The file stem of ``config``'s entry."""
    values = tuple(getattr(config, field.name) for field in dataclasses.fields(config))  # astuple's deep copy: 4x
    return hashlib.sha256(f"{values!r}\n{generation()}".encode()).hexdigest()[:32]


@dataclasses.dataclass(frozen=True)
class Kept:
    """A cached shape: its arrays and resting pose at once, its model from the compressed MJB when asked."""

    fields: dict[str, np.ndarray]  # read-only views of the entry's bytes
    rest: RestingPose
    compressed_model: bytes

    def model(self) -> mujoco.MjModel:
        return mujoco.MjModel.from_binary_path(MODEL_NAME, {MODEL_NAME: zlib.decompress(self.compressed_model)})


#: each array of the fields block: its name's length, then (after the name) dtype (3 chars: ``<f8``), ndim
ARRAY_HEADER = struct.Struct("<B")
ARRAY_TYPE = struct.Struct("<3sB")
CHECKED = struct.Struct("<I")  # the CRC-32 after the magic, and the fields block's length after the pose


def pack_fields(fields: dict[str, np.ndarray]) -> bytes:
    """The arrays as bytes: per array its name, dtype, shape and C-ordered data."""
    parts = []
    for name, array in fields.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.str.encode()
        if len(dtype) != 3 or array.dtype.hasobject:
            raise ValueError(f"{name}: dtype {array.dtype} is not a plain number type")
        parts += [ARRAY_HEADER.pack(len(name)), name.encode(), ARRAY_TYPE.pack(dtype, array.ndim)]
        parts += [struct.pack(f"<{array.ndim}I", *array.shape), array.tobytes()]
    return b"".join(parts)


@functools.cache
def _dtype(code: bytes) -> np.dtype:
    return np.dtype(code.decode())


def unpack_fields(block: memoryview) -> dict[str, np.ndarray]:
    """``pack_fields``' arrays, as read-only views of ``block``."""
    fields, at = {}, 0
    while at < len(block):
        (name_size,) = ARRAY_HEADER.unpack_from(block, at)
        at += ARRAY_HEADER.size
        name = bytes(block[at : at + name_size]).decode()
        at += name_size
        dtype, ndim = ARRAY_TYPE.unpack_from(block, at)
        at += ARRAY_TYPE.size
        shape = struct.unpack_from(f"<{ndim}I", block, at)
        at += 4 * ndim
        dtype = _dtype(dtype)
        count = math.prod(shape)  # numpy's prod makes an array of the tuple first: 5 µs an array, 21 arrays a shape
        fields[name] = np.frombuffer(block, dtype=dtype, count=count, offset=at).reshape(shape)
        at += count * dtype.itemsize
    return fields


def _read_entry(path: Path, magic: bytes) -> memoryview | None:
    """The checked bytes of an entry after its magic and CRC; None when absent, of another format or damaged."""
    start = len(magic) + CHECKED.size
    try:
        entry = path.read_bytes()
    except OSError:
        return None
    if not entry.startswith(magic) or len(entry) < start:
        return None  # another format, or a write cut short
    (crc,) = CHECKED.unpack_from(entry, len(magic))
    body = memoryview(entry)[start:]
    return body if zlib.crc32(body) == crc else None  # damaged: computed again


def _pose(body: memoryview) -> RestingPose:
    values = np.frombuffer(body, dtype="<f8", count=POSE_VALUES)
    return RestingPose(values[:3].astype(float), values[3:7].astype(float), float(values[7]))


def _pose_bytes(rest: RestingPose) -> bytes:
    return np.concatenate([rest.pos, rest.quat, [rest.speed_m_s]]).astype("<f8").tobytes()


def load(config: HumanConfig) -> Kept | None:
    """``config``'s cached shape; None when absent, off or unreadable (checked by its CRC)."""
    folder = cache_dir()
    body = None if folder is None else _read_entry(folder / f"{entry_key(config)}{ENTRY_SUFFIX}", ENTRY_MAGIC)
    if body is None:
        return None
    try:
        at = 8 * POSE_VALUES
        (fields_size,) = CHECKED.unpack_from(body, at)
        at += CHECKED.size
        fields = unpack_fields(body[at : at + fields_size])
        return Kept(fields, _pose(body), bytes(body[at + fields_size :]))
    except (ValueError, TypeError, struct.error):  # unreadable: computed again
        return None


def load_layout(key: str) -> tuple[RestingPose, np.ndarray] | None:
    """A shape laid out as one task model's rows (``ShapeBinding.laid_out``), with its resting pose: the rows as
    one read-only float64 array, in the binding's order; None when absent, off or unreadable."""
    folder = cache_dir()
    body = None if folder is None else _read_entry(folder / f"{key}{LAYOUT_SUFFIX}", LAYOUT_MAGIC)
    if body is None or len(body) % 8:
        return None
    return _pose(body), np.frombuffer(body, dtype="<f8", offset=8 * POSE_VALUES)


def save_layout(key: str, rest: RestingPose, rows: np.ndarray) -> None:
    """Keep a shape's rows in one task model (``load_layout``), as one float64 array; a folder that cannot be
    written is skipped."""
    folder = cache_dir()
    if folder is not None:
        _write_entry(folder, f"{key}{LAYOUT_SUFFIX}", LAYOUT_MAGIC, _pose_bytes(rest) + rows.astype("<f8").tobytes())


def save(config: HumanConfig, model: mujoco.MjModel, rest: RestingPose, fields: dict[str, np.ndarray]) -> None:
    """Keep ``config``'s compiled model, the ``fields`` a layout reads and the resting pose; a folder that cannot
    be written is skipped."""
    folder = cache_dir()
    if folder is None:
        return
    binary = np.zeros(mujoco.mj_sizeModel(model), dtype=np.uint8)
    mujoco.mj_saveModel(model, None, binary)
    block = pack_fields(fields)
    body = _pose_bytes(rest) + CHECKED.pack(len(block)) + block + zlib.compress(binary.tobytes(), 1)
    _write_entry(folder, f"{entry_key(config)}{ENTRY_SUFFIX}", ENTRY_MAGIC, body)


def _write_entry(folder: Path, name: str, magic: bytes, body: bytes) -> None:
    """``magic``, the CRC of ``body`` and ``body`` as ``folder/name``, under a temporary name renamed into place
    (a reader never sees half an entry); a folder that cannot be written is skipped."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".entry-", suffix=".part", dir=folder)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(magic + CHECKED.pack(zlib.crc32(body)) + body)
            os.replace(temporary, folder / name)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError:
        return
