"""One episode's safety summary from its recorded (flattened) info arrays."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from embodia.envs.safety import iso15066

PREFIX = "safety/"


def summarize_episode(info: Mapping[str, np.ndarray], control_dt_s: float = 0.05, limit_scale: float = 1.0) -> dict:
    """Peak force and pressure per region, time over the quasi-static limit (s) and transient violations.

    ``info`` holds one episode's flattened info arrays, shape (T+1,): ``safety/force_n/<region>``,
    ``safety/pressure_n_per_cm2/<region>``, ``safety/max_contact_force_n``, ``safety/transient_exceeded``, ...
    A transient violation is counted once per onset (a step where it holds after a step where it did not).
    """
    if not control_dt_s > 0:
        raise ValueError(f"control_dt_s={control_dt_s!r} must be positive")
    peak_force, peak_pressure, seconds_over = {}, {}, {}
    over_any = None
    for region in iso15066.REGIONS:
        force = np.asarray(info.get(f"{PREFIX}force_n/{region.name}", np.zeros(1)), dtype=float)
        pressure = np.asarray(info.get(f"{PREFIX}pressure_n_per_cm2/{region.name}", np.zeros(1)), dtype=float)
        peak_force[region.name] = float(force.max(initial=0.0))
        peak_pressure[region.name] = float(pressure.max(initial=0.0))
        over = force > region.quasi_static_force_n * limit_scale
        seconds_over[region.name] = float(over.sum() * control_dt_s)
        over_any = over if over_any is None or len(over_any) != len(over) else over_any | over
    transient = np.asarray(info.get(f"{PREFIX}transient_exceeded", np.zeros(1, dtype=bool)), dtype=bool)
    onsets = int(transient[0]) + int((transient[1:] & ~transient[:-1]).sum()) if len(transient) else 0
    speed = np.asarray(info.get(f"{PREFIX}speed_limit_exceeded", np.zeros(1, dtype=bool)), dtype=bool)
    peak = np.asarray(info.get(f"{PREFIX}max_contact_force_n", np.zeros(1)), dtype=float)
    return {
        "peak_max_contact_force_n": float(peak.max(initial=0.0)),
        "peak_force_n": peak_force,
        "peak_pressure_n_per_cm2": peak_pressure,
        "time_over_quasi_static_s": float(over_any.sum() * control_dt_s) if over_any is not None else 0.0,
        "time_over_quasi_static_s_by_region": seconds_over,
        "transient_violations": onsets,
        "speed_limit_exceeded_steps": int(speed.sum()),
    }
