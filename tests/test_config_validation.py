"""Every config value is checked at construction, before any MuJoCo model compiles, with a message naming the
parameter, the value and what is valid; ``describe_config`` lists the same rules."""

from __future__ import annotations

import dataclasses
import math

import gymnasium as gym
import pytest

from embodia.envs import validation
from embodia.envs.core.batched_env import EnvOptions, make_batched, resolve_task
from embodia.envs.human.config import HumanConfig, HumanRanges
from embodia.envs.scene.builder import PhysicsOptions, SceneBuilder
from embodia.envs.tasks.base import MAX_EPISODE_STEPS, describe_config
from embodia.envs.tasks.registry import TASKS

TASK_IDS = list(TASKS)
REACH = "embodia/Reach-v0"
BAD = (ValueError, TypeError)


@pytest.fixture
def no_compile(monkeypatch):
    """Construction-only tests: compiling a model means a bad value got past the checks."""

    def refuse(self):
        raise AssertionError("a MuJoCo model was compiled before the bad value was refused")

    monkeypatch.setattr(SceneBuilder, "build", refuse)


def config_class(task_id: str) -> type:
    return resolve_task(TASKS[task_id].task).Config


def bad_values(rule: validation.Rule, default):
    """(label, value) pairs that the field's rule must refuse."""
    numeric_bounds = rule.bounds
    if rule.kind in ("real", "int"):
        yield "nan", math.nan
        yield "inf", math.inf
        yield "string", "0.1"
        yield "bool", True
        yield "none", None
        if rule.kind == "int":
            yield "float", 2.5
        if numeric_bounds.low >= 0:
            yield "negative", -1 if rule.kind == "int" else -0.5
    elif rule.kind == "tuple" and rule.item in ("real", "int"):
        first, last = default[0], default[-1]
        yield "string", "abc"
        yield "scalar", first
        yield "nan", (math.nan, *default[1:])
        yield "string item", (*default[:-1], "x")
        yield "none", None
        if rule.length:
            yield "short", tuple(default[:-1])
        if rule.ordered:
            yield "reversed", (last + 1.0, first)
        if numeric_bounds is not None and numeric_bounds.low >= 0:
            yield "negative", (-1 if rule.item == "int" else -0.5, *default[1:])
    elif rule.kind == "tuple":
        yield "string", "front"
        yield "number items", (3,)
    elif rule.kind == "bool":
        yield "string", "yes"
        yield "int", 1
        yield "none", None
    elif rule.kind == "str":
        yield "number", 3
        if rule.choices:
            yield "unknown", "bogus"
    elif rule.kind == "nested":
        yield "string", "fast"
        yield "number", 3


def cases(cls: type) -> list[tuple[str, str, object]]:
    defaults = {f.name: getattr(cls(), f.name) for f in dataclasses.fields(cls) if f.init}
    return [
        (rule.name, label, value)
        for rule in validation.rules(cls)
        for label, value in bad_values(rule, defaults[rule.name])
    ]


def assert_refused(make, name: str, label: str) -> None:
    """``make()`` raises ValueError or TypeError, in one line naming the parameter."""
    try:
        make()
    except BAD as error:
        message = str(error).split(" was raised from the environment creator")[0]  # gymnasium.make's addition
        assert name in message, f"{name} ({label}): {message}"
        assert len(message.splitlines()) == 1, message
    else:
        raise AssertionError(f"{name} ({label}) was accepted")


# ---------------------------------------------------------------------------------------------- every task
@pytest.mark.parametrize("task_id", TASK_IDS)
def test_defaults_construct_and_every_bad_value_of_every_field_is_refused(task_id, no_compile):
    cls = config_class(task_id)
    cls()  # the defaults are valid
    tried = cases(cls)
    assert len(tried) >= 50  # every numeric field gets NaN, inf, a string, a bool, None; bounded ones a negative
    for name, label, value in tried:
        assert_refused(lambda name=name, value=value: gym.make(task_id, **{name: value}), name, label)


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_masses_frictions_weights_and_sizes_refuse_negatives(task_id):
    cls = config_class(task_id)
    signed = {"w_spill"}  # a penalty: <= 0 by its metadata
    for rule in validation.rules(cls):
        name = rule.name
        mass = name.endswith("_kg")
        friction = "friction" in name
        weight = name.startswith("w_") and name not in signed
        size = rule.kind == "real" and name.endswith("_m")
        if mass or friction or weight or size:
            assert rule.bounds.low >= 0, name
            negative = -0.5 if rule.kind == "real" else (-0.5, 1.0)
            with pytest.raises(ValueError, match=rf"{name}=.*valid"):
                cls(**{name: negative})
        if mass:
            zero = 0.0 if rule.kind == "real" else (0.0, 1.0)
            with pytest.raises(ValueError, match=rf"{name}=.*masses must be > 0"):
                cls(**{name: zero})


@pytest.mark.parametrize("cls", [PhysicsOptions, HumanConfig, HumanRanges, EnvOptions])
def test_shared_settings_refuse_every_bad_value(cls):
    cls()
    tried = cases(cls)
    assert len(tried) >= 10
    for name, label, value in tried:
        assert_refused(lambda name=name, value=value: cls(**{name: value}), name, label)


def test_the_message_names_parameter_value_and_range():
    with pytest.raises(ValueError) as raised:
        config_class("embodia/BinPicking-v0")(part_mass_kg=(-0.1, 0.12))
    assert str(raised.value) == ("part_mass_kg=(-0.1, 0.12) is out of range; valid: each > 0 kg (masses must be > 0)")
    with pytest.raises(ValueError, match=r"w_reach=nan is not a finite number; valid: >= 0 \(reward weights"):
        gym.make(REACH, w_reach=float("nan"))
    with pytest.raises(TypeError, match=r"w_reach='1' has type str; expected a real number"):
        gym.make(REACH, w_reach="1")
    with pytest.raises(ValueError, match=r"episode_steps=1000000000 is out of range; valid: 1 to 100000"):
        gym.make(REACH, episode_steps=10**9)
    assert MAX_EPISODE_STEPS == 100_000


# ---------------------------------------------------------------------------------------------- specific cases
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"physics": PhysicsOptions}, TypeError, "physics=.*expected a PhysicsOptions"),
        ({"physics": "fast"}, TypeError, r"physics='fast' has type str; expected a PhysicsOptions"),
        ({"physics": {"timestep_s": 0}}, ValueError, r"timestep_s=0 is out of range; valid: 1e-05 to 0.1 s"),
        ({"physics": {"iterations": 0}}, ValueError, r"iterations=0 is out of range; valid: 1 to 10000"),
        ({"physics": {"substeps": 3}}, TypeError, r"physics: unknown field\(s\) substeps for PhysicsOptions"),
        ({"control_hz": 30.0}, ValueError, r"control_hz=30.0 with physics.timestep_s=0.002.*not a whole number"),
        ({"control_hz": 0}, ValueError, r"control_hz=0 is out of range"),
        ({"config": "dense"}, TypeError, r"config has type str; Reach takes a ReachConfig"),
        ({"cameras": "front", "obs_mode": "pixels"}, TypeError, r"cameras='front' has type str.*cameras=\('front',\)"),
        ({"cameras": (), "obs_mode": "pixels"}, ValueError, r"cameras=\(\) is empty"),
        ({"cameras": ("front", "front"), "obs_mode": "pixels"}, ValueError, "names a camera twice"),
        ({"cameras": ("nowhere",), "obs_mode": "pixels"}, ValueError, r"unknown camera 'nowhere'; valid: front"),
        ({"render_camera": "ceiling"}, ValueError, "unknown camera 'ceiling'"),
        ({"render_preset": "ultra", "render_mode": "rgb_array"}, ValueError, "render_preset='ultra'.*fast, quality"),
        ({"render_size": (0, 10)}, ValueError, r"render_size=\(0, 10\) is out of range; valid: each 1 to 4096 px"),
        ({"image_size": (-1, 5)}, ValueError, r"image_size=\(-1, 5\) is out of range"),
        ({"image_size": (84.0, 84.0)}, TypeError, r"image_size=\(84.0, 84.0\) holds 84.0, which has type float"),
        ({"render_size": (480, 640, 3)}, ValueError, r"render_size=\(480, 640, 3\) has 3 values"),
        ({"image_size": (5000, 84)}, ValueError, r"image_size=\(5000, 84\) is out of range"),
        ({"num_threads": -1}, ValueError, r"num_threads=-1 is out of range; valid: 0 to 256"),
        ({"num_threads": 1.5}, TypeError, r"num_threads=1.5 has type float; expected an integer"),
        ({"depth": "yes"}, TypeError, r"depth='yes' has type str; expected True or False"),
        ({"force_torque": 1}, TypeError, r"force_torque=1 has type int; expected True or False"),
        ({"touch": None}, TypeError, r"touch=None"),
        (
            {"obs_mode": "points"},
            ValueError,
            r"obs_mode='points' is not valid; valid: dict, flat, pixels, point_cloud, goal",
        ),
        ({"control_mode": "torque"}, ValueError, r"control_mode='torque' is not valid; valid: ee_delta"),
        ({"reward_mode": 1}, TypeError, r"reward_mode=1 has type int; expected a string"),
        ({"terminate_on_success": "no"}, TypeError, "terminate_on_success='no'"),
        ({"episode_steps": 0}, ValueError, r"episode_steps=0 is out of range; valid: 1 to 100000"),
        ({"episode_steps": 200.0}, TypeError, r"episode_steps=200.0 has type float; expected an integer"),
        ({"max_episode_steps": 10**9}, ValueError, r"max_episode_steps=1000000000 is out of range; valid: 1 to"),
        ({"max_episode_steps": 0}, ValueError, r"max_episode_steps=0 is out of range"),
        ({"max_episode_steps": 2.5}, TypeError, r"max_episode_steps=2.5 has type float; expected an integer"),
        ({"target_x_range": (0.6, 0.4)}, ValueError, r"target_x_range=\(0.6, 0.4\) is not valid; valid: \(low, high\)"),
        ({"target_x_range": (0.4, float("inf"))}, ValueError, "target_x_range=.*not a finite number"),
        ({"w_success": float("nan")}, ValueError, "w_success=nan"),
        ({"success_distance_m": -0.01}, ValueError, r"success_distance_m=-0.01 is out of range; valid: >= 0 m"),
    ],
)
def test_bad_option_is_refused_at_construction(kwargs, error, match, no_compile):
    with pytest.raises(error, match=match):
        gym.make(REACH, **kwargs)


def test_render_checks_before_the_first_render(no_compile):
    for kwargs in ({"render_preset": "ultra"}, {"render_size": (0, 10)}, {"image_size": (-1, 5)}):
        with pytest.raises(ValueError):
            gym.make(REACH, render_mode="rgb_array", **kwargs)  # no reset, no render()


@pytest.mark.parametrize("wrong", ["BinPickingConfig", "HandoverConfig"])
def test_the_config_of_another_task_is_refused(wrong, no_compile):
    other = config_class("embodia/BinPicking-v0" if wrong == "BinPickingConfig" else "embodia/Handover-v0")()
    with pytest.raises(TypeError, match=rf"config has type {wrong}; Reach takes a ReachConfig"):
        gym.make(REACH, config=other)
    with pytest.raises(TypeError, match="takes a FeedingConfig"):
        gym.make("embodia/Feeding-v0", config=config_class("embodia/Drinking-v0")())


@pytest.mark.parametrize(
    ("human", "error", "match"),
    [
        (HumanConfig(), TypeError, r"human=HumanConfig\(.*has type HumanConfig; expected a HumanRanges"),
        ("elderly", TypeError, "human='elderly' has type str; expected a HumanRanges"),
        ({"tremor": "yes"}, TypeError, "tremor='yes'"),
        ({"rom_scale": (0.1, 1.0)}, ValueError, r"rom_scale=\(0.1, 1.0\) is out of range; valid: each 0.5 to 1.0"),
        ({"structure": {"body_mass_kg": float("nan")}}, ValueError, "body_mass_kg=nan is not a finite number"),
        ({"structure": "female"}, TypeError, "structure='female' has type str; expected a HumanConfig"),
        ({"height": 1.7}, TypeError, r"human: unknown field\(s\) height for HumanRanges"),
    ],
)
def test_human_of_the_wrong_type_or_range_is_refused(human, error, match, no_compile):
    with pytest.raises(error, match=match):
        gym.make("embodia/Handover-v0", human=human)


def test_vector_env_sizes_are_checked(no_compile):
    with pytest.raises(ValueError, match="number of simulations 0 is out of range; valid: 1 to 65536"):
        gym.make_vec(REACH, num_envs=0)
    with pytest.raises(ValueError, match="number of simulations 1000000000 is out of range"):
        make_batched(REACH, 10**9)
    with pytest.raises(TypeError, match="number of simulations has type float"):
        make_batched(REACH, 2.0)
    with pytest.raises(ValueError, match="render_size"):
        gym.make_vec(REACH, num_envs=2, render_size=(0, 10))


def test_goal_mode_without_a_goal_interface_is_refused_before_compiling(no_compile):
    with pytest.raises(ValueError, match="obs_mode='goal' needs a task with a goal interface; BinPicking has none"):
        gym.make("embodia/BinPicking-v0", obs_mode="goal")


# ---------------------------------------------------------------------------------------------- valid input
def test_recorded_configs_as_lists_and_dicts_still_construct():
    cls = config_class("embodia/Handover-v0")
    config = cls(bottle_mass_kg=[0.05, 0.08], human={"structure": {"sex": "male"}, "rom_scale": [0.6, 0.9]})
    assert config.bottle_mass_kg == (0.05, 0.08)
    assert config.human == HumanRanges(structure=HumanConfig(sex="male"), rom_scale=(0.6, 0.9))
    recorded = dataclasses.asdict(cls())
    assert cls(**{**recorded, "physics": dict(recorded["physics"])}) == cls()
    env = make_batched(REACH, 1, config=dataclasses.asdict(config_class(REACH)()), image_size=[64, 64])
    assert env.config == config_class(REACH)() and env.options.image_size == (64, 64)


def test_integer_and_numpy_values_are_accepted():
    import numpy as np

    cls = config_class("embodia/BinPicking-v0")
    config = cls(
        w_reach=1, part_mass_kg=(np.float32(0.05), 0.1), episode_steps=np.int64(300), control_hz=np.float64(20)
    )
    assert config.w_reach == 1 and config.episode_steps == 300
    EnvOptions(num_threads=np.int32(2), image_size=(np.int64(36), 36), depth=np.bool_(True), obs_mode="pixels")


# ---------------------------------------------------------------------------------------------- describe_config
@pytest.mark.parametrize("task_id", TASK_IDS)
def test_describe_config_lists_every_field_with_its_default_and_valid_range(task_id):
    cls = config_class(task_id)
    rows = describe_config(task_id)
    assert describe_config(cls) == rows == describe_config(resolve_task(TASKS[task_id].task)) == describe_config(cls())
    top = [row for row in rows if "." not in row.name]
    assert [row.name for row in top] == [f.name for f in dataclasses.fields(cls)]
    defaults = cls()
    for row in top:
        assert row.valid and row.type and row.description, row.name
    for row in rows:  # a nested field's default is the task's own (BlanketCover's 3.125 ms step), not its class's
        value = defaults
        for part in row.name.split("."):
            value = getattr(value, part)
        assert row.default == value, row.name
    by_name = {row.name: row for row in rows}
    assert by_name["physics.timestep_s"].unit == "s" and by_name["physics.timestep_s"].valid == "1e-05 to 0.1 s"
    assert by_name["episode_steps"].valid == "an integer 1 to 100000"
    assert by_name["episode_steps"].default == TASKS[task_id].episode_steps
    assert by_name["reward_mode"].choices == ("dense", "sparse")
    for row in top:
        if row.name.startswith("w_"):
            assert row.description.startswith("weight of"), row.name
        if row.name.endswith("_kg"):
            assert row.unit == "kg" and "> 0 kg" in row.valid
    if task_id in ("embodia/Handover-v0", "embodia/BedBathing-v0"):
        assert by_name["human.structure.body_mass_kg"].valid == "30.0 to 150.0 kg"
    flat = describe_config(task_id, nested=False)
    assert [row.name for row in flat] == [row.name for row in top]


def test_describe_env_options_and_errors():
    rows = {row.name: row for row in describe_config(EnvOptions)}
    assert rows["image_size"].valid == "2 integers, each 1 to 4096 px"
    assert rows["obs_mode"].choices == ("dict", "flat", "pixels", "point_cloud", "goal")
    assert rows["num_threads"].description.startswith("physics threads")
    with pytest.raises(KeyError, match="unknown task 'embodia/Nope-v0'"):
        describe_config("embodia/Nope-v0")
    with pytest.raises(TypeError, match="neither a config dataclass nor a Task class"):
        describe_config(int)
