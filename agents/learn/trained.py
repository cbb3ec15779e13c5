"""Loading a policy that ``embodia train`` wrote, ready to act through the batched ``Policy`` protocol.

Imported without the ``learn`` extra (the CLI names the missing extra in one line); torch and stable-baselines3 are
imported only when a policy is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embodia.agents.policy import Policy


class PolicyLoadError(ValueError):
    """A trained policy that cannot be used here: a bad path, another task, another observation layout."""


@dataclass(frozen=True)
class TrainedPolicy:
    """A policy ``embodia train`` wrote, ready to act through the batched protocol.

    ``name`` names it in records (``<algo> (<model file>)``); ``env_kwargs`` are the env options it was trained
    with (the observation mode among them), which the env that runs it must use; ``info`` goes to ``meta.json``.
    """

    actor: Policy
    name: str
    env_id: str
    env_kwargs: dict[str, Any]
    info: dict[str, Any]


def is_policy_path(text: str) -> bool:
    """Whether a ``--policy`` value names a trained policy (a path) rather than ``expert`` or ``random``."""
    return text not in ("expert", "random")


def load_trained_policy(path: str | Path, env_id: str | None = None) -> TrainedPolicy:
    """The policy of a training run: a run folder written by ``embodia train`` (its ``policy.zip``, or the latest
    checkpoint of a run that has not finished), its ``policy.zip``, or a checkpoint ``checkpoints/model_N.zip``.

    A trained policy is code-equivalent, like any model checkpoint: load only folders you trust, named by you. The
    files are read without plain unpickling (``agents/learn/train.py``, ``load_run_policy``), and a warning names
    the file. ``env_id``: the task it must have been trained on. Needs the ``learn`` extra. Anything wrong (a
    missing file, another task, another observation layout) raises ``PolicyLoadError`` in one line.
    """
    try:
        from embodia.agents.learn import train as training
        from embodia.agents.learn.networks import SB3Policy
    except ImportError as error:
        missing = error.name or "a package"
        raise PolicyLoadError(
            f"a trained policy needs the learn extra: pip install 'embodia[learn]' ({missing} is not installed)"
        ) from None
    try:
        record, policy = training.load_run_policy(path, env_id)
    except training.RunError as error:
        raise PolicyLoadError(str(error)) from None
    model_file = Path(record["policy_file"]).resolve()
    info = {
        "policy_path": str(model_file),
        "policy_run_dir": str(Path(record["run_dir"]).resolve()),
        "policy_algo": record["algo"],
        "policy_seed": record.get("seed"),
        "policy_network": record["policy_class"],
    }
    actor = SB3Policy(policy, *training.acting_options(record))  # chunks executed and ensembled as it was told
    return TrainedPolicy(actor, f"{record['algo']} ({model_file})", record["env_id"],
                         dict(record["env_kwargs"]), info)  # fmt: skip


def trained_actor(path: str | Path, env_id: str) -> Policy:
    """The batched actor of a trained policy, loaded where it is called (each Ray worker loads its own: a policy
    object is not shipped between processes)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the driver warned once when it loaded the policy
        return load_trained_policy(path, env_id).actor
