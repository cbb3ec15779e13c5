"""Drinking: bring a cup of water to the mouth of a seated person whose head moves, tilt it so they drink.

Scene: as Feeding (``envs/tasks/care/feeding.py``), with a spouted feeding cup fixed to the hand instead of a
spoon (Assistive Gym's drinking task likewise welds the cup to the end effector; spouted cups are what people
with a weak grip or swallowing difficulties are given). The water is 20 frictionless spheres of 5 mm radius
(0.3-0.7 g each; ``condim`` 1, so they flow) in one layer, a coarse liquid that keeps a step fast. The cup has
25 mm walls and, on the side towards the person, a 12 mm lip with a 15 mm spout channel: it pours at a moderate
tilt (the expert tips it 65 degrees about the lip, held 5 mm below and 2 cm in front of the mouth), so the hand
never rises in front of the face and the cup's tall corners stay clear of it while it tips (a plain 4 cm cup
tipped 110 degrees brought the wrist against the forehead; tipped 65 degrees, its corners touched the face).

Randomization per episode: as Feeding (chair place, head tilt and turn, the person's sex, stature, mass and impairments,
head tremor and voluntary head turns), and the water's place (+-1 mm) and mass.

Success: at least ``required_share`` of the water (default 0.5: 10 of 20 spheres; Assistive Gym asks for 75 %
of 64 particles within 3 cm of the mouth, Erickson et al. 2020; here a sphere counts only inside the mouth volume)
inside the mouth, the cup's rim ``clearance_m`` (10 cm) away from the mouth and the
cup upright again (tilted under 30 degrees). Fail: with ``terminate_on_safety_violation``, a contact force on the
person over an ISO/TS 15066 limit; spilt water (fallen 12 cm below the mouth) costs reward only, as in Feeding.
Safety, reward terms and observations: as Feeding (``envs/tasks/care/mouth.py``), with the cup's rim for the
spoon's tip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import tableware
from embodia.envs.tasks.care.mouth import MouthDelivery, MouthDeliveryConfig
from embodia.envs.tasks.registry import register_task

GRID_SPACING_M = 0.0104


@dataclass(frozen=True)
class DrinkingConfig(MouthDeliveryConfig):
    episode_steps: int = 240
    required_share: float = 0.5  # share of the water delivered into the mouth for success
    particle_mass_kg: tuple[float, float] = (0.0003, 0.0007)
    particle_jitter_m: float = 0.001


@register_task("embodia/Drinking-v0")
class Drinking(MouthDelivery):
    Config = DrinkingConfig
    description = "elder care: bring a cup of water to a seated person's moving mouth and tilt it so they drink"
    vessel = tableware.CUP
    particle_prefix = "water"
    particle_count = 20
    particle_radius_m = 0.005
    particle_condim = 1
    particle_rgba = (0.35, 0.6, 0.95, 0.9)
    vessel_rgba = (0.95, 0.95, 0.92, 1.0)
    upright_tilt_rad = np.deg2rad(30.0)

    def particle_layout(self) -> np.ndarray:
        x = self.vessel.center_x_m + GRID_SPACING_M * (np.arange(5) - 2.0)
        y = GRID_SPACING_M * (np.arange(4) - 1.5)
        grid_x, grid_y = np.meshgrid(x, y, indexing="ij")
        return np.column_stack([grid_x.ravel(), grid_y.ravel()])

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        subject, obj, possessive = self.person.pronouns(sim_id)
        return (
            f"give {obj} a drink of water",
            f"bring the cup to {possessive} lips and tilt it so {subject} can drink",
            f"help {obj} drink from the cup",
            f"hold the cup of water to {possessive} mouth and let {obj} sip",
            f"offer {obj} the water: carry the cup to {possessive} mouth and tip it gently",
        )
