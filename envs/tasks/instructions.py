"""What an episode asks for, in words: the pieces every task's phrasings are made of.

A task lists its phrasings for one simulation's episode (``Task.instructions``), filled in from that episode's own
draws (which part, the person's sex, how many boxes); the env picks one per episode from a child of the episode's
random stream, so the same seed gives the same words without changing any other draw.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

#: the longest instruction an env may give (the ``Text`` observation's ``max_length``)
MAX_INSTRUCTION_CHARS = 256
MIN_PHRASINGS = 5

#: named colours by their RGB (0-1), the nearest of which names a material's colour
COLOURS = {
    "red": (0.8, 0.2, 0.2),
    "orange": (0.9, 0.5, 0.1),
    "yellow": (0.9, 0.8, 0.2),
    "green": (0.25, 0.65, 0.3),
    "blue": (0.2, 0.45, 0.8),
    "navy": (0.1, 0.15, 0.4),
    "black": (0.1, 0.1, 0.1),
    "white": (0.95, 0.95, 0.95),
}


def colour_name(rgba) -> str:
    """The name of the listed colour nearest to ``rgba``."""
    rgb = np.asarray(rgba[:3], dtype=float)
    return min(COLOURS, key=lambda name: float(np.linalg.norm(rgb - np.asarray(COLOURS[name]))))


def choose(phrasings: tuple[str, ...], rng: np.random.Generator) -> str:
    """One of ``phrasings``, drawn from a child of ``rng`` (the parent's own stream is left as it was)."""
    if len(set(phrasings)) < MIN_PHRASINGS:
        raise ValueError(f"a task needs at least {MIN_PHRASINGS} distinct phrasings; got {list(phrasings)!r}")
    too_long = [p for p in phrasings if len(p) > MAX_INSTRUCTION_CHARS]
    if too_long:
        raise ValueError(f"instructions longer than {MAX_INSTRUCTION_CHARS} characters: {too_long!r}")
    child = rng.spawn(1)[0]
    return phrasings[int(child.integers(len(phrasings)))]


#: the most buckets of the hashed bag of words (``instruction_features``)
MAX_WORD_BUCKETS = 4096
WORD = re.compile(r"[a-z0-9]+")


def bag_of_words(text: str, buckets: int) -> np.ndarray:
    """(buckets,) float32 word counts of ``text``, each lower-cased word in bucket crc32(word) mod ``buckets``.

    A text feature with nothing to download or train, the same on every machine (crc32, not Python's salted
    hash): a policy can learn which words matter. Colliding words share a bucket, so use more buckets than the
    task's vocabulary (a few dozen words)."""
    counts = np.zeros(buckets, dtype=np.float32)
    for word in WORD.findall(text.lower()):
        counts[zlib.crc32(word.encode()) % buckets] += 1.0
    return counts
