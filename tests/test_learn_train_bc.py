"""``embodia train --algo bc``: a missing demonstration folder names the command that records it, and
``dagger_rounds`` in the config runs DAgger (real physics on Reach, seconds)."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

pytest.importorskip("stable_baselines3")

from embodia.agents.learn import train as training
from embodia.agents.learn.config import ConfigError, TrainConfig
from embodia.agents.learn.dataset import DatasetError
from embodia.cli import main
from embodia.envs.tasks.registry import TASKS

REACH = "embodia/Reach-v0"
TINY_BC = dict(net_arch=[32, 32], bc_epochs=5, bc_patience=5, eval_episodes=2, final_eval_episodes=2)


def test_a_missing_demo_folder_names_the_command_that_records_it_and_that_command_works(tmp_path):
    folder = tmp_path / "demos" / "Reach-v0"
    config = TrainConfig(demos=str(folder), demo_episodes=3, **TINY_BC)
    with pytest.raises(DatasetError, match="Record the demonstrations first: embodia run embodia/Reach-v0") as error:
        training.train(REACH, "bc", config, 0, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    command = str(error.value).split("Record the demonstrations first: ")[1]
    assert main([*shlex.split(command)[1:], "--quiet"]) == 0
    result = training.train(REACH, "bc", config, 0, tmp_path / "run", progress=False)
    assert result["episodes"] == 2


def test_dagger_rounds_in_the_config_run_dagger_and_keep_the_best_round(tmp_path):
    folder = tmp_path / "demos"
    assert main(["run", REACH, "--episodes", "4", "--num-envs", "4", "--no-video", "--quiet", "--record",
                 str(folder)]) == 0  # fmt: skip
    config = TrainConfig(demos=str(folder), demo_episodes=4, dagger_rounds=1, dagger_episodes=3,
                         env_kwargs={"episode_steps": 15}, **TINY_BC)  # fmt: skip
    training.train(REACH, "bc", config, 0, tmp_path / "run", progress=False)
    dagger = json.loads((tmp_path / "run" / "run.json").read_text())["dagger"]
    assert [r["round"] for r in dagger["rounds"]] == [0, 1]
    assert dagger["rounds"][1]["transitions"] > dagger["rounds"][0]["transitions"]  # labelled rollouts were added
    assert dagger["selected_round"] in (0, 1)


def test_bad_dagger_and_feature_options_are_refused():
    with pytest.raises(ConfigError, match="dagger_rounds=-1"):
        TrainConfig(dagger_rounds=-1)
    with pytest.raises(ConfigError, match="policy_features='colour'"):
        TrainConfig(policy_features="colour")


def test_qfilter_demo_sac_pulls_the_actor_towards_the_demonstrations_inside_its_loss(tmp_path):
    import numpy as np
    import torch

    from embodia.agents.learn.bc import ACTION_TARGET_LIMIT, demo_stats, policy_inputs

    folder = tmp_path / "demos"
    assert main(["run", REACH, "--episodes", "8", "--num-envs", "4", "--no-video", "--quiet", "--record",
                 str(folder)]) == 0  # fmt: skip
    config = TrainConfig(learning_starts=10_000, demos=str(folder), demo_episodes=8, demo_fraction=0.25,
                         demo_loss="qfilter", net_arch=[32, 32], batch_size=32, num_envs=4)  # fmt: skip
    env = training.EmbodiaVecEnv(REACH, 4, 0, **training.env_kwargs(config))
    demos = training._load_demos(REACH, config)
    model = training.build_model("sac+demos", config, env, demo_stats(demos, config), tmp_path, 0)
    training.attach_demonstrations(model, demos, config)
    model.learn(200)  # fills the buffer; learning_starts keeps it from training
    demo_obs = torch.as_tensor(policy_inputs(demos, model.observation_space))
    targets = np.clip(demos.actions, -ACTION_TARGET_LIMIT, ACTION_TARGET_LIMIT)

    def demo_error() -> float:
        with torch.no_grad():
            return float(np.mean((model.actor(demo_obs, deterministic=True).numpy() - targets) ** 2))

    before = demo_error()
    model.train(gradient_steps=300, batch_size=64)
    assert model.logger.name_to_value["train/q_filter_share"] > 0  # the filter kept some demonstration rows
    assert demo_error() < 0.8 * before  # no separate BC steps run in this mode: the actor loss moved it


def test_without_early_stopping_bc_trains_every_epoch_and_keeps_the_last_weights(tmp_path):
    from embodia.agents.learn.bc import train_bc
    from embodia.agents.learn.dataset import load_demonstrations
    from embodia.envs.core.batched_env import make_batched

    folder = tmp_path / "demos"
    assert main(["run", REACH, "--episodes", "4", "--num-envs", "4", "--no-video", "--quiet", "--record",
                 str(folder)]) == 0  # fmt: skip
    env = make_batched(REACH, 1)
    demos = load_demonstrations(folder, REACH, env.single_observation_space, env.single_action_space)
    config = TrainConfig(net_arch=[16], bc_epochs=12, bc_patience=1, bc_early_stopping=False, bc_holdout_fraction=0.25)
    _, history = train_bc(demos, env.single_observation_space, env.single_action_space, config, seed=0)
    assert len(history.train_loss) == 12 and history.best_epoch == 11 and not history.stopped_early
    assert history.train_loss[-1] < history.train_loss[0]


def test_weight_averaging_saves_the_exponential_average_of_the_weights(tmp_path):
    import torch

    from embodia.agents.learn.bc import WeightAverage, train_bc
    from embodia.agents.learn.dataset import load_demonstrations
    from embodia.envs.core.batched_env import make_batched

    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    average = WeightAverage(layer, decay=0.5)
    for value in (3.0, 5.0):
        with torch.no_grad():
            layer.weight.fill_(value)
        average.update(layer)
    # 1 -> 0.5 * 1 + 0.5 * 3 = 2 -> 0.5 * 2 + 0.5 * 5 = 3.5, in the layer's own dtype
    assert torch.equal(average.state_dict()["weight"], torch.full((1, 2), 3.5))
    assert average.state_dict()["weight"].dtype == torch.float32

    folder = tmp_path / "demos"
    assert main(["run", REACH, "--episodes", "2", "--num-envs", "2", "--no-video", "--quiet", "--record",
                 str(folder)]) == 0  # fmt: skip
    env = make_batched(REACH, 1)
    demos = load_demonstrations(folder, REACH, env.single_observation_space, env.single_action_space)
    space, actions = env.single_observation_space, env.single_action_space
    last = TrainConfig(net_arch=[16], bc_epochs=3, bc_early_stopping=False, bc_lr_schedule="cosine")
    averaged = TrainConfig(net_arch=[16], bc_epochs=3, bc_early_stopping=False, bc_lr_schedule="cosine",
                           bc_ema_decay=0.9)  # fmt: skip
    plain, _ = train_bc(demos, space, actions, last, seed=0)
    smooth, _ = train_bc(demos, space, actions, averaged, seed=0)
    # the same gradient steps (same seed), but the saved weights are their average, not the last ones
    first = next(k for k in plain.state_dict() if k.endswith("weight"))
    assert not torch.equal(plain.state_dict()[first], smooth.state_dict()[first])
    with pytest.raises(ConfigError, match=r"bc_ema_decay=1.0 must be in \[0, 1\)"):
        TrainConfig(bc_ema_decay=1.0)
    with pytest.raises(ConfigError, match=r"bc_lr_schedule='step' is not valid; valid: constant, cosine"):
        TrainConfig(bc_lr_schedule="step")


def test_weight_decay_shrinks_the_weight_matrices_only(tmp_path):
    import torch

    from embodia.agents.learn.bc import bc_optimizer, train_bc
    from embodia.agents.learn.dataset import load_demonstrations
    from embodia.envs.core.batched_env import make_batched

    layer = torch.nn.Linear(3, 2)
    weight, bias = layer.weight.detach().clone(), layer.bias.detach().clone()
    optimizer = bc_optimizer(list(layer.parameters()), TrainConfig(bc_learning_rate=0.01, bc_weight_decay=0.5))
    for _ in range(4):  # no gradient: Adam's step is zero, so only the decay moves the weights
        optimizer.zero_grad()
        (0.0 * layer(torch.ones(1, 3)).sum()).backward()
        optimizer.step()
    torch.testing.assert_close(layer.weight.detach(), weight * (1 - 0.01 * 0.5) ** 4)  # lr x decay per step
    assert torch.equal(layer.bias.detach(), bias)  # biases and norms are not decayed
    assert type(bc_optimizer(list(layer.parameters()), TrainConfig())) is torch.optim.Adam  # 0: runs as before

    folder = tmp_path / "demos"
    assert main(["run", REACH, "--episodes", "2", "--num-envs", "2", "--no-video", "--quiet", "--record",
                 str(folder)]) == 0  # fmt: skip
    env = make_batched(REACH, 1)
    space, actions = env.single_observation_space, env.single_action_space
    demos = load_demonstrations(folder, REACH, space, actions)
    config = TrainConfig(net_arch=[16], bc_epochs=3, bc_early_stopping=False, bc_learning_rate=0.01)
    plain, _ = train_bc(demos, space, actions, config, seed=0)
    decayed, _ = train_bc(demos, space, actions, dataclasses.replace(config, bc_weight_decay=0.9), seed=0)
    matrices = [k for k, v in plain.actor.state_dict().items() if v.dim() > 1 and not k.startswith("log_std")]
    assert matrices
    for key in matrices:  # the same seed and batches: every weight matrix the loss trains ends smaller
        assert decayed.actor.state_dict()[key].norm() < plain.actor.state_dict()[key].norm(), key
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ConfigError, match=r"bc_weight_decay=.* must be in \[0, 1\)"):
            TrainConfig(bc_weight_decay=bad)


def test_precision_features_are_the_squashed_relative_vectors_found_by_name():
    import numpy as np
    import torch

    from embodia.agents.learn.features import FINE_SCALES_M, FineFeaturesExtractor
    from embodia.envs.core.batched_env import make_batched

    env = make_batched("embodia/Handover-v0", 2, obs_mode="dict")
    obs, _ = env.reset(np.arange(2), [0, 1])
    extractor = FineFeaturesExtractor(env.single_observation_space)
    assert extractor.fine_keys == ("task_bottle_to_palm", "task_bottle_to_tcp")  # every task_<a>_to_<b>, sorted
    features = extractor({k: torch.as_tensor(v, dtype=torch.float32) for k, v in obs.items()}).numpy()
    extra = features[:, -12:]
    expected = np.concatenate([np.tanh(obs[key] / scale) for key in extractor.fine_keys
                               for scale in FINE_SCALES_M], axis=1)  # fmt: skip
    np.testing.assert_allclose(extra, expected, atol=1e-5)
    assert features.shape[1] == extractor.features_dim
    flat = make_batched(REACH, 1, obs_mode="flat")
    with pytest.raises(ValueError, match="need a Dict observation"):
        FineFeaturesExtractor(flat.single_observation_space)


@pytest.mark.parametrize("env_id", sorted(TASKS))
def test_every_task_gives_the_one_recipe_its_relative_vectors(env_id):
    import numpy as np
    import torch

    from embodia.agents.learn.features import YawFineFeaturesExtractor
    from embodia.envs.core.batched_env import make_batched

    env = make_batched(env_id, 2, obs_mode="dict")
    obs, _ = env.reset(np.arange(2), [0, 1])
    extractor = YawFineFeaturesExtractor(env.single_observation_space)
    assert extractor.fine_keys, f"{env_id} exposes no task_<a>_to_<b> vector"
    features = extractor({k: torch.as_tensor(v, dtype=torch.float32) for k, v in obs.items()}).numpy()
    assert features.shape == (2, extractor.features_dim) and np.isfinite(features).all()
    env.close()


def test_successes_only_keeps_the_finished_noisy_episodes_until_enough_are_recorded(tmp_path):
    import numpy as np

    from embodia.agents.learn.collect import collect_demonstrations
    from embodia.agents.learn.dataset import load_demonstrations
    from embodia.envs.core.batched_env import make_batched

    # noise 2.0 on the arm's translation: the Reach expert finishes fewer than half its episodes
    summary = collect_demonstrations(
        REACH, 6, tmp_path / "demos", action_noise=2.0, noise_dims=slice(0, 3), successes_only=True
    )
    files = sorted((tmp_path / "demos").glob("episode_*.npz"))
    assert len(files) == 6 and summary["attempted"] > 6 and summary["success_rate"] < 1.0
    names = [path.stem for path in files]
    assert names != [f"episode_{k:04d}" for k in range(6)]  # failed seeds are skipped, the kept ones keep their index
    env = make_batched(REACH, 1, obs_mode="dict")
    demos = load_demonstrations(tmp_path / "demos", REACH, env.single_observation_space, env.single_action_space)
    env.close()
    assert demos.num_episodes == 6 and np.isfinite(demos.actions).all()
    with pytest.raises(RuntimeError, match="successful demonstrations need a lower noise"):
        collect_demonstrations(REACH, 2, tmp_path / "hopeless", action_noise=50.0, noise_dims=slice(0, 3),
                               successes_only=True)  # fmt: skip


def test_chunk_targets_are_the_next_actions_of_the_same_episode():
    import numpy as np

    from embodia.agents.learn.bc import chunk_targets
    from embodia.agents.learn.dataset import Demonstrations

    actions = np.arange(10, dtype=float).reshape(5, 2)  # episode 0: rows 0-2, episode 1: rows 3-4
    demos = Demonstrations("x", {}, {}, actions, np.zeros(5), np.zeros(5), np.array([0, 0, 0, 1, 1]), 2, "test")
    targets = chunk_targets(demos, 3)
    np.testing.assert_array_equal(targets[0], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(targets[1], [2, 3, 4, 5, 4, 5])  # the episode's last action repeated
    np.testing.assert_array_equal(targets[3], [6, 7, 8, 9, 8, 9])  # never the next episode's


def test_temporal_ensembling_averages_every_chunk_that_covers_the_step_and_resets_per_episode():
    import numpy as np
    from gymnasium import spaces

    from embodia.agents.learn.networks import ENSEMBLE_DECAY, SB3Policy

    class Scripted:  # a network that predicts chunk [10 t, 10 t + 1, 10 t + 2] at its t-th call (one simulation)
        observation_space = spaces.Box(-1.0, 1.0, (2,))

        def __init__(self):
            self.calls = 0

        def predict(self, obs, deterministic=True):
            self.calls += 1
            return np.array([[10.0 * self.calls, 10.0 * self.calls + 1, 10.0 * self.calls + 2]]), None

    policy = SB3Policy(Scripted(), chunk=3)
    obs = np.zeros((1, 2), dtype=np.float32)
    assert policy.act(obs, {})[0, 0] == 10.0  # only the first chunk covers step 1
    second = policy.act(obs, {})[0, 0]  # chunk 1's entry 1 (11) and chunk 2's entry 0 (20), the older weighing more
    w_old, w_new = np.exp(-ENSEMBLE_DECAY * 1), np.exp(-ENSEMBLE_DECAY * 2)
    assert second == pytest.approx((w_old * 11 + w_new * 20) / (w_old + w_new))
    policy.reset(np.array([0]))
    assert policy.act(obs, {})[0, 0] == 30.0  # a new episode starts from its own first chunk

    newest_first = SB3Policy(Scripted(), chunk=3, ensemble_decay=-1.0)  # each step older weighs e times less
    newest_first.act(obs, {})
    assert newest_first.act(obs, {})[0, 0] == pytest.approx((11 + np.e * 20) / (1 + np.e))
    for decay in (-350.0, 350.0):  # the largest weighting float64 holds: the newest, or the oldest, alone
        extreme = SB3Policy(Scripted(), chunk=3, ensemble_decay=decay)
        first, second = extreme.act(obs, {})[0, 0], extreme.act(obs, {})[0, 0]
        assert first == 10.0 and second == (20.0 if decay < 0 else 11.0)
    for decay in (-351.0, float("nan"), float("inf")):  # exp would overflow (or is not a weight)
        with pytest.raises(ValueError, match=r"bc_ensemble_decay=.* with bc_chunk=3 is not valid"):
            SB3Policy(Scripted(), chunk=3, ensemble_decay=decay)


def _experiment(name: str):
    """A script of experiments/, imported as a module."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_a_chunked_clone_trains_evaluates_and_loads_as_a_trained_policy(tmp_path, capsys):
    import numpy as np

    from embodia.agents.learn.collect import collect_demonstrations
    from embodia.agents.learn.trained import PolicyLoadError, load_trained_policy

    collect_demonstrations(REACH, 4, tmp_path / "demos")
    config = TrainConfig(obs_mode="dict", demos=str(tmp_path / "demos"), demo_episodes=4, bc_chunk=4, **TINY_BC)
    result = training.train(REACH, "bc", config, 0, tmp_path / "run", progress=False)
    assert result["episodes"] == 2
    trained = load_trained_policy(tmp_path / "run", REACH)
    assert trained.actor.chunk == 4
    assert trained.actor.ensemble_decay == config.bc_ensemble_decay  # acts as it was evaluated
    record_path = tmp_path / "run" / "run.json"
    record = json.loads(record_path.read_text())
    record["config"]["bc_ensemble_decay"] = -1.0  # the run's own weighting, read back
    record_path.write_text(json.dumps(record))
    assert load_trained_policy(tmp_path / "run", REACH).actor.ensemble_decay == -1.0
    bad_options = [("bc_ensemble_decay", "fast"), ("bc_ensemble_decay", True), ("bc_ensemble_decay", 500.0)]
    for key, bad in [*bad_options, ("bc_chunk", 0), ("bc_chunk", 2.5)]:
        record_path.write_text(json.dumps({**record, "config": {**record["config"], key: bad}}))
        with pytest.raises(PolicyLoadError, match=rf"config\.{key}( must be|=.* is not valid)"):
            load_trained_policy(tmp_path / "run", REACH)
    for decay in (float("inf"), float("nan"), 101.0):
        with pytest.raises(ConfigError, match=r"bc_ensemble_decay=.* with bc_chunk=8 is not valid.*<= 700"):
            TrainConfig(bc_chunk=8, bc_ensemble_decay=decay)
    assert TrainConfig(bc_chunk=8, bc_ensemble_decay=-100.0).bc_ensemble_decay == -100.0
    record_path.write_text(json.dumps(record))
    sweep = _experiment("ensemble_sweep")  # the weighting chosen after training, on validation episodes
    assert sweep.main([str(tmp_path / "run"), "--decays", "0.01", "-1", "--episodes", "2", "--num-envs", "2"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[-2].split(" | ")[1:3] == ["4", "0.01"] and table[-1].split(" | ")[1:3] == ["4", "-1"]
    assert table[-1].count("%") == 1
    runs = [str(tmp_path / "run")] * 2  # a recipe's clones: each task's mean over its runs, per decay
    assert sweep.main([*runs, "--decays", "0.01", "-1", "--episodes", "2", "--num-envs", "2", "--target", "0.5"]) == 0
    summary = capsys.readouterr().out.splitlines()
    assert summary[-3].startswith(f"| {REACH} | 2 | ") and summary[-2].startswith("| tasks at 50% or more | | ")
    with pytest.raises(SystemExit):
        sweep.main([str(tmp_path / "run"), "--target", "80"])
    assert "--target 80.0 is not valid" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a weighting the ensemble cannot compute, refused before any episode
        sweep.main([str(tmp_path / "run"), "--decays", "-1", "1000"])
    assert "bc_ensemble_decay=1000.0 with bc_chunk=4 is not valid" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="bc_chunk=2 works with plain BC"):
        TrainConfig(bc_chunk=2, dagger_rounds=1)
    with pytest.raises(training.RunError, match="bc_chunk=2 is for behaviour cloning"):
        training.train(REACH, "sac", TrainConfig(bc_chunk=2, total_steps=10), 0, tmp_path / "sac", progress=False)
    assert np.isfinite(result["success_rate"])
