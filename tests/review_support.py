"""Recordings shared by the review site's tests: real episodes, small videos, recorded once per test session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from embodia.agents.evaluate import run_episodes

FAST_VIDEO = {"render_size": (96, 128), "env_kwargs": {"render_preset": "fast"}}
#: (folder under the root, task, policy, episodes, episode_steps or None for the task's own length)
RUNS = (
    ("binpicking/expert", "embodia/BinPicking-v0", "expert", 2, None),  # full length: both succeed
    ("binpicking/random", "embodia/BinPicking-v0", "random", 2, 30),
    ("handover-expert", "embodia/Handover-v0", "expert", 1, 30),
)


def record(folder: Path, env_id: str, policy: str, episodes: int, episode_steps: int | None) -> None:
    env_kwargs = dict(FAST_VIDEO["env_kwargs"])
    if episode_steps is not None:
        env_kwargs["episode_steps"] = episode_steps
    run_episodes(
        env_id,
        policy=policy,
        episodes=episodes,
        seed=0,
        record_dir=folder,
        render_size=FAST_VIDEO["render_size"],
        progress=False,
        env_kwargs=env_kwargs,
    )


@pytest.fixture(scope="session")
def recorded_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of run folders at different depths: BinPicking expert and random, Handover expert."""
    root = tmp_path_factory.mktemp("recordings")
    for folder, env_id, policy, episodes, steps in RUNS:
        record(root / folder, env_id, policy, episodes, steps)
    return root


def read_js_data(path: Path) -> Any:
    """The JSON literal a site data script assigns (``window.X = {...};`` or ``(...)["id"] = {...};``)."""
    text = path.read_text(encoding="utf-8")
    assert "= {" in text and text.endswith("};\n"), f"{path} is not a data script: {text[:80]!r}"
    return json.loads(text[text.index("= {") + 2 : -2])
