"""The one place where tasks are registered with Gymnasium: one line per task."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

SINGLE_ENTRY_POINT = "embodia.envs.core.single_env:EmbodiaEnv"
VECTOR_ENTRY_POINT = "embodia.envs.core.vector_env:EmbodiaVectorEnv"


@dataclass(frozen=True)
class TaskEntry:
    task: str  # "module:Class" of the Task
    expert: str  # "module:Class" of its scripted expert
    summary: str
    episode_steps: int  # the task config's default episode_steps, for listing (the config is what applies)


TASKS: dict[str, TaskEntry] = {
    "embodia/BinPicking-v0": TaskEntry(
        "embodia.envs.tasks.factory.bin_picking:BinPicking",
        "embodia.agents.experts.bin_picking:BinPickingExpert",
        "factory: pick the requested part from a bin and place it into its slot in a kitting tray",
        200,
    ),
    "embodia/PegInsertion-v0": TaskEntry(
        "embodia.envs.tasks.factory.peg_insertion:PegInsertion",
        "embodia.agents.experts.peg_insertion:PegInsertionExpert",
        "factory: pick a peg off the bench and insert it into a fixture's hole (radial clearance a kwarg)",
        200,
    ),
    "embodia/NutBolt-v0": TaskEntry(
        "embodia.envs.tasks.factory.nut_bolt:NutBolt",
        "embodia.agents.experts.nut_bolt:NutBoltExpert",
        "factory: pick a hex nut off the bench and place it over a bolt, seated on the bolt's head",
        200,
    ),
    "embodia/GearAssembly-v0": TaskEntry(
        "embodia.envs.tasks.factory.gear_assembly:GearAssembly",
        "embodia.agents.experts.gear_assembly:GearAssemblyExpert",
        "factory: pick a spur gear and lower it onto a shaft so that it meshes with a fixed gear",
        200,
    ),
    "embodia/Handover-v0": TaskEntry(
        "embodia.envs.tasks.care.handover:Handover",
        "embodia.agents.experts.handover:HandoverExpert",
        "elder care: take a medicine bottle from the bedside table and place it in a seated person's open hand",
        200,
    ),
    "embodia/BlanketCover-v0": TaskEntry(
        "embodia.envs.tasks.care.blanket_cover:BlanketCover",
        "embodia.agents.experts.blanket_cover:BlanketCoverExpert",
        "elder care: take a blanket that slid down the bed by its hem and pull it up over a lying person's legs",
        200,
    ),
    "embodia/DrawerFetch-v0": TaskEntry(
        "embodia.envs.tasks.care.drawer_fetch:DrawerFetch",
        "embodia.agents.experts.drawer_fetch:DrawerFetchExpert",
        "elder care: open a bedside drawer, take out a glasses case and place it in a seated person's open hand",
        300,
    ),
    "embodia/FetchDropped-v0": TaskEntry(
        "embodia.envs.tasks.care.fetch_dropped:FetchDropped",
        "embodia.agents.experts.fetch_dropped:FetchDroppedExpert",
        "elder care: pick up a TV remote the person dropped on the floor; put it on the over-bed table within reach",
        300,
    ),
    "embodia/BedBathing-v0": TaskEntry(
        "embodia.envs.tasks.care.bed_bathing:BedBathing",
        "embodia.agents.experts.bed_bathing:BedBathingExpert",
        "elder care: wipe marked points along the arm of a person lying in bed, pressing within a force band",
        300,
    ),
    "embodia/Feeding-v0": TaskEntry(
        "embodia.envs.tasks.care.feeding:Feeding",
        "embodia.agents.experts.feeding:FeedingExpert",
        "elder care: bring food on a spoon to a seated person's moving mouth, tip it in and withdraw",
        200,
    ),
    "embodia/Drinking-v0": TaskEntry(
        "embodia.envs.tasks.care.drinking:Drinking",
        "embodia.agents.experts.drinking:DrinkingExpert",
        "elder care: bring a cup of water to a seated person's moving mouth and tilt it so they drink",
        240,
    ),
    "embodia/Reach-v0": TaskEntry(
        "embodia.envs.tasks.factory.reach:Reach",
        "embodia.agents.experts.reach:ReachExpert",
        "easy variant: move the tool centre point to a random target point (for checking learning methods)",
        50,
    ),
    "embodia/Palletizing-v0": TaskEntry(
        "embodia.envs.tasks.factory.palletizing:Palletizing",
        "embodia.agents.experts.palletizing:PalletizingExpert",
        "factory: stack cartons from an infeed roller table onto a pallet in an interlocked two-layer pattern",
        600,
    ),
    "embodia/ConveyorSort-v0": TaskEntry(
        "embodia.envs.tasks.factory.conveyor_sort:ConveyorSort",
        "embodia.agents.experts.conveyor_sort:ConveyorSortExpert",
        "factory: parts of three kinds arrive on a moving conveyor belt; drop each into the bin for its kind",
        700,
    ),
}


def register_all() -> None:
    """Register every task, without a ``max_episode_steps``: the envs truncate their own episodes.

    ``gymnasium.make`` would put a ``TimeLimit`` of the registered length around the env, and that wrapper cannot
    see ``episode_steps=``: ``make(id, episode_steps=500)`` would still end at the registered length. So the
    episode length lives in one place, the task config (``episode_steps``, default ``TaskEntry.episode_steps``),
    and ``gymnasium.make(id, max_episode_steps=n)`` and ``make_vec(id, max_episode_steps=n)`` set it too. A made
    env's ``spec.max_episode_steps`` reports the length in force.
    """
    for env_id, entry in TASKS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=SINGLE_ENTRY_POINT,
            vector_entry_point=VECTOR_ENTRY_POINT,
            kwargs={"task": entry.task},
        )


def task_entry(env_id: str) -> TaskEntry:
    """The entry for ``env_id``; an unknown id raises, listing the valid ones."""
    if env_id not in TASKS:
        raise KeyError(f"unknown task {env_id!r}; valid: {', '.join(TASKS)}")
    return TASKS[env_id]
