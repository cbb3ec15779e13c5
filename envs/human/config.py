"""Who the person is: ``HumanConfig`` (one person) and ``HumanRanges`` (what a task randomizes per episode).

Ranges and their sources (../shared/docs/domain-facts.md section 4):
- stature and mass percentiles 1-99 of Japanese adults aged 75+ (MHLW 2025);
- range-of-motion scale 0.5-1.0 of adult norms (Assistive Gym's "limits" impairment, 0.5-1.0; older adults lose
  20-30 %, Bassey et al. 1989);
- strength (holding stiffness) scale 0.25-1.0 (Assistive Gym's "weakness" impairment);
- tremor 3-12 Hz, covering physiological (8-12 Hz), essential (4-12 Hz, ~6 Hz at age 68, Elble 2000) and
  parkinsonian (3-8 Hz) tremor; hand amplitude up to 20 mm (TETRAS rating 3-4), head up to 0.25 rad (14.5 deg
  is Elble et al. 2016's rating 4). Larger amplitudes or faster tremor would drive the joint servos beyond
  what a 2 ms physics step integrates stably, so they are refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from embodia.envs.human import anthropometry

SEXES = ("female", "male")
POSTURES = ("seated_chair", "seated_wheelchair", "supine_bed")

PERCENTILE_RANGE = (1.0, 99.0)
BODY_MASS_RANGE_KG = (30.0, 150.0)
ROM_SCALE_RANGE = (0.5, 1.0)
STRENGTH_SCALE_RANGE = (0.25, 1.0)
TREMOR_HZ_RANGE = (3.0, 12.0)
HAND_TREMOR_M_RANGE = (0.0, 0.02)
HEAD_TREMOR_RAD_RANGE = (0.0, 0.25)
HEAD_RAISE_RAD_RANGE = (0.0, 1.0)
DRIFT_M_RANGE = (0.0, 0.05)
HEAD_TURN_RATE_HZ_RANGE = (0.0, 1.0)


def _check(name: str, value: float, valid: tuple[float, float], unit: str = "") -> None:
    low, high = valid
    if not (np.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name}={value!r} is out of range; valid: {low} to {high}{unit}")


@dataclass(frozen=True)
class HumanConfig:
    """One person: body, posture and impairments. Validated on construction."""

    sex: str = "female"
    stature_percentile: float = 50.0
    body_mass_kg: float = 49.3
    posture: str = "seated_chair"
    head_raise_rad: float = 0.0  # supine_bed only: the bed's backrest angle
    rom_scale: float = 1.0  # 1: adult norms; lower: reduced range of motion
    strength_scale: float = 1.0  # scales every holding stiffness (weakness)
    hand_tremor_hz: float = 6.0
    hand_tremor_amplitude_m: float = 0.0  # palm displacement amplitude
    head_tremor_hz: float = 6.0
    head_tremor_amplitude_rad: float = 0.0
    hand_drift_m: float = 0.0  # standard deviation of the slow hand drift
    head_turn_rate_hz: float = 0.0  # mean rate of voluntary head turns

    def __post_init__(self) -> None:
        if self.sex not in SEXES:
            raise ValueError(f"sex={self.sex!r} is not valid; valid: {', '.join(SEXES)}")
        if self.posture not in POSTURES:
            raise ValueError(f"posture={self.posture!r} is not valid; valid: {', '.join(POSTURES)}")
        _check("stature_percentile", self.stature_percentile, PERCENTILE_RANGE)
        _check("body_mass_kg", self.body_mass_kg, BODY_MASS_RANGE_KG, " kg")
        _check("head_raise_rad", self.head_raise_rad, HEAD_RAISE_RAD_RANGE, " rad")
        _check("rom_scale", self.rom_scale, ROM_SCALE_RANGE)
        _check("strength_scale", self.strength_scale, STRENGTH_SCALE_RANGE)
        _check("hand_tremor_hz", self.hand_tremor_hz, TREMOR_HZ_RANGE, " Hz")
        _check("head_tremor_hz", self.head_tremor_hz, TREMOR_HZ_RANGE, " Hz")
        _check("hand_tremor_amplitude_m", self.hand_tremor_amplitude_m, HAND_TREMOR_M_RANGE, " m")
        _check("head_tremor_amplitude_rad", self.head_tremor_amplitude_rad, HEAD_TREMOR_RAD_RANGE, " rad")
        _check("hand_drift_m", self.hand_drift_m, DRIFT_M_RANGE, " m")
        _check("head_turn_rate_hz", self.head_turn_rate_hz, HEAD_TURN_RATE_HZ_RANGE, " Hz")

    def numeric(self) -> dict[str, float]:
        """Every parameter as a number (sex and posture as their index), for ``info["human"]``."""
        values = asdict(self)
        values["sex"] = SEXES.index(self.sex)
        values["posture"] = POSTURES.index(self.posture)
        return {k: float(v) for k, v in values.items()}


@dataclass(frozen=True)
class HumanRanges:
    """Per-episode randomization of the person's parameters; a task keeps one in its config.

    The body's *structure* (sex, stature, posture) is fixed per scene (``structure``: segment sizes are the
    model's geometry); per episode the task draws the body mass (segment masses and inertias scale with it) and
    the impairments, which live in the simulation state and per-simulation model fields.
    """

    structure: HumanConfig = HumanConfig()
    body_mass_percentile: tuple[float, float] = (10.0, 90.0)  # of the structure's sex, aged 75+
    rom_scale: tuple[float, float] = (0.7, 1.0)
    strength_scale: tuple[float, float] = (0.5, 1.0)
    tremor: bool = True
    tremor_probability: float = 0.5
    hand_tremor_hz: tuple[float, float] = (4.0, 8.0)
    hand_tremor_amplitude_m: tuple[float, float] = (0.0005, 0.003)
    head_tremor_amplitude_rad: tuple[float, float] = (0.003, 0.03)
    hand_drift_m: tuple[float, float] = (0.0, 0.006)
    head_turn_rate_hz: tuple[float, float] = (0.0, 0.2)

    def __post_init__(self) -> None:
        if isinstance(self.structure, dict):  # from a recorded config
            object.__setattr__(self, "structure", HumanConfig(**self.structure))
        for name, valid in (
            ("body_mass_percentile", PERCENTILE_RANGE),
            ("rom_scale", ROM_SCALE_RANGE),
            ("strength_scale", STRENGTH_SCALE_RANGE),
            ("hand_tremor_hz", TREMOR_HZ_RANGE),
            ("hand_tremor_amplitude_m", HAND_TREMOR_M_RANGE),
            ("head_tremor_amplitude_rad", HEAD_TREMOR_RAD_RANGE),
            ("hand_drift_m", DRIFT_M_RANGE),
            ("head_turn_rate_hz", HEAD_TURN_RATE_HZ_RANGE),
        ):
            low, high = getattr(self, name)
            _check(f"{name} (low)", low, valid)
            _check(f"{name} (high)", high, valid)
            if low > high:
                raise ValueError(f"{name}=({low}, {high}): low exceeds high")
        _check("tremor_probability", self.tremor_probability, (0.0, 1.0))

    def sample(self, rng: np.random.Generator) -> HumanConfig:
        """One person: the fixed structure with impairments drawn from ``rng``."""
        s = self.structure
        mass_kg = anthropometry.body_mass_kg(s.sex, rng.uniform(*self.body_mass_percentile))
        trembles = self.tremor and rng.uniform() < self.tremor_probability
        hand_hz = rng.uniform(*self.hand_tremor_hz)
        return HumanConfig(
            sex=s.sex,
            stature_percentile=s.stature_percentile,
            body_mass_kg=float(np.clip(mass_kg, *BODY_MASS_RANGE_KG)),
            posture=s.posture,
            head_raise_rad=s.head_raise_rad,
            rom_scale=rng.uniform(*self.rom_scale),
            strength_scale=rng.uniform(*self.strength_scale),
            hand_tremor_hz=hand_hz,
            hand_tremor_amplitude_m=rng.uniform(*self.hand_tremor_amplitude_m) if trembles else 0.0,
            head_tremor_hz=hand_hz,  # essential tremor: one oscillator frequency drives hand and head
            head_tremor_amplitude_rad=rng.uniform(*self.head_tremor_amplitude_rad) if trembles else 0.0,
            hand_drift_m=rng.uniform(*self.hand_drift_m),
            head_turn_rate_hz=rng.uniform(*self.head_turn_rate_hz),
        )
