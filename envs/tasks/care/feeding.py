"""Feeding: carry food on a spoon to the mouth of a seated person whose head moves, tip it in, withdraw.

Scene: a Panda-class arm on a pedestal holds a spoon fixed to the hand (``envs/scene/tableware.py``: a flange
tool as on Obi and in Assistive Gym's feeding task; its handle sits between the jaws, the gripper action does
not move it). An older adult (``envs/human``) sits in a chair facing the arm. Three food pieces (spheres of
7 mm radius, 1-3 g, friction 0.3-0.7) start in the spoon's bowl (48 x 36 mm, 12 mm sides); the tip's lip is
2.5 mm high, so they stay in while the spoon is level and roll out over it when the spoon is tipped (the expert
tips it 50 degrees, the tip held 2 cm in front of the mouth).

Randomization per episode: the chair's place (``person_jitter_m``, +-3 cm), the head's resting tilt
(``neck_flexion_rad``, -0.1..0.15) and turn (``neck_rotation_rad``, +-0.2), the person's sex, stature, mass and
impairments (``human`` ranges: range of motion, strength, head tremor in half the episodes at 0.003-0.03 rad,
voluntary head turns of up to 0.6 rad at up to 0.2 per second), the food's place in the bowl (+-2 mm), mass and
friction. Assistive Gym's feeding task (Erickson et al. 2020) likewise randomizes the person (head yaw/pitch/roll
+-30 deg) and counts food particles that reach the mouth; it calls a task done at 75 % of 8 particles within 3 cm of
the mouth. Here a piece counts only inside the mouth volume, and 3 larger pieces keep a step cheap, so the default
share is 2 of 3 (``required_share``; 1.0 asks for all three).

The mouth (``envs/tasks/care/mouth.py``): a cavity on the head catches what passes the lips; the face's
collision shell stays closed to the robot and the spoon.
Success: at least ``required_share`` of the food (default 0.6: 2 of 3 pieces) inside the mouth and the spoon's
tip ``clearance_m`` (10 cm) away from the mouth. Fail: with ``terminate_on_safety_violation``, a contact force
on the person over an ISO/TS 15066 limit. Spilt food (fallen 12 cm below the mouth, out of the spoon and the
mouth) costs reward but does not end the episode; ``info["success_out_of_reach"]`` says when too much is spilt.
Safety: ``info["safety"]`` each step; ``safety_penalty`` adds the ``safety`` term (see ``CareTaskConfig``).
Reward (dense, terms in [0, 1], weights ``w_*``): approach (spoon tip to 2 cm in front of the lips), kept (share
of the food still in the spoon or the mouth), deliver (share in the mouth over the required share), withdraw,
success, and spill (share spilt, weight -2). Sparse reward: 1 on success.
Observations (``task_*``): mouth position and facing direction, the spoon tip and its offset to the mouth,
the bowl's up direction, and the shares of food in the spoon, in the mouth and spilt.
Contacts: the food has ``condim`` 3 and a 2 ms step; its pieces touch the robot, furniture, floor, each
other and the mouth cavity, not the person's skin geoms (``tableware.FOOD_CONTYPE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import tableware
from embodia.envs.tasks.care.mouth import MouthDelivery, MouthDeliveryConfig
from embodia.envs.tasks.registry import register_task


@dataclass(frozen=True)
class FeedingConfig(MouthDeliveryConfig):
    required_share: float = 0.6  # share of the food delivered into the mouth for success


@register_task("embodia/Feeding-v0")
class Feeding(MouthDelivery):
    Config = FeedingConfig
    description = "elder care: bring food on a spoon to a seated person's moving mouth, tip it in and withdraw"
    vessel = tableware.SPOON
    particle_prefix = "food"
    particle_count = 3
    particle_radius_m = 0.007
    particle_condim = 3
    particle_rgba = (0.92, 0.72, 0.25, 1.0)

    def particle_layout(self) -> np.ndarray:
        x = self.vessel.center_x_m + np.array([-0.0145, 0.0, 0.0145])
        return np.column_stack([x, np.zeros(3)])

    def instructions(self, sim: Simulation, sim_id: int) -> tuple[str, ...]:
        subject, obj, possessive = self.person.pronouns(sim_id)
        return (
            f"feed {obj} the spoonful of food",
            f"bring the spoon to {possessive} mouth and tip the food in",
            f"give {obj} a bite from the spoon",
            f"help {obj} eat: carry the food to {possessive} lips, gently, while {subject} moves {possessive} head",
            f"put the food on the spoon into {possessive} mouth and take the spoon away",
        )
