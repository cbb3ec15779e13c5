"""Figures cached once per simulation state (``envs/physics/per_state.py``, the safety monitor) follow the state:
every call that changes the simulations (step, forward, reset, a loaded state) makes them be computed anew."""

from __future__ import annotations

import numpy as np

from embodia.envs.core.batched_env import make_batched


def _fresh_geometry(task, sim):
    return type(task)._geometry.__wrapped__(task, sim)  # the method without its cache


def test_a_cached_pose_is_reused_within_a_state_and_recomputed_after_each_change():
    env = make_batched("embodia/Handover-v0", 2)
    try:
        env.reset(seeds=[0, 1])
        sim, task = env.sim, env.task
        first = task._geometry(sim)
        assert task._geometry(sim) is first  # same state: not recomputed
        start = sim.states()
        changes = {
            "step": lambda: env.step(np.full((2, env.controller.action_dim), 0.5)),
            "reset": lambda: env.reset(np.array([0]), [7]),
            "set_state + forward": lambda: (sim.set_state(0, start[0]), sim.forward(np.array([0]))),
        }
        for name, change in changes.items():
            before = sim.generation
            cached = [np.array(a) for a in task._geometry(sim)]
            change()
            assert sim.generation > before, name
            now = task._geometry(sim)
            for value, fresh in zip(now, _fresh_geometry(task, sim), strict=True):
                assert np.array_equal(value, fresh), name
            assert any(not np.array_equal(a, b) for a, b in zip(cached, now, strict=True)), name
    finally:
        env.close()


def test_the_safety_monitor_measures_once_per_state_and_payload():
    env = make_batched("embodia/Handover-v0", 1)
    try:
        env.reset(seeds=[0])
        monitor, sim = env.task.person.monitor, env.sim
        light = monitor.measure(sim, np.zeros(1))
        assert monitor.measure(sim, np.zeros(1)) is light
        heavy = monitor.measure(sim, np.full(1, 5.0))  # another payload: another figure
        assert heavy is not light
        fresh = monitor._measure(sim, np.full(1, 5.0))
        assert all(np.array_equal(heavy[k], fresh[k]) for k in fresh if not isinstance(fresh[k], dict))
        env.step(np.zeros((1, env.controller.action_dim)))
        assert monitor.measure(sim, np.zeros(1)) is not light
    finally:
        env.close()
