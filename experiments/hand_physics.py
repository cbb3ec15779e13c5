"""The hand's figures on the hand bench, in millimetres and newtons (the README quotes them).

    python experiments/hand_physics.py

Each row drives the arm through the normal action space (agents/experts/hand_bench.py); tests/test_hand.py holds
the same measurements to their limits.
"""

from __future__ import annotations

import numpy as np

from embodia.agents.experts.hand_bench import HandProbe, settle_width
from embodia.envs.scene import panda


def opening_rows() -> list[str]:
    rows = []
    for grip in (-1.0, -0.2, 0.0, 0.5, 1.0):
        widths = settle_width(grip, steps=20)
        target = (grip + 1) * 0.5 * panda.GRIPPER_MAX_WIDTH_M
        speed = np.abs(np.diff(widths)).max() / 0.05
        rows.append(f"| {grip:+.1f} | {target * 1e3:.0f} | {widths[-1] * 1e3:.2f} | {speed:.3f} |")
    return rows


def grasp_rows() -> list[str]:
    rows = []
    cases = [
        ("steel block 40 mm, 1.1 kg", (0.02, 0.03, 0.03), None, -1.0),
        ("steel block, target 1 mm inside", (0.02, 0.03, 0.03), None, 2 * 0.039 / panda.GRIPPER_MAX_WIDTH_M - 1),
        ("light block 40 mm, 50 g", (0.02, 0.03, 0.03), 0.05, -1.0),
        ("3 mm plate, 60 mm wide", (0.03, 0.03, 0.0015), None, -1.0),
        ("10 mm key, 4 mm thick", (0.005, 0.03, 0.002), None, -1.0),
    ]
    for name, half, mass, grip in cases:
        probe = HandProbe(block_half_size_m=half, block_mass_kg=mass)
        grasp = probe.grasp(grip)
        lifted = probe.lift(grip)
        probe.close()
        left, right = grasp.squeeze_n
        rows.append(
            f"| {name} | {grip:+.3f} | {grasp.width_m * 1e3:.2f} | {left:.1f} / {right:.1f} | "
            f"{grasp.sink_m * 1e3:.3f} | {lifted * 1e3:.0f} |"
        )
    return rows


def shake_row() -> str:
    probe = HandProbe(block_half_size_m=(0.025, 0.03, 0.03), block_mass_kg=1.0)
    probe.grasp()
    probe.lift()
    peak, slip = probe.shake()
    probe.close()
    return f"| 1 kg block, 50 mm | {peak:.1f} | {slip * 1e3:.2f} |"


def main() -> None:
    print("| gripper action | target mm | width after 1 s, mm | fastest jaw speed, m/s |")
    print("|---:|---:|---:|---:|")
    print("\n".join(opening_rows()))
    print()
    print("| part | action | jaw width mm | squeeze N (left / right pad) | pad sinking mm | lifted mm |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(grasp_rows()))
    print()
    print("| held part | peak TCP acceleration m/s^2 | slip in the hand mm |")
    print("|---|---:|---:|")
    print(shake_row())


if __name__ == "__main__":
    main()
