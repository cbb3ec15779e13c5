"""Settled body shapes kept on disk: a loaded shape is the compiled one bit for bit, episodes are the same with or
without the cache, a damaged entry is computed again, and a change of source starts new entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import mujoco
import numpy as np
import pytest

from embodia.envs.human import shape, shape_cache
from embodia.envs.human.config import HumanConfig

CONFIG = shape.shape_config(HumanConfig(), "female", 37)


def model_bytes(model: mujoco.MjModel) -> bytes:
    binary = np.zeros(mujoco.mj_sizeModel(model), dtype=np.uint8)
    mujoco.mj_saveModel(model, None, binary)
    return binary.tobytes()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(shape_cache.CACHE_VARIABLE, str(tmp_path))
    shape.body_shape.cache_clear()
    yield tmp_path / shape_cache.FOLDER / shape_cache.generation()
    shape.body_shape.cache_clear()


def forbid_computing(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the shape was computed, not loaded")

    monkeypatch.setattr(shape, "resting_pose", refuse)


def test_a_loaded_shape_is_the_compiled_and_settled_one_bit_for_bit(cache, monkeypatch) -> None:
    computed = shape.body_shape(CONFIG)
    assert len(list(cache.glob(f"*{shape_cache.ENTRY_SUFFIX}"))) == 1
    shape.body_shape.cache_clear()
    forbid_computing(monkeypatch)
    loaded = shape.body_shape(CONFIG)
    assert model_bytes(loaded.model) == model_bytes(computed.model)
    assert np.array_equal(loaded.rest.pos, computed.rest.pos) and np.array_equal(loaded.rest.quat, computed.rest.quat)
    assert loaded.rest.speed_m_s == computed.rest.speed_m_s


def test_a_damaged_entry_is_computed_again_and_replaced(cache) -> None:
    computed = shape.body_shape(CONFIG)
    (entry,) = cache.glob(f"*{shape_cache.ENTRY_SUFFIX}")
    entry.write_bytes(entry.read_bytes()[:100])  # a write cut short, or a damaged disk
    shape.body_shape.cache_clear()
    again = shape.body_shape(CONFIG)
    assert model_bytes(again.model) == model_bytes(computed.model)
    assert shape_cache.load(CONFIG) is not None  # replaced by a whole entry


def test_a_change_of_source_or_config_is_a_new_entry_and_off_writes_nothing(cache, monkeypatch, tmp_path) -> None:
    key = shape_cache.entry_key(CONFIG)
    assert shape_cache.entry_key(shape.shape_config(HumanConfig(), "female", 38)) != key
    monkeypatch.setattr(shape_cache, "source_digest", lambda: "an edited body.py")
    assert shape_cache.entry_key(CONFIG) != key
    monkeypatch.setenv(shape_cache.CACHE_VARIABLE, "off")
    shape.body_shape(CONFIG)
    assert shape_cache.cache_dir() is None and not cache.exists()


def test_what_no_build_used_for_a_month_is_deleted_and_the_rest_kept(tmp_path, monkeypatch) -> None:
    """An upgrade or an edit starts a new folder of entries; the old ones go once unused for UNUSED_DAYS, while a
    build in use (another environment sharing the cache) keeps its folder by marking it at each process start."""
    root = tmp_path / shape_cache.FOLDER
    ours, stale, recent = root / shape_cache.generation(), root / "an-old-build", root / "another-build-in-use"
    for folder in (ours, stale, recent):
        (folder / f"x{shape_cache.ENTRY_SUFFIX}").parent.mkdir(parents=True)
        (folder / f"x{shape_cache.ENTRY_SUFFIX}").write_bytes(b"entry")
    old_loose, kept_loose = root / f"flat{shape_cache.LAYOUT_SUFFIX}", root / "notes.txt"
    old_loose.write_bytes(b"an entry of the layout before folders")
    kept_loose.write_text("not an entry")
    month_ago = time.time() - (shape_cache.UNUSED_DAYS + 1) * 86400
    for path in (ours, stale, old_loose, kept_loose):
        os.utime(path, (month_ago, month_ago))
    os.utime(recent, (time.time() - 86400,) * 2)
    monkeypatch.setenv(shape_cache.CACHE_VARIABLE, str(tmp_path))
    shape_cache._cache_dir.cache_clear()
    try:
        assert shape_cache.cache_dir() == ours
    finally:
        shape_cache._cache_dir.cache_clear()
    assert sorted(p.name for p in root.iterdir()) == sorted([ours.name, recent.name, kept_loose.name])
    assert time.time() - ours.stat().st_mtime < 60  # marked as used: another build's process keeps it
    assert (ours / f"x{shape_cache.ENTRY_SUFFIX}").exists() and (recent / f"x{shape_cache.ENTRY_SUFFIX}").exists()


EPISODES = """
import json, sys, numpy as np, gymnasium as gym, embodia
env = gym.make("embodia/Handover-v0")
rows = []
for seed in range(4):
    obs, info = env.reset(seed=seed)
    for _ in range(5):
        obs, *_ = env.step(np.zeros(env.action_space.shape))
    rows.append({k: np.asarray(v).tolist() for k, v in obs.items()})
print(json.dumps(rows))
"""


def test_episodes_are_the_same_with_the_cache_off_filled_and_read(tmp_path) -> None:
    def run(cache_dir: str) -> list:
        env = {**os.environ, shape_cache.CACHE_VARIABLE: cache_dir, "MUJOCO_GL": "egl"}
        result = subprocess.run([sys.executable, "-c", EPISODES], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    off = run("off")
    filled = run(str(tmp_path))  # computes and writes the entries
    assert list((tmp_path / shape_cache.FOLDER).glob(f"*/*{shape_cache.ENTRY_SUFFIX}"))
    read = run(str(tmp_path))  # loads them
    assert off == filled == read


def test_a_flipped_bit_anywhere_in_an_entry_is_caught(cache) -> None:
    computed = shape.body_shape(CONFIG)
    (entry,) = cache.glob(f"*{shape_cache.ENTRY_SUFFIX}")
    whole = entry.read_bytes()
    for at in (len(shape_cache.ENTRY_MAGIC) + 10, len(whole) // 3, len(whole) - 5):  # pose, arrays, model
        damaged = bytearray(whole)
        damaged[at] ^= 0x10
        entry.write_bytes(bytes(damaged))
        assert shape_cache.load(CONFIG) is None
    entry.write_bytes(whole)
    kept = shape_cache.load(CONFIG)
    assert kept is not None and set(kept.fields) == set(computed.fields)
    for name, values in computed.fields.items():
        assert kept.fields[name].dtype == values.dtype and np.array_equal(kept.fields[name], values), name
        assert not kept.fields[name].flags.writeable  # views of the entry: a layout copies what it changes


def test_shapes_met_after_the_first_are_laid_out_without_loading_a_model(cache, monkeypatch) -> None:
    """The first shape of a task's body tree makes its layout plan from the model; every later shape is laid out
    from the entry's arrays alone (MjModel.from_binary_path cost 0.4-0.7 ms of a first meeting)."""
    from embodia.envs.core.batched_env import make_batched

    seeds = list(range(6))
    filling = make_batched("embodia/Handover-v0", 1)
    for seed in seeds:
        filling.reset(seeds=[seed])
    reference = [filling.reset(seeds=[seed])[0] for seed in seeds]
    shape.body_shape.cache_clear()
    loads = []
    real_model = shape_cache.Kept.model
    monkeypatch.setattr(shape_cache.Kept, "model", lambda kept: loads.append(1) or real_model(kept))
    for layout in cache.glob(f"*{shape_cache.LAYOUT_SUFFIX}"):  # the shapes, not their layouts, on disk
        layout.unlink()
    env = make_batched("embodia/Handover-v0", 1)
    observed = [env.reset(seeds=[seed])[0] for seed in seeds]
    assert shape.body_shape.cache_info().currsize >= 3  # several shapes met, ...
    assert len(loads) == 1  # ... one model loaded
    for a, b in zip(reference, observed, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in a)


def binding_of(env_id: str):
    from embodia.envs.core.batched_env import make_batched

    return make_batched(env_id, 1).task.person.shape_binding


def test_a_shape_laid_out_on_disk_is_the_layout_bit_for_bit_and_a_new_env_reads_only_that(cache) -> None:
    """A task that has met a shape before reads it laid out: no shape entry, no model, no layout; the same rows
    and resting pose to the bit, and the same episodes."""
    from embodia.envs.core.batched_env import make_batched

    seeds = list(range(6))
    filling = make_batched("embodia/Feeding-v0", 1)  # Feeding attaches the mouth's geoms to the head
    reference = [filling.reset(seeds=[seed])[0] for seed in seeds]
    binding = filling.task.person.shape_binding
    computed = {config: binding.rows(shape.body_shape(config)) for config in binding._laid_out}
    assert len(list(cache.glob(f"*{shape_cache.LAYOUT_SUFFIX}"))) == len(computed) >= 3
    shape.body_shape.cache_clear()
    env = make_batched("embodia/Feeding-v0", 1)
    observed = [env.reset(seeds=[seed])[0] for seed in seeds]
    assert shape.body_shape.cache_info().misses == 0  # no shape loaded: their layouts were read
    for a, b in zip(reference, observed, strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in a)
    for config, rows in computed.items():
        kept = env.task.person.shape_binding._laid_out[config]
        assert kept.rows.keys() == rows.keys()
        for field, values in rows.items():
            assert kept.rows[field].dtype == values.dtype and np.array_equal(kept.rows[field], values), field
        first = binding._laid_out[config].rest
        assert np.array_equal(kept.rest.pos, first.pos) and np.array_equal(kept.rest.quat, first.quat)


def test_a_layout_is_keyed_by_task_model_and_attachments_and_a_damaged_one_is_laid_out_again(cache) -> None:
    feeding, handover = binding_of("embodia/Feeding-v0"), binding_of("embodia/Handover-v0")
    config = shape.shape_config(feeding.structure, "female", 37)
    assert feeding.layout_key(config) != handover.layout_key(shape.shape_config(handover.structure, "female", 37))
    assert feeding.layout_key(config) == binding_of("embodia/Feeding-v0").layout_key(config)  # a stable key
    assert feeding.layout_key(config) != feeding.layout_key(shape.shape_config(feeding.structure, "male", 37))
    before = feeding.layout_key(config)
    feeding.attached.clear()  # Feeding's mouth cavity no longer attached to the head: another layout
    assert feeding.layout_key(config) != before
    fresh = binding_of("embodia/Feeding-v0")
    laid = fresh.laid_out(config)
    (layout,) = cache.glob(f"*{shape_cache.LAYOUT_SUFFIX}")
    whole = layout.read_bytes()
    for at in (len(shape_cache.LAYOUT_MAGIC) + 10, len(whole) // 2, len(whole) - 3):
        damaged = bytearray(whole)
        damaged[at] ^= 0x04
        layout.write_bytes(bytes(damaged))
        assert shape_cache.load_layout(fresh.layout_key(config)) is None
    again = binding_of("embodia/Feeding-v0").laid_out(config)  # laid out again, and the file replaced
    assert all(np.array_equal(again.rows[f], laid.rows[f]) for f in laid.rows)
    assert shape_cache.load_layout(fresh.layout_key(config)) is not None
    # a whole, checked file of another size (not this binding's rows) under the key: laid out again, not misread
    shape_cache.save_layout(fresh.layout_key(config), laid.rest, np.zeros(7))
    foreign = binding_of("embodia/Feeding-v0").laid_out(config)
    assert all(np.array_equal(foreign.rows[f], laid.rows[f]) for f in laid.rows)
    assert shape_cache.load_layout(fresh.layout_key(config))[1].size > 7  # and the file replaced
