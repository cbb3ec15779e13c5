"""What a run says about its episodes: each episode's ``episode_XXXX.json`` and the run's ``summary.json``.

Computed from the recorded arrays, never from an (editable) JSON sidecar, so a dataset check or the review page
reads the same figures the recorder wrote: success, fail, return, length, the safety summary and who the person
was, when the task has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from embodia.envs.record.episode import Episode


def episode_result(episode: Episode) -> dict[str, Any]:
    """The per-episode figures of ``episode_XXXX.json`` (and of the review page), from the recorded arrays."""
    info = episode.info
    result: dict[str, Any] = {
        "episode": episode.metadata.get("episode"),
        "seed": episode.metadata.get("seed"),
        "env_id": episode.metadata.get("env_id"),
        "policy": episode.metadata.get("policy"),
        "success": bool(info["success"][-1]) if "success" in info else False,
        "fail": bool(np.any(info["fail"])) if "fail" in info else False,
        "physics_unstable": bool(np.any(info.get("physics_unstable", False))),
        "return": float(sum(episode.rewards.tolist())),  # in step order, as a running tally adds it
        "length": episode.length,
    }
    safety = safety_summary(info, 1.0 / float(episode.metadata.get("control_hz", 1.0)))
    if safety:
        result["safety"] = safety
    person = person_summary(info)
    if person:
        result["person"] = person
    return result


def person_summary(info: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Who the person of a care episode was (drawn at its start), when the episode recorded ``info["human"]``."""
    if "human/sex" not in info or not len(info["human/sex"]):
        return {}
    from embodia.envs.human.config import POSTURES, SEXES

    first = {key[len("human/") :]: float(values[0]) for key, values in info.items() if key.startswith("human/")}
    named = {"sex": SEXES[int(first.pop("sex"))], "posture": POSTURES[int(first.pop("posture", 0))]}
    return named | {key: round(value, 4) for key, value in first.items()}


def safety_summary(info: Mapping[str, np.ndarray], control_period_s: float) -> dict[str, Any]:
    """The safety monitor's episode summary when the episode recorded safety figures, else an empty dict."""
    if not any(key.startswith("safety/") for key in info):
        return {}
    try:
        from embodia.envs.safety.summary import summarize_episode
    except ImportError:  # recorded by a build with a safety monitor, read by one without: keep the peak only
        forces = info.get("safety/max_contact_force_n")
        return {} if forces is None else {"max_contact_force_n": float(np.max(forces))}
    return summarize_episode(info, control_period_s)


def summarize(results: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Success rate, mean return and length over finished episodes, with the per-episode list."""

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in results])) if results else float("nan")

    return {
        **extra,
        "episodes": len(results),
        "success_rate": mean("success"),
        "mean_return": mean("return"),
        "mean_length": mean("length"),
        "fail_rate": mean("fail"),
        "physics_unstable": int(sum(r["physics_unstable"] for r in results)),
        "per_episode": results,
    }
