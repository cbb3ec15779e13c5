"""How well a demonstration was performed, from its recorded arrays: what a reviewer rejects poor human data by.

Figures (None when the episode lacks what they need):

- ``duration_s``: steps over the control rate;
- ``path_length_m``: the distance the tool centre point travelled (``obs/robot_tcp_pos``, dict observations);
- ``idle_s`` and ``idle_fraction``: steps in which nothing was commanded: every arm rate below 1% of full scale
  and the gripper command unchanged. A person hesitating shows here; a script never idles;
- ``rms_jerk_m_s3``: the root mean square of the TCP's jerk (third difference of its positions over the control
  period cubed), the usual smoothness measure of human movement (Flash and Hogan, J. Neurosci. 1985): jerky
  key presses score high.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embodia.envs.record.episode import Episode

#: an arm command below this fraction of full scale is no command
IDLE_RATE = 0.01


def demonstration_quality(episode: Episode) -> dict[str, Any]:
    """The figures above for one episode, as JSON-ready numbers."""
    hz = float(episode.metadata.get("control_hz", 20.0))
    actions = np.asarray(episode.actions, dtype=float)
    quality: dict[str, Any] = {"duration_s": round(episode.length / hz, 3), "path_length_m": None,
                               "idle_s": None, "idle_fraction": None, "rms_jerk_m_s3": None}  # fmt: skip
    if len(actions) and actions.ndim == 2 and actions.shape[1] >= 2:
        arm, gripper = actions[:, :-1], actions[:, -1]
        gripper_still = np.concatenate([[True], np.diff(gripper) == 0])
        idle = (np.abs(arm).max(axis=1) < IDLE_RATE) & gripper_still
        quality.update(idle_s=round(float(idle.sum()) / hz, 3), idle_fraction=round(float(idle.mean()), 4))
    tcp = episode.observations.get("robot_tcp_pos")
    if tcp is not None and tcp.ndim == 2 and tcp.shape[1] == 3:
        quality["path_length_m"] = round(float(np.linalg.norm(np.diff(tcp, axis=0), axis=1).sum()), 4)
        if len(tcp) >= 4:
            jerk = np.diff(tcp, n=3, axis=0) * hz**3
            quality["rms_jerk_m_s3"] = round(float(np.sqrt((np.linalg.norm(jerk, axis=1) ** 2).mean())), 3)
    return quality
