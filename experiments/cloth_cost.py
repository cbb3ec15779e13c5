"""What the blanket costs: BlanketCover's control step against BedBathing's (the same bed and lying person, no
cloth), each under its scripted expert, and with the cloth not touching the robot.

    python experiments/cloth_cost.py              # 6 alternating rounds, about 2 minutes
    python experiments/cloth_cost.py --rounds 3

The tasks alternate episode by episode so that machine load falls on both alike; each round prints its own ratio
and the median closes the run. Compare ratios from one run: absolute times move by 30-50% on a shared machine.
"""

from __future__ import annotations

import argparse

import numpy as np
from expert_step_cost import expert_step_ms  # this folder's script: run this one from anywhere, as the others


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    ratios, touch = [], []
    for k in range(args.rounds):
        bath = expert_step_ms("embodia/BedBathing-v0", 10_000 + k)
        cover = expert_step_ms("embodia/BlanketCover-v0", 10_000 + k)
        apart = expert_step_ms("embodia/BlanketCover-v0", 10_000 + k, cloth_touches_robot=False)
        ratios.append(cover / bath)
        touch.append(cover / apart)
        print(
            f"round {k}: BedBathing {bath:.2f} ms/step, BlanketCover {cover:.2f} ({cover / bath:.2f}x), "
            f"with the cloth not touching the robot {apart:.2f}",
            flush=True,
        )
    print(
        f"median: BlanketCover / BedBathing {np.median(ratios):.2f}x; "
        f"cloth touching the robot / not {np.median(touch):.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
