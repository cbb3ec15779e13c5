"""The person's own motion over a batch: posture servo targets, impairments, tremor, drift and head turns.

All randomness is drawn at episode start from the simulation's seeded generator (a whole episode of drift
and head-turn targets at once), so an episode is reproducible from its seed and independent of the batch.
- Hand drift: an Ornstein-Uhlenbeck process (time constant ``DRIFT_TIME_CONSTANT_S``) on the right shoulder
  yaw, shoulder flexion and elbow targets, with a stationary spread of ``hand_drift_m`` at the hand.
- Voluntary head turns: Poisson events at ``head_turn_rate_hz``; each picks a new neck rotation target within
  ``HEAD_TURN_MAX_RAD`` of the rest posture, which the target follows with ``HEAD_TURN_TIME_CONSTANT_S``.
- Tremor: the body's harmonic oscillators (see ``body.py``) get their frequency (stiffness), amplitude and
  phase here; MuJoCo integrates them every physics step.
- Muscles hold against gravity where a real person does (seated: every hinge; lying: none, see ``body.py``):
  the servo target is offset by the gravity torque the joint carries over its stiffness, the torque taken from
  MuJoCo's ``qfrc_bias`` of the state at the start of the control step.
- Weakness scales the servo gains; limited range of motion scales the joint ranges (per simulation; the body's
  size and mass are ``Person``'s, through ``shape.py``).
"""

from __future__ import annotations

from itertools import accumulate

import mujoco
import numpy as np

from embodia.envs.human import anthropometry
from embodia.envs.human.body import JOINT_NAMES, JOINTS, OSCILLATOR_MASS_KG, HumanBody, hand_lever_m
from embodia.envs.human.config import HumanConfig
from embodia.envs.physics.sim import Simulation

DRIFT_TIME_CONSTANT_S = 2.0
DRIFT_JOINTS = ("right_shoulder_yaw", "right_shoulder_flexion", "right_elbow_flexion")
HEAD_TURN_MAX_RAD = 0.6
HEAD_TURN_TIME_CONSTANT_S = 0.5


class HumanMotion:
    """Drives one person in every simulation of a batch."""

    def __init__(self, body: HumanBody, episode_steps: int, control_dt_s: float) -> None:
        self.body = body
        self.steps = episode_steps + 1
        self.dt = control_dt_s
        self.drift_cols = np.array([JOINT_NAMES.index(j) for j in DRIFT_JOINTS])
        self.neck_col = JOINT_NAMES.index("neck_rotation")

    def bind(self, model: mujoco.MjModel, num_sims: int) -> None:
        b = self.body
        self.actuators = np.array([model.actuator(b.actuators[j]).id for j in JOINT_NAMES])
        self.joint_ids = np.array([model.joint(b.joints[j]).id for j in JOINT_NAMES])
        self.qpos_adr = model.jnt_qposadr[self.joint_ids]
        self.dof_adr = model.jnt_dofadr[self.joint_ids]
        self.adult_range = np.array([JOINTS[j][0] for j in JOINT_NAMES])
        self.stiffness = np.array([JOINTS[j][1] for j in JOINT_NAMES])
        self.damping = np.array([JOINTS[j][2] for j in JOINT_NAMES])
        self.osc_joint = {s: model.joint(name).id for s, name in b.oscillators.items()}
        self.osc_qpos = {s: model.jnt_qposadr[j] for s, j in self.osc_joint.items()}
        self.osc_dof = {s: model.jnt_dofadr[j] for s, j in self.osc_joint.items()}
        self.holds = b.holds_against_gravity
        n = num_sims
        self.base_target = np.tile(b.posture_target_array(), (n, 1))
        self.range = np.tile(self.adult_range, (n, 1, 1))
        self.drift = np.zeros((n, self.steps, len(DRIFT_JOINTS)))
        self.head = np.zeros((n, self.steps))
        self.step_index = np.zeros(n, dtype=np.int64)
        self.params: dict[str, np.ndarray] = {k: np.zeros(n) for k in HumanConfig().numeric()}
        self.stature_m = np.zeros(n)

    def initialize(
        self,
        sim: Simulation,
        ids: np.ndarray,
        rngs: list[np.random.Generator],
        people: list[HumanConfig],
        targets: np.ndarray,
    ) -> None:
        """Start episodes ``ids`` for ``people`` holding posture ``targets`` (len(ids), joints) in rad."""
        for k, (sim_id, person) in enumerate(zip(ids, people, strict=True)):
            for key, value in person.numeric().items():
                self.params[key][sim_id] = value
            self.stature_m[sim_id] = anthropometry.stature_m(person.sex, person.stature_percentile)
            self.drift[sim_id], self.head[sim_id] = self._sample_processes(rngs[k], person, self.stature_m[sim_id])
        rom = self.params["rom_scale"][ids]
        self.range[ids] = self.adult_range[None] * rom[:, None, None]
        sim.per_sim_model_field("jnt_range")[np.ix_(ids, self.joint_ids)] = self.range[ids]
        targets = np.clip(targets, self.range[ids, :, 0], self.range[ids, :, 1])
        self.base_target[ids] = targets
        strength = self.params["strength_scale"][ids][:, None]
        gain = sim.per_sim_model_field("actuator_gainprm")
        bias = sim.per_sim_model_field("actuator_biasprm")
        gain[np.ix_(ids, self.actuators, [0])] = (self.stiffness * strength)[:, :, None]
        bias[np.ix_(ids, self.actuators, [1])] = -(self.stiffness * strength)[:, :, None]
        bias[np.ix_(ids, self.actuators, [2])] = -(self.damping * strength)[:, :, None]
        sim.qpos[np.ix_(ids, self.qpos_adr)] = targets
        sim.qvel[np.ix_(ids, self.dof_adr)] = 0.0
        self._start_tremor(sim, ids, rngs)
        self.step_index[ids] = 0
        self._write_targets(sim, ids)

    def _sample_processes(
        self, rng: np.random.Generator, person: HumanConfig, stature_m: float
    ) -> tuple[np.ndarray, np.ndarray]:
        decay = float(np.exp(-self.dt / DRIFT_TIME_CONSTANT_S))
        lengths = anthropometry.segment_lengths_m(stature_m)
        spread_rad = person.hand_drift_m / (lengths["upper_arm"] + lengths["forearm"])
        noise = rng.standard_normal((self.steps, len(DRIFT_JOINTS)))
        innovation = spread_rad * np.sqrt(1.0 - decay**2)
        shocks = innovation * noise
        # the recurrence in Python floats: the same IEEE operations as numpy's, without a numpy call per step
        yaw, flexion, elbow = (spread_rad * noise[0]).tolist()  # the three DRIFT_JOINTS
        path = [yaw, flexion, elbow]  # flat: numpy reads a list of floats 4x as fast as a list of tuples
        for yaw_shock, flexion_shock, elbow_shock in shocks[1:].tolist():
            yaw, flexion, elbow = decay * yaw + yaw_shock, decay * flexion + flexion_shock, decay * elbow + elbow_shock
            path += (yaw, flexion, elbow)
        drift = np.array(path).reshape(self.steps, len(DRIFT_JOINTS))
        events = rng.uniform(size=self.steps) < person.head_turn_rate_hz * self.dt
        goals = rng.uniform(-HEAD_TURN_MAX_RAD, HEAD_TURN_MAX_RAD, size=self.steps) * person.rom_scale
        follow = float(1.0 - np.exp(-self.dt / HEAD_TURN_TIME_CONSTANT_S))
        events[0] = False  # the head starts at rest, its goal 0 until the first turn
        head = np.zeros(self.steps)  # at rest until the first turn: 0 + follow * (0 - 0) stays exactly 0
        turns = np.flatnonzero(events)
        if turns.size:
            latest = np.maximum.accumulate(np.where(events, np.arange(self.steps), 0))
            goal = np.where(latest > 0, goals[latest], 0.0)  # each step's goal: the latest turn's
            first = int(turns[0])
            path = accumulate(goal[first:].tolist(), lambda prev, g: prev + follow * (g - prev), initial=0.0)
            head[first:] = list(path)[1:]
        return drift, head

    def _start_tremor(self, sim: Simulation, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        stiffness = sim.per_sim_model_field("jnt_stiffness")
        phases = np.stack([rng.uniform(0.0, 2 * np.pi, size=2) for rng in rngs])
        for k, source in enumerate(("hand", "head")):
            if source not in self.osc_joint:
                continue
            hz = self.params[f"{source}_tremor_hz"][ids]
            if source == "hand":
                lever = hand_lever_m(self.stature_m[ids])
                amplitude = self.params["hand_tremor_amplitude_m"][ids] / lever
            else:
                amplitude = self.params["head_tremor_amplitude_rad"][ids]
            omega = 2 * np.pi * hz
            stiffness[ids, self.osc_joint[source]] = OSCILLATOR_MASS_KG * omega**2
            sim.qpos[ids, self.osc_qpos[source]] = amplitude * np.cos(phases[:, k])
            sim.qvel[ids, self.osc_dof[source]] = -amplitude * omega * np.sin(phases[:, k])

    def _write_targets(self, sim: Simulation, ids: np.ndarray, every: bool = False) -> None:
        """The servo targets of simulations ``ids``; ``every``: they are all of them (every control step), and
        plain slicing spares the index grids."""
        t = np.minimum(self.step_index[ids], self.steps - 1)
        target = self.base_target[ids].copy()
        target[:, self.drift_cols] += self.drift[ids, t]
        target[:, self.neck_col] += self.head[ids, t]
        target = np.clip(target, self.range[ids, :, 0], self.range[ids, :, 1])
        rows = slice(None) if every else np.asarray(ids)[:, None]
        if self.holds:  # the stiffness is the model's own (a replay restores it with the model values)
            stiffness = sim.per_sim_model_field("actuator_gainprm")[rows, self.actuators, 0]
            target += sim.qfrc_bias[rows, self.dof_adr] / stiffness
        sim.ctrl[rows, self.actuators] = target

    def advance(self, sim: Simulation) -> None:
        """Before a control step: move every simulation's servo targets one step along its processes."""
        self.step_index += 1
        self._write_targets(sim, sim.all_ids, every=True)

    def info(self) -> dict[str, np.ndarray]:
        """Who the person is in each simulation (``info["human"]``): every ``HumanConfig`` parameter, and the
        stature in metres."""
        return {**{k: v.copy() for k, v in self.params.items()}, "stature_m": self.stature_m.copy()}
