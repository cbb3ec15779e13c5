"""Write the review site: HTML, CSS and JS copied from ``static/``, data as ``.js`` files, thumbnails.

Why ``.js`` data and not JSON: a page opened from disk (``file://``) cannot ``fetch()`` in Chromium, but it can
load a script. The gallery loads ``data/index.js`` (one row per episode); an episode page loads only its own
``data/episodes/<id>.js``. Videos stay where they were recorded and are referenced relatively, so the site
is small and moves together with the recordings. The site is derived data: regenerating replaces it, and the
recorded files are never written.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import embodia
from embodia.review.collect import ReviewInputError, Skipped, collect
from embodia.review.thumbnails import ThumbnailError, make_thumbnail

SITE_FORMAT = "embodia.review-site"
SITE_SCHEMA_VERSION = 1
DEFAULT_SITE_DIR = "review"
PAGES = ("index.html", "episode.html", "compare.html")
#: written into every site folder: only a folder holding it may be regenerated (files in it replaced or removed)
SITE_MARKER = ".embodia-review-site"


@dataclass
class SiteResult:
    out: Path
    episodes: int
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def index_html(self) -> Path:
        return self.out / "index.html"


def relative_url(target: Path, site_dir: Path) -> str:
    """``target`` as a URL relative to the site folder (each segment percent-encoded: ``#`` or spaces in names)."""
    relative = os.path.relpath(target.resolve(), site_dir.resolve())
    return "/".join(quote(part) for part in Path(relative).parts)


def check_site_dir(root: Path, out: Path) -> None:
    """The site gets its own folder: never the recorded folder itself, never a run folder."""
    if out.resolve() == root.resolve():
        raise ReviewInputError(
            f"--out {out} is the recorded folder itself; choose a separate folder (default DIR/review)"
        )
    if out.is_dir() and any(out.glob("episode_*")):
        raise ReviewInputError(f"--out {out} holds recorded episodes; choose a separate folder for the site")
    if out.exists() and not out.is_dir():
        raise ReviewInputError(f"--out {out} is a file; choose a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARKER).is_file():
        raise ReviewInputError(
            f"--out {out} is a folder that holds other files and no review site; choose a new or empty folder "
            "(regenerating a site replaces its files)"
        )


def linked_video(root: Path, episode_path: str) -> Path | None:
    """The episode's MP4 if it is a plain file inside ``root``: a link out of the folder is not put on the site."""
    video = (root / episode_path).with_suffix(".mp4")
    if not video.is_file():
        return None
    if video.is_symlink() or not video.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{video} is a link out of {root}; not linked from the site")
    return video


def build_site(root: str | os.PathLike, out: str | os.PathLike | None = None, thumbnails: bool = True) -> SiteResult:
    """Review site for every episode under ``root`` (a run folder or a tree of them) in ``out`` (``root/review``)."""
    root = Path(root)
    out = Path(out) if out is not None else root / DEFAULT_SITE_DIR
    check_site_dir(root, out)
    collected = collect(root, site_dir=out)
    skipped = list(collected.skipped)
    for row in collected.rows:
        try:
            video = linked_video(root, row["path"])
        except ValueError as error:
            video = None
            skipped.append(Skipped(row["path"], str(error)))
        row["video"] = relative_url(video, out) if video is not None else None
        row["thumb"] = None
        if video is not None and thumbnails:
            try:
                thumb = make_thumbnail(video, out / "thumbs" / f"{row['id']}.jpg", row["length"] + 1)
                row["thumb"] = f"thumbs/{thumb.name}"
            except ThumbnailError as error:
                skipped.append(Skipped(video.relative_to(root).as_posix(), f"no thumbnail: {error}"))
    write_site(out, root, collected.rows, collected.plots, skipped)
    return SiteResult(out=out, episodes=len(collected.rows), skipped=skipped)


def write_site(
    out: Path,
    root: Path,
    rows: list[dict[str, Any]],
    plots: dict[str, dict[str, Any]],
    skipped: list[Skipped] = (),
) -> None:
    """Write pages, assets and data for ``rows`` (gallery entries) and ``plots`` (per-episode plot data by id)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / SITE_MARKER).write_text("made by `embodia review`; regenerating replaces this folder's files\n")
    copy_static(out)
    data = out / "data"
    episodes_dir = data / "episodes"
    episodes_dir.mkdir(parents=True, exist_ok=True)
    index = {
        "format": SITE_FORMAT,
        "schema_version": SITE_SCHEMA_VERSION,
        "root": str(root.resolve()),
        "generated_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "embodia_version": embodia.__version__,
        "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
        "episodes": rows,
    }
    write_script(data / "index.js", f"window.EMBODIA_INDEX = {to_js(index)};\n")
    for episode_id, plot in plots.items():
        script = f"(window.EMBODIA_EPISODES = window.EMBODIA_EPISODES || {{}})[{to_js(episode_id)}] = {to_js(plot)};\n"
        write_script(episodes_dir / f"{episode_id}.js", script)
    remove_stale(episodes_dir, "*.js", {f"{i}.js" for i in plots})
    remove_stale(out / "thumbs", "*.jpg", {Path(r["thumb"]).name for r in rows if r.get("thumb")})


def to_js(value: Any) -> str:
    """JSON is a JS literal; ``allow_nan=False`` because NaN is not JSON (callers map it to ``null`` first)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def write_script(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def copy_static(out: Path) -> None:
    """Pages go to the site's top level, CSS and JS to ``static/``."""
    static = resources.files("embodia.review") / "static"
    (out / "static").mkdir(parents=True, exist_ok=True)
    for item in static.iterdir():
        if not item.is_file() or item.name.startswith("."):
            continue
        target = out / item.name if item.name in PAGES else out / "static" / item.name
        with resources.as_file(item) as source:
            shutil.copyfile(source, target)


def remove_stale(folder: Path, pattern: str, keep: set[str]) -> None:
    """Data of episodes that are gone since the last generation (only files this generator writes)."""
    if folder.is_dir():
        for path in folder.glob(pattern):
            if path.name not in keep:
                path.unlink()
