"""Helpers the Feeding and Drinking tests share: put particles where a figure should count them, push the
vessel against the face, run the expert."""

import numpy as np

from embodia.agents.experts import make_expert
from embodia.agents.experts.mouth_delivery import DeliveryTiming, MouthDeliveryExpert
from embodia.envs.core.batched_env import BatchedEnv, make_batched


def make(task: str, num_sims: int = 1, **kwargs) -> BatchedEnv:
    return make_batched(task, num_sims, **kwargs)


def head_point(env: BatchedEnv, local) -> np.ndarray:
    """A point given relative to the mouth site in the head frame, in world coordinates (simulation 0)."""
    sim, task = env.sim, env.task
    rotation = sim.xmat[0, task.neck_body].reshape(3, 3)
    return sim.site_xpos[0, task.mouth_site] + rotation @ np.asarray(local, dtype=float)


def place_particles(env: BatchedEnv, positions: dict[int, np.ndarray]) -> None:
    """Move particles of simulation 0 (index -> world position), at rest."""
    sim, task = env.sim, env.task
    for j, position in positions.items():
        adr, dof = task.particle_qpos[j], task.particle_dof[j]
        sim.qpos[0, adr : adr + 3] = position
        sim.qvel[0, dof : dof + 6] = 0.0
    sim.forward(np.array([0]))


def hold_still(env: BatchedEnv, steps: int) -> dict:
    """Step simulation 0 with the arm holding its pose and the jaws closed on the handle; the last info."""
    info = {}
    for _ in range(steps):
        _, _, terminated, _, info = env.step(np.array([[0, 0, 0, 0, 0, 0, -1.0]]))
        if terminated[0]:
            break
    return info


def run_expert(task: str, seeds: list[int], expert: MouthDeliveryExpert | None = None, **kwargs):
    """(success, fail, peak face force N, any transient violation) per seed."""
    n = len(seeds)
    env = make(task, n, **kwargs)
    expert = expert or make_expert(task, n)
    obs, info = env.reset(seeds=seeds)
    expert.reset(np.arange(n))
    done = np.zeros(n, dtype=bool)
    success, fail, transient = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    peak_face_n = np.zeros(n)
    for _ in range(env.task.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        live = ~done
        success |= info["success"] & live
        fail |= info["fail"] & live
        transient |= info["safety"]["transient_exceeded"] & live
        peak_face_n = np.where(live, np.maximum(peak_face_n, info["safety"]["force_n"]["face"]), peak_face_n)
        done |= terminated | truncated
        if done.all():
            break
    return success, fail, peak_face_n, transient


def pushing_expert(task: str, n: int) -> MouthDeliveryExpert:
    """The task's expert told to hold the vessel's lip 3 cm *behind* the mouth site: into the face."""
    expert = make_expert(task, n)
    timing = expert.timing
    expert.timing = DeliveryTiming(**{**timing.__dict__, "lip_gap_m": -0.03, "max_pour_steps": 1000})
    return expert
