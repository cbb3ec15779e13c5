"""Scripted experts, one per task, acting through the ee_delta action space."""

from __future__ import annotations

import importlib

from embodia.registration import task_entry


def load_expert(env_id: str, num_envs: int):
    """The registered scripted expert of ``env_id`` for ``num_envs`` simulations."""
    module, _, name = task_entry(env_id).expert.partition(":")
    return getattr(importlib.import_module(module), name)(num_envs)
