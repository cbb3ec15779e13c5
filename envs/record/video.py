"""MP4 (and GIF) writers that never leave a half-written video under the final name.

MP4: H.264 (libx264) in yuv420p, which every browser and player decodes. yuv420p needs even frame sizes, so
odd sizes are padded by one row or column (edge pixels repeated) instead of being rescaled.
Frames stream to a hidden temporary file next to the target, which is renamed into place when the video is
complete; a crash leaves only the hidden file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import imageio.v2 as imageio
import numpy as np

from embodia.envs.record.atomic import AtomicPath, atomic_write

#: imageio's ffmpeg quality scale: 0 (worst) to 10 (best); 8 keeps thin edges crisp at modest size
DEFAULT_QUALITY = 8


def even_frame(frame: np.ndarray) -> np.ndarray:
    """``frame`` (H, W, 3) uint8 padded to even height and width by repeating its last row or column."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"a video frame must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_h or pad_w:
        frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frame


class VideoWriter:
    """Streams frames into an MP4; ``close()`` publishes it, ``abort()`` (or an exception in ``with``) drops it."""

    def __init__(
        self, path: str | os.PathLike, fps: float, quality: int = DEFAULT_QUALITY, overwrite: bool = False
    ) -> None:
        if not 0 <= quality <= 10:
            raise ValueError(f"quality must be in [0, 10], got {quality}")
        self.path = Path(path)
        self.fps = float(fps)
        self.quality = quality
        self.frames = 0
        self._size: tuple[int, int] | None = None
        self._target = AtomicPath(self.path, overwrite=overwrite, suffix=".mp4")  # imageio picks ffmpeg by extension
        try:
            self._writer = imageio.get_writer(
                self._target.tmp,
                format="FFMPEG",
                mode="I",
                fps=self.fps,
                codec="libx264",
                pixelformat="yuv420p",
                quality=quality,
                macro_block_size=1,  # sizes are made even here; imageio would otherwise rescale to multiples of 16
                output_params=["-movflags", "+faststart"],  # index first: browsers start playing at once
                ffmpeg_log_level="error",
            )
        except BaseException:
            self._target.discard()
            raise

    def append(self, frame: np.ndarray) -> None:
        frame = even_frame(frame)
        if self._size is None:
            self._size = frame.shape[:2]
        elif frame.shape[:2] != self._size:
            raise ValueError(f"frame size {frame.shape[:2]} differs from the video's {self._size}")
        self._writer.append_data(frame)
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and rename it into place; a video without frames is an error."""
        if self._writer is None:
            return self.path
        if self.frames == 0:
            self.abort()
            raise ValueError(f"{self.path}: no frames were written")
        writer, self._writer = self._writer, None
        try:
            writer.close()
        except BaseException:
            self._target.discard()
            raise
        return self._target.commit()

    def abort(self) -> None:
        """Drop the video in progress: nothing appears under the final name."""
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        try:
            writer.close()
        finally:
            self._target.discard()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    quality: int = DEFAULT_QUALITY,
    overwrite: bool = False,
) -> Path:
    """Write ``frames`` (uint8 H x W x 3 each) to an MP4 at ``path``."""
    with VideoWriter(path, fps, quality=quality, overwrite=overwrite) as writer:
        for frame in frames:
            writer.append(frame)
    return writer.path


def write_gif(
    path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, every: int = 1, overwrite: bool = False
) -> Path:
    """Write a looping GIF (for READMEs and issues); ``every`` keeps one frame in ``every`` to stay small."""
    if every < 1:
        raise ValueError(f"every must be a positive integer, got {every}")
    kept = [np.asarray(f) for k, f in enumerate(frames) if k % every == 0]
    if not kept:
        raise ValueError(f"{path}: no frames were written")
    with atomic_write(path, overwrite=overwrite, suffix=".gif") as tmp:
        imageio.mimsave(tmp, kept, format="GIF", duration=1000.0 * every / fps, loop=0)
    return Path(path)
