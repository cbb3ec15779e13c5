"""Headless rendering: OpenGL backend choice, render presets, and a renderer for one simulation of a batch.

``select_gl_backend`` must run before ``mujoco`` is first imported (MuJoCo reads ``MUJOCO_GL`` at import),
so ``embodia/__init__.py`` calls it first thing.
"""

from __future__ import annotations

import ctypes.util
import os
from dataclasses import dataclass

INSTALL_HINT = (
    "install EGL (Debian/Ubuntu: apt-get install libegl1 libgl1-mesa-dri) or OSMesa (apt-get install libosmesa6) "
    "and set MUJOCO_GL=egl or MUJOCO_GL=osmesa"
)


def select_gl_backend() -> str | None:
    """Set MUJOCO_GL to egl, else osmesa, when the user has not chosen one; return the backend in force."""
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            os.environ["MUJOCO_GL"] = backend
            return backend
    return None


@dataclass(frozen=True)
class RenderPreset:
    """``fast``: no shadows, reflections or multisampling, coarser capsules (pixels and CI).
    ``quality``: for demo videos. In software GL, multisampling, shadows and the triangle count of curved
    primitives (``slices``) set the cost of a frame."""

    multisamples: int
    shadows: bool
    reflections: bool
    skybox: bool
    slices: int


RENDER_PRESETS = {
    "fast": RenderPreset(multisamples=0, shadows=False, reflections=False, skybox=False, slices=16),
    "quality": RenderPreset(multisamples=4, shadows=True, reflections=True, skybox=True, slices=28),
}


class SimRenderer:
    """Renders one simulation of a ``Simulation`` batch from a named camera at a fixed size and preset."""

    def __init__(self, model, height: int, width: int, preset: str = "quality") -> None:
        import mujoco

        if preset not in RENDER_PRESETS:
            raise ValueError(f"unknown render preset {preset!r}; valid: {', '.join(RENDER_PRESETS)}")
        if height < 1 or width < 1:
            raise ValueError(f"render size must be positive, got height={height}, width={width}")
        self._mujoco = mujoco
        self.preset = RENDER_PRESETS[preset]
        self.model = model
        model.vis.quality.offsamples = self.preset.multisamples
        model.vis.quality.numslices = self.preset.slices  # read when the GL context is made, so per renderer
        model.vis.quality.numstacks = self.preset.slices // 2
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        try:
            self.renderer = mujoco.Renderer(model, height=height, width=width)
        except Exception as error:  # any GL failure: say what to install
            backend = os.environ.get("MUJOCO_GL", "unset")
            raise RuntimeError(
                f"cannot create an OpenGL context (MUJOCO_GL={backend}): {error}; {INSTALL_HINT}"
            ) from error
        flags = self.renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = self.preset.shadows
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = self.preset.reflections
        flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = self.preset.skybox
        self.data = mujoco.MjData(model)

    def load(self, sim, sim_id: int) -> None:
        """Copy one simulation's state and compute what drawing needs."""
        sim.batch.get_data(sim_id, self.data)
        self._mujoco.mj_forward(self.model, self.data)

    def render(self, camera: str | int, depth: bool = False):
        """RGB (H, W, 3) uint8, or depth (H, W) float32 in metres, of the state last loaded."""
        self.renderer.update_scene(self.data, camera=camera)
        if depth:
            self.renderer.enable_depth_rendering()
            try:
                return self.renderer.render().astype("float32")
            finally:
                self.renderer.disable_depth_rendering()
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()
