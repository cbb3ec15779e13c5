"""The factory work cell the bench tasks share: the room, a workbench whose top is at 0.75 m, and the arm on it.

Tasks add their fixtures and parts to the cell; the conveyor and palletizing cells add their own materials first
and so build the same pieces themselves.
"""

from __future__ import annotations

from embodia.envs.scene import panda, props
from embodia.envs.scene.builder import SceneBuilder

BENCH_TOP_Z = 0.75
ROBOT_BASE = (0.0, 0.0, BENCH_TOP_Z)
BENCH_CENTER_XY = (0.35, 0.0)
BENCH_HALF_XY = (0.55, 0.65)


def add_workbench_cell(builder: SceneBuilder) -> None:
    """Room, workbench and the arm mounted at the bench's back edge (``ROBOT_BASE``)."""
    props.add_room(builder)
    props.add_table(builder, "bench", BENCH_CENTER_XY, BENCH_TOP_Z, BENCH_HALF_XY, "bench")
    panda.mount(builder, ROBOT_BASE)
