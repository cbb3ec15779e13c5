"""ISO/TS 15066:2016 body regions with their biomechanical limits and two-body-model constants: the one table.

Source: ISO/TS 15066:2016 Annex A, Table A.2 (permissible quasi-static force and pressure, per body region) and
Table A.3 (effective mass and spring constant of each region). Transient limits are twice the quasi-static ones
(multipliers P_T = F_T = 2) except for the skull and forehead and the face, where the standard permits no transient
contact (Clause A.3.2): their transient limit is ``nan`` and any contact there counts as a transient violation.
Pressure is the lowest (most protective) specific area of the region. The values are for healthy adults; the
standard has no scaling for older people."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BodyRegion:
    name: str
    quasi_static_force_n: float
    transient_force_n: float  # nan: transient contact not permitted
    quasi_static_pressure_n_per_cm2: float
    transient_pressure_n_per_cm2: float
    spring_constant_n_per_mm: float
    effective_mass_kg: float

    @property
    def transient_permitted(self) -> bool:
        return bool(np.isfinite(self.transient_force_n))


def _region(name: str, force_n: float, pressure: float, k_n_per_mm: float, mass_kg: float, transient=True):
    factor = 2.0 if transient else np.nan
    return BodyRegion(name, force_n, factor * force_n, pressure, factor * pressure, k_n_per_mm, mass_kg)


REGIONS: tuple[BodyRegion, ...] = (
    _region("skull_forehead", 130.0, 110.0, 150.0, 4.4, transient=False),  # temple 110 N/cm2
    _region("face", 65.0, 110.0, 75.0, 4.4, transient=False),  # masticatory muscle
    _region("neck", 150.0, 140.0, 50.0, 1.2),  # neck muscle
    _region("back_shoulders", 210.0, 160.0, 35.0, 40.0),  # shoulder joint
    _region("chest", 140.0, 120.0, 25.0, 40.0),  # sternum
    _region("abdomen", 110.0, 140.0, 10.0, 40.0),
    _region("pelvis", 180.0, 210.0, 25.0, 40.0),
    _region("upper_arm", 150.0, 190.0, 30.0, 3.0),  # deltoid (upper arm and elbow)
    _region("lower_arm", 160.0, 180.0, 40.0, 2.0),  # forearm muscle, arm nerve (lower arm and wrist)
    _region("hand", 140.0, 190.0, 75.0, 0.6),  # back of the non-dominant hand (hand and fingers)
    _region("thigh", 220.0, 220.0, 50.0, 75.0),  # kneecap (thigh and knee)
    _region("lower_leg", 130.0, 210.0, 60.0, 75.0),  # calf muscle
)
REGION_NAMES: tuple[str, ...] = tuple(r.name for r in REGIONS)
BY_NAME: dict[str, BodyRegion] = {r.name: r for r in REGIONS}


def region(name: str) -> BodyRegion:
    if name not in BY_NAME:
        raise ValueError(f"unknown ISO/TS 15066 body region {name!r}; valid: {', '.join(REGION_NAMES)}")
    return BY_NAME[name]


def limit_array(field: str) -> np.ndarray:
    """One field of every region, in ``REGION_NAMES`` order."""
    return np.array([getattr(r, field) for r in REGIONS], dtype=float)


def permissible_speed_m_s(
    region_name: str, robot_moving_mass_kg: float | np.ndarray, payload_kg: float | np.ndarray = 0.0
) -> np.ndarray:
    """The largest relative speed at which a transient contact stays within the region's transient force limit.

    ISO/TS 15066 A.3 two-body model: reduced mass mu = (1/m_H + 1/m_R)^-1 with m_R = M/2 + m_L, and
    v_max = F_T / sqrt(mu k). Zero where the standard permits no transient contact (skull, face).
    """
    r = region(region_name)
    if not r.transient_permitted:
        return np.zeros(np.broadcast(np.asarray(robot_moving_mass_kg), np.asarray(payload_kg)).shape)
    robot_mass = np.asarray(robot_moving_mass_kg, dtype=float) / 2.0 + np.asarray(payload_kg, dtype=float)
    reduced = 1.0 / (1.0 / r.effective_mass_kg + 1.0 / robot_mass)
    return r.transient_force_n / np.sqrt(reduced * r.spring_constant_n_per_mm * 1000.0)
