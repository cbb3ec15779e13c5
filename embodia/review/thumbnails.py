"""Gallery thumbnails: the last frame of an episode's MP4 (where the outcome shows), as a small JPEG.

A thumbnail newer than its video is reused, so regenerating a site of a thousand episodes does not decode a
thousand videos again.
"""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
from PIL import Image

THUMB_WIDTH_PX = 240
JPEG_QUALITY = 80


class ThumbnailError(RuntimeError):
    """A video whose frames cannot be decoded."""


def last_frame(video: Path, expected_frames: int):
    """The frame at ``expected_frames - 1`` (the run writes one per step plus the reset), else the last decodable."""
    try:
        reader = imageio.get_reader(str(video), format="FFMPEG")
    except Exception as error:  # imageio raises OSError, RuntimeError or its own types for broken files
        raise ThumbnailError(f"{video}: cannot open the video ({str(error).splitlines()[0]})") from None
    try:
        try:
            return reader.get_data(max(expected_frames - 1, 0))
        except IndexError:
            frames = list(reader)  # shorter than expected (e.g. a killed run): take what is there
            if not frames:
                raise ThumbnailError(f"{video}: the video holds no frames") from None
            return frames[-1]
    except ThumbnailError:
        raise
    except Exception as error:
        raise ThumbnailError(f"{video}: cannot decode the video ({str(error).splitlines()[0]})") from None
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
