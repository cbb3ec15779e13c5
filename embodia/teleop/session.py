"""A teleoperation session: one simulation stepped at the task's control rate, one operator, every attempt recorded.

One thread owns the env, the recorder and the renderer (none of them is shared across threads); the web server's
threads only hand it inputs and commands and read the frames it publishes. The simulation runs in real time:
each control step waits for its slot on the clock, and when a step (physics, recording, rendering) takes longer
than the control period, time is not silently stretched: the published status says how far behind real time it
runs, and the page shows it.

Attempts: an episode starts when an operator takes control. It ends when the env ends it (success, failure, the
time limit), when the operator saves or discards it, or when the operator leaves (a closed tab, or silence longer
than ``idle_timeout_s``); every attempt with at least one step is written in the standard episode format with
policy ``human`` and the operator's inputs per step (``info/operator/...``). One the env did not end says why in
its metadata (``operator``: ``saved``, ``discarded`` or ``incomplete``), so a review can tell them apart.
"""

from __future__ import annotations

import collections
import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from embodia.envs.core.batched_env import make_batched
from embodia.envs.core.rendering import RENDER_PRESETS, SimRenderer
from embodia.envs.record.recorder import EpisodeRecorder, VideoOptions
from embodia.envs.safety.iso15066 import REGION_NAMES
from embodia.teleop.operator import OperatorInput

#: the operator's view: the task's own scene camera when it has one, and the wrist camera
SCENE_CAMERAS = ("work", "front")
WRIST_CAMERA = "robot/wrist"
#: a person this close to the robot (m) is flagged on the page: ISO/TS 15066 checks speeds within it
NEAR_PERSON_M = 0.10
COMMANDS = ("save", "discard", "camera")
#: the rate is judged over the last this many steps
RATE_WINDOW_STEPS = 40


@dataclass(frozen=True)
class TeleopOptions:
    """How the session runs and shows the simulation."""

    size: tuple[int, int] = (480, 640)  # (height, width) of the live view
    preset: str = "fast"  # the render preset of the live view: "quality" renders 640x480 at about 20 frames/s
    seed: int = 0  # episode k is seeded seed + k
    jpeg_quality: int = 80
    idle_timeout_s: float = 3.0  # an operator silent this long has left (a closed tab sends nothing)
    end_hold_s: float = 1.0  # an episode the env ended stays on screen this long before the next starts
    video: bool = True  # each attempt's MP4 is the view the operator saw (with the recorder's figures overlay)

    def __post_init__(self) -> None:
        height, width = self.size
        if not (16 <= height <= 2160 and 16 <= width <= 3840):
            raise ValueError(f"size={height}x{width} (height x width); valid: 16 to 2160 by 16 to 3840 pixels")
        if self.preset not in RENDER_PRESETS:
            raise ValueError(f"preset={self.preset!r}; valid: {', '.join(RENDER_PRESETS)}")
        if not 10 <= self.jpeg_quality <= 95:
            raise ValueError(f"jpeg_quality={self.jpeg_quality!r}; valid: 10 to 95")


@dataclass(frozen=True)
class Frame:
    """What the page shows after one step: the image, its number, and the figures beside it."""

    number: int
    jpeg: bytes
    input_seq: int  # the last operator input applied before this frame
    status: dict[str, Any]


class NotControllingError(RuntimeError):
    """A client that is not the operator tried to control the robot."""


@dataclass
class _Lease:
    """Who controls the robot, and when they were last heard from."""

    client: str | None = None
    heard: float = 0.0
    started: bool = False  # an episode has been started for this operator


@dataclass
class _Rate:
    """Wall-clock times of the last steps, for the real-time factor."""

    period_s: float
    times: collections.deque = field(default_factory=lambda: collections.deque(maxlen=RATE_WINDOW_STEPS))

    def factor(self) -> float:
        if len(self.times) < 2:
            return 1.0
        return (len(self.times) - 1) * self.period_s / max(self.times[-1] - self.times[0], 1e-9)


class TeleopSession:
    """The simulation, its recorder and its live view; ``start`` runs it on its own thread, ``stop`` ends it."""

    def __init__(
        self,
        env_id: str,
        out_dir: str | Path,
        options: TeleopOptions | None = None,
        overwrite: bool = False,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """``env_kwargs``: task and env options (a person may need a longer ``episode_steps`` than the expert);
        they are recorded, so replay remakes the same env."""
        self.options = options or TeleopOptions()
        self.env_id = env_id
        env_kwargs = {**(env_kwargs or {}), "control_mode": "ee_delta"}
        self.env = make_batched(env_id, 1, **env_kwargs)
        cameras = [self.env.model.camera(i).name for i in range(self.env.model.ncam)]
        scene = next(c for c in (*SCENE_CAMERAS, cameras[0]) if c in cameras)
        self.cameras = tuple(c for c in (scene, WRIST_CAMERA) if c in cameras)
        self.camera = self.cameras[0]
        layout = self.env.controller.layout
        self._arm, self._gripper = layout["arm"], layout["gripper"]
        self._action_dim = self.env.controller.action_dim
        self.period_s = 1.0 / self.env.config.control_hz
        video = VideoOptions(cameras=(self.camera,), size=self.options.size) if self.options.video else None
        self.recorder = EpisodeRecorder(self.env, out_dir, env_id, env_kwargs, policy="human", video=video,
                                        overwrite=overwrite, listen=False, frames=lambda sim_id: self._image,
                                        run_info={"teleop": {"view": list(self.options.size)}})  # fmt: skip
        self._image = np.zeros((*self.options.size, 3), dtype=np.uint8)  # the view of the state last recorded
        self._renderer: SimRenderer | None = None
        self._cond = threading.Condition()
        self._input = OperatorInput()
        self._commands: collections.deque[str] = collections.deque()
        self._lease = _Lease()
        self._frame: Frame | None = None
        self._frames = 0
        self._episodes = 0
        self._running = False  # an episode is in progress
        self._ended_at: float | None = None
        self._last: dict[str, Any] = {}  # the last attempt's result, for the page
        self._info: dict[str, Any] | None = None  # the last step's info, shown again when nothing steps
        self._rate = _Rate(self.period_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embodia-teleop", daemon=True)
        self._error: BaseException | None = None
        self.snapshot: tuple[Any, dict[str, Any]] | None = None  # (obs, info) after the last step, for drivers

    # ------------------------------------------------------------------------------ from the server's threads
    def start(self) -> None:
        self._thread.start()

    def claim(self, client: str) -> bool:
        """Make ``client`` the operator if nobody else is; True when it is the operator now."""
        with self._cond:
            lease = self._lease
            if lease.client not in (None, client):
                return False
            if lease.client is None:
                self._lease = _Lease(client, time.monotonic())
                self._input = OperatorInput()
                self._cond.notify_all()
            return True

    def role(self, client: str) -> str:
        """``operator``, ``watching`` (someone else controls) or ``free`` (nobody does), and a sign of life."""
        with self._cond:
            if self._lease.client == client:
                self._lease.heard = time.monotonic()
                return "operator"
            return "free" if self._lease.client is None else "watching"

    def control(self, client: str, operator_input: OperatorInput) -> None:
        """The operator's new input state; an older one arriving late is ignored."""
        with self._cond:
            if self._lease.client != client:
                raise NotControllingError("another tab controls the robot; this one watches")
            self._lease.heard = time.monotonic()
            if operator_input.seq >= self._input.seq:
                self._input = operator_input

    def command(self, client: str, name: str) -> None:
        with self._cond:
            if self._lease.client != client:
                raise NotControllingError("another tab controls the robot; this one watches")
            self._lease.heard = time.monotonic()
            self._commands.append(name)
            self._cond.notify_all()

    def leave(self, client: str) -> None:
        """The operator's tab is closing: the episode is kept as incomplete and the robot is free."""
        with self._cond:
            if self._lease.client == client:
                self._lease.heard = -float("inf")
                self._cond.notify_all()

    def wait_frame(self, after: int, timeout_s: float) -> Frame | None:
        """The newest frame numbered above ``after``, waiting up to ``timeout_s``; the newest one on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while (self._frame is None or self._frame.number <= after) and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._frame

    def stop(self) -> dict[str, Any]:
        """End the session: the episode in progress is kept as incomplete; returns the recorder's summary."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        if self._running:
            self.recorder.end_episode(0, operator="incomplete", ended_by="session stopped")
        summary = self.recorder.close()
        self.env.close()
        if self._error is not None:
            raise self._error
        return summary

    # ------------------------------------------------------------------------------ the simulation's thread
    def _run(self) -> None:
        try:
            self._renderer = SimRenderer(self.env.model, *self.options.size, preset=self.options.preset)
            self._loop()
        except BaseException as error:  # shown by stop(); the page sees the frames stop
            self._error = error
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
        finally:
            if self._renderer is not None:  # its GL context is this thread's
                self._renderer.close()

    def _loop(self) -> None:
        next_step = time.monotonic()
        while not self._stop.is_set():
            with self._cond:
                self._expire_lease()
                lease, operator_input = self._lease, self._input
                commands = list(self._commands)
                self._commands.clear()
                if lease.client is None and not self._running:
                    self._cond.wait(0.1)
                    next_step = time.monotonic()
                    continue
            self._apply(commands, lease)
            if not self._running:
                if self._ended_at is not None and time.monotonic() - self._ended_at < self.options.end_hold_s:
                    time.sleep(0.02)
                    next_step = time.monotonic()
                    continue
                if self._lease.client is None:
                    continue
                self._reset()
                next_step = time.monotonic() + self.period_s
                continue
            self._step(operator_input)
            next_step += self.period_s
            delay = next_step - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_step = time.monotonic()  # behind: the next step starts now, and the rate shows it

    def _expire_lease(self) -> None:
        """An operator silent longer than ``idle_timeout_s`` (or gone) frees the robot; the episode is kept."""
        lease = self._lease
        if lease.client is not None and time.monotonic() - lease.heard > self.options.idle_timeout_s:
            self._lease = _Lease()
            self._input = OperatorInput()
            self._commands.append("left")

    def _apply(self, commands: list[str], lease: _Lease) -> None:
        for name in commands:
            if name == "camera":
                self.camera = self.cameras[(self.cameras.index(self.camera) + 1) % len(self.cameras)]
                if not self._running:
                    self._render()
                    self._publish(self._info)
            elif self._running and name in ("save", "discard", "left"):
                verdict = {"save": "saved", "discard": "discarded", "left": "incomplete"}[name]
                ended_by = "the operator left" if name == "left" else f"the operator ({name})"
                result = self.recorder.end_episode(0, operator=verdict, ended_by=ended_by)
                self._end(result, verdict)
                self._publish(self._info)  # the page shows how the attempt ended

    def _reset(self) -> None:
        seed = self.options.seed + self._episodes
        self._episodes += 1
        obs, info = self.env.reset(seeds=[seed])
        self._render()
        self.recorder.on_reset(np.array([0]), [seed], obs, {**info, "operator": OperatorInput().record()})
        self._running, self._ended_at = True, None
        self._rate.times.clear()
        self.snapshot = (obs, info)
        self._publish(info, reward=0.0)

    def _step(self, operator_input: OperatorInput) -> None:
        action = operator_input.action(self._arm, self._gripper, self._action_dim)[None]
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._rate.times.append(time.monotonic())
        self.snapshot = (obs, info)
        self._render()
        self.recorder.on_step(action, obs, reward, terminated, truncated,
                              {**info, "operator": operator_input.record()})  # fmt: skip
        ended = bool(terminated[0] or truncated[0])
        if ended:
            result = self.recorder.results[-1]
            self._end(result, "success" if result["success"] else ("failed" if result["fail"] else "time limit"))
        self._publish(info, reward=float(reward[0]), input_seq=operator_input.seq)

    def _end(self, result: dict[str, Any] | None, outcome: str) -> None:
        self._running, self._ended_at = False, time.monotonic()
        if result is None:  # ended before its first step: nothing to keep
            self._last = {"outcome": "empty", "kept": False}
            return
        self._last = {"outcome": outcome, "kept": True, "episode": result["episode"], "length": result["length"],
                      "success": result["success"], "return": round(result["return"], 3)}  # fmt: skip

    def _render(self) -> None:
        """The view of the current state, once: the page's frame and the recording's video frame."""
        assert self._renderer is not None
        self._renderer.load(self.env.sim, 0)
        self._image = self._renderer.render(self.camera)

    def _publish(self, info: dict[str, Any] | None, reward: float = 0.0, input_seq: int | None = None) -> None:
        """Encode the view last rendered as the page's next frame, with its figures."""
        self._info = info
        buffer = io.BytesIO()
        Image.fromarray(self._image).save(buffer, "JPEG", quality=self.options.jpeg_quality)
        status = self._status(info, reward)
        with self._cond:
            self._frames += 1
            seq = self._input.seq if input_seq is None else input_seq
            self._frame = Frame(self._frames, buffer.getvalue(), seq, status)
            self._cond.notify_all()

    def _status(self, info: dict[str, Any] | None, reward: float) -> dict[str, Any]:
        """The figures the page shows beside the frame, as JSON-ready values."""
        status: dict[str, Any] = {
            "task": self.env_id,
            "camera": self.camera,
            "cameras": list(self.cameras),
            "running": self._running,
            "episode": self._episodes - 1,
            "seed": self.options.seed + self._episodes - 1,
            "instruction": str(self.env.instructions[0]),
            "control_hz": self.env.config.control_hz,
            "realtime": round(self._rate.factor(), 3),
            "last": self._last,
            "recorded": len(self.recorder.results),
        }
        if info is not None:
            status.update(step=int(info["elapsed_steps"][0]), success=bool(info["success"][0]),
                          fail=bool(info["fail"][0]), reward=round(reward, 4),
                          gripper_width_mm=round(float(info["state"]["gripper_width"][0]) * 1000, 1))  # fmt: skip
            if "safety" in info:
                status["safety"] = safety_status(info["safety"])
        return status


def safety_status(safety: dict[str, Any]) -> dict[str, Any]:
    """The ISO/TS 15066 figures of one simulation, for the page: the strongest contact, the nearest body region."""
    forces = {name: float(values[0]) for name, values in safety["force_n"].items()}
    strongest = max(forces, key=forces.get)
    distance = float(safety["nearest_distance_m"][0])
    return {
        "max_contact_force_n": round(float(safety["max_contact_force_n"][0]), 2),
        "max_force_region": strongest if forces[strongest] > 0 else None,
        "quasi_static_exceeded": bool(safety["quasi_static_exceeded"][0]),
        "transient_exceeded": bool(safety["transient_exceeded"][0]),
        "speed_limit_exceeded": bool(safety["speed_limit_exceeded"][0]),
        "nearest_distance_m": round(distance, 4),
        "nearest_region": REGION_NAMES[int(safety["nearest_region"][0])],
        "near_person": distance < NEAR_PERSON_M,
    }
