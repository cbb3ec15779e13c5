"""Expert demonstrations with DART noise injection, written as an embodia run folder.

Behaviour cloning from clean expert rollouts sees only the states the expert visits; a cloned policy's small
errors then lead it to states no demonstration covers, and errors compound. DART (Laskey et al., CoRL 2017,
"DART: Noise Injection for Robust Imitation Learning") executes the expert's action plus Gaussian noise while
recording the expert's clean action as the label, so the demonstrations show how the expert recovers from
perturbations. ``action_noise=0`` gives plain expert demonstrations.

Gaussian noise alone never takes a high-gain expert far: it corrects each step's push within the step, so the
demonstrations hold errors of a few millimetres and degrees. A clone's own errors are systematic and larger
(BinPicking's visual clone arrived over a cube with its jaws 20-40 degrees off, and no demonstration showed the
expert turning from there). ``disturbance_rate`` adds pushes the expert cannot cancel at once: with that
probability per step, the arm executes one random action, uniform in [-1, 1] per arm dimension, held for
``DISTURBANCE_STEPS`` steps (up to 0.72 rad of yaw, or a hand's breadth of travel), while the label stays the
expert's; then the expert brings it back, and every frame of the detour and the return is a labelled recovery.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embodia.agents.episodes import EpisodeResult, EpisodeScheduler, StepOutcome, check_first_seed
from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv, make_batched, take
from embodia.envs.record.atomic import write_json
from embodia.envs.record.episode import EpisodeBuffer, episode_metadata
from embodia.envs.record.recorder import episode_stem, per_sim_model, prepare_record_dir, run_metadata

#: successes_only: give up after this many tries per demonstration kept
MAX_ATTEMPTS_PER_DEMO = 5
#: separates the noise stream from the env's, which uses the episode seed itself
NOISE_STREAM = 2
#: how long one disturbance holds its random arm action
DISTURBANCE_STEPS = 6
#: a demonstration folder holding more finished episodes than this says how many in its name
NAMED_EPISODES_ABOVE = 100


def demo_folder_name(
    task: str,
    noise: float,
    pushes: float,
    successes_only: bool,
    episodes: int,
    turn_within_m: float | None = None,
    pregrasp_open_m: float | None = None,
) -> str:
    """``<Task>-v0-dart<noise>[-push<rate>][-turn<metres>][-open<metres>][-successes[-<episodes>]]``: the settings
    a folder was recorded with (``train.collect_command`` reads them back to name the command that records a missing
    one); ``turn_within_m``, ``pregrasp_open_m``: the pick-and-place expert's options of those names."""
    name = f"{task}-v0-dart{noise:g}" + (f"-push{pushes:g}" if pushes else "")
    name += f"-turn{turn_within_m:g}" if turn_within_m is not None else ""
    name += f"-open{pregrasp_open_m:g}" if pregrasp_open_m is not None else ""
    if successes_only:
        name += "-successes" + (f"-{episodes}" if episodes > NAMED_EPISODES_ABOVE else "")
    return name


class DartNoise:
    """Gaussian noise on ``dims`` of the executed action, and (``disturbance_rate`` > 0) held random pushes, from a
    per-episode stream (``NOISE_STREAM``)."""

    def __init__(self, scale: float, dims: slice, disturbance_rate: float = 0.0) -> None:
        if not 0.0 <= disturbance_rate <= 1.0:
            raise ValueError(
                f"disturbance_rate={disturbance_rate!r} is not valid; valid: a probability per step, 0 to 1"
            )
        self.scale, self.dims, self.disturbance_rate = scale, dims, disturbance_rate
        self.rngs: dict[int, np.random.Generator] = {}
        self.pushes: dict[int, tuple[np.ndarray, int]] = {}  # slot -> (held action, steps left)

    def episode_started(self, slot: int, episode: int, seed: int, obs: Any, info: dict[str, Any]) -> None:
        self.rngs[slot] = np.random.default_rng([seed, NOISE_STREAM])
        self.pushes.pop(slot, None)

    def executed(self, label: np.ndarray, obs: Any, info: dict[str, Any], active: np.ndarray) -> np.ndarray:
        executed = label.copy()
        width = len(range(*self.dims.indices(label.shape[1])))
        for slot in (int(s) for s in active):
            rng = self.rngs[slot]
            if self.disturbance_rate > 0:  # drawn only when asked for: older demonstrations' streams stay as they were
                push, left = self.pushes.pop(slot, (None, 0))
                if left == 0 and rng.random() < self.disturbance_rate:
                    push, left = rng.uniform(-1.0, 1.0, size=width), DISTURBANCE_STEPS
                if left > 0:
                    executed[slot, self.dims] = push
                    if left > 1:
                        self.pushes[slot] = (push, left - 1)
                    continue
            if self.scale > 0:
                executed[slot, self.dims] += rng.normal(0.0, self.scale, size=width)
        return np.clip(executed, -1.0, 1.0)


class EpisodeFiles:
    """One ``EpisodeBuffer`` per slot, recording the label action; each episode saved to ``out`` as it ends
    (only the successful ones with ``successes_only``), named by its episode index."""

    def __init__(self, env: BatchedEnv, out: Path, metadata: Any, overwrite: bool, successes_only: bool) -> None:
        self.env, self.out, self.metadata, self.overwrite = env, out, metadata, overwrite
        self.successes_only = successes_only
        self.buffers: dict[int, EpisodeBuffer] = {}

    def episode_started(self, slot: int, episode: int, seed: int, obs: Any, info: dict[str, Any]) -> None:
        self.buffers[slot] = EpisodeBuffer(self.metadata(episode, seed))
        # the model values and task draws too: without them an episode cannot be restored (replay, images)
        self.buffers[slot].reset(take(obs, slot), take(info, slot), self.env.sim.state(slot),
                                 per_sim_model(self.env, slot), self.env.task.episode_state(slot))  # fmt: skip

    def stepped(self, active: np.ndarray, step: StepOutcome) -> None:
        for slot in active:
            row = (step.label[slot], step.reward[slot], step.terminated[slot], step.truncated[slot])
            self.buffers[int(slot)].step(*row, take(step.obs, slot), take(step.info, slot), self.env.sim.state(slot))

    def episode_ended(self, slot: int, result: EpisodeResult, info: dict[str, Any]) -> None:
        episode = self.buffers.pop(slot).build()
        if self.successes_only and not result.success:
            return
        episode.save(self.out / f"{episode_stem(result.episode)}.npz", overwrite=self.overwrite)


def collect_demonstrations(
    env_id: str,
    episodes: int,
    out_dir: str | Path,
    seed: int = 0,
    num_envs: int = 10,
    action_noise: float = 0.0,
    noise_dims: slice = slice(0, 6),
    disturbance_rate: float = 0.0,
    env_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    successes_only: bool = False,
    expert_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record ``episodes`` expert episodes (seeds ``seed + k``) into ``out_dir``; return success statistics.

    The executed action is the expert's plus N(0, ``action_noise``) on ``noise_dims`` (the arm; the gripper
    stays clean); the recorded action is the expert's own. ``disturbance_rate``: the chance per step of a held random
    push on ``noise_dims`` (see the module's docstring). ``successes_only``: keep only the episodes the noisy
    expert finished, running further seeds until ``episodes`` are kept (a clone of failures learns to fail: the
    threading expert under noise 0.1 finishes a third of its episodes); at most ``MAX_ATTEMPTS_PER_DEMO`` times
    as many episodes are tried, then ``RuntimeError``. ``expert_options``: the expert's own (``experts.expert_options``;
    the pick-and-place experts' ``turn_within_m`` and ``pregrasp_open_m``), in the folder's metadata and its policy
    name.
    """
    dart = DartNoise(action_noise, noise_dims, disturbance_rate)  # bad values refused before the folder is touched
    seed = check_first_seed(seed)
    options = dict(expert_options or {})
    num_envs = max(1, min(num_envs, episodes))
    expert = make_expert(env_id, num_envs, **options)  # so are options the expert does not take
    out = Path(out_dir)
    prepare_record_dir(out, overwrite)
    kwargs = dict(env_kwargs or {})
    env = make_batched(env_id, num_envs, **kwargs)
    policy = "expert" + (f"({', '.join(f'{k}={v}' for k, v in sorted(options.items()))})" if options else "")
    policy += f"+dart({action_noise})" if action_noise > 0 else ""
    if disturbance_rate > 0:
        policy += f"+pushes({disturbance_rate})"
    control_hz = float(env.config.control_hz)
    write_json(out / "meta.json", run_metadata(env, env_id, kwargs, policy, seed=seed, episodes=episodes,
                                               action_noise=action_noise, disturbance_rate=disturbance_rate,
                                               successes_only=successes_only, expert_options=options))  # fmt: skip
    writer = EpisodeFiles(env, out, lambda k, episode_seed: episode_metadata(
        env_id, kwargs, episode_seed, policy, control_hz, episode=k), overwrite, successes_only)  # fmt: skip
    results: list[EpisodeResult] = []
    try:
        while (need := episodes - (sum(r.success for r in results) if successes_only else len(results))) > 0:
            if len(results) >= MAX_ATTEMPTS_PER_DEMO * episodes:
                raise RuntimeError(
                    f"{env_id}: the expert (action noise {action_noise}) finished {episodes - need} of "
                    f"{len(results)} episodes; {episodes} successful demonstrations need a lower noise"
                )
            indices = range(len(results), len(results) + need)  # a round never keeps more than it still needs
            results += EpisodeScheduler(env, expert, indices, seed, [dart, writer], executed=dart.executed).run()
    finally:
        env.close()
    successes = [r.success for r in results]
    summary = {"env_id": env_id, "episodes": episodes, "success_rate": float(np.mean(successes)), "policy": policy,
               "attempted": len(results), "successes_only": successes_only}  # fmt: skip
    write_json(out / "summary.json", summary)
    return summary
