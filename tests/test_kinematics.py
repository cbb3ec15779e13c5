"""The arm's forward kinematics equal Franka's published modified-DH model."""

import mujoco
import numpy as np

from embodia.envs.scene import panda

# Franka docs, control_parameters.rst: (a, d, alpha) per joint, then the flange offset d = 0.107 m.
DH = [(0, 0.333, 0), (0, 0, -np.pi / 2), (0, 0.316, np.pi / 2), (0.0825, 0, np.pi / 2),
      (-0.0825, 0.384, -np.pi / 2), (0, 0, np.pi / 2), (0.088, 0, np.pi / 2)]  # fmt: skip


def craig(a, d, alpha, theta):
    ca, sa, ct, st = np.cos(alpha), np.sin(alpha), np.cos(theta), np.sin(theta)
    return np.array([[ct, -st, 0, a], [st * ca, ct * ca, -sa, -d * sa], [st * sa, ct * sa, ca, d * ca], [0, 0, 0, 1]])


def flange_from_dh(q):
    transform = np.eye(4)
    for (a, d, alpha), theta in zip(DH, q, strict=True):
        transform = transform @ craig(a, d, alpha, theta)
    return transform @ craig(0, 0.107, 0, 0)


def test_forward_kinematics_matches_dh_to_a_millimetre():
    model = panda.load().compile()
    data = mujoco.MjData(model)
    rng = np.random.default_rng(7)
    arm = [model.joint(name).id for name in panda.ARM_JOINTS]
    configurations = [panda.HOME_QPOS, np.array([0, 0, 0, -0.1, 0, 0, 0])]
    configurations += [rng.uniform(model.jnt_range[arm, 0], model.jnt_range[arm, 1]) for _ in range(6)]
    for q in configurations:
        data.qpos[model.jnt_qposadr[arm]] = q
        mujoco.mj_kinematics(model, data)
        expected = flange_from_dh(q)
        flange = data.site("flange")
        assert np.abs(flange.xpos - expected[:3, 3]).max() < 1e-3
        # the hand is mounted on the flange turned -45 degrees about z (Franka Hand mounting)
        hand_mount = craig(0, 0, 0, -np.pi / 4)[:3, :3]
        assert np.abs(flange.xmat.reshape(3, 3) - expected[:3, :3] @ hand_mount).max() < 1e-5


def test_published_limits_and_masses():
    model = panda.load().compile()
    arm = [model.joint(name).id for name in panda.ARM_JOINTS]
    assert np.allclose(model.jnt_range[arm[3]], [-3.0718, -0.0698])
    assert np.allclose(model.jnt_range[arm[5]], [-0.0175, 3.7525])
    assert model.body("link4").mass[0] == np.float64(3.587895)
    # effort limits: 87 N m on joints 1-4, 12 N m on 5-7; the jaw squeezes with at most 70 N
    assert np.allclose(model.actuator_forcerange[:7, 1], [87, 87, 87, 87, 12, 12, 12])
    assert model.actuator("gripper").forcerange[1] == 70


def test_joint_types_compare_as_ints_on_mujoco_4():
    """MuJoCo >= 3.12: an enum on the left of `==` with a numpy int is never equal; compare as ints."""
    model = panda.load().compile()
    hinges = [j for j in range(model.njnt) if int(model.jnt_type[j]) == mujoco.mjtJoint.mjJNT_HINGE]
    slides = [j for j in range(model.njnt) if int(model.jnt_type[j]) == mujoco.mjtJoint.mjJNT_SLIDE]
    assert len(hinges) == 7 and len(slides) == 2
