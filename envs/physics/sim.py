"""A batch of simulations of one model, stepped one control period per call through ``mujoco.batch``."""

from __future__ import annotations

import mujoco
import numpy as np
from mujoco.batch import MODEL_FIELDS, Batch, SimulationError

#: MjData fields every task may read; bound once, live (n, ...) views afterwards.
BOUND_FIELDS = (
    "qpos",
    "qvel",
    "ctrl",
    "time",
    "xpos",
    "xquat",
    "xmat",
    "site_xpos",
    "site_xmat",
    "site_xquat",
    "sensordata",
    "actuator_force",
    "xanchor",
    "xaxis",
    "qfrc_bias",
)


def joint_addresses(model: mujoco.MjModel, name: str) -> tuple[int, int]:
    """(first qpos index, first dof index) of the joint ``name``."""
    joint = model.joint(name).id
    return int(model.jnt_qposadr[joint]), int(model.jnt_dofadr[joint])


class Simulation:
    """``n`` simulations of ``model``; ``step`` advances all of them by one control period in one C call."""

    def __init__(self, model: mujoco.MjModel, num_sims: int, control_dt_s: float, num_threads: int = 0) -> None:
        substeps = control_dt_s / model.opt.timestep
        if abs(substeps - round(substeps)) > 1e-6 or round(substeps) < 1:
            raise ValueError(
                f"control period {control_dt_s} s is not a whole number of physics steps of {model.opt.timestep} s"
            )
        self.model = model
        self.num_sims = num_sims
        self.substeps = round(substeps)
        self.control_dt_s = control_dt_s
        self.batch = Batch(model, nsim=num_sims, nthread=num_threads or min(2, num_sims), persistent=True)
        self.home_key = model.key("home").id
        self._bound: dict[str, np.ndarray] = {}
        for name in BOUND_FIELDS:
            setattr(self, name, self.bound(name))
        self.all_ids = np.arange(num_sims)
        #: counts the calls that change the derived fields (forward, step, reset, a loaded state): a figure computed
        #: from them may be reused while it is unchanged
        self.generation = 0
        self._expanded: dict[str, np.ndarray] = {}
        self._expanded_names: list[str] | None = None
        self._const_set = False

    # The bound arrays above are attributes: sim.qpos, sim.site_xpos, ...
    qpos: np.ndarray
    qvel: np.ndarray
    ctrl: np.ndarray
    time: np.ndarray
    xpos: np.ndarray
    xquat: np.ndarray
    xmat: np.ndarray
    site_xpos: np.ndarray
    site_xmat: np.ndarray
    site_xquat: np.ndarray
    sensordata: np.ndarray
    actuator_force: np.ndarray
    xanchor: np.ndarray
    xaxis: np.ndarray
    qfrc_bias: np.ndarray  # gravity and Coriolis forces of the current state (the step ends at mjSTAGE_VEL)

    def bound(self, name: str) -> np.ndarray:
        """Any MjData field as a live (n, ...) view, bound once (binding costs microseconds; tasks read some
        every step)."""
        view = self._bound.get(name)
        if view is None:
            view = self._bound[name] = self.batch.bind(name)
        return view

    def per_sim_model_field(self, name: str) -> np.ndarray:
        """A model field (``body_mass``, ``geom_friction``, ...) given per-simulation values, live (n, ...)."""
        if name not in self._expanded:
            self._expanded[name] = self.batch.expand(name)
            self._expanded_names = None
        return self._expanded[name]

    def set_const(self, ids: np.ndarray) -> None:
        """Recompute the model's derived constants (masses, inertias, ...) of ``ids`` after their per-simulation
        values changed; the first call expands the fields it computes."""
        self.batch.set_const(ids)
        if not self._const_set:
            self._const_set = True
            self._expanded_names = None

    def per_sim_model_fields(self) -> dict[str, np.ndarray]:
        """Every model field that holds per-simulation values, read-only (n, ...), in name order.

        Which fields are expanded changes only through ``per_sim_model_field`` and ``set_const``, so the scan
        over all of MuJoCo's model fields (a millisecond) runs again only after one of them expanded a field."""
        if self._expanded_names is None:
            self._expanded_names = [n for n in sorted(MODEL_FIELDS) if self.batch.expanded(n) is not None]
        return {name: self.batch.expanded(name) for name in self._expanded_names}

    def set_body_mass(self, ids: np.ndarray, body: int | np.ndarray, mass_kg: np.ndarray) -> None:
        """Give ``body`` (one body or several) a per-simulation mass; its inertia scales with it (same shape, same
        density field). ``mass_kg``: (len(ids),), the same for every body, or (len(ids), bodies).

        A light part with its compiled inertia would let the 70 N jaws sink into it, so mass never changes alone.
        """
        bodies = np.atleast_1d(body)
        mass = np.asarray(mass_kg, dtype=float).reshape(len(ids), -1)  # (k, 1) or (k, bodies)
        scale = mass / self.model.body_mass[bodies]  # (k, bodies)
        rows = (np.asarray(ids)[:, None], bodies[None])
        self.per_sim_model_field("body_mass")[rows] = mass
        self.per_sim_model_field("body_inertia")[rows] = scale[..., None] * self.model.body_inertia[bodies]

    def reset_to_home(self, ids: np.ndarray) -> None:
        """Reset ``ids`` to the home keyframe without computing anything; call ``forward`` after writing state."""
        self.generation += 1
        self.batch.reset(ids, keyframe=self.home_key, stage=mujoco.mjtStage.mjSTAGE_NONE)

    def forward(self, ids: np.ndarray, stage: mujoco.mjtStage = mujoco.mjtStage.mjSTAGE_ACC) -> None:
        """MuJoCo's forward computation for ``ids`` up to ``stage`` (all of it by default; positions alone where
        only where things are is needed)."""
        self.generation += 1
        self.batch.forward(ids, stage=stage)

    def step(self) -> np.ndarray:
        """Advance every simulation by one control period; return a (n,) mask of unstable simulations.

        A simulation is unstable when MuJoCo raised an error in it, when its state is non-finite, or when
        MuJoCo's own divergence guard reset it mid-step (that reset clears the controls and rewinds the clock).
        """
        self.generation += 1
        expected_time = self.time + self.substeps * self.model.opt.timestep
        controls = self.ctrl.copy()
        unstable = np.zeros(self.num_sims, dtype=bool)
        try:
            self.batch.step(nstep=self.substeps, stage=mujoco.mjtStage.mjSTAGE_VEL)
        except SimulationError as error:
            unstable[np.asarray(error.ids, dtype=int)] = True
        unstable |= np.abs(self.time - expected_time) > 1e-6
        unstable |= (self.ctrl != controls).any(axis=1)
        unstable |= ~np.isfinite(self.qpos).all(axis=1) | ~np.isfinite(self.qvel).all(axis=1)
        return unstable

    def state(self, sim_id: int) -> np.ndarray:
        """The full physics state (``mjSTATE_INTEGRATION``) of one simulation, for recording and replay.

        The batch keeps every simulation as exactly this row, so a copy of the row is ``mj_getState``.
        """
        return self.batch.state[sim_id].copy()

    def states(self) -> np.ndarray:
        """Every simulation's state row, (n, S), as a copy."""
        return self.batch.state.copy()

    def set_state(self, sim_id: int, state: np.ndarray) -> None:
        """Load a recorded ``mjSTATE_INTEGRATION`` row; call ``forward`` before reading derived fields."""
        state = np.asarray(state, dtype=np.float64)
        if state.shape != self.batch.state.shape[1:]:
            expected = self.batch.state.shape[1:]
            raise ValueError(f"state has shape {state.shape}, expected {expected} (mjSTATE_INTEGRATION of this model)")
        self.generation += 1
        self.batch.state[sim_id] = state
