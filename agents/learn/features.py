"""Features a policy gets from the observation by naming convention, the same for every task.

A standardised observation hides two things an MLP fitted to a hundred demonstrations does not find on its own:

- **Millimetres.** Standardisation divides a relative vector by its spread over the workspace (~0.2 m), so a 6 mm
  grasp tolerance is 0.03 standard deviations. Every relative vector a task exposes (a ``task_<a>_to_<b>`` key:
  object to gripper, object to goal) is added squashed at 1 and 3 cm, ``tanh(v / scale)``, which resolves it.
- **Yaws folded by symmetry.** A jaw must turn square to a part before the grasp, to the equivalent yaw (period
  pi/2 for a cube, pi for a block) nearest joint 7's mid-range. From raw quaternions those targets are folded,
  discontinuous functions: a cloned policy descended without turning and closed beside the part. For every object
  orientation a task exposes (a ``task_<object>_quat`` key, 4 values per object) the object's yaw is added against
  the jaw's neutral heading at home and at the TCP's current heading, and the jaw's yaw against the object's, each
  as sin/cos of multiples 1, 2 and 4 (continuous across the fold); plus the jaw's offset from both neutral headings.

- **Words that choose.** With an instruction among the inputs (``instruction_words``, the env's
  ``instruction_features``), the words scale and shift every other feature (FiLM: Perez et al., AAAI 2018), so
  that "the blue cylinder" can switch on that part's vectors rather than be one more input an MLP must learn to
  multiply by. The modulation starts at the identity.

No task is named here: a task gets these features by naming its observations so (``envs/tasks``); the network
still learns which multiple and which vector matter in which phase.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces

from embodia.agents.learn.networks import NormalizedExtractor
from embodia.agents.learn.vision import WORDS_KEY, VisualExtractor

#: jaw yaw with joint 7 mid-range, relative to the base's heading to the TCP (as the pick-and-place experts use it);
#: the home pose's TCP heading is 0, so this is also the neutral jaw yaw at the start of every episode
NEUTRAL_JAW_YAW_RAD = -0.785
HARMONICS = (1.0, 2.0, 4.0)
#: per object: three angles, each as sin and cos of every harmonic
YAW_HARMONIC_COLUMNS = 2 * len(HARMONICS)  # one angle as sin and cos of every harmonic
YAW_FEATURES_PER_OBJECT = 3 * YAW_HARMONIC_COLUMNS
JAW_OFFSETS = 2
#: the length scales of the squashed copies: the grasp and release tolerances are 6-12 mm (agents/experts/pick_place.py)
FINE_SCALES_M = (0.01, 0.03)
ROBOT_KEYS = ("robot_tcp_quat", "robot_tcp_pos")
TOUCH_KEY = "robot_pads_touching"


def relative_vector_keys(space: spaces.Space) -> tuple[str, ...]:
    """The task's relative vectors: ``task_<a>_to_<b>`` entries of 3 values (or several 3-vectors)."""
    return tuple(
        key
        for key, box in sorted(_dict_spaces(space).items())
        if key.startswith("task_") and "_to_" in key and box.shape and int(box.shape[-1]) % 3 == 0
    )


def orientation_keys(space: spaces.Space) -> tuple[str, ...]:
    """The task's object orientations: ``task_<object>_quat`` entries of 4 values per object."""
    return tuple(
        key
        for key, box in sorted(_dict_spaces(space).items())
        if key.startswith("task_") and key.endswith("_quat") and box.shape and int(box.shape[-1]) % 4 == 0
    )


def _dict_spaces(space: spaces.Space) -> dict[str, spaces.Space]:
    if not isinstance(space, spaces.Dict):
        raise ValueError(
            "policy features need a Dict observation (obs_mode='dict'): they find the relative vectors and object "
            f"orientations by their names; got {type(space).__name__}"
        )
    return dict(space.spaces)


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + torch.pi, 2 * torch.pi) - torch.pi


def quat_yaw(quat: torch.Tensor) -> torch.Tensor:
    """Yaw of (..., 4) wxyz quaternions."""
    w, x, y, z = quat.unbind(-1)
    return torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def jaw_headings(observations: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(jaw yaw, neutral jaw yaw at home, neutral jaw yaw at the TCP's current heading), each (n,)."""
    w, x, y, z = observations["robot_tcp_quat"].unbind(1)
    jaw = torch.atan2(1 - 2 * (x * x + z * z), 2 * (x * y - w * z))  # the hand's y axis in the xy plane
    tcp = observations["robot_tcp_pos"]
    here = NEUTRAL_JAW_YAW_RAD + torch.atan2(tcp[:, 1], tcp[:, 0])
    return jaw, torch.full_like(jaw, NEUTRAL_JAW_YAW_RAD), here


def yaw_features(observations: Any, keys: tuple[str, ...]) -> torch.Tensor:
    """(n, YAW_FEATURES_PER_OBJECT * objects + JAW_OFFSETS): per object, sin/cos of every harmonic of its yaw
    against the neutral jaw at home and here and of the jaw against it; then the jaw's offsets from both.

    Computed for all objects, angles and harmonics in one product: an RLPD update calls this eight or nine times
    (actor, critics, targets, the clone), and op by op it took 0.65 ms a call, 11% of the training time."""
    jaw, home, here = jaw_headings(observations)
    quats = [observations[key].reshape(len(jaw), -1, 4) for key in keys]
    quats = torch.cat(quats, dim=1) if quats else jaw.new_zeros((len(jaw), 0, 4))  # a task without orientations
    parts = quat_yaw(quats)  # (n, objects)
    facing = parts + torch.pi / 2
    angles = torch.stack([facing - home[:, None], facing - here[:, None], jaw[:, None] - parts], dim=2)
    harmonics = angles[..., None] * torch.tensor(HARMONICS, dtype=angles.dtype)  # (n, objects, 3, harmonics)
    waves = torch.stack([torch.sin(harmonics), torch.cos(harmonics)], dim=-1)  # sin, cos per harmonic
    offsets = torch.stack([_wrap(jaw - home), _wrap(jaw - here)], dim=1)
    return torch.cat([waves.flatten(1), offsets], dim=1)


def fine_features(observations: Any, keys: tuple[str, ...]) -> torch.Tensor:
    """(n, 2 x the values of ``keys``): tanh(vector / scale) per scale of ``FINE_SCALES_M``."""
    vectors = [observations[key].flatten(1) for key in keys]
    return torch.cat([torch.tanh(v / scale) for v in vectors for scale in FINE_SCALES_M], dim=1)


def state_features(observations: dict[str, Any], keys: list[str], which: str) -> torch.Tensor:
    """(n, F) the ``which`` features (``yaw``, ``fine``, ``yaw+fine``) of the entries ``keys`` of ``observations``
    ((n, ...) arrays, the robot's TCP pose among them for yaw): what a state policy with those policy features
    derives from them, for a visual policy's auxiliary targets."""
    chosen = _boxes({key: observations[key] for key in keys})
    tensors = {key: torch.as_tensor(value, dtype=torch.float32) for key, value in observations.items()
               if key in keys or key in ROBOT_KEYS}  # fmt: skip
    parts, named = [], set(which.split("+"))
    if "yaw" in named:
        missing = [key for key in ROBOT_KEYS if key not in tensors]
        if missing:
            raise ValueError(f"yaw features need the observation entries {', '.join(missing)}")
        parts.append(yaw_features(tensors, orientation_keys(chosen)))
    if "fine" in named:
        fine_keys = relative_vector_keys(chosen)
        if fine_keys:
            parts.append(fine_features(tensors, fine_keys))
    n = len(next(iter(observations.values())))
    return torch.cat(parts, dim=1) if parts else torch.zeros((n, 0))


def turn_targets(observations: dict[str, Any], scale_m: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(targets, weights), each (n, YAW_HARMONIC_COLUMNS x objects): per object with an orientation and an offset
    from the TCP (``task_<object>_quat`` beside ``task_<object>_to_tcp``), sin/cos of every harmonic of the jaw's
    yaw against the object's, and each column's weight exp(-distance / ``scale_m``), 0 while the pads touch.

    The angle the jaws must close out before a grasp, folded as the state recipe folds it, weighted to where it
    matters: averaged over every frame, most with the part out of the wrist camera's view, it did not teach the
    wrist encoder to see the turn (experiments/yaw_probe.py)."""
    pairs = [(key, key[: -len("_quat")] + "_to_tcp") for key in orientation_keys(_boxes(observations))]
    pairs = [(quat, offset) for quat, offset in pairs if offset in observations]
    if not pairs:
        raise ValueError(
            "turn targets need an object's orientation beside its offset from the TCP (task_<object>_quat and "
            f"task_<object>_to_tcp); the observations hold {', '.join(sorted(observations))}"
        )
    missing = [key for key in ROBOT_KEYS if key not in observations]
    if missing:
        raise ValueError(f"turn targets need the observation entries {', '.join(missing)}")
    jaw, _, _ = jaw_headings({key: torch.as_tensor(observations[key], dtype=torch.float32) for key in ROBOT_KEYS})
    free = torch.ones(len(jaw))  # a frame whose pads touch something holds it: the turn is over
    if TOUCH_KEY in observations:
        free = (torch.as_tensor(observations[TOUCH_KEY]).reshape(len(jaw), -1).amax(dim=1) <= 0).float()
    targets, weights = [], []
    for quat_key, offset_key in pairs:
        quats = torch.as_tensor(observations[quat_key], dtype=torch.float32).reshape(len(jaw), -1, 4)
        offsets = torch.as_tensor(observations[offset_key], dtype=torch.float32).reshape(len(jaw), -1, 3)
        if offsets.shape[1] != quats.shape[1]:
            raise ValueError(f"{quat_key} holds {quats.shape[1]} objects but {offset_key} {offsets.shape[1]}")
        harmonics = (jaw[:, None] - quat_yaw(quats))[..., None] * torch.tensor(HARMONICS)  # (n, objects, harmonics)
        targets.append(torch.stack([torch.sin(harmonics), torch.cos(harmonics)], dim=-1).flatten(1))
        near = torch.exp(-torch.linalg.norm(offsets, dim=-1) / scale_m) * free[:, None]  # (n, objects)
        weights.append(near.repeat_interleave(YAW_HARMONIC_COLUMNS, dim=1))
    return torch.cat(targets, dim=1), torch.cat(weights, dim=1)


def _boxes(observations: dict[str, Any]) -> spaces.Dict:
    return spaces.Dict({key: spaces.Box(-float("inf"), float("inf"), shape=value.shape[1:])
                        for key, value in observations.items()})  # fmt: skip


class _PolicyFeatures(NormalizedExtractor):
    """The normalised observation followed by the features its class switches on (``yaw``, ``fine``)."""

    yaw = False
    fine = False

    def __init__(self, observation_space: spaces.Space, **stats: Any):
        boxes = _dict_spaces(observation_space)
        super().__init__(observation_space, **stats)
        self.fine_keys = relative_vector_keys(observation_space) if self.fine else ()
        self.yaw_keys = orientation_keys(observation_space) if self.yaw else ()
        if self.yaw:
            missing = [key for key in ROBOT_KEYS if key not in boxes]
            if missing:
                raise ValueError(f"yaw features need the observation entries {', '.join(missing)}")
            objects = sum(int(boxes[key].shape[-1]) // 4 for key in self.yaw_keys)
            self._features_dim += YAW_FEATURES_PER_OBJECT * objects + JAW_OFFSETS
        self._features_dim += sum(int(boxes[key].shape[-1]) for key in self.fine_keys) * len(FINE_SCALES_M)
        self.film = None
        if WORDS_KEY in boxes:
            self.film = torch.nn.Linear(int(boxes[WORDS_KEY].shape[-1]), 2 * self._features_dim)
            torch.nn.init.zeros_(self.film.weight)  # identity at the start: scale 1, shift 0
            torch.nn.init.zeros_(self.film.bias)

    def forward(self, observations: Any) -> torch.Tensor:
        parts = [super().forward(observations)]
        if self.yaw:
            parts.append(yaw_features(observations, self.yaw_keys))
        if self.fine_keys:
            parts.append(fine_features(observations, self.fine_keys))
        features = torch.cat(parts, dim=1)
        if self.film is not None:
            scale, shift = self.film(observations[WORDS_KEY].flatten(1)).chunk(2, dim=1)
            features = features * (1.0 + scale) + shift
        return features


class YawFeaturesExtractor(_PolicyFeatures):
    """The normalised observation and the yaw features."""

    yaw = True


class FineFeaturesExtractor(_PolicyFeatures):
    """The normalised observation and the precision features."""

    fine = True


class YawFineFeaturesExtractor(_PolicyFeatures):
    """The normalised observation, the yaw features and the precision features: the suite's one recipe."""

    yaw = True
    fine = True


EXTRACTORS = {"": NormalizedExtractor, "yaw": YawFeaturesExtractor, "fine": FineFeaturesExtractor,
              "yaw+fine": YawFineFeaturesExtractor}  # fmt: skip


def extractor_for(obs_mode: str, policy_features: str) -> type[NormalizedExtractor] | type[VisualExtractor]:
    """The feature extractor of a config: the image encoder for pixels, else the named policy features."""
    return VisualExtractor if obs_mode == "pixels" else EXTRACTORS[policy_features]
