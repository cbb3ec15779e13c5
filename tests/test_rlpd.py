"""RLPD: the LayerNorm critic ensemble, symmetric batches, the update-to-data ratio, the clone start, bad settings."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from gymnasium import spaces
from stable_baselines3.common.torch_layers import FlattenExtractor

from embodia.agents.evaluate import run_episodes
from embodia.agents.learn import train as training
from embodia.agents.learn.bc import demo_stats, policy_inputs, train_bc
from embodia.agents.learn.config import ConfigError, TrainConfig
from embodia.agents.learn.rlpd import EnsembleLayerNorm, EnsembleLinear, LayerNormEnsembleCritic, start_rlpd
from embodia.agents.learn.trained import load_trained_policy

REACH = "embodia/Reach-v0"
TINY = dict(net_arch=[32, 32], batch_size=32, eval_episodes=2, final_eval_episodes=2, num_envs=2)


@pytest.fixture(scope="module")
def reach_demos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reach_expert")
    run_episodes(REACH, "expert", 8, seed=0, num_envs=4, record_dir=folder, progress=False, video=False)
    return folder


def started_model(tmp_path, reach_demos, **options):
    """An RLPD model on Reach (Dict observations, two simulations) with the demonstrations in its buffer, started
    as ``options`` say (``start_rlpd``); returns the model, its env, demonstrations and config."""
    config = TrainConfig(obs_mode="dict", demos=str(reach_demos), demo_episodes=8, demo_fraction=0.5,
                         **{**TINY, **options})  # fmt: skip
    env = training.EmbodiaVecEnv(REACH, 2, 0, **training.env_kwargs(config))
    demos = training._load_demos(REACH, config)
    model = training.build_model("rlpd", config, env, demo_stats(demos, config), tmp_path, 0)
    start_rlpd(model, demos, env, config, 0)
    return model, env, demos, config


def test_the_ensemble_is_independent_layer_normed_critics_whose_estimates_stay_bounded():
    torch.manual_seed(0)
    observation_space = spaces.Box(-np.inf, np.inf, (5,), np.float32)
    action_space = spaces.Box(-1, 1, (2,), np.float32)
    critic = LayerNormEnsembleCritic(observation_space, action_space, [16, 16], FlattenExtractor(observation_space),
                                     5, n_critics=3)  # fmt: skip
    obs, actions = torch.randn(8, 5), torch.rand(8, 2) * 2 - 1
    estimates = critic(obs, actions)
    assert len(estimates) == 3 and all(q.shape == (8, 1) for q in estimates)

    linear = [m for m in critic.q_ensemble if isinstance(m, EnsembleLinear)]
    norms = [m for m in critic.q_ensemble if isinstance(m, EnsembleLayerNorm)]
    for k in range(3):  # member k by hand: linear, LayerNorm with its own gain and bias, ReLU, ..., linear
        x = torch.cat([obs, actions], dim=1)
        for layer, norm in zip(linear[:-1], norms, strict=True):
            x = x @ layer.weight[k] + layer.bias[k]
            x = torch.relu(torch.nn.functional.layer_norm(x, (16,)) * norm.weight[k] + norm.bias[k])
        expected = x @ linear[-1].weight[k] + linear[-1].bias[k]
        torch.testing.assert_close(estimates[k], expected)
    assert not torch.allclose(estimates[0], estimates[1])  # members are initialised independently

    # LayerNorm bounds each estimate by the last layer's weights, however far the input is from the data
    last = linear[-1]
    bound = (last.weight.abs().sum(dim=(1, 2)) * np.sqrt(16) * norms[-1].weight.abs().max() + last.bias.abs().flatten()
             + last.weight.abs().sum(dim=(1, 2)) * norms[-1].bias.abs().max())  # fmt: skip
    with torch.no_grad():
        far = critic(obs * 1e4, actions)
    assert all(float(q.abs().max()) <= float(b) for q, b in zip(far, bound.detach(), strict=True))


def test_batches_are_half_demonstrations_and_the_actor_updates_once_per_utd_critic_updates(tmp_path, reach_demos):
    model, _, demos, config = started_model(tmp_path, reach_demos, learning_starts=10_000, utd_ratio=3,
                                            rlpd_critics=4, rlpd_start="scratch", demo_bc_steps=0.0,
                                            actor_learning_rate=1e-5)  # fmt: skip
    assert model.gradient_steps == 6  # utd_ratio critic updates per env step, two simulations per vector step
    assert model.critic.n_critics == 4
    model.learn(100)  # fills the buffer; learning_starts keeps it from training

    demo_obs = policy_inputs(demos, model.observation_space)
    demo_rows = np.concatenate([demo_obs[k].reshape(len(demos.actions), -1) for k in sorted(demo_obs)], axis=1)
    batch = model.replay_buffer.sample(32)
    rows = np.concatenate([batch.observations[k].numpy().reshape(32, -1) for k in sorted(batch.observations)], axis=1)
    from_demos = [bool(np.isclose(demo_rows, row).all(axis=1).any()) for row in rows]
    assert from_demos == [False] * 16 + [True] * 16

    steps = {"actor": 0, "critic": 0}
    for name in steps:
        optimizer = getattr(model, name).optimizer
        original = optimizer.step

        def counted(*args, _original=original, _name=name, **kwargs):
            steps[_name] += 1
            return _original(*args, **kwargs)

        optimizer.step = counted
    actor_before = [p.detach().clone() for p in model.actor.parameters()]
    model.actor_warmup_steps = 9
    model.train(gradient_steps=9, batch_size=32)  # warm-up: the critic learns, the actor waits
    assert steps == {"actor": 0, "critic": 9}
    assert all(torch.equal(a, b) for a, b in zip(actor_before, model.actor.parameters(), strict=True))
    model.train(gradient_steps=12, batch_size=32)
    assert steps == {"actor": 4, "critic": 21}
    assert model.actor.optimizer.param_groups[0]["lr"] == 1e-5  # the actor's own rate; the critic keeps its
    assert model.critic.optimizer.param_groups[0]["lr"] == config.learning_rate
    assert not all(torch.equal(a, b) for a, b in zip(actor_before, model.actor.parameters(), strict=True))


def test_a_clone_start_is_the_clone_with_its_set_std_and_the_saved_policy_acts(tmp_path, reach_demos):
    model, env, demos, config = started_model(tmp_path, reach_demos, total_steps=200, learning_starts=100,
                                              bc_epochs=20, demo_policy_std=0.2, demo_loss="qfilter",
                                              checkpoint_every=100, eval_every=100)  # fmt: skip
    cloned, _ = train_bc(demos, env.observation_space, env.action_space, config, 0)
    obs = {k: torch.as_tensor(v) for k, v in policy_inputs(demos, model.observation_space).items()}
    with torch.no_grad():
        torch.testing.assert_close(model.actor(obs, deterministic=True), cloned.actor(obs, deterministic=True))
        _, log_std, _ = model.actor.get_action_dist_params(obs)
    torch.testing.assert_close(log_std, torch.full_like(log_std, np.log(0.2)))

    result = training.train(REACH, "rlpd", config, 0, tmp_path / "run", progress=False)
    assert result["env_steps"] >= 200
    with pytest.warns(UserWarning, match="code-equivalent"):
        policy = load_trained_policy(tmp_path / "run", REACH)
    assert policy.info["policy_network"].endswith("RLPDMultiInputPolicy")
    batch = {k: np.zeros((3, *s.shape), np.float32) for k, s in model.observation_space.items()}
    actions = policy.actor.act(batch, {})
    assert actions.shape == (3, 7) and np.isfinite(actions).all()


def test_a_residual_start_acts_as_the_clone_and_its_corrections_stay_within_the_bound(tmp_path, reach_demos):
    model, env, demos, config = started_model(
        tmp_path,
        reach_demos,
        learning_starts=10_000,
        bc_epochs=20,
        rlpd_residual_scale=0.1,
        demo_policy_std=0.5,
        demo_bc_steps=0.0,
    )
    cloned, _ = train_bc(demos, env.observation_space, env.action_space, config, 0)
    obs = {k: torch.as_tensor(v) for k, v in policy_inputs(demos, model.observation_space).items()}
    with torch.no_grad():
        clone_actions = cloned.actor(obs, deterministic=True)
        torch.testing.assert_close(model.policy._predict(obs, deterministic=True), clone_actions)
    assert not any(p.requires_grad for p in model.policy.base_actor.parameters())

    model.learn(100)
    model.train(gradient_steps=60, batch_size=32)  # the actor's corrections move, the base does not
    with torch.no_grad():
        torch.testing.assert_close(model.policy.base_actor(obs, deterministic=True), clone_actions)
        acted = model.policy._predict(obs, deterministic=False)
    correction = (acted - clone_actions).abs()
    assert float(correction.max()) <= 0.1 + 1e-6 and float(correction.mean()) > 1e-4
    model.policy.save(tmp_path / "policy.zip")
    record = {"policy_class": training.class_name(type(model.policy))}
    loaded = training._load_policy_file(tmp_path / "policy.zip", record)
    with torch.no_grad():
        torch.testing.assert_close(loaded._predict(obs, deterministic=True), model.policy._predict(obs, True))


def test_clone_proposals_act_as_the_clone_at_the_start_and_take_the_actor_only_where_every_critic_prefers_it(
    tmp_path, reach_demos
):
    model, _, demos, _ = started_model(tmp_path, reach_demos, learning_starts=10_000, bc_epochs=20,
                                              rlpd_clone_proposals=True, demo_policy_std=0.2)  # fmt: skip
    obs = {k: torch.as_tensor(v) for k, v in policy_inputs(demos, model.observation_space).items()}
    policy = model.policy
    with torch.no_grad():
        clone_actions = policy.base_actor(obs, deterministic=True)
        torch.testing.assert_close(
            policy.actor(obs, deterministic=True), clone_actions
        )  # the actor starts as the clone
    assert not any(p.requires_grad for p in policy.base_actor.parameters())

    model.learn(100)
    model.train(gradient_steps=60, batch_size=32)  # the actor moves along the critic's gradient, the clone does not
    with torch.no_grad():
        torch.testing.assert_close(policy.base_actor(obs, deterministic=True), clone_actions)
        actor_actions = policy.actor(obs, deterministic=True)
        acted = policy._predict(obs, deterministic=True)
        q_actor = policy.critic.all_q(obs, actor_actions).min(dim=0).values
        q_clone = policy.critic.all_q(obs, clone_actions).max(dim=0).values
    assert float((actor_actions - clone_actions).abs().max()) > 1e-3
    # the actor's action only where every critic values it above what any critic says of the clone's
    expected = torch.where(q_actor > q_clone, actor_actions, clone_actions)
    torch.testing.assert_close(acted, expected)
    # the values the choice returns (the critic's target reuses them) are, to the bit, those of the chosen actions
    with torch.no_grad():
        chosen, _, values = policy.choose(obs, actor_actions, policy.critic_target)
        assert torch.equal(values, policy.critic_target.all_q(obs, chosen))
    assert 0.0 <= model.logger.name_to_value["train/target_actor_share"] <= 1.0
    model.policy.save(tmp_path / "policy.zip")
    loaded = training._load_policy_file(tmp_path / "policy.zip", {"policy_class": training.class_name(type(policy))})
    with torch.no_grad():
        torch.testing.assert_close(loaded._predict(obs, deterministic=True), acted)


def test_the_awac_actor_moves_only_towards_actions_in_the_batch(tmp_path, reach_demos):
    model, _, demos, _ = started_model(
        tmp_path, reach_demos, learning_starts=10_000, rlpd_start="scratch", rlpd_actor_loss="awac", demo_bc_steps=0.0
    )
    model.learn(100)
    obs = {k: torch.as_tensor(v) for k, v in policy_inputs(demos, model.observation_space).items()}
    targets = torch.as_tensor(np.clip(demos.actions, -0.99, 0.99), dtype=torch.float32)

    def error() -> float:
        with torch.no_grad():
            return float(((model.actor(obs, deterministic=True) - targets) ** 2).mean())

    before = error()
    model.train(gradient_steps=150, batch_size=32)
    # an advantage-weighted likelihood of the batch's actions: half of them demonstrated, the rest random ones
    assert error() < 0.8 * before
    assert "train/actor_loss" in model.logger.name_to_value


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rlpd_start": "pretrained"}, "rlpd_start='pretrained' is not valid; valid: clone, scratch"),
        ({"rlpd_critics": 1}, "rlpd_critics=1 must be at least 2"),
        ({"rlpd_critics": 3, "rlpd_target_subset": 4}, "rlpd_target_subset=4 must be at most rlpd_critics=3"),
        ({"utd_ratio": 0}, "utd_ratio=0 must be a positive integer"),
        ({"actor_learning_rate": -1e-4}, "actor_learning_rate=-0.0001 must be 0 (learning_rate) or positive"),
        ({"rlpd_actor_loss": "td3"}, "rlpd_actor_loss='td3' is not valid; valid: sac, awac"),
        ({"awac_beta": 0.0}, "awac_beta=0.0 must be positive"),
        ({"rlpd_residual_scale": 2.5}, "rlpd_residual_scale=2.5 must be in [0, 2]"),
        ({"rlpd_residual_scale": 0.2, "rlpd_start": "scratch"}, "it needs rlpd_start: clone"),
        ({"rlpd_clone_proposals": True, "rlpd_start": "scratch"}, "it needs rlpd_start: clone"),
        ({"rlpd_clone_proposals": True, "rlpd_residual_scale": 0.1}, "two ways to use the clone; set one"),
    ],
)
def test_bad_rlpd_settings_are_refused(options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        TrainConfig(**options)


def test_sac_with_layer_norm_critics_trains_resumes_and_loads_from_a_checkpoint(tmp_path):
    config = TrainConfig(total_steps=200, learning_starts=40, checkpoint_every=100, eval_every=100,
                         critic_layer_norm=True, **TINY)  # fmt: skip
    assert training.train(REACH, "sac", config, 0, tmp_path, progress=False, stop_after_steps=100)["interrupted"]
    with pytest.warns(UserWarning, match="code-equivalent"):
        from_checkpoint = load_trained_policy(tmp_path, REACH)  # the latest checkpoint of an unfinished run
    assert from_checkpoint.info["policy_network"].endswith("RLPDMlpPolicy")
    with pytest.warns(UserWarning, match="pickles"):
        result = training.train(REACH, "sac", config, 0, tmp_path, resume=True, progress=False)
    assert result["env_steps"] == 200
    with pytest.raises(training.RunError, match="critic_layer_norm: true works with sac and sac\\+demos and rlpd"):
        training.train(REACH, "td3", config, 0, tmp_path / "td3", progress=False)


def test_demonstrations_whose_rewards_are_not_the_envs_are_refused_by_a_learner_from_their_rewards(
    tmp_path, reach_demos, capsys
):
    import json
    import shutil

    from embodia.agents.learn.dataset import DatasetError
    from embodia.cli import main
    from embodia.envs.tasks.base import REWARD_REVISION

    older = shutil.copytree(reach_demos, tmp_path / "older")
    meta = json.loads((older / "meta.json").read_text())
    assert meta["versions"]["rewards"] == str(REWARD_REVISION)
    del meta["versions"]["rewards"]  # recorded before recordings named the rewards' revision
    (older / "meta.json").write_text(json.dumps(meta))
    config = TrainConfig(demos=str(older), demo_episodes=8, **TINY)
    revision = rf"reward revision before 3 \(none recorded\) \(the env's: {REWARD_REVISION}\)\)"
    with pytest.raises(DatasetError, match=rf"{revision}, and rlpd learns from them.*embodia run {REACH} "):
        training.train(REACH, "rlpd", config, 0, tmp_path / "rlpd", progress=False)
    assert not (tmp_path / "rlpd").exists()

    # the env's options decide its rewards too: termination on success pays the rest of the episode on success
    config = TrainConfig(demos=str(reach_demos), demo_episodes=8, env_kwargs={"terminate_on_success": False}, **TINY)
    with pytest.raises(DatasetError, match=r"terminate_on_success=True \(the env's: False\).*"
                                           r"--option terminate_on_success=false --record "):  # fmt: skip
        training.train(REACH, "sac+demos", config, 0, tmp_path / "sac", progress=False)
    # recorded as the message says, they are the env's
    command = training.collect_command(REACH, config).split()[1:]
    assert main([*command[: command.index("--record")], "--record", str(tmp_path / "again"), "--quiet"]) == 0
    capsys.readouterr()
    again = training._load_demos(REACH, TrainConfig(**{**config.__dict__, "demos": str(tmp_path / "again")}))
    training.check_demo_rewards(REACH, config, again, "sac+demos")

    # behaviour cloning reads no rewards: the older demonstrations still train it
    bc = TrainConfig(demos=str(older), demo_episodes=8, bc_epochs=1, net_arch=[16], final_eval_episodes=1)
    assert training.train(REACH, "bc", bc, 0, tmp_path / "bc", progress=False)["env_id"] == REACH
