"""An env's life: episode length (gymnasium.make and make_vec alike), close, one thread at a time, pickling,
human rendering and Gymnasium's video recorder."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import pickle
import sys
import threading

import gymnasium as gym
import numpy as np
import pytest

from embodia.envs.core.batched_env import make_batched, resolve_task
from embodia.envs.tasks.registry import TASKS

REACH = "embodia/Reach-v0"
REACH_STEPS = 50  # Reach's default episode


def steps_until_truncated(env, limit: int = 2000) -> int:
    """Zero actions (the arm holds still, so Reach never succeeds) until the first truncation."""
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    for t in range(1, limit + 1):
        _, _, terminated, truncated, _ = env.step(action)
        assert not np.any(terminated)
        if np.all(truncated):
            return t
        assert not np.any(truncated)
    raise AssertionError(f"no truncation within {limit} steps")


# ---------------------------------------------------------------------------------------------- episode length
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, REACH_STEPS),
        ({"episode_steps": 500}, 500),
        ({"max_episode_steps": 500}, 500),
        ({"episode_steps": 20}, 20),
        ({"max_episode_steps": 20}, 20),
    ],
)
def test_make_and_make_vec_truncate_at_the_same_step(kwargs, expected):
    single = gym.make(REACH, **kwargs)
    assert steps_until_truncated(single) == expected
    assert single.spec.max_episode_steps == expected
    assert single.unwrapped.core.config.episode_steps == expected
    vector = gym.make_vec(REACH, num_envs=2, **kwargs)
    assert steps_until_truncated(vector) == expected
    assert vector.spec.max_episode_steps == expected


def test_a_remade_env_keeps_the_episode_length():
    env = gym.make(REACH, max_episode_steps=30)
    again = gym.make(env.spec)
    assert steps_until_truncated(again) == 30 and again.spec.max_episode_steps == 30
    env = gym.make(REACH, episode_steps=40)
    again = gym.make(env.spec.id, **{k: v for k, v in env.spec.kwargs.items() if k != "task"})
    assert steps_until_truncated(again) == 40


def test_max_episode_steps_minus_one_means_the_task_default():
    env = gym.make(REACH, max_episode_steps=-1)  # Gymnasium: no TimeLimit wrapper
    assert steps_until_truncated(env) == REACH_STEPS


def test_the_listed_episode_length_is_each_task_default():
    for task_id, entry in TASKS.items():
        spec = gym.spec(task_id)
        assert spec.vector_entry_point is not None
        assert spec.max_episode_steps is None  # the env truncates itself: no TimeLimit to overrule episode_steps
        assert resolve_task(entry.task).Config().episode_steps == entry.episode_steps, task_id


# ---------------------------------------------------------------------------------------------- close
def test_calls_after_close_raise_naming_the_env():
    env = gym.make(REACH, render_mode="rgb_array", render_size=(48, 64), render_preset="fast")
    env.reset(seed=0)
    env.render()
    env.close()
    env.close()  # twice is fine
    for call in (lambda: env.step(np.zeros(7)), lambda: env.reset(seed=0), env.render):
        with pytest.raises(RuntimeError, match=r"EmbodiaEnv\(embodia/Reach-v0\)\.\w+\(\) after close\(\)"):
            call()


def test_vector_and_batched_calls_after_close_raise():
    vector = gym.make_vec(REACH, num_envs=2, render_mode="rgb_array", render_size=(48, 64))
    vector.reset(seed=0)
    vector.close()
    vector.close()
    with pytest.raises(RuntimeError, match=r"EmbodiaVectorEnv\(embodia/Reach-v0, 2 envs\)\.step\(\) after close"):
        vector.step(np.zeros((2, 7)))
    with pytest.raises(RuntimeError, match="after close"):
        vector.render()
    core = make_batched(REACH, 2)
    core.close()
    core.close()
    with pytest.raises(RuntimeError, match=r"BatchedEnv\(Reach, 2 simulations\)\.reset\(\) after close"):
        core.reset()


# ---------------------------------------------------------------------------------------------- threads
class Holder:
    """A listener that keeps the stepping thread inside ``step`` until released."""

    def __init__(self) -> None:
        self.inside = threading.Barrier(2)
        self.release = threading.Event()

    def on_reset(self, *args) -> None:
        pass

    def on_step(self, *args) -> None:
        self.inside.wait(timeout=10)
        self.release.wait(timeout=10)


@pytest.mark.parametrize("vector", [False, True])
def test_a_second_thread_is_refused_while_one_steps(vector):
    env = gym.make_vec(REACH, num_envs=2) if vector else gym.make(REACH)
    env.reset(seed=0)
    holder = Holder()
    env.unwrapped.core.listeners.append(holder)
    action = np.zeros(env.action_space.shape)
    errors: list[BaseException] = []

    def first():
        try:
            env.step(action)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=first, name="stepper")
    thread.start()
    holder.inside.wait(timeout=10)  # the first thread is inside step()
    try:
        for call in (lambda: env.step(action), lambda: env.reset(seed=1), env.close):
            with pytest.raises(RuntimeError, match=r"called from thread 'MainThread' while another thread is inside"):
                call()
    finally:
        holder.release.set()
        thread.join(timeout=10)
    assert not errors and not thread.is_alive()
    env.unwrapped.core.listeners.remove(holder)
    env.step(action)  # free again: the main thread may step now
    env.close()
    assert env.unwrapped.core.closed


def test_one_thread_may_reenter_its_own_env():
    """A listener rendering from inside step (a video recorder does) is the same thread: allowed."""
    env = gym.make(REACH, render_mode="rgb_array", render_size=(32, 32), render_preset="fast")
    frames = []

    class Renderer:
        def on_reset(self, *args):
            frames.append(env.unwrapped.core.render(0))

        def on_step(self, *args):
            frames.append(env.unwrapped.core.render(0))

    env.unwrapped.core.listeners.append(Renderer())
    env.reset(seed=0)
    env.step(np.zeros(7))
    assert len(frames) == 2 and frames[0].shape == (32, 32, 3)


# ---------------------------------------------------------------------------------------------- pickling
@pytest.mark.parametrize("copier", [pickle.dumps, copy.deepcopy])
def test_pickle_and_copy_raise_one_line_saying_what_to_do(copier):
    env = gym.make(REACH, episode_steps=30)
    env.reset(seed=0)
    for target in (env, env.unwrapped):
        with pytest.raises(TypeError) as raised:
            copier(target)
        message = str(raised.value)
        assert "\n" not in message
        assert message.startswith("EmbodiaEnv(embodia/Reach-v0) cannot be pickled or copied")
        assert "make a new env instead: gymnasium.make('embodia/Reach-v0', **env.spec.kwargs)" in message
    remade = gym.make(env.spec.id, **{k: v for k, v in env.spec.kwargs.items() if k != "task"})
    assert remade.unwrapped.core.config == env.unwrapped.core.config
    vector = gym.make_vec(REACH, num_envs=2)
    with pytest.raises(TypeError, match=r"make a new env instead: gymnasium.make_vec\('embodia/Reach-v0', num_envs=2"):
        copier(vector)
    core = make_batched(REACH, 1)
    with pytest.raises(TypeError, match=r"BatchedEnv\(Reach, 1 simulations\) cannot be pickled or copied"):
        copier(core)
    again = make_batched(REACH, 1, config=core.config, **dataclasses.asdict(core.options))
    assert again.config == core.config and again.options == core.options


def test_a_shallow_copy_of_the_env_itself_raises_too():
    env = gym.make(REACH)
    for target in (env.unwrapped, env.unwrapped.core, gym.make_vec(REACH, num_envs=2)):
        with pytest.raises(TypeError, match="cannot be pickled or copied"):
            copy.copy(target)


# ---------------------------------------------------------------------------------------------- rendering
def test_human_rendering_without_pygame_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygame", None)  # import pygame raises ImportError
    for make in (lambda: gym.make(REACH, render_mode="human"), lambda: gym.make_vec(REACH, 2, render_mode="human")):
        with pytest.raises(gym.error.DependencyNotInstalled, match=r"pygame is not installed: pip install pygame"):
            make()


@pytest.mark.skipif(importlib.util.find_spec("pygame") is None, reason="pygame is not installed")
def test_human_rendering_shows_frames_in_a_pygame_window(monkeypatch):
    import pygame

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    env = gym.make(REACH, render_mode="human", render_size=(48, 64), render_preset="fast", control_hz=100.0)
    env.reset(seed=0)
    window = env.unwrapped._window
    assert pygame.display.get_surface().get_size() == (64, 48)
    env.step(np.zeros(7))
    assert env.render() is None
    shown = pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)
    assert np.array_equal(shown, env.unwrapped.core.render(0))
    env.close()
    assert window._screen is None
    vector = gym.make_vec(REACH, 2, render_mode="human", render_size=(48, 64), render_preset="fast", control_hz=100.0)
    vector.reset(seed=0)
    assert pygame.display.get_surface().get_size() == (128, 48)  # two simulations side by side
    vector.close()


@pytest.mark.skipif(importlib.util.find_spec("moviepy") is None, reason="moviepy is not installed")
def test_gymnasium_record_video_writes_an_episode(tmp_path):
    env = gym.make(REACH, render_mode="rgb_array", render_size=(64, 96), render_preset="fast", episode_steps=10)
    env = gym.wrappers.RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda e: True, disable_logger=True)
    env.reset(seed=0)
    truncated = False
    while not truncated:
        *_, truncated, _ = env.step(np.zeros(7))
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000
