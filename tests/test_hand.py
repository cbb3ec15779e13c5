"""The hand behaves like the Franka Hand: continuous width, force from the position error up to 70 N, contacts
that hold. Measured on the hand bench with real physics, in millimetres and newtons."""

import numpy as np
import pytest

from embodia.agents.experts.hand_bench import HandProbe, settle_width
from embodia.envs.scene import panda

MM = 1e-3
JAW_SPEED_M_PER_STEP = panda.GRIPPER_SPEED_M_S * 0.05  # at the tasks' 20 Hz control


@pytest.mark.parametrize("grip", [-0.2, 0.0, 0.5])
def test_a_part_open_action_holds_that_opening(grip):
    widths = settle_width(grip, steps=16)
    expected = (grip + 1.0) * 0.5 * panda.GRIPPER_MAX_WIDTH_M
    assert abs(widths[-1] - expected) < 0.5 * MM, f"grip {grip}: {widths[-1] / MM:.2f} mm, expected {expected / MM} mm"
    assert np.ptp(widths[-4:]) < 0.05 * MM  # settled, not drifting shut
    assert widths.min() > expected - 0.5 * MM  # never passed through a narrower opening on the way


def test_the_jaws_move_at_the_hands_speed_not_at_once():
    widths = settle_width(-1.0, steps=20)
    steps = np.abs(np.diff(np.concatenate([[panda.GRIPPER_MAX_WIDTH_M], widths])))
    assert steps.max() < JAW_SPEED_M_PER_STEP * 1.05  # 0.1 m/s in width: 5 mm per 50 ms step
    assert widths[3] > 0.055  # -1 does not slam shut: after four steps the jaws are still 55+ mm apart
    assert widths[-1] < 0.5 * MM  # and in free air they do close


def test_squeeze_builds_from_the_position_error_and_is_limited_to_70_newtons():
    gentle, full = HandProbe(), HandProbe()
    try:
        # the steel block is 40 mm across the jaws: a target 1 mm inside it squeezes gently, -1 with all 70 N
        gentle_grasp = gentle.grasp(grip=2 * 0.039 / panda.GRIPPER_MAX_WIDTH_M - 1)
        full_grasp = full.grasp(grip=-1.0)
    finally:
        gentle.close()
        full.close()
    assert min(gentle_grasp.squeeze_n) > 10 and max(gentle_grasp.squeeze_n) < 30, gentle_grasp
    for squeeze in full_grasp.squeeze_n:
        assert squeeze == pytest.approx(panda.GRIPPER_FORCE_N, rel=0.03), full_grasp
    assert abs(full_grasp.width_m - 0.040) < 0.5 * MM


@pytest.mark.parametrize("mass_kg", [None, 0.05], ids=["steel-1.1kg", "light-50g"])
def test_a_70_newton_squeeze_sinks_less_than_half_a_millimetre(mass_kg):
    probe = HandProbe(block_mass_kg=mass_kg)
    try:
        grasp = probe.grasp(grip=-1.0)
    finally:
        probe.close()
    assert min(grasp.squeeze_n) > 65
    assert grasp.sink_m < 0.5 * MM, f"pads sink {grasp.sink_m / MM:.3f} mm"


def test_a_1kg_part_shaken_at_the_arms_maximum_acceleration_slips_less_than_2mm():
    probe = HandProbe(block_half_size_m=(0.025, 0.03, 0.03), block_mass_kg=1.0)
    try:
        probe.grasp(grip=-1.0)
        assert probe.lift() > 0.14
        peak_acceleration, slip = probe.shake()
    finally:
        probe.close()
    assert peak_acceleration >= 13.0  # the Panda's Cartesian limit, 13 m/s^2 (Franka control parameters)
    assert slip < 2 * MM, f"slipped {slip / MM:.2f} mm at {peak_acceleration:.1f} m/s^2"


@pytest.mark.parametrize(
    "half_size",
    [(0.03, 0.03, 0.0015), (0.005, 0.03, 0.002)],
    ids=["3mm-plate", "10mm-key"],
)
def test_thin_parts_are_picked_from_the_table(half_size):
    probe = HandProbe(block_half_size_m=half_size)
    try:
        grasp = probe.grasp(grip=-1.0)
        lifted = probe.lift()
    finally:
        probe.close()
    assert abs(grasp.width_m - 2 * half_size[0]) < 0.5 * MM, grasp
    assert lifted > 0.14, f"lifted {lifted / MM:.1f} mm"


def test_opening_from_a_full_grasp_starts_at_once_from_where_the_jaws_are():
    probe = HandProbe()
    try:
        probe.grasp(grip=-1.0)  # 70 N on the 40 mm block: the set point lies far inside the block
        held = probe.width_m()
        probe.step(None, 1.0)
        first = probe.width_m()
        probe.step(None, 1.0)
        second = probe.width_m()
    finally:
        probe.close()
    assert first - held > 0.8 * JAW_SPEED_M_PER_STEP  # no wind-up to unwind before the jaws move
    assert second - first == pytest.approx(JAW_SPEED_M_PER_STEP, rel=0.1)
