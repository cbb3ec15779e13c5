"""Visuomotor behaviour cloning: images rendered from recorded states are the images the pixel env shows, the
image encoder finds where things are, and a robot-only policy trains, saves, loads and acts on camera images."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

import torch
from gymnasium import spaces

from embodia.agents.learn import train as training
from embodia.agents.learn.bc import hidden_state_targets, train_bc
from embodia.agents.learn.collect import collect_demonstrations
from embodia.agents.learn.config import ConfigError, TrainConfig
from embodia.agents.learn.dataset import DatasetError, load_demonstrations
from embodia.agents.learn.trained import load_trained_policy
from embodia.agents.learn.vision import GRID_CHANNELS, KEYPOINTS, SpatialSoftArgmax, VisualExtractor, random_shift
from embodia.envs.core.batched_env import make_batched
from embodia.envs.record import replay
from embodia.envs.record.episode import load_episode

BIN = "embodia/BinPicking-v0"
CAMERAS = ("front", "robot/wrist")
SIZE = (32, 32)
SHORT = {"episode_steps": 12}


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    """Three short expert episodes of BinPicking, recorded as the learning suite records its demonstrations."""
    folder = tmp_path_factory.mktemp("demos") / "bin"
    collect_demonstrations(BIN, 3, folder, seed=5, num_envs=3, env_kwargs=SHORT)
    return folder


def test_collected_demonstrations_keep_the_task_draws_and_replay_exactly(demos):
    episode = load_episode(sorted(demos.glob("episode_*.npz"))[1])
    assert set(episode.task_state) == {"target"}  # which part the episode asks for: not in the MuJoCo state
    env = replay.make_replay_env(episode)
    try:
        assert replay.compare_observations(env, episode).identical
    finally:
        env.close()


def test_images_rendered_from_the_recorded_states_are_the_pixel_envs_own(demos):
    options = {"obs_mode": "pixels", "cameras": CAMERAS, "image_size": SIZE, "instruction_features": 16}
    probe = make_batched(BIN, 1, **SHORT, instruction_features=16)
    state_space, action_space = probe.single_observation_space, probe.single_action_space
    probe.close()
    loaded = load_demonstrations(demos, BIN, state_space, action_space, image_options=options)
    assert loaded.observations["camera_robot_wrist"].dtype == np.uint8
    assert "camera_front" not in loaded.next_observations  # behaviour cloning reads no next images
    episode = load_episode(sorted(demos.glob("episode_*.npz"))[0])
    live = make_batched(BIN, 1, **SHORT, **options)  # the episode again, live: its seed, its recorded actions
    try:
        obs, _ = live.reset(seeds=[int(episode.metadata["seed"])])
        shown = [obs]
        for action in episode.actions[:-1]:
            obs, *_ = live.step(action[None])
            shown.append(obs)
    finally:
        live.close()
    rows = np.flatnonzero(loaded.episode == 0)
    for camera in ("camera_front", "camera_robot_wrist"):
        live_images = np.concatenate([o[camera] for o in shown])
        assert live_images.std() > 5  # a real picture, not a blank frame
        np.testing.assert_array_equal(loaded.observations[camera][rows], live_images)
    # the words were not recorded either: they come from the episode's recorded draws (which part it asks for)
    live_words = np.concatenate([o["instruction_words"] for o in shown])
    assert live_words.any()
    np.testing.assert_array_equal(loaded.observations["instruction_words"][rows], live_words)


def test_spatial_soft_argmax_finds_a_bright_spot_and_the_shift_moves_pixels_only():
    maps = torch.full((1, 1, 21, 41), -20.0)
    maps[0, 0, 5, 30] = 20.0  # row 5 of 21, column 30 of 41
    x, y, _ = SpatialSoftArgmax()(maps)[0]
    assert x.item() == pytest.approx(-1 + 2 * 30 / 40, abs=1e-3)
    assert y.item() == pytest.approx(-1 + 2 * 5 / 20, abs=1e-3)
    torch.manual_seed(0)
    images = torch.rand(8, 3, 16, 16)
    shifted = random_shift(images, 2)
    assert shifted.shape == images.shape
    assert not torch.equal(shifted, images)
    interior = images[:, :, 2:-2, 2:-2]  # every shifted image still holds the original's middle, somewhere
    for k in range(8):
        windows = shifted[k].unfold(1, 12, 1).unfold(2, 12, 1)  # (3, 5, 5, 12, 12)
        assert any(torch.equal(windows[:, i, j], interior[k]) for i in range(5) for j in range(5))


def test_the_shift_moves_each_image_by_its_own_drawn_offset_with_edges_replicated():
    """DrQ's shift by its definition: output pixel (i, j) of image k is the input's pixel (i + dy_k, j + dx_k),
    clamped to the image, with (dy_k, dx_k) the k-th of the two draws the shift makes."""
    pixels, n, height, width = 3, 6, 9, 11
    images = torch.rand(n, 2, height, width)
    torch.manual_seed(7)
    shifted = random_shift(images, pixels)
    torch.manual_seed(7)
    dy = torch.randint(0, 2 * pixels + 1, (n, 1))[:, 0] - pixels
    dx = torch.randint(0, 2 * pixels + 1, (n, 1))[:, 0] - pixels
    assert len(set(zip(dy.tolist(), dx.tolist(), strict=True))) > 1
    for k in range(n):
        rows = (torch.arange(height) + dy[k]).clamp(0, height - 1)
        cols = (torch.arange(width) + dx[k]).clamp(0, width - 1)
        assert torch.equal(shifted[k], images[k][:, rows][:, :, cols])


@pytest.mark.parametrize(("image_grid", "depth"), [(0, False), (2, True)])
def test_a_robot_only_pixels_policy_trains_loads_and_acts_on_camera_images(demos, tmp_path, image_grid, depth):
    config = TrainConfig(demos=str(demos), demo_episodes=3, obs_mode="pixels", policy_state="robot",
                         env_kwargs={**SHORT, "cameras": list(CAMERAS), "image_size": list(SIZE),
                                     "instruction_features": 16, "depth": depth}, bc_chunk=2, image_grid=image_grid,
                         net_arch=[16], bc_epochs=2, final_eval_episodes=2)  # fmt: skip
    result = training.train(BIN, "bc", config, 0, tmp_path / "run", progress=False)
    assert result["episodes"] == 2
    with pytest.warns(UserWarning, match="code-equivalent"):
        trained = load_trained_policy(tmp_path / "run", BIN)
    policy = trained.actor.policy
    assert isinstance(policy.actor.features_extractor, VisualExtractor)
    seen = set(policy.observation_space.spaces)
    # the words were not recorded: they are computed from the recorded draws, as the images are
    assert {"camera_front", "camera_robot_wrist", "robot_tcp_pos", "instruction_words"} <= seen
    extractor = policy.actor.features_extractor
    assert extractor.encoders["camera_front"].film is not None
    # a camera's depth (rendered from the recorded states too) is a fourth channel of its colour encoder
    assert ({"depth_front", "depth_robot_wrist"} <= seen) == depth
    assert set(extractor.encoders) == {"camera_front", "camera_robot_wrist"}
    assert extractor.encoders["camera_front"].trunk[0].in_channels == (4 if depth else 3)
    # the saved policy keeps its grid: each camera's keypoints (x, y, activation), then its pooled picture
    assert (extractor.encoders["camera_front"].grid is not None) == (image_grid > 0)
    vector_size = extractor.vector.features_dim
    assert extractor.features_dim == vector_size + len(CAMERAS) * (3 * KEYPOINTS + GRID_CHANNELS * image_grid**2)
    assert not any(k.startswith("task_") for k in seen)  # nothing of the task but what the cameras show
    env = make_batched(BIN, 2, **trained.env_kwargs)
    try:
        obs, info = env.reset(seeds=[1, 2])
        trained.actor.reset(np.arange(2))
        action = trained.actor.act(obs, info)  # the env's full observation: the policy takes its own entries
        assert action.shape == (2, env.single_action_space.shape[0]) and np.isfinite(action).all()
    finally:
        env.close()


def test_bad_visuomotor_settings_name_what_is_valid(demos, tmp_path):
    with pytest.raises(ConfigError, match=r"policy_features='yaw'.*set policy_features: ''"):
        TrainConfig(obs_mode="pixels", policy_features="yaw")
    with pytest.raises(ConfigError, match=r"policy_state='robot'.*obs_mode dict or pixels"):
        TrainConfig(obs_mode="flat", policy_state="robot")
    with pytest.raises(ConfigError, match=r"policy_state='eyes'.*valid: all, robot"):
        TrainConfig(policy_state="eyes")
    with pytest.raises(ConfigError, match=r"image_grid=9 is not valid; valid: 0 \(keypoints only\) to 8"):
        TrainConfig(obs_mode="pixels", policy_state="robot", image_grid=9)
    with pytest.raises(ConfigError, match=r"image_grid=2 pools camera images: it needs obs_mode pixels"):
        TrainConfig(obs_mode="dict", image_grid=2)
    pixels = TrainConfig(demos=str(demos), demo_episodes=3, obs_mode="pixels", env_kwargs=SHORT)
    with pytest.raises(training.RunError, match=r"pixels and policy_state: robot train bc.*not rlpd"):
        training.train(BIN, "rlpd", pixels, 0, tmp_path / "run")
    probe = make_batched(BIN, 1)
    state, action = probe.single_observation_space, probe.single_action_space
    probe.close()
    with pytest.raises(DatasetError, match="only an embodia run folder holds"):
        load_demonstrations("someone/minari-dataset-v0", BIN, state, action, image_options={"obs_mode": "pixels"})
    episode = load_episode(sorted(demos.glob("episode_*.npz"))[0])
    with pytest.raises(TypeError, match=r"replay cannot change control_mode; valid: .*obs_mode, cameras"):
        replay.make_replay_env(episode, control_mode="joint_delta")
    with pytest.raises(replay.ReplayError, match="unknown camera 'no_such_camera'; valid: front"):
        replay.make_replay_env(episode, obs_mode="pixels", cameras=("no_such_camera",))


def test_predicting_the_hidden_task_state_teaches_the_image_features_where_the_parts_are(demos):
    options = {"obs_mode": "pixels", "cameras": CAMERAS, "image_size": SIZE}
    config = TrainConfig(obs_mode="pixels", policy_state="robot", env_kwargs={**SHORT, **options}, net_arch=[32],
                         bc_epochs=40, bc_batch_size=16, bc_aux_state=1.0, bc_holdout_fraction=0.0)  # fmt: skip
    spaces_ = training.task_spaces(BIN, config)
    loaded = load_demonstrations(demos, BIN, spaces_.state, spaces_.action, image_options=options)
    observation_space = training.policy_observation_space(spaces_.observation, config.policy_state)
    _, history = train_bc(loaded, observation_space, spaces_.action, config, seed=0)
    # standardised targets: predicting their mean scores 1; the parts' positions come from the images alone
    assert history.hidden_state_loss[0] > 0.5 and history.hidden_state_loss[-1] < 0.5 * history.hidden_state_loss[0]
    with pytest.raises(ConfigError, match=r"bc_aux_state=1.0 predicts.*needs obs_mode pixels and policy_state robot"):
        TrainConfig(obs_mode="pixels", bc_aux_state=1.0)


def test_the_auxiliary_targets_can_resolve_the_grasp_to_the_millimetre(tmp_path):
    """bc_aux_features adds the state recipe's features of the hidden state to the auxiliary targets: within 4 cm of
    the part, standardised offsets barely move, their 1 cm squashed copies move by most of a standard deviation."""
    collect_demonstrations(BIN, 2, tmp_path / "whole", seed=5, num_envs=2)  # whole episodes: the grasp in them
    probe = make_batched(BIN, 1)
    state, action = probe.single_observation_space, probe.single_action_space
    probe.close()
    loaded = load_demonstrations(tmp_path / "whole", BIN, state, action)
    robot_only = spaces.Dict({k: box for k, box in state.spaces.items() if k.startswith("robot_")})
    plain = hidden_state_targets(loaded, robot_only)
    with_features = hidden_state_targets(loaded, robot_only, "yaw+fine")
    assert with_features.shape[0] == plain.shape[0] and with_features.shape[1] > plain.shape[1]
    assert np.allclose(with_features[:, : plain.shape[1]], plain)
    offset = loaded.observations["task_part_to_tcp"]
    approach = (np.linalg.norm(offset, axis=1) > 0.003) & (np.linalg.norm(offset, axis=1) < 0.04)
    assert approach.sum() > 10
    raw_columns = sorted(k for k in loaded.observations if k.startswith("task_"))
    start = sum(
        int(np.prod(loaded.observations[k].shape[1:])) for k in raw_columns[: raw_columns.index("task_part_to_tcp")]
    )
    coarse = plain[approach, start : start + 2].std(axis=0)  # x and y, standardised over the whole episode
    fine = with_features[approach][:, -6:-4].std(axis=0)  # the last relative vector's 1 cm copies: part to TCP
    assert (fine > 2.5 * coarse).all(), (coarse, fine)
    with pytest.raises(ConfigError, match=r"bc_aux_features='fine'.*set bc_aux_state > 0"):
        TrainConfig(obs_mode="pixels", policy_state="robot", bc_aux_features="fine")
    with pytest.raises(ConfigError, match=r"bc_aux_features='sharp' is not valid; valid:"):
        TrainConfig(obs_mode="pixels", policy_state="robot", bc_aux_state=1.0, bc_aux_features="sharp")


def test_the_visual_extractor_refuses_a_space_without_images():
    with pytest.raises(ValueError, match="at least one"):
        VisualExtractor(spaces.Dict({"robot_tcp_pos": spaces.Box(-1, 1, (3,))}))


def test_depth_joins_its_cameras_colours_scaled_to_the_unit_range():
    box = spaces.Box(0, 255, (8, 8, 3), np.uint8)
    space = spaces.Dict({"camera_work": box, "depth_work": spaces.Box(0, np.inf, (8, 8, 1), np.float32),
                         "depth_top": spaces.Box(0, np.inf, (8, 8, 1), np.float32),
                         "segmentation_work": spaces.Box(0, 255, (8, 8, 1), np.uint8)})  # fmt: skip
    extractor = VisualExtractor(space)
    assert extractor.cameras == {"camera_work": ["camera_work", "depth_work"], "depth_top": ["depth_top"],
                                 "segmentation_work": ["segmentation_work"]}  # fmt: skip
    metres = torch.tensor([0.5, 1.0, 3.0, 80.0]).repeat_interleave(16).reshape(1, 8, 8, 1)
    images = extractor.camera_images({"camera_work": torch.full((1, 8, 8, 3), 0.25), "depth_work": metres,
                                      "depth_top": metres, "segmentation_work": torch.zeros(1, 8, 8, 1)})  # fmt: skip
    assert images["camera_work"].shape == (1, 4, 8, 8)
    assert torch.all(images["camera_work"][0, :3] == 0.25)
    # 0.5 m and 1 m stay apart; everything past DEPTH_RANGE_M (a far wall, the sky at 80 m) is one "far"
    assert images["camera_work"][0, 3, :, 0].tolist() == [0.25, 0.25, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
