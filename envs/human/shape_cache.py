"""Compiled and settled body shapes kept on disk between processes, so that a care task's reset finds them ready.

Why: each person shape (sex, stature percentile, structure: up to 198 per care task) is compiled in its furniture
and settled there once per process (``shape.body_shape``, about 35 ms). Every fresh process (each Ray worker,
each test, each CLI run) paid that in its first episodes: a reset that met a new shape took 23-41 ms instead of
2-3. The cache keeps each shape's compiled model as MJB, MuJoCo's exact binary form (zlib-compressed, about
10 kB: the model holds the person and their furniture, no floor or textures), and its resting pose, in one
``.npz`` per shape, so a loaded shape is the one compiling and settling would give, bit for bit.

The key covers everything that makes an entry: the person's configuration, the mujoco version, the machine type,
and the source of the modules that build and settle the person and their furniture (``envs/human``,
``envs/scene``, ``envs/physics``). An edit or an upgrade therefore writes new entries rather than loading stale
ones. Where: ``$EMBODIA_CACHE_DIR``, else ``$XDG_CACHE_HOME/embodia``, else ``~/.cache/embodia``;
``EMBODIA_CACHE_DIR=off`` turns it off. Entries are written under a temporary name and renamed into place, so
processes sharing the folder never read a half-written one; an entry that cannot be read is computed again and
replaced. A folder that cannot be written is skipped.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import platform
import tempfile
import zipfile
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


def cache_dir() -> Path | None:
    """The shapes' folder, or None when the cache is turned off."""
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else Path(chosen) / FOLDER
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "embodia" / FOLDER


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
    parts = [repr(dataclasses.astuple(config)), mujoco.__version__, platform.machine(), source_digest()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def load(config: HumanConfig) -> tuple[mujoco.MjModel, RestingPose] | None:
    """``config``'s compiled model and resting pose from the cache; None when absent, off or unreadable."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{entry_key(config)}.npz"
    try:
        with np.load(path) as entry:
            pose = RestingPose(entry["pos"].copy(), entry["quat"].copy(), float(entry["speed_m_s"]))
            binary = zlib.decompress(entry["mjb_zlib"].tobytes())
        model = mujoco.MjModel.from_binary_path(MODEL_NAME, {MODEL_NAME: binary})
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zlib.error,
        zipfile.BadZipFile,
    ):  # absent or damaged: computed again
        return None
    return model, pose


def save(config: HumanConfig, model: mujoco.MjModel, rest: RestingPose) -> None:
    """Keep ``config``'s compiled model and resting pose; a folder that cannot be written is skipped."""
    folder = cache_dir()
    if folder is None:
        return
    binary = np.zeros(mujoco.mj_sizeModel(model), dtype=np.uint8)
    mujoco.mj_saveModel(model, None, binary)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".shape-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, pos=rest.pos, quat=rest.quat, speed_m_s=np.float64(rest.speed_m_s),
                         mjb_zlib=np.frombuffer(zlib.compress(binary.tobytes(), 1), dtype=np.uint8))  # fmt: skip
            os.replace(temporary, folder / f"{entry_key(config)}.npz")
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError:
        return
