"""Who the person is: ``HumanConfig`` (one person) and ``HumanRanges`` (what a task randomizes per episode).

Ranges and their sources:
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

from dataclasses import dataclass, fields

import numpy as np

from embodia.envs.human import anthropometry
from embodia.envs.validation import check_fields, option

SEXES = ("female", "male")
#: sex -> (subject, object, possessive) pronouns, for instructions about the person
PRONOUNS = {"female": ("she", "her", "her"), "male": ("he", "him", "his")}
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


@dataclass(frozen=True)
class HumanConfig:
    """One person: body, posture and impairments. Validated on construction (``check_fields``)."""

    sex: str = option("female", choices=SEXES)
    stature_percentile: float = option(50.0, valid=PERCENTILE_RANGE, doc="stature percentile of the sex, aged 75+")
    body_mass_kg: float = option(49.3, valid=BODY_MASS_RANGE_KG)
    posture: str = option("seated_chair", choices=POSTURES)
    head_raise_rad: float = option(0.0, valid=HEAD_RAISE_RAD_RANGE)  # supine_bed only: the bed's backrest angle
    rom_scale: float = option(1.0, valid=ROM_SCALE_RANGE)  # 1: adult norms; lower: reduced range of motion
    strength_scale: float = option(1.0, valid=STRENGTH_SCALE_RANGE)  # scales every holding stiffness (weakness)
    hand_tremor_hz: float = option(6.0, valid=TREMOR_HZ_RANGE)
    hand_tremor_amplitude_m: float = option(0.0, valid=HAND_TREMOR_M_RANGE)  # palm displacement amplitude
    head_tremor_hz: float = option(6.0, valid=TREMOR_HZ_RANGE)
    head_tremor_amplitude_rad: float = option(0.0, valid=HEAD_TREMOR_RAD_RANGE)
    hand_drift_m: float = option(0.0, valid=DRIFT_M_RANGE)  # standard deviation of the slow hand drift
    head_turn_rate_hz: float = option(0.0, valid=HEAD_TURN_RATE_HZ_RANGE)  # mean rate of voluntary head turns

    def __post_init__(self) -> None:
        check_fields(self)

    def numeric(self) -> dict[str, float]:
        """Every parameter as a number (sex and posture as their index), for ``info["human"]``."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # flat: asdict's deep copy costs 4x
        values["sex"] = SEXES.index(self.sex)
        values["posture"] = POSTURES.index(self.posture)
        return {k: float(v) for k, v in values.items()}


@dataclass(frozen=True)
class HumanRanges:
    """Per-episode randomization of the person's parameters; a task keeps one in its config.

    The posture (and the furniture with it) is fixed per scene (``structure``). Per episode the task draws the
    sex (one of ``sexes``), the stature (a whole percentile of that sex within ``stature_percentile``; the body's
    geometry and its furniture follow, ``shape.py``), the body mass (of the drawn sex; segment masses and
    inertias scale with it) and the impairments. All live in the simulation state and per-simulation model
    fields, so a recording holds them. Stature and mass are drawn independently. ``sexes=("female",)`` with
    ``stature_percentile=(50, 50)`` keeps one median woman in every episode.
    """

    #: the posture; its sex and stature are the person the model is compiled with, replaced every episode
    structure: HumanConfig = HumanConfig()
    sexes: tuple[str, ...] = option(SEXES, choices=SEXES, doc="the sexes drawn from, equally likely")
    #: stature percentile of the drawn sex, aged 75+ (MHLW 2025): 5-95 spans 1.38-1.59 m (women), 1.52-1.72 m (men)
    stature_percentile: tuple[float, float] = option((5.0, 95.0), valid=PERCENTILE_RANGE)
    body_mass_percentile: tuple[float, float] = option((10.0, 90.0), valid=PERCENTILE_RANGE)  # of the sex, 75+
    rom_scale: tuple[float, float] = option((0.7, 1.0), valid=ROM_SCALE_RANGE)
    strength_scale: tuple[float, float] = option((0.5, 1.0), valid=STRENGTH_SCALE_RANGE)
    tremor: bool = True  # False: nobody trembles
    tremor_probability: float = 0.5  # share of episodes whose person trembles
    hand_tremor_hz: tuple[float, float] = option((4.0, 8.0), valid=TREMOR_HZ_RANGE)
    hand_tremor_amplitude_m: tuple[float, float] = option((0.0005, 0.003), valid=HAND_TREMOR_M_RANGE)
    head_tremor_amplitude_rad: tuple[float, float] = option((0.003, 0.03), valid=HEAD_TREMOR_RAD_RANGE)
    hand_drift_m: tuple[float, float] = option((0.0, 0.006), valid=DRIFT_M_RANGE)
    head_turn_rate_hz: tuple[float, float] = option((0.0, 0.2), valid=HEAD_TURN_RATE_HZ_RANGE)

    def __post_init__(self) -> None:
        check_fields(self)  # a dict ``structure`` (a recorded config) becomes a HumanConfig
        if not self.sexes:
            raise ValueError(f"sexes={self.sexes!r} is empty; valid: one or more of {', '.join(SEXES)}")

    def sample(self, rng: np.random.Generator) -> HumanConfig:
        """One person: the structure's posture with sex, stature, mass and impairments drawn from ``rng``."""
        s = self.structure
        sex = self.sexes[int(rng.integers(len(self.sexes)))]
        stature_percentile = float(np.round(rng.uniform(*self.stature_percentile)))
        mass_kg = anthropometry.body_mass_kg(sex, rng.uniform(*self.body_mass_percentile))
        trembles = self.tremor and rng.uniform() < self.tremor_probability
        hand_hz = rng.uniform(*self.hand_tremor_hz)
        return HumanConfig(
            sex=sex,
            stature_percentile=stature_percentile,
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
