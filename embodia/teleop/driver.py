"""A scripted operator at the page's keyboard: a policy's actions turned into the key presses a person would make.

It stands in for a person in tests and experiments (``experiments/teleop_demos.py``): it sees what the policy
sees (the session's last observation and info), asks the policy for an ``ee_delta`` action, and holds the keys
nearest to it. Keys give each axis a full rate or nothing, so the action is quantised as a person's is: the speed
key sets the rate to the smallest of the page's speeds that covers the largest axis the action asks for, and an
axis is held, one way or the other, when the action asks for more than half of that rate. The gripper is toggled
(Space) when the action's sign disagrees with the page's gripper state.

The driver talks to the page only through Playwright's keyboard, so everything between the key and the recorded
step (the page's input handling, the control messages, the server's lease and the session) is what a person uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

#: the page's speed keys and the scales they select (``static/teleop.js``)
SPEED_KEYS = (("Digit1", 0.125), ("Digit2", 0.25), ("Digit3", 0.5), ("Digit4", 1.0))
#: translation x, y, z and rotation x, y, z: the keys that hold each way
AXIS_KEYS = (("KeyW", "KeyS"), ("KeyA", "KeyD"), ("KeyR", "KeyF"), ("KeyU", "KeyO"), ("KeyI", "KeyK"), ("KeyJ", "KeyL"))
START_SPEED = 0.5  # the page starts at 50%
GRIPPER_KEY = "Space"


def keys_for(action: np.ndarray) -> tuple[set[str], float, bool]:
    """The keys to hold, the speed and whether the gripper should be closed, for one ``ee_delta`` action."""
    arm = np.asarray(action[:6], dtype=float)
    largest = float(np.abs(arm).max())
    speed = next((scale for _, scale in SPEED_KEYS if scale >= 0.9 * largest), 1.0)
    held = set()
    for rate, (plus, minus) in zip(arm, AXIS_KEYS, strict=True):
        if abs(rate) > speed / 2:
            held.add(plus if rate > 0 else minus)
    return held, speed, bool(action[6] < 0)


class KeyboardOperator:
    """Follows a batched policy (one simulation) through a Playwright page of ``embodia teleop``."""

    def __init__(self, page: Any, session: Any, policy: Any) -> None:
        self.page, self.session, self.policy = page, session, policy
        self.held: set[str] = set()
        self.speed = START_SPEED
        self.closed = False
        self.episode: int | None = None
        self.frame = 0

    def status(self) -> dict[str, Any] | None:
        return self.page.evaluate("window.embodiaTeleop.status")

    def wait_for_frame(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """The page's status once it has drawn a frame newer than the last one acted on."""
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.status()
            if status is not None and status["frame"] > self.frame:
                self.frame = status["frame"]
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(f"no new frame within {timeout_s} s (last status: {status})")
            time.sleep(0.005)

    def step(self) -> dict[str, Any]:
        """Act once on the newest frame; returns its status."""
        status = self.wait_for_frame()
        if not status["running"]:
            self.release()
            return status
        if status["episode"] != self.episode:
            self.episode = status["episode"]
            self.policy.reset(np.array([0]), seed=None)
        obs, info = self.session.snapshot
        action = np.asarray(self.policy.act(obs, info))[0]
        held, speed, closed = keys_for(action)
        keyboard = self.page.keyboard
        if speed != self.speed:
            keyboard.press(next(key for key, scale in SPEED_KEYS if scale == speed))
            self.speed = speed
        if closed != self.closed:
            keyboard.press(GRIPPER_KEY)
            self.closed = closed
        for key in self.held - held:
            keyboard.up(key)
        for key in held - self.held:
            keyboard.down(key)
        self.held = held
        return status

    def release(self) -> None:
        for key in self.held:
            self.page.keyboard.up(key)
        self.held = set()

    def run_episode(
        self, timeout_s: float = 60.0, watch: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Follow the policy until the episode in progress ends; the page's last status of it. ``watch`` sees
        the status of every frame acted on while the episode runs (what the page showed then)."""
        deadline = time.monotonic() + timeout_s
        started = None
        while time.monotonic() < deadline:
            status = self.step()
            if status["running"]:
                started = status["episode"] if started is None else started
                if watch is not None:
                    watch(status)
            elif started is not None:
                self.release()
                return status
        self.release()
        raise TimeoutError(f"the episode did not end within {timeout_s} s")
