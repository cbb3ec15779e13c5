"""The person's articulated body, built with MjSpec from a ``HumanConfig`` for one posture.

Frames: the root, a free body, sits at the midpoint of the hip joints with +x out of the belly, +z up the trunk
and +y to the person's left. Pelvis and legs are rigid on the root in the posture's hip and knee angles; the trunk
(lumbar flexion), neck (flexion, rotation) and both arms (shoulder yaw, flexion and abduction, elbow flexion,
wrist flexion) are hinges held by position servos: the person holds a posture with a finite stiffness, so a push
moves the body a little and it returns. The body rests on its furniture: the seat, backrest, footrests or mattress
carry its whole weight through contacts, and a push on the person moves all of them.

Muscles, not an external hand, hold what a real person holds: seated, every hinge's servo adds the gravity
torque of the segments it carries (``HumanMotion``, from MuJoCo's ``qfrc_bias``), an internal torque whose reaction
goes down through the body to the seat; lying, nothing is held against gravity: trunk, head and arms rest on the
mattress and backrest, the servos only keeping the posture's shape (``HumanBody.holds_against_gravity``).

Every person geom belongs to one ISO/TS 15066 body region (``HumanBody.region_of_geom``). Person geoms touch the
robot, objects and furniture but not each other (contype/conaffinity bits); the safety monitor counts only the
robot's and the tools' contacts.

Tremor is physical, not a control-rate staircase: each tremor source is a lossless harmonic oscillator (a
hidden slide joint with stiffness ``mass * (2 pi f)^2``, frequency and amplitude set per simulation) whose
position is subtracted from the servoed joint through a fixed tendon, so the servo tracks posture + tremor at
the physics rate.

Holding stiffnesses are engineering estimates [ESTIMATE] of a relaxed older adult (no table in the sources);
joint ranges follow the adult norms of Assistive Gym's human model (Erickson et al. 2020).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

from embodia.envs.human import anthropometry
from embodia.envs.human.config import HumanConfig
from embodia.envs.scene.builder import GEOM, SceneBuilder
from embodia.envs.scene.contact_groups import PERSON_CONAFFINITY, PERSON_CONTYPE

#: joint -> (adult range in rad, holding stiffness N m/rad [ESTIMATE], servo damping N m s/rad)
JOINTS: dict[str, tuple[tuple[float, float], float, float]] = {
    "lumbar_flexion": ((-0.52, 1.31), 400.0, 40.0),
    "neck_flexion": ((-0.87, 0.87), 30.0, 3.0),
    "neck_rotation": ((-1.22, 1.22), 20.0, 2.0),
    **{
        f"{side}_{joint}": spec
        for side in ("right", "left")
        for joint, spec in {
            "shoulder_yaw": ((-1.57, 1.57), 60.0, 6.0),
            "shoulder_flexion": ((-0.7, 3.1), 60.0, 6.0),
            "shoulder_abduction": ((-0.3, 2.6), 60.0, 6.0),
            "elbow_flexion": ((0.0, 2.23), 40.0, 4.0),
            "wrist_flexion": ((-1.41, 1.57), 15.0, 1.0),
        }.items()
    },
}
JOINT_NAMES: tuple[str, ...] = tuple(JOINTS)
ARM_SEGMENTS = ("upper_arm", "forearm", "hand")
#: tremor source -> the joint it shakes
TREMOR_JOINTS = {"hand": "right_wrist_flexion", "head": "neck_rotation"}
OSCILLATOR_MASS_KG = 50.0  # heavy, so the servo's reaction barely disturbs the oscillation

#: joint targets (rad) of each posture before a task adjusts them
POSTURE_TARGETS: dict[str, dict[str, float]] = {
    "seated": {
        "lumbar_flexion": 0.05,
        "right_shoulder_flexion": 0.25,
        "left_shoulder_flexion": 0.25,
        "right_elbow_flexion": 1.15,
        "left_elbow_flexion": 1.15,
        "right_shoulder_abduction": -0.12,  # upper arms resting against the trunk
        "left_shoulder_abduction": -0.12,
    },
    "supine": {
        "right_shoulder_flexion": -0.25,  # extended towards the mattress, so the arms lie on it
        "left_shoulder_flexion": -0.25,
        "right_shoulder_abduction": -0.2,
        "left_shoulder_abduction": -0.2,
        "right_elbow_flexion": 0.2,
        "left_elbow_flexion": 0.2,
    },
}
SEATED_RECLINE_RAD = 0.1
PALM_LENGTH_FRACTION = 0.55  # of the hand's length; the fingers make the rest
PALM_OFFSET_M = 0.01  # the palm starts this far past the wrist


@dataclass
class HumanBody:
    """Names a task resolves after compile (all carry the person's prefix)."""

    name: str
    config: HumanConfig
    root: str
    joints: dict[str, str] = field(default_factory=dict)  # short name -> joint name
    actuators: dict[str, str] = field(default_factory=dict)  # short joint name -> actuator name
    oscillators: dict[str, str] = field(default_factory=dict)  # tremor source -> slide joint name
    sites: dict[str, str] = field(default_factory=dict)
    region_of_geom: dict[str, str] = field(default_factory=dict)
    segment_lengths_m: dict[str, float] = field(default_factory=dict)
    rest_targets: dict[str, float] = field(default_factory=dict)
    root_joint: str = ""  # the free joint of the root
    moving_bodies: list[str] = field(default_factory=list)  # every segment, the root included (mass per episode)
    holds_against_gravity: bool = True  # seated: muscles hold trunk, head and arms; lying: they rest

    def posture_target_array(self) -> np.ndarray:
        return np.array([self.rest_targets.get(j, 0.0) for j in JOINT_NAMES])


def root_pose(config: HumanConfig) -> tuple[np.ndarray, float]:
    """(root height above the supporting surface in m, pitch of the trunk in rad) for the posture."""
    radii = anthropometry.segment_radii_m(config.sex, stature(config))
    if config.posture == "supine_bed":
        return np.array([0.0, 0.0, 0.1 * stature(config) / 1.5]), -(np.pi / 2 - config.head_raise_rad)
    return np.array([0.0, 0.0, radii["thigh"]]), -SEATED_RECLINE_RAD


def hand_lever_m(stature_m: float) -> float:
    """Wrist to palm centre: converts a hand tremor's displacement into a wrist angle."""
    return PALM_LENGTH_FRACTION * anthropometry.LENGTH_FRACTION["hand"] * stature_m / 2 + PALM_OFFSET_M


def foot_radius_m(stature_m: float) -> float:
    return 0.035 * stature_m / 1.5


def seated_sole_drop_m(config: HumanConfig) -> float:
    """Seated with level thighs and plumb shanks: how far the soles are below the hip joints."""
    h = stature(config)
    shank = anthropometry.segment_lengths_m(h)["shank"]
    return shank - anthropometry.segment_radii_m(config.sex, h)["shank"] + foot_radius_m(h)


def stature(config: HumanConfig) -> float:
    return anthropometry.stature_m(config.sex, config.stature_percentile)


def add_human(builder: SceneBuilder, config: HumanConfig, name: str, pos, yaw: float) -> HumanBody:
    """Add the person as a free body with the hip midpoint at ``pos`` (world), facing ``yaw`` (the person's +x)."""
    h = stature(config)
    lengths = anthropometry.segment_lengths_m(h)
    radii = anthropometry.segment_radii_m(config.sex, h)
    masses = anthropometry.segment_masses_kg(config.body_mass_kg)
    _, pitch = root_pose(config)
    seated = config.posture != "supine_bed"
    quat = _quat_zy(yaw, pitch)
    body = HumanBody(name=name, config=config, root=name, segment_lengths_m=lengths, root_joint=f"{name}_root")
    body.holds_against_gravity = seated
    body.rest_targets = dict(POSTURE_TARGETS["seated" if seated else "supine"])

    def geom(parent: mujoco.MjsBody, part: str, region: str, **kwargs) -> None:
        geom_name = f"{name}_{part}"
        parent.add_geom(name=geom_name, contype=PERSON_CONTYPE, conaffinity=PERSON_CONAFFINITY, condim=3, **kwargs)
        body.region_of_geom[geom_name] = region

    def site(parent: mujoco.MjsBody, part: str, pos, **kwargs) -> None:
        parent.add_site(name=f"{name}_{part}", pos=list(pos), size=[0.01, 0.01, 0.01], group=4, **kwargs)
        body.sites[part] = f"{name}_{part}"

    def joint(parent: mujoco.MjsBody, short: str, axis) -> None:
        (low, high), _, damping = JOINTS[short]
        scale = config.rom_scale
        parent.add_joint(
            name=f"{name}_{short}",
            axis=list(axis),
            range=[low * scale, high * scale],
            damping=0.2 * damping,
            armature=0.01,
        )
        body.joints[short] = f"{name}_{short}"

    root = builder.world.add_body(name=name, pos=list(pos), quat=quat)
    root.add_freejoint(name=body.root_joint)
    _add_pelvis_and_legs(root, geom, h, lengths, radii, masses, seated, config)

    torso, shoulder_z, half_shoulder = _add_trunk(root, name, geom, joint, h, lengths, radii, masses)
    _add_neck_and_head(torso, name, geom, site, joint, h, lengths, radii, masses, shoulder_z)

    for side, sign in (("right", -1.0), ("left", 1.0)):
        _add_arm(
            torso,
            side,
            sign,
            [-0.01 * h, sign * half_shoulder, shoulder_z],
            h,
            lengths,
            radii,
            masses,
            geom,
            site,
            joint,
            body,
        )

    _add_servos(builder, body, config, h)
    body.moving_bodies = [name] + [
        f"{name}_{part}"
        for part in ("torso", "neck", *(f"{side}_{seg}" for side in ("right", "left") for seg in ARM_SEGMENTS))
    ]
    return body


def _add_trunk(root, name: str, geom, joint, h: float, lengths, radii, masses) -> tuple[mujoco.MjsBody, float, float]:
    """The torso on a lumbar hinge: abdomen, chest and shoulder girdle; (torso, shoulder height, half shoulder)."""
    lumbar_z = 0.06 * h
    shoulder_z = 0.345 * h - radii["thigh"] - lumbar_z  # in the torso frame
    half_shoulder = lengths["shoulder_width"] / 2
    torso = root.add_body(name=f"{name}_torso", pos=[-0.01 * h, 0, lumbar_z])
    joint(torso, "lumbar_flexion", [0, 1, 0])
    geom(
        torso,
        "abdomen",
        "abdomen",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.065 * h, 0.09 * h, 0.07 * h],
        pos=[0.005 * h, 0, 0.06 * h],
        mass=masses["abdomen"],
        material="cloth_top",
    )
    geom(
        torso,
        "chest",
        "chest",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.07 * h, 0.1 * h, 0.1 * h],
        pos=[0, 0, shoulder_z - 0.09 * h],
        mass=masses["thorax"],
        material="cloth_top",
    )
    geom(
        torso,
        "shoulders",
        "back_shoulders",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.032 * h, 0, 0],
        fromto=[-0.01 * h, -half_shoulder + 0.03 * h, shoulder_z, -0.01 * h, half_shoulder - 0.03 * h, shoulder_z],
        mass=0.5,
        material="cloth_top",
    )
    return torso, shoulder_z, half_shoulder


def _add_neck_and_head(torso, name: str, geom, site, joint, h: float, lengths, radii, masses, shoulder_z) -> None:
    """One rigid head on a two-hinge neck, with the mouth and eye sites the care tasks aim at."""
    neck = torso.add_body(name=f"{name}_neck", pos=[-0.01 * h, 0, shoulder_z + 0.015 * h])
    joint(neck, "neck_flexion", [0, 1, 0])
    joint(neck, "neck_rotation", [0, 0, 1])
    neck_len = 0.05 * h
    geom(
        neck,
        "neck",
        "neck",
        type=GEOM.mjGEOM_CAPSULE,
        size=[radii["neck"], 0, 0],
        fromto=[0, 0, 0, 0, 0, neck_len],
        mass=0.2 * masses["head_neck"],
        material="skin",
    )
    head_half = lengths["head"] / 2
    head_c = [0.005 * h, 0, neck_len + head_half * 0.85]
    geom(
        neck,
        "skull",
        "skull_forehead",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.062 * h, 0.052 * h, head_half],
        pos=head_c,
        mass=0.8 * masses["head_neck"],
        material="skin",
    )
    geom(
        neck,
        "face",
        "face",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.03 * h, 0.04 * h, 0.042 * h],
        pos=[head_c[0] + 0.04 * h, 0, head_c[2] - 0.018 * h],
        mass=0.05,
        material="skin",
    )
    neck.add_geom(
        name=f"{name}_hair",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.06 * h, 0.054 * h, 0.04 * h],
        pos=[head_c[0] - 0.008 * h, 0, head_c[2] + 0.03 * h],
        contype=0,
        conaffinity=0,
        mass=0.01,
        material="hair",
    )
    site(neck, "mouth", [head_c[0] + 0.07 * h, 0, head_c[2] - 0.035 * h])
    for side, y in (("left", 1), ("right", -1)):
        site(neck, f"{side}_eye", [head_c[0] + 0.055 * h, y * 0.02 * h, head_c[2] + 0.005 * h])


def _add_pelvis_and_legs(root, geom, h, lengths, radii, masses, seated: bool, config: HumanConfig) -> None:
    geom(
        root,
        "pelvis",
        "pelvis",
        type=GEOM.mjGEOM_ELLIPSOID,
        size=[0.0625 * h, 0.1 * h, 0.055 * h],
        # its underside level with the thighs' when seated; lying, its back (buttocks) level with the chest's and
        # its front (the lap) above the thighs, so a blanket runs smoothly from the belly over the legs
        pos=[-0.0075 * h, 0, 0.055 * h - radii["thigh"]],
        mass=masses["pelvis"],
        material="cloth_trousers",
    )
    # seated: the root reclines by SEATED_RECLINE_RAD, the thighs lie level and the shanks hang plumb
    hip = np.pi / 2 - SEATED_RECLINE_RAD if seated else config.head_raise_rad
    knee = np.pi / 2 if seated else 0.0
    thigh_dir = np.array([np.sin(hip), 0, -np.cos(hip)])
    shank_dir = np.array([np.sin(hip - knee), 0, -np.cos(hip - knee)])
    foot_dir = np.array([np.sin(hip - knee + np.pi / 2), 0, -np.cos(hip - knee + np.pi / 2)])
    for side, y in (("right", -1), ("left", 1)):
        hip_pos = np.array([0, y * 0.045 * h, 0])
        knee_pos = hip_pos + thigh_dir * lengths["thigh"]
        ankle = knee_pos + shank_dir * (lengths["shank"] - radii["shank"])
        geom(
            root,
            f"{side}_thigh",
            "thigh",
            type=GEOM.mjGEOM_CAPSULE,
            size=[radii["thigh"], 0, 0],
            fromto=[*hip_pos, *knee_pos],
            mass=masses["thigh"],
            material="cloth_trousers",
        )
        geom(
            root,
            f"{side}_shank",
            "lower_leg",
            type=GEOM.mjGEOM_CAPSULE,
            size=[radii["shank"], 0, 0],
            fromto=[*knee_pos, *ankle],
            mass=masses["shank"],
            material="cloth_trousers",
        )
        toe = ankle + foot_dir * (lengths["foot"] * 0.75)
        geom(
            root,
            f"{side}_foot",
            "lower_leg",
            type=GEOM.mjGEOM_CAPSULE,
            size=[foot_radius_m(h), 0, 0],
            fromto=[*(ankle - foot_dir * 0.25 * lengths["foot"]), *toe],
            mass=masses["foot"],
            material="dark_steel",
        )


def _add_arm(torso, side, sign, shoulder_pos, h, lengths, radii, masses, geom, site, joint, body) -> None:
    upper = torso.add_body(name=f"{body.name}_{side}_upper_arm", pos=shoulder_pos)
    joint(upper, f"{side}_shoulder_yaw", [0, 0, sign])
    joint(upper, f"{side}_shoulder_flexion", [0, -1, 0])
    joint(upper, f"{side}_shoulder_abduction", [sign, 0, 0])  # positive: the arm rises away from the trunk
    ua, fa = lengths["upper_arm"], lengths["forearm"]
    geom(
        upper,
        f"{side}_upper_arm",
        "upper_arm",
        type=GEOM.mjGEOM_CAPSULE,
        size=[radii["upper_arm"], 0, 0],
        fromto=[0, 0, 0, 0, 0, -ua],
        mass=masses["upper_arm"],
        material="cloth_top",
    )
    site(upper, f"{side}_shoulder", [0, 0, 0])
    fore = upper.add_body(name=f"{body.name}_{side}_forearm", pos=[0, 0, -ua])
    joint(fore, f"{side}_elbow_flexion", [0, -1, 0])
    geom(
        fore,
        f"{side}_forearm",
        "lower_arm",
        type=GEOM.mjGEOM_CAPSULE,
        size=[radii["forearm"], 0, 0],
        fromto=[0, 0, 0, 0, 0, -fa],
        mass=masses["forearm"],
        material="skin",
    )
    site(fore, f"{side}_forearm", [0, 0, -fa / 2])
    hand = fore.add_body(name=f"{body.name}_{side}_hand", pos=[0, 0, -fa])
    joint(hand, f"{side}_wrist_flexion", [0, -1, 0])
    # palm: normal along the hand's +x (forward in the anatomical position; up when the hand is held out level)
    palm_len = PALM_LENGTH_FRACTION * lengths["hand"]
    half_width = 0.028 * h
    half_thick = 0.012
    geom(
        hand,
        f"{side}_palm",
        "hand",
        type=GEOM.mjGEOM_BOX,
        size=[half_thick, half_width, palm_len / 2],
        pos=[0, 0, -palm_len / 2 - PALM_OFFSET_M],
        mass=0.7 * masses["hand"],
        friction=[1.0, 0.01, 0.0001],
        material="skin",
    )
    finger_z = -palm_len - 0.01
    geom(
        hand,
        f"{side}_fingers",
        "hand",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.011, 0, 0],
        fromto=[0.018, -half_width + 0.01, finger_z, 0.018, half_width - 0.01, finger_z],
        mass=0.2 * masses["hand"],
        material="skin",
    )
    thumb_y = sign * (half_width + 0.004)  # lateral, as in the anatomical position (palms forward)
    geom(
        hand,
        f"{side}_thumb",
        "hand",
        type=GEOM.mjGEOM_CAPSULE,
        size=[0.01, 0, 0],
        fromto=[0.016, thumb_y, -0.03, 0.016, thumb_y, -0.03 - 0.45 * palm_len],
        mass=0.1 * masses["hand"],
        material="skin",
    )
    site(hand, f"{side}_palm", [half_thick, 0, -palm_len / 2 - PALM_OFFSET_M])


def _add_servos(builder: SceneBuilder, body: HumanBody, config: HumanConfig, h: float) -> None:
    """Position servos on every hinge; tremor-driven hinges are servoed through a tendon with an oscillator."""
    spec = builder.spec
    tremor_of_joint = {joint: source for source, joint in TREMOR_JOINTS.items()}
    for short in JOINT_NAMES:
        _, stiffness, damping = JOINTS[short]
        kp, kv = stiffness * config.strength_scale, damping * config.strength_scale
        actuator_name = f"{body.name}_{short}"
        if short in tremor_of_joint:
            source = tremor_of_joint[short]
            osc = builder.world.add_body(name=f"{body.name}_tremor_{source}", pos=[0, 0, -1])
            osc.add_joint(
                name=f"{body.name}_tremor_{source}",
                type=mujoco.mjtJoint.mjJNT_SLIDE,
                axis=[1, 0, 0],
                stiffness=OSCILLATOR_MASS_KG * (2 * np.pi * config.hand_tremor_hz) ** 2,
            )
            osc.add_geom(
                type=GEOM.mjGEOM_SPHERE, size=[0.001, 0, 0], mass=OSCILLATOR_MASS_KG, contype=0, conaffinity=0, group=5
            )
            body.oscillators[source] = f"{body.name}_tremor_{source}"
            tendon = spec.add_tendon(name=f"{body.name}_{short}_tremor")
            tendon.wrap_joint(f"{body.name}_{short}", 1.0)
            tendon.wrap_joint(f"{body.name}_tremor_{source}", -1.0)
            actuator = spec.add_actuator(name=actuator_name, target=tendon.name, trntype=mujoco.mjtTrn.mjTRN_TENDON)
        else:
            actuator = spec.add_actuator(
                name=actuator_name, target=f"{body.name}_{short}", trntype=mujoco.mjtTrn.mjTRN_JOINT
            )
        actuator.set_to_position(kp=kp, kv=kv)
        body.actuators[short] = actuator_name


def _quat_zy(yaw: float, pitch: float) -> list[float]:
    """Quaternion of a yaw about z followed by a pitch about the yawed y axis."""
    qz = np.array([np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)])
    qy = np.array([np.cos(pitch / 2), 0, np.sin(pitch / 2), 0])
    out = np.empty(4)
    mujoco.mju_mulQuat(out, qz, qy)
    return out.tolist()
