"""Sex and stature per episode: the body and its furniture follow as per-simulation model values, and a
recording holds them."""

import dataclasses

import mujoco
import numpy as np
import pytest

from embodia.envs.core.batched_env import make_batched
from embodia.envs.human import anthropometry
from embodia.envs.human.config import SEXES, HumanRanges
from embodia.envs.human.shape import BODY_FIELDS, GEOM_FIELDS, SITE_FIELDS
from embodia.envs.tasks.registry import TASKS

HANDOVER = "embodia/Handover-v0"
CARE_TASKS = sorted(env_id for env_id, entry in TASKS.items() if entry.summary.startswith("elder care"))


def own_model(env, sim_id: int = 0) -> mujoco.MjModel:
    """Simulation ``sim_id``'s model: the batch's with its person's size and masses."""
    return env.sim.batch.get_model(sim_id)


@pytest.mark.parametrize("task_id", [HANDOVER, "embodia/Feeding-v0", "embodia/BlanketCover-v0"])
def test_the_scenes_own_person_lays_out_as_the_compiled_model(task_id):
    """The values copied for the person the model was compiled with are the compiler's own, bounding volumes
    included (Feeding: with the mouth cavity attached to the head)."""
    env = make_batched(task_id, 1)
    binding = env.task.person.shape_binding
    rows = binding.rows(binding.shape_of(binding.structure))
    model = env.model
    assert set(binding.targets) == {*BODY_FIELDS, *GEOM_FIELDS, *SITE_FIELDS, "bvh_aabb"}
    for field, index in binding.targets.items():
        np.testing.assert_allclose(rows[field], getattr(model, field)[index], atol=1e-12, err_msg=field)
    env.close()


def test_sex_and_stature_vary_per_episode_and_the_body_follows():
    env = make_batched(HANDOVER, 8)
    _, info = env.reset(seeds=list(range(8)))
    human = info["human"]
    sexes = [SEXES[int(i)] for i in human["sex"]]
    percentiles = human["stature_percentile"]
    assert set(sexes) == {"female", "male"}
    assert ((percentiles >= 5) & (percentiles <= 95) & (percentiles == np.round(percentiles))).all()
    stature = np.array([anthropometry.stature_m(s, p) for s, p in zip(sexes, percentiles, strict=True)])
    np.testing.assert_allclose(human["stature_m"], stature)
    assert stature.max() - stature.min() > 0.1
    forearm = env.model.geom("person_right_forearm").id
    size = env.sim.per_sim_model_field("geom_size")[:, forearm]
    radius = [anthropometry.segment_radii_m(s, h)["forearm"] for s, h in zip(sexes, stature, strict=True)]
    np.testing.assert_allclose(size[:, 0], radius, rtol=1e-12)
    np.testing.assert_allclose(2 * size[:, 1], anthropometry.LENGTH_FRACTION["forearm"] * stature, rtol=1e-12)
    # the taller the person, the higher the shoulders above the floor; the chair fits each: the feet on the floor
    shoulder = env.sim.site_xpos[:, env.model.site("person_right_shoulder").id, 2]
    assert np.corrcoef(stature, shoulder)[0, 1] > 0.95
    feet = [env.model.geom(f"person_{side}_foot").id for side in ("right", "left")]
    for sim_id in range(8):
        model = own_model(env, sim_id)
        data = mujoco.MjData(model)
        mujoco.mj_setState(model, data, env.sim.state(sim_id), mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(model, data)
        lowest = [data.geom_xpos[g, 2] - model.geom_size[g, 0] for g in feet]
        assert max(abs(z) for z in lowest) < 0.01, (sim_id, lowest)
    env.close()


def test_ranges_can_keep_one_person():
    ranges = HumanRanges(sexes=("male",), stature_percentile=(90.0, 90.0))
    env = make_batched(HANDOVER, 3, human=ranges)
    _, info = env.reset(seeds=[0, 1, 2])
    assert (info["human"]["sex"] == SEXES.index("male")).all() and (info["human"]["stature_percentile"] == 90).all()
    sizes = env.sim.per_sim_model_field("geom_size")
    assert (sizes == sizes[0]).all()
    env.close()


def person_contacts(env, sim_id: int = 0) -> list[tuple[str, str, float]]:
    """(geom, geom, depth in m) of every contact between the person and anything but their own furniture."""
    model = own_model(env, sim_id)
    data = mujoco.MjData(model)
    mujoco.mj_setState(model, data, env.sim.state(sim_id), mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(model, data)
    binding = env.task.person.shape_binding
    person = set(binding.bodies.tolist())
    furniture = set(binding.bodies[model.body_parentid[binding.bodies] == 0].tolist()) - {model.body(binding.name).id}
    found = []
    for contact in data.contact[: data.ncon]:
        bodies = [int(model.geom_bodyid[g]) if g >= 0 else -1 for g in contact.geom]
        if not any(b in person and b not in furniture for b in bodies):
            continue
        if any(b in furniture for b in bodies):
            continue
        names = [
            "flex" if g < 0 else model.geom(g).name or model.body(b).name
            for g, b in zip(contact.geom, bodies, strict=True)
        ]
        found.append((*names, float(contact.dist)))
    return found


@pytest.mark.parametrize(("sex", "percentile"), [("female", 5.0), ("male", 95.0)])
@pytest.mark.parametrize("task_id", CARE_TASKS)
def test_the_shortest_and_tallest_person_start_clear_of_the_scene(task_id, sex, percentile):
    """Every care task seats (or lays) both ends of its stature range without the body overlapping the robot,
    its column or the task's objects."""
    default = make_batched(task_id, 1)
    ranges = dataclasses.replace(default.config.human, sexes=(sex,), stature_percentile=(percentile, percentile))
    default.close()
    env = make_batched(task_id, 1, human=ranges)
    env.reset(seeds=[7])
    overlaps = [c for c in person_contacts(env) if c[2] < -0.005]
    root = env.task.person.root_qpos
    start = env.sim.qpos[0, root : root + 3].copy()
    for _ in range(10):
        env.step(np.zeros((1, env.controller.action_dim)))
    moved = np.linalg.norm(env.sim.qpos[0, root : root + 3] - start)
    env.close()
    assert not overlaps, overlaps
    assert moved < 0.01


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sexes": ()}, r"sexes=\(\) is empty; valid: one or more of female, male"),
        ({"sexes": ("man",)}, r"sexes=\('man',\) is not valid; valid: female, male"),
        ({"sexes": "male"}, r"sexes='male' has type str; expected a tuple"),
        ({"stature_percentile": (0.0, 50.0)}, r"stature_percentile=\(0\.0, 50\.0\) is out of range"),
        ({"stature_percentile": (60.0, 50.0)}, r"low <= high"),
    ],
)
def test_bad_sex_or_stature_ranges_raise_naming_the_value(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        HumanRanges(**kwargs)


def test_a_video_frame_draws_each_simulations_own_person():
    """The renderer draws a simulation with its own model values: a tall man's head is drawn higher than a
    short woman's from the same camera."""
    from embodia.envs.core.rendering import SimRenderer

    short = HumanRanges(sexes=("female",), stature_percentile=(5.0, 5.0))
    tall = HumanRanges(sexes=("male",), stature_percentile=(95.0, 95.0))
    rows = []
    for ranges in (short, tall):
        env = make_batched(HANDOVER, 1, human=ranges, tremor=False, voluntary_motion=False)
        env.reset(seeds=[0])
        renderer = SimRenderer(env.model, 96, 128, preset="fast")
        renderer.load(env.sim, 0)
        skull = env.model.geom("person_skull").id
        np.testing.assert_array_equal(
            renderer.model.geom_size[skull], env.sim.per_sim_model_field("geom_size")[0, skull]
        )
        segmentation = renderer.renderer
        segmentation.enable_segmentation_rendering()
        segmentation.update_scene(renderer.data, camera="front")
        ids = segmentation.render()[..., 0]
        segmentation.disable_segmentation_rendering()
        head = np.argwhere(np.isin(ids, [skull, env.model.geom("person_hair").id]))
        rows.append(head[:, 0].min())  # the top of the head in the image
        renderer.close()
        env.close()
    assert rows[1] < rows[0] - 3  # image rows grow downwards


def test_an_episodes_json_says_who_the_person_was(tmp_path):
    import json

    import gymnasium as gym

    import embodia  # noqa: F401  (registers the tasks with Gymnasium)
    from embodia.envs.record.wrappers import RecordEpisodes

    env = RecordEpisodes(gym.make(HANDOVER, episode_steps=3), tmp_path / "run", policy="random", video=None)
    _, info = env.reset(seed=11)
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done = terminated or truncated
    env.close()
    person = json.loads((tmp_path / "run" / "episode_0000.json").read_text())["person"]
    assert person["sex"] == SEXES[int(info["human"]["sex"])] and person["posture"] == "seated_chair"
    assert person["stature_m"] == pytest.approx(float(info["human"]["stature_m"]), abs=1e-4)
