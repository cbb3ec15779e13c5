"""Crash-safe file writes: write under a hidden temporary name in the target's folder, fsync, then rename.

Why: a killed recording must never leave a truncated file under a final name. ``os.replace`` within one folder
is atomic, so a reader sees either no file or the complete one. Existing files are never replaced unless asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

TMP_MARKER = ".tmp"


class AtomicPath:
    """A hidden temporary path next to ``path``: ``commit`` publishes it under ``path``, ``discard`` removes it.

    The temporary name is hidden (``.<name>.<pid>-<random>.tmp<suffix>``), so neither ``episode_*`` patterns nor,
    without a ``suffix``, extension globs such as ``*.npz`` take it for a finished file. ``suffix`` is for tools
    that pick a format by extension (ffmpeg needs ``.mp4``).
    """

    def __init__(
        self, path: str | os.PathLike, overwrite: bool = False, suffix: str = "", keep_open: bool = False
    ) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self._check_free()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # not tempfile.mkstemp: its files are private (0600); these get the usual permissions (umask applies)
        while True:
            self.tmp = self.path.with_name(
                f".{self.path.name}.{os.getpid()}-{secrets.token_hex(4)}{TMP_MARKER}{suffix}"
            )
            try:
                fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                continue
        #: ``keep_open``: the descriptor that created the temporary file, for ``open_file``
        self.fd: int | None = fd if keep_open else None
        if not keep_open:
            os.close(fd)

    def open_file(self) -> BinaryIO:
        """The temporary file as a binary file object, on the descriptor it was created with (``keep_open``)."""
        if self.fd is None:
            raise ValueError(f"{self.tmp} was not kept open (AtomicPath(..., keep_open=True))")
        fd, self.fd = self.fd, None
        return os.fdopen(fd, "wb")

    def _check_free(self) -> None:
        if not self.overwrite and self.path.exists():
            raise FileExistsError(f"{self.path} already exists; pass overwrite=True to replace it")

    def commit(self) -> Path:
        """fsync the temporary file, rename it onto ``path`` and fsync the folder; on any error, discard it."""
        try:
            with open(self.tmp, "rb+") as f:
                os.fsync(f.fileno())
        except BaseException:
            self.discard()
            raise
        return self.publish()

    def publish(self) -> Path:
        """Rename the (fsynced) temporary file onto ``path`` and fsync the folder; on any error, discard it."""
        try:
            self._check_free()  # the file may have appeared while we were writing
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        folders = getattr(_deferred, "folders", None)
        if folders is None:
            fsync_dir(self.path.parent)
        else:
            folders.add(self.path.parent)
        return self.path

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


_deferred = threading.local()  # per thread: the recorder's writer publishes its files inside folder_sync_once


@contextlib.contextmanager
def folder_sync_once() -> Iterator[None]:
    """Files published in this block (on this thread) have their folders fsynced once, when it ends, instead of
    once per file: an episode's JSON, GIF and ``.npz`` share a folder, and each folder fsync is a journal commit
    (the recorder's writer made four fsyncs per episode, half of them of the folder). Each file is still fsynced
    before its rename; the renames are durable when the block ends, also when it ends by an exception."""
    if getattr(_deferred, "folders", None) is not None:  # nested: the outer block syncs
        yield
        return
    _deferred.folders = folders = set()
    try:
        yield
    finally:
        _deferred.folders = None
        for folder in sorted(folders):
            fsync_dir(folder)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, overwrite: bool = False, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path to write; it becomes ``path`` when the block ends, and vanishes on an exception."""
    target = AtomicPath(path, overwrite=overwrite, suffix=suffix)
    try:
        yield target.tmp
    except BaseException:
        target.discard()
        raise
    target.commit()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, overwrite: bool = False, suffix: str = "") -> Iterator[BinaryIO]:
    """``atomic_write`` for a writer that takes an open binary file: the temporary file is written, fsynced and
    closed on the descriptor that created it, not opened again twice (the recorder writes two files per episode
    on a thread that shares the GIL with the env)."""
    target = AtomicPath(path, overwrite=overwrite, suffix=suffix, keep_open=True)
    try:
        with target.open_file() as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        target.discard()
        raise
    target.publish()


def fsync_dir(folder: Path) -> None:
    """Make a rename durable; platforms that cannot open folders skip it harmlessly."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars and arrays and paths (tuples already become lists)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def write_json(path: str | os.PathLike, value: Any, overwrite: bool = False) -> Path:
    """Write ``value`` as indented JSON, crash-safely."""
    with atomic_file(path, overwrite=overwrite, suffix=".json") as f:
        f.write((json.dumps(value, indent=2, default=json_default) + "\n").encode())
    return Path(path)
