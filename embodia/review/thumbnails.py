"""Gallery thumbnails: the last frame of an episode's MP4 (where the outcome shows), as a small JPEG.

A thumbnail newer than its video is reused, so regenerating a site of a thousand episodes does not decode a
thousand videos again.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import imageio.v2 as imageio
from PIL import Image

from embodia.envs.core.batched_env import MAX_IMAGE_SIDE
from embodia.envs.record.episode import one_line
from embodia.envs.tasks.base import MAX_EPISODE_STEPS

THUMB_WIDTH_PX = 240
JPEG_QUALITY = 80
#: the most frames decoded for one thumbnail: the longest episode's steps plus the reset
MAX_FRAMES = MAX_EPISODE_STEPS + 1
#: the largest frame decoded: two of the largest views the renderer makes, side by side
MAX_FRAME_PIXELS = 2 * MAX_IMAGE_SIDE**2


class ThumbnailError(RuntimeError):
    """A video whose frames cannot be decoded."""


def last_frame(video: Path, expected_frames: int):
    """The frame at ``expected_frames - 1`` (the run writes one per step plus the reset), else the last decodable.

    Bounded: one frame is held at a time, at most ``expected_frames`` (capped at ``MAX_FRAMES``) are decoded, and a
    frame may have at most ``MAX_FRAME_PIXELS``, so a long or crafted video costs bounded time and memory. Anything
    that cannot be decoded is a one-line ``ThumbnailError``.
    """
    limit = min(max(int(expected_frames), 1), MAX_FRAMES)
    try:
        with _open(video) as reader:
            try:
                return reader.get_data(limit - 1)  # ffmpeg seeks there
            except (IndexError, StopIteration):
                pass  # shorter than expected (e.g. a killed run); this reader is spent, decode from the start
        with _open(video) as reader:
            last = None
            for count, frame in enumerate(reader.iter_data(), 1):
                last = frame  # only the newest frame is kept
                if count >= limit:
                    break
        if last is None:
            raise ThumbnailError(f"{video}: the video holds no frames")
        return last
    except ThumbnailError:
        raise
    except Exception as error:  # imageio and ffmpeg raise many kinds for a damaged stream
        raise ThumbnailError(f"{video}: cannot decode the video ({_reason(error)})") from None


def _reason(error: BaseException) -> str:
    """The first line of ``error`` (ffmpeg appends its whole log to the first), at most 200 characters."""
    lines = str(error).strip().splitlines()
    return one_line(lines[0] if lines else type(error).__name__, limit=200)


@contextmanager
def _open(video: Path):
    """An FFMPEG reader of ``video`` whose frames are within ``MAX_FRAME_PIXELS``; closed on leaving."""
    try:
        reader = imageio.get_reader(str(video), format="FFMPEG")
    except Exception as error:  # imageio raises OSError, RuntimeError or its own types for broken files
        raise ThumbnailError(f"{video}: cannot open the video ({_reason(error)})") from None
    try:
        width, height = reader.get_meta_data().get("size") or (0, 0)
        if not (isinstance(width, int) and isinstance(height, int) and 0 < width * height <= MAX_FRAME_PIXELS):
            raise ThumbnailError(
                f"{video}: frames of {width}x{height} pixels; a thumbnail is made from at most {MAX_FRAME_PIXELS}"
            )
        yield reader
    finally:
        reader.close()


def make_thumbnail(video: Path, out: Path, expected_frames: int) -> Path:
    """Write ``out`` (JPEG, ``THUMB_WIDTH_PX`` wide) from ``video`` unless an up-to-date one exists."""
    if out.is_file() and out.stat().st_mtime >= video.stat().st_mtime:
        return out
    image = Image.fromarray(last_frame(video, expected_frames))
    if image.width > THUMB_WIDTH_PX:
        height = max(1, round(image.height * THUMB_WIDTH_PX / image.width))
        image = image.resize((THUMB_WIDTH_PX, height), Image.Resampling.LANCZOS)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    image.save(tmp, format="JPEG", quality=JPEG_QUALITY)
    tmp.replace(out)
    return out
