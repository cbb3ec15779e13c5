"""Learning agents with real physics: BC learns, every algorithm runs on every task, resume, HER, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")
pytest.importorskip("yaml")

from embodia.agents.evaluate import run_episodes
from embodia.agents.learn import train as training
from embodia.agents.learn.bc import ACTION_TARGET_LIMIT, demo_stats, policy_inputs, train_bc
from embodia.agents.learn.config import ALGOS, ConfigError, TrainConfig, load_config
from embodia.agents.learn.dataset import DatasetError, load_demonstrations
from embodia.agents.learn.networks import SB3Policy
from embodia.agents.learn.rollout import evaluate_success
from embodia.agents.policy import RandomPolicy
from embodia.cli import main
from embodia.envs.core.batched_env import make_batched
from embodia.envs.tasks.registry import TASKS

REACH = "embodia/Reach-v0"
SHORT = {"episode_steps": 20}
TINY = dict(net_arch=[32, 32], batch_size=32, eval_episodes=2, final_eval_episodes=2, num_envs=4)


def record(tmp_path_factory, env_id: str, policy: str, episodes: int, env_kwargs: dict | None = None):
    folder = tmp_path_factory.mktemp(env_id.split("/")[1] + policy)
    run_episodes(env_id, policy, episodes, seed=0, num_envs=4, record_dir=folder, progress=False,
                 env_kwargs=env_kwargs, video=False)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def reach_demos(tmp_path_factory):
    return record(tmp_path_factory, REACH, "expert", 20)


def spaces_of(env_id: str, **kwargs):
    env = make_batched(env_id, 1, **kwargs)
    return env.single_observation_space, env.single_action_space


def test_bc_lowers_its_loss_and_beats_a_random_policy(reach_demos):
    dict_space, action_space = spaces_of(REACH)
    demos = load_demonstrations(reach_demos, REACH, dict_space, action_space)
    flat_space, _ = spaces_of(REACH, obs_mode="flat")
    config = TrainConfig(net_arch=[64, 64], bc_epochs=30, bc_patience=30, bc_holdout_fraction=0.2)
    policy, history = train_bc(demos, flat_space, action_space, config, seed=0)
    assert history.holdout_loss[history.best_epoch] < 0.3 * history.holdout_loss[0]
    episodes = 20
    env_kwargs = {"obs_mode": "flat"}
    cloned = evaluate_success(REACH, SB3Policy(policy), episodes, 1000, 20, env_kwargs)
    random = evaluate_success(REACH, RandomPolicy(20, 7, seed=0), episodes, 1000, 20, env_kwargs)
    # the cloned policy heads for the target (a random one wanders); it rarely settles within 2.5 cm yet
    assert cloned["mean_return"] > 2 * random["mean_return"]
    assert cloned["success_rate"] >= random["success_rate"]


@pytest.mark.parametrize("env_id", sorted(TASKS))
def test_every_algorithm_runs_on_every_task(env_id, tmp_path, tmp_path_factory):
    demos = record(tmp_path_factory, env_id, "random", 2, SHORT)
    for algo in ALGOS:
        config = TrainConfig(
            total_steps=100, learning_starts=40, n_steps=16, gradient_steps=1, env_kwargs=SHORT, demos=str(demos),
            demo_episodes=2, bc_epochs=2, checkpoint_every=50, eval_every=100, **TINY,
        )  # fmt: skip
        result = training.train(env_id, algo, config, 0, tmp_path / algo, progress=False)
        assert result["episodes"] == 2
        assert result["env_steps"] == 0 if algo == "bc" else result["env_steps"] >= 100
        if algo != "bc":  # stepped past its first checkpoint
            assert list((tmp_path / algo / "checkpoints").glob("model_*.zip"))
        assert (tmp_path / algo / "policy.zip").is_file()


def test_a_checkpoint_resumes_to_the_same_step_count(tmp_path):
    config = TrainConfig(total_steps=400, learning_starts=40, checkpoint_every=100, eval_every=100, **TINY)
    interrupted = training.train(REACH, "sac", config, 0, tmp_path, progress=False, stop_after_steps=200)
    assert interrupted == {"env_steps": 200, "interrupted": True}
    checkpoint = training.latest_checkpoint(tmp_path)
    assert checkpoint.name == "model_200.zip"
    with pytest.warns(UserWarning, match="pickles"):
        result = training.train(REACH, "sac", config, 0, tmp_path, resume=True, progress=False)
    assert result["env_steps"] == 400
    steps = [row["env_steps"] for row in training.read_curve(tmp_path)]
    assert steps == [0, 100, 200, 300, 400]
    with pytest.raises(training.RunError, match="already holds"):
        training.train(REACH, "sac", config, 0, tmp_path, progress=False)


def test_her_relabelling_computes_the_envs_reward(tmp_path):
    config = TrainConfig(total_steps=240, learning_starts=200, obs_mode="goal", her=True, **TINY)
    training.train(REACH, "sac", config, 0, tmp_path, progress=False)
    env = make_batched(REACH, 4, obs_mode="goal")
    obs, _ = env.reset(seeds=[0, 1, 2, 3])
    rng = np.random.default_rng(0)
    rewards = []
    for _ in range(30):
        obs, reward, *_ = env.step(rng.uniform(-1, 1, size=(4, 7)))
        np.testing.assert_array_equal(reward, env.compute_reward(obs["achieved_goal"], obs["desired_goal"], None))
        rewards.append(reward)
    # and in the buffer: relabelled goals get the reward the env's compute_reward gives them
    from stable_baselines3 import SAC

    vec_env = training.EmbodiaVecEnv(REACH, 4, 0, obs_mode="goal")
    model = SAC.load(training.latest_checkpoint(tmp_path), env=vec_env, device="cpu")
    model.load_replay_buffer(training.latest_checkpoint(tmp_path).with_name("replay_buffer_240.pkl"))
    batch = model.replay_buffer.sample(256)
    achieved = batch.next_observations["achieved_goal"].numpy()
    desired = batch.observations["desired_goal"].numpy()
    expected = env.compute_reward(achieved, desired, None)
    np.testing.assert_allclose(batch.rewards.numpy()[:, 0], expected)
    assert (expected == 0).any() and (expected == -1).any()  # relabelling produced both outcomes


def test_bad_input_is_refused_before_training(tmp_path, reach_demos):
    config_path = tmp_path / "bad.yaml"
    config_path.write_text("total_stepz: 10\n")
    with pytest.raises(ConfigError, match=r"unknown key.*total_stepz"):
        load_config(config_path)
    config_path.write_text("total_steps: many\n")
    with pytest.raises(ConfigError, match=r"total_steps=.many. has type str, expected int"):
        load_config(config_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    # a dataset recorded on another task
    with pytest.raises(DatasetError, match="recorded on 'embodia/Reach-v0', not on 'embodia/BinPicking-v0'"):
        training.train("embodia/BinPicking-v0", "bc", TrainConfig(demos=str(reach_demos)), 0, tmp_path / "a")
    assert not (tmp_path / "a").exists()
    # mismatched spaces: the same task with force-torque observations
    with pytest.raises(DatasetError, match="observation keys differ"):
        load_demonstrations(reach_demos, REACH, *spaces_of(REACH, force_torque=True))
    with pytest.raises(DatasetError, match="neither a run folder nor a local Minari dataset"):
        training.train(REACH, "bc", TrainConfig(demos="nobody/no-such-dataset-v0"), 0, tmp_path / "b")
    with pytest.raises(training.RunError, match="no training run"):
        training.train(REACH, "sac", TrainConfig(), 0, tmp_path / "c", resume=True)


def test_demonstrations_of_another_controller_revision_load_with_a_warning(tmp_path, reach_demos):
    import shutil
    import warnings

    from embodia.agents.learn.dataset import DemonstrationVersionWarning

    obs_space, act_space = spaces_of(REACH)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DemonstrationVersionWarning)  # this revision's: no warning
        load_demonstrations(reach_demos, REACH, obs_space, act_space)
    older = shutil.copytree(reach_demos, tmp_path / "older")
    meta = json.loads((older / "meta.json").read_text())
    del meta["versions"]["controller"]  # recorded before the revision was kept: the first
    (older / "meta.json").write_text(json.dumps(meta))
    with pytest.warns(DemonstrationVersionWarning, match="revision 1 .this embodia's is 2"):
        demos = load_demonstrations(older, REACH, obs_space, act_space)
    assert demos.num_episodes == 20  # still usable: the warning says what they are


def test_cli_train_and_eval(tmp_path, reach_demos, capsys):
    config = tmp_path / "reach-bc.yaml"
    config.write_text(
        f"demos: {reach_demos}\ndemo_episodes: 20\nbc_epochs: 5\nnet_arch: [32, 32]\nfinal_eval_episodes: 2\n"
    )
    run = tmp_path / "run"
    assert main(["train", REACH, "--algo", "bc", "--config", str(config), "--out", str(run), "--quiet"]) == 0
    assert "success rate" in capsys.readouterr().out
    assert json.loads((run / "eval.json").read_text())["episodes"] == 2
    out = tmp_path / "recorded"
    code = main(["eval", str(run), "--episodes", "2", "--record", str(out), "--no-video", "--quiet"])
    assert code == 0
    assert "can run code" in capsys.readouterr().err
    assert len(list(out.glob("episode_*.npz"))) == 2
    assert main(["train", REACH, "--algo", "sac", "--out", str(tmp_path / "none"), "--resume"]) == 2
    assert "cannot resume" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    config.write_text("bc_epochs: 1.5\n")
    assert main(["train", REACH, "--algo", "bc", "--config", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "bc_epochs=1.5 has type float, expected int" in capsys.readouterr().err


def test_demo_sac_mixes_demonstrations_into_batches_and_pulls_the_actor_to_them(tmp_path, reach_demos):
    config = TrainConfig(learning_starts=10_000, demos=str(reach_demos), demo_episodes=20, demo_fraction=0.25, **TINY)
    env = training.EmbodiaVecEnv(REACH, 4, 0, **training.env_kwargs(config))
    demos = training._load_demos(REACH, config)
    model = training.build_model("sac+demos", config, env, demo_stats(demos, config), tmp_path, 0)
    training.attach_demonstrations(model, demos, config)
    model.learn(200)  # fills the buffer; learning_starts keeps it from training
    demo_obs = policy_inputs(demos, model.observation_space)
    batch = model.replay_buffer.sample(64)
    observations = batch.observations.numpy()
    from_demos = [bool((demo_obs == row).all(axis=1).any()) for row in observations]
    assert from_demos == [False] * 48 + [True] * 16  # exactly demo_fraction of the batch, at its end

    def demo_error() -> float:
        with torch.no_grad():
            predicted = model.actor(torch.as_tensor(demo_obs), deterministic=True).numpy()
        return float(np.mean((predicted - np.clip(demos.actions, -ACTION_TARGET_LIMIT, ACTION_TARGET_LIMIT)) ** 2))

    # critic-only warm-up: the actor keeps its cloned parameters while the critic learns
    actor_before = [p.detach().clone() for p in model.actor.parameters()]
    critic_before = [p.detach().clone() for p in model.critic.parameters()]
    model.actor_warmup_steps = 10
    model.train(gradient_steps=10, batch_size=64)
    assert all(torch.equal(a, b) for a, b in zip(actor_before, model.actor.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(critic_before, model.critic.parameters(), strict=True))

    before = demo_error()
    model.train(gradient_steps=120, batch_size=64)
    assert demo_error() < 0.85 * before  # the behaviour-cloning steps moved the actor towards the expert


def test_ppo_takes_its_advantage_and_update_settings_from_the_config(tmp_path):
    from embodia.agents.learn.vec_env import EmbodiaVecEnv

    config = TrainConfig(gae_lambda=0.8, clip_range=0.1, target_kl=0.02, n_steps=16, **TINY)
    env = EmbodiaVecEnv(REACH, 2, 0, **training.env_kwargs(config))
    try:
        model = training.build_model("ppo", config, env, {}, tmp_path, 0)
        assert (model.gae_lambda, model.clip_range(1.0), model.target_kl) == (0.8, 0.1, 0.02)
        assert training.build_model("ppo", TrainConfig(**TINY), env, {}, tmp_path, 0).target_kl is None
    finally:
        env.close()
    with pytest.raises(ConfigError, match=r"gae_lambda=1.5 must be in \[0, 1\]"):
        TrainConfig(gae_lambda=1.5)


def test_ppo_with_state_dependent_exploration_repeats_its_noise_where_the_state_repeats(tmp_path):
    """gSDE (use_sde): the exploration noise is a function of the state while its weights are held, so the same
    observation draws the same noisy action; PPO's default noise differs at every draw."""
    from embodia.agents.learn.vec_env import EmbodiaVecEnv

    env = EmbodiaVecEnv(REACH, 2, 0, **training.env_kwargs(TrainConfig(**TINY)))
    try:
        obs = env.reset()
        sde = training.build_model("ppo", TrainConfig(use_sde=True, log_std_init=-2.0, **TINY), env, {}, tmp_path, 0)
        assert sde.use_sde and sde.sde_sample_freq == -1
        assert torch.allclose(sde.policy.log_std, torch.full_like(sde.policy.log_std, -2.0))
        sde.policy.reset_noise(2)
        first, second = (sde.predict(obs, deterministic=False)[0] for _ in range(2))
        mean = sde.predict(obs, deterministic=True)[0]
        np.testing.assert_array_equal(first, second)
        assert not np.allclose(first, mean)
        plain = training.build_model("ppo", TrainConfig(**TINY), env, {}, tmp_path, 0)
        assert not plain.use_sde
        assert not np.array_equal(*(plain.predict(obs, deterministic=False)[0] for _ in range(2)))
    finally:
        env.close()
    with pytest.raises(ConfigError, match=r"sde_sample_freq=0 must be -1 \(once per rollout\) or positive"):
        TrainConfig(sde_sample_freq=0)
    with pytest.raises(ConfigError, match=r"log_std_init=5.0 must be in \[-20, 2\]"):
        TrainConfig(log_std_init=5.0)


def test_a_linear_learning_rate_reaches_zero_at_the_last_update_and_survives_a_save(tmp_path):
    from stable_baselines3 import PPO

    from embodia.agents.learn.vec_env import EmbodiaVecEnv

    config = TrainConfig(lr_schedule="linear", learning_rate=1e-3, n_steps=16, **TINY)  # 64 steps a rollout
    env = EmbodiaVecEnv(REACH, 4, 0, **training.env_kwargs(config))
    try:
        model = training.build_model("ppo", config, env, {}, tmp_path, 0)
        rates = []
        original_train = model.train

        def train_and_note() -> None:
            original_train()
            rates.append(model.policy.optimizer.param_groups[0]["lr"])

        model.train = train_and_note
        model.learn(192)  # three rollouts: updated with 2/3, 1/3 and none of training left
        assert rates == pytest.approx([1e-3 * 2 / 3, 1e-3 / 3, 0.0])
        del model.train  # the class's own again, for saving
        model.save(tmp_path / "model.zip")
        loaded = PPO.load(tmp_path / "model.zip", env=env, device="cpu")
        assert loaded.lr_schedule(0.5) == pytest.approx(5e-4)
    finally:
        env.close()
    constant = training.build_model("ppo", TrainConfig(learning_rate=1e-3, **TINY), env, {}, tmp_path, 0)
    assert constant.lr_schedule(0.1) == pytest.approx(1e-3)
    with pytest.raises(ConfigError, match=r"lr_schedule='cosine' is not valid; valid: constant, linear"):
        TrainConfig(lr_schedule="cosine")


def test_normalize_reward_divides_what_the_learner_sees_by_the_full_dense_rate(tmp_path):
    from embodia.agents.learn.vec_env import EmbodiaVecEnv

    config = TrainConfig(normalize_reward=True, n_steps=32, total_steps=128, **TINY)
    seen = {}

    def keep_env(env_id, algo, config, env, *args):  # the env train() hands the model, with its scale
        seen["scale"] = env.reward_scale
        return original(env_id, algo, config, env, *args)

    original = training._new_model
    training._new_model = keep_env
    try:
        training.train(REACH, "ppo", config, 0, tmp_path / "ppo", progress=False)
    finally:
        training._new_model = original
    plain = EmbodiaVecEnv(REACH, 2, 0)
    scaled = EmbodiaVecEnv(REACH, 2, 0, reward_scale=seen["scale"])
    try:
        full_rate = plain.core.config.full_dense_rate()
        assert full_rate > 1.0 and seen["scale"] == 1.0 / full_rate
        plain.reset(), scaled.reset()
        action = np.full((2, plain.action_space.shape[0]), 0.3)
        for _ in range(5):
            plain.step_async(action), scaled.step_async(action)
            reward, normalised = plain.step_wait()[1], scaled.step_wait()[1]
            assert np.allclose(normalised, reward / full_rate) and (normalised <= 1.0).all()
    finally:
        plain.close(), scaled.close()
    with pytest.raises(training.RunError, match=r"scales the env's rewards, not those of the demonstrations rlpd"):
        training.train(REACH, "rlpd", TrainConfig(normalize_reward=True, demos=str(tmp_path)), 0, tmp_path / "r")


def test_a_checkpoint_of_ppo_with_state_dependent_exploration_loads_and_acts_as_its_model(tmp_path):
    """PPO hands ``use_sde`` to its policy beside ``policy_kwargs``: a checkpoint read without unpickling must
    build the gSDE policy (its noise weights' shapes differ), or a run's checkpoints cannot be run or evaluated."""
    config = TrainConfig(total_steps=256, n_steps=32, checkpoint_every=128, eval_every=10_000, use_sde=True,
                         log_std_init=-2.0, **TINY)  # fmt: skip
    training.train(REACH, "ppo", config, 0, tmp_path, progress=False, stop_after_steps=128)
    checkpoint = training.latest_checkpoint(tmp_path)
    with pytest.warns(UserWarning, match="code-equivalent"):
        _, policy = training.load_run_policy(checkpoint, REACH)
    assert policy.use_sde
    from stable_baselines3 import PPO

    model = PPO.load(checkpoint, device="cpu")
    obs = policy.observation_space.sample()
    np.testing.assert_array_equal(policy.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_running_normalization_merges_batches_as_if_seen_at_once():
    """The running statistics equal numpy's over everything merged (float64, Chan et al.'s pairwise update);
    entries that never vary keep the floor, so a constant input is not blown up."""
    from gymnasium import spaces

    from embodia.agents.learn.networks import STD_FLOOR, NormalizedExtractor

    space = spaces.Dict({"b": spaces.Box(-9, 9, (2,)), "a": spaces.Box(-9, 9, (3,))})
    extractor = NormalizedExtractor(space, running=True)
    rng = np.random.default_rng(0)
    batches = [{"a": rng.normal(1.0, 2.0, (n, 3)), "b": rng.normal(-3.0, 0.5, (n, 2))} for n in (7, 50, 1)]
    batches[1]["b"][:, 1] = batches[0]["b"][0, 1]  # nearly constant: one batch varies it, two hold it
    for batch in batches:
        extractor.merge_statistics(batch)
    rows = np.concatenate([np.concatenate([b["a"], b["b"]], axis=1) for b in batches])  # sorted keys: a, b
    np.testing.assert_allclose(extractor.mean.numpy(), rows.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(extractor.std.numpy(), np.maximum(rows.std(axis=0), STD_FLOOR), rtol=1e-6)
    assert int(extractor.seen_count) == 58
    fixed = NormalizedExtractor(space)
    with pytest.raises(RuntimeError, match="fixed"):
        fixed.merge_statistics(batches[0])


def test_ppo_with_running_normalization_follows_its_rollouts_and_its_checkpoint_keeps_them(tmp_path):
    """Each finished rollout is merged before the next one is collected (not the last: training ends); the stats
    are buffers of the policy, so its checkpoint acts with them. Other algorithms refuse the key."""
    config = TrainConfig(total_steps=384, n_steps=32, checkpoint_every=384, eval_every=10_000, obs_mode="dict",
                         running_normalization=True, **TINY)  # fmt: skip
    training.train(REACH, "ppo", config, 0, tmp_path, progress=False)
    checkpoint = training.latest_checkpoint(tmp_path)
    with pytest.warns(UserWarning, match="code-equivalent"):
        _, policy = training.load_run_policy(checkpoint, REACH)
    extractor = policy.features_extractor
    assert extractor.running and int(extractor.seen_count) == 2 * 32 * TINY["num_envs"]  # rollouts 1 and 2 of 3
    np.testing.assert_allclose(extractor.mean.numpy(), extractor.seen_mean.numpy(), rtol=1e-6)
    with pytest.raises(
        training.RunError, match=r"running_normalization: true is for RL from scratch \(ppo, sac, td3\)"
    ):
        training.train(REACH, "rlpd", TrainConfig(running_normalization=True, **TINY), 0, tmp_path / "rlpd")


def test_sac_with_running_normalization_merges_every_row_its_replay_buffer_gains(tmp_path):
    """Off-policy: the rows added since the last rollout, merged when the next starts (not the last rollout's),
    across the buffer's wrap (a buffer of 2 vector steps); the actor's, critic's and target's stats alike."""
    config = TrainConfig(total_steps=96, learning_starts=16, buffer_size=10, checkpoint_every=96, eval_every=10_000,
                         obs_mode="dict", running_normalization=True, **TINY)  # fmt: skip
    training.train(REACH, "sac", config, 0, tmp_path, progress=False)
    with pytest.warns(UserWarning, match="code-equivalent"):
        _, policy = training.load_run_policy(training.latest_checkpoint(tmp_path), REACH)
    from embodia.agents.learn.networks import NormalizedExtractor

    extractors = [m for m in policy.modules() if isinstance(m, NormalizedExtractor)]  # actor, critic, target
    assert len(extractors) == 3
    assert all(int(e.seen_count) == 96 - TINY["num_envs"] for e in extractors)
    assert all(torch.equal(e.mean, extractors[0].mean) for e in extractors)
