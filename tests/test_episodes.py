"""The episode scheduler: episode k is seeded seed + k whatever slot runs it, any subset of indices gives the
same episodes, listeners see every start, step and end, and bad arguments are refused in one line."""

import itertools

import numpy as np
import pytest

from embodia.agents.episodes import EpisodeScheduler
from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched

REACH = "embodia/Reach-v0"


def run(num_sims, episodes, seed=5, listeners=()):
    env = make_batched(REACH, num_sims, episode_steps=40)
    try:
        return EpisodeScheduler(env, make_expert(REACH, num_sims), episodes, seed, listeners).run()
    finally:
        env.close()


def test_results_do_not_depend_on_the_number_of_slots():
    one = run(1, 5)
    three = run(3, 5)
    assert [r.episode for r in one] == list(range(5)) and [r.seed for r in one] == [5, 6, 7, 8, 9]
    assert one == three
    assert sum(r.success for r in one) >= 4


def test_a_subset_of_indices_gives_the_same_episodes_as_the_full_run():
    full = {r.episode: r for r in run(2, 6)}
    part = run(2, [4, 1])
    assert [r.episode for r in part] == [4, 1]
    assert part == [full[4], full[1]]


class Log:
    def __init__(self):
        self.events = []

    def episode_started(self, slot, episode, seed, obs, info):
        self.events.append(("start", episode, slot, seed))

    def before_step(self, active, obs, label, executed):
        self.events.append(("before", tuple(int(s) for s in active)))

    def stepped(self, active, step):
        self.events.append(("stepped", tuple(int(s) for s in active)))

    def episode_ended(self, slot, result, info):
        self.events.append(("end", result.episode, slot, result.length))


def test_listeners_see_every_start_step_and_end_in_order():
    log = Log()
    results = run(2, 4, listeners=[log])
    starts = [e for e in log.events if e[0] == "start"]
    ends = [e for e in log.events if e[0] == "end"]
    assert [e[1] for e in starts] == [0, 1, 2, 3] and [e[3] for e in starts] == [5, 6, 7, 8]
    assert sorted(e[1] for e in ends) == [0, 1, 2, 3]
    for result in results:  # an episode's slot took part in exactly `length` steps between its start and end
        start = next(i for i, e in enumerate(log.events) if e[0] == "start" and e[1] == result.episode)
        end = next(i for i, e in enumerate(log.events) if e[0] == "end" and e[1] == result.episode)
        slot = log.events[start][2]
        steps = [e for e in log.events[start:end] if e[0] == "stepped" and slot in e[1]]
        assert len(steps) == result.length == log.events[end][3]
    pairs = itertools.pairwise(log.events)
    assert all(a[1] == b[1] for a, b in pairs if a[0] == "before" and b[0] == "stepped")


def test_stepping_with_given_actions_as_a_person_would():
    env = make_batched(REACH, 1, episode_steps=5)
    try:
        scheduler = EpisodeScheduler(env, None, 2, seed=0)
        with pytest.raises(ValueError, match="no policy"):
            scheduler.step()
        ended = []
        while scheduler.running:
            ended += scheduler.step(np.zeros((1, env.controller.action_dim)))
        assert [r.episode for r in ended] == [0, 1] and all(r.length == 5 for r in ended)
        with pytest.raises(RuntimeError, match="every episode has ended"):
            scheduler.step(np.zeros((1, env.controller.action_dim)))
    finally:
        env.close()


def test_the_same_given_actions_replay_the_policys_episode():
    """A caller that supplies the actions the expert would give gets the expert's episode, bit for bit."""
    expert_run = run(1, [2])[0]
    env = make_batched(REACH, 1, episode_steps=40)
    expert = make_expert(REACH, 1)
    try:
        scheduler = EpisodeScheduler(env, None, [2], seed=5)
        expert.reset(np.array([0]), 7)
        while scheduler.running:
            scheduler.step(expert.act(scheduler.obs, scheduler.info))
        assert scheduler.ordered_results() == [expert_run]
    finally:
        env.close()


@pytest.mark.parametrize("episodes", [0, -3, [], [1, 1], [-1, 2], "abc", 2.5])
def test_bad_episode_lists_are_refused_naming_the_value(episodes):
    env = make_batched(REACH, 1)
    try:
        with pytest.raises(ValueError, match="episodes"):
            EpisodeScheduler(env, None, episodes)
    finally:
        env.close()


def test_a_wrong_action_shape_is_refused_by_the_env():
    env = make_batched(REACH, 2)
    try:
        scheduler = EpisodeScheduler(env, None, 2)
        with pytest.raises(ValueError, match="action"):
            scheduler.step(np.zeros((3, 2)))
    finally:
        env.close()
