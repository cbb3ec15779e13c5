"""The review file: a reviewer's accept/reject verdicts on recorded episodes, exported by the review site.

It lives here, beside the episode format, so dataset code can filter episodes by verdict without the CLI.
Format (JSON)::

    {"format": "embodia.review", "schema_version": 1, "created_utc": "2025-01-01T00:00:00Z",
     "root": "/abs/path/of/the/reviewed/folder",
     "episodes": [{"path": "run/episode_0003.npz", "env_id": "embodia/Handover-v0", "policy": "expert",
                   "seed": 3, "verdict": "accepted"}]}

``path`` is the episode file relative to ``root`` with forward slashes; ``verdict`` is ``accepted`` or
``rejected`` (unmarked episodes are simply absent). A review file is data: read with the same bounds as an episode's
metadata (size, nesting depth, no NaN), its paths are only ever matched against episode files, never opened as
given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from embodia.envs.record.episode import DataFileError, JSONFileError, read_json_file

FORMAT = "embodia.review"
SCHEMA_VERSION = 1
VERDICTS = ("accepted", "rejected")
#: a review of ~80,000 episodes
MAX_REVIEW_BYTES = 16 * 2**20


class ReviewFileError(DataFileError):
    """A file that is not a readable embodia review file."""


def load_review_file(path: str | os.PathLike) -> dict[str, str]:
    """Verdicts by episode path (relative to the review's root, forward slashes): ``{"run/episode_0003.npz": ...}``.

    Anything malformed raises a one-line ``ReviewFileError`` naming the file and the offending value.
    """
    return parse_review(read_review_document(path), source=str(path))


def read_review_document(path: str | os.PathLike) -> dict[str, Any]:
    """The whole review document (``root``, ``created_utc``, ...), checked as ``load_review_file`` checks it."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        raise FileNotFoundError(f"{path}: no such review file")
    try:
        document = read_json_file(path, MAX_REVIEW_BYTES, what="a review file")
    except JSONFileError as error:
        raise ReviewFileError(f"{path}: not a review file ({str(error).removeprefix(f'{path}: ')})") from None
    except DataFileError as error:  # a folder, a pipe, unreadable: the message says so already
        raise ReviewFileError(str(error)) from None
    parse_review(document, source=str(path))
    return document


def parse_review(document: Any, source: str = "review") -> dict[str, str]:
    """Check a decoded review document and return its verdicts by episode path."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ReviewFileError(f"{source}: not an embodia review file (format {found!r}, expected {FORMAT!r})")
    version = document.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
        raise ReviewFileError(
            f"{source}: review schema version {version!r} is not supported (this embodia reads 1..{SCHEMA_VERSION})"
        )
    if not isinstance(document.get("root", ""), str):
        raise ReviewFileError(f"{source}: 'root' must be the reviewed folder's path (a string)")
    episodes = document.get("episodes")
    if not isinstance(episodes, list):
        raise ReviewFileError(f"{source}: 'episodes' must be a list, got {type(episodes).__name__}")
    verdicts: dict[str, str] = {}
    for index, entry in enumerate(episodes):
        where = f"{source}: episodes[{index}]"
        if not isinstance(entry, dict):
            raise ReviewFileError(f"{where} must be an object, got {type(entry).__name__}")
        episode_path, verdict = entry.get("path"), entry.get("verdict")
        if not isinstance(episode_path, str) or not episode_path.endswith(".npz"):
            raise ReviewFileError(f"{where}: 'path' must be an episode file path ending in .npz, got {episode_path!r}")
        parts = episode_path.split("/")
        if "\\" in episode_path or episode_path.startswith("/") or ".." in parts or "" in parts:
            raise ReviewFileError(
                f"{where}: 'path' must be relative to the review root with forward slashes, got {episode_path!r}"
            )
        if verdict not in VERDICTS:
            raise ReviewFileError(f"{where}: 'verdict' must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        if verdicts.get(episode_path, verdict) != verdict:
            raise ReviewFileError(f"{where}: {episode_path!r} is both accepted and rejected")
        verdicts[episode_path] = verdict
    return verdicts
