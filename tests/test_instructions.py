"""A goal in words: every episode carries an instruction made from its own draws, the same for the same seed, in
``info``, as a ``Text`` observation when asked, in the episode files, Minari datasets and the review page."""

from __future__ import annotations

import string

import gymnasium as gym
import numpy as np
import pytest

import embodia  # noqa: F401  (registers the tasks)
from embodia.agents.evaluate import run_episodes
from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.human.config import PRONOUNS
from embodia.envs.record.dataset import read_episode
from embodia.envs.tasks.factory.bin_picking import PARTS
from embodia.envs.tasks.instructions import MAX_INSTRUCTION_CHARS, MIN_PHRASINGS, colour_name
from embodia.envs.tasks.registry import TASKS, task_spec


@pytest.mark.parametrize("env_id", list(TASKS))
def test_every_task_has_five_phrasings_of_its_episode_and_the_same_seed_gives_the_same_words(env_id):
    env = BatchedEnv(task_spec(env_id).task, 3)
    env.reset(seeds=[0, 1, 2])
    for sim_id in range(3):
        phrasings = env.task.instructions(env.sim, sim_id)
        assert len(set(phrasings)) >= MIN_PHRASINGS
        for text in phrasings:
            assert 10 <= len(text) <= MAX_INSTRUCTION_CHARS and set(text) <= set(string.printable)
            assert "{" not in text and "  " not in text  # every blank filled in
        assert env.instructions[sim_id] in phrasings
    first = env.instructions.copy()
    env.reset(seeds=[0, 1, 2])
    assert list(env.instructions) == list(first)
    alone = BatchedEnv(task_spec(env_id).task, 1)
    alone.reset(seeds=[2])
    assert alone.instructions[0] == first[2]  # a simulation's words do not depend on its neighbours


def test_the_words_leave_the_episode_as_it_was():
    """The phrasing is drawn from a child of the episode's stream: what the episode draws after it is unchanged."""
    env = BatchedEnv(task_spec("embodia/BinPicking-v0").task, 1)
    env.reset(seeds=[7])
    after_reset = env.rngs[0].random()
    fresh = np.random.default_rng(7)
    env.task.initialize_episode(env.sim, np.array([0]), [fresh])
    assert fresh.random() == after_reset


def test_bin_picking_names_the_drawn_part_and_its_colour_and_handover_the_persons_pronoun():
    env = BatchedEnv(task_spec("embodia/BinPicking-v0").task, 12)
    env.reset(seeds=list(range(12)))
    for sim_id in range(12):
        part = PARTS[int(env.task.target[sim_id])]
        assert f"{colour_name(part.rgba)} {part.name}" in env.instructions[sim_id]
    assert len(set(env.instructions)) >= 4
    env = BatchedEnv(task_spec("embodia/Handover-v0").task, 12)
    env.reset(seeds=list(range(12)))
    for sim_id in range(12):
        words = set(env.instructions[sim_id].split())
        sex = env.task.person.sexes[sim_id]
        other = next(s for s in PRONOUNS if s != sex)
        assert words & set(PRONOUNS[sex]) and not words & (set(PRONOUNS[other]) - set(PRONOUNS[sex]))
    assert set(env.task.person.sexes) == set(PRONOUNS)  # both drawn in twelve episodes


def test_the_instruction_is_in_info_at_reset_and_a_text_observation_when_asked():
    env = gym.make("embodia/Handover-v0", instruction_obs=True)
    obs, info = env.reset(seed=4)
    assert isinstance(info["instruction"], str) and obs["instruction"] == info["instruction"]
    assert isinstance(env.observation_space["instruction"], gym.spaces.Text)
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(env.action_space.sample())
    assert obs["instruction"] == info["instruction"]
    vector = gym.make_vec("embodia/Handover-v0", num_envs=2, instruction_obs=True)
    obs, info = vector.reset(seed=[4, 5])
    assert obs["instruction"][0] == env.unwrapped.core.instructions[0] and len(obs["instruction"]) == 2


def test_a_flat_observation_has_no_place_for_words():
    with pytest.raises(ValueError, match="instruction_obs=True needs a Dict observation"):
        gym.make("embodia/Reach-v0", obs_mode="flat", instruction_obs=True)


def test_recorded_episodes_and_minari_datasets_carry_the_instruction(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    from embodia.envs.record import dataset as ds

    run_episodes("embodia/Reach-v0", "expert", 2, seed=3, record_dir=tmp_path / "rec", progress=False, video=False,
                 env_kwargs={"instruction_obs": True})  # fmt: skip
    files = sorted((tmp_path / "rec").glob("episode_*.npz"))
    env = BatchedEnv(task_spec("embodia/Reach-v0").task, 1)
    env.reset(seeds=[3])
    episode = read_episode(files[0])
    assert episode.metadata["instruction"] == env.instructions[0]
    assert "instruction" not in episode.observations  # the episode's, kept once in its metadata
    ds.export_minari(files, "embodia/reach/words-v0", "expert")
    loaded = ds.load_minari("embodia/reach/words-v0")
    first = next(iter(loaded.iterate_episodes()))
    words = first.infos["instruction"]
    assert {w.decode() if isinstance(w, bytes) else str(w) for w in words} == {env.instructions[0]}


def test_instruction_features_are_a_stable_bag_of_words_in_any_observation_mode():
    from embodia.envs.tasks.instructions import bag_of_words

    words = bag_of_words("Put the red cube in its slot, the RED one", 64)
    assert words.dtype == np.float32 and words.shape == (64,) and words.sum() == 10
    assert np.array_equal(words, bag_of_words("put the red cube in its slot the red one", 64))
    env = gym.make("embodia/BinPicking-v0", instruction_features=128)
    obs, info = env.reset(seed=3)
    np.testing.assert_array_equal(obs["instruction_words"], bag_of_words(info["instruction"], 128))
    obs, *_ = env.step(env.action_space.sample())
    np.testing.assert_array_equal(obs["instruction_words"], bag_of_words(info["instruction"], 128))
    flat = gym.make("embodia/BinPicking-v0", obs_mode="flat", instruction_features=128)
    layout = flat.unwrapped.core.flat_layout()
    flat_obs, _ = flat.reset(seed=3)
    np.testing.assert_array_equal(flat_obs[layout["instruction_words"]], obs["instruction_words"])
    with pytest.raises(ValueError, match="instruction_features"):
        gym.make("embodia/BinPicking-v0", instruction_features=-1)


def test_the_language_conditioned_variant_observes_nothing_that_names_the_target():
    env = BatchedEnv(task_spec("embodia/BinPicking-v0").task, 1, goal_in_words=True, instruction_features=128)
    obs, _ = env.reset(seeds=[4])
    assert not any(key in obs for key in ("task_part_pos", "task_part_kind", "task_part_to_tcp", "task_slot_pos"))
    target = int(env.task.target[0])
    for other in range(3):  # another target, the same scene: every task entry reads the same
        env.task.target[0] = other
        again = env.task.observe(env.sim, env.task.evaluate(env.sim))
        for key, value in again.items():
            np.testing.assert_array_equal(value.astype(np.float32), obs[key], err_msg=key)
    env.task.target[0] = target
    assert PARTS[target].name in env.instructions[0]  # the words are where the goal is


def test_words_scale_and_shift_the_policy_features_starting_from_the_identity():
    torch = pytest.importorskip("torch")
    from embodia.agents.learn.features import YawFineFeaturesExtractor

    env = gym.make("embodia/BinPicking-v0", goal_in_words=True, instruction_features=32)
    space = env.observation_space
    extractor = YawFineFeaturesExtractor(space)
    obs = {k: torch.as_tensor(np.stack([space[k].sample() for _ in range(4)]), dtype=torch.float32) for k in space}
    base = extractor(obs)
    assert extractor.film is not None and base.shape == (4, extractor.features_dim)
    plain = {k: v for k, v in obs.items() if k != "instruction_words"}
    without_words = YawFineFeaturesExtractor(gym.spaces.Dict({k: space[k] for k in plain}))
    assert without_words.film is None
    with torch.no_grad():
        extractor.film.weight.normal_()
    changed = extractor(obs)
    assert not torch.allclose(changed, base)
    obs["instruction_words"] = torch.zeros_like(obs["instruction_words"])
    modulated = extractor(obs)
    with torch.no_grad():
        extractor.film.weight.zero_()
    torch.testing.assert_close(modulated, extractor(obs))  # no words: only the (zero) bias acts
