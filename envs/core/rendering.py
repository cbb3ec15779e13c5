"""Headless rendering: OpenGL backend choice, render presets, and a renderer for one simulation of a batch.

``select_gl_backend`` must run before ``mujoco`` is first imported (MuJoCo reads ``MUJOCO_GL`` at import),
so ``embodia/__init__.py`` calls it first thing.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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
    """``fast``: pixel observations and CI: no shadows, reflections or multisampling, coarse curved primitives.
    ``quality``: demo and dataset videos: shadows and the sky, at 30 frames/s at 640x480 in software GL.
    ``studio``: stills and figures: 4x multisampling, reflections and a finer shadow map, about a third as fast.

    Measured in software GL (Mesa llvmpipe, 2 cores, ``python experiments/render_profile.py``): multisampling doubles
    the cost of a frame, reflections add a quarter, the shadow pass is the largest share (its map's size sets
    it), and small images are bound by the triangle count of curved primitives (``slices``)."""

    multisamples: int
    shadows: bool
    reflections: bool
    skybox: bool
    slices: int
    shadow_size: int = 2048  # texels per side of the shadow map
    #: draw each plane (the floor) as a thin box with the same top face and material: MuJoCo draws a plane as a fine
    #: grid of quads, which in software GL was 1.1 of BinPicking's 1.8 ms per 84x84 frame (0.8 ms as a box); the
    #: pixels differ by 1.4/255 on average (the floor's shading)
    planes_as_boxes: bool = False


RENDER_PRESETS = {
    "fast": RenderPreset(
        multisamples=0, shadows=False, reflections=False, skybox=False, slices=8, planes_as_boxes=True
    ),
    "quality": RenderPreset(multisamples=0, shadows=True, reflections=False, skybox=True, slices=16, shadow_size=1024),
    "studio": RenderPreset(multisamples=4, shadows=True, reflections=True, skybox=True, slices=28, shadow_size=2048),
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
        # its own copy: each loaded simulation writes its per-simulation values (a person's size) into it
        self.model = model = model.__copy__()
        model.vis.quality.offsamples = self.preset.multisamples
        model.vis.quality.numslices = self.preset.slices  # read when the GL context is made, so per renderer
        model.vis.quality.numstacks = self.preset.slices // 2
        model.vis.quality.shadowsize = self.preset.shadow_size
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
        self._boxed_planes = plane_boxes(model) if self.preset.planes_as_boxes else None
        self._draw_planes_as_boxes()

    def _draw_planes_as_boxes(self) -> None:
        """Give this renderer's model copy its planes as boxes (again after each load: a simulation's values of
        geom_size and geom_pos, where they are per-simulation, would bring the planes' back)."""
        if self._boxed_planes is not None:
            planes, size, pos = self._boxed_planes
            self.model.geom_type[planes] = self._mujoco.mjtGeom.mjGEOM_BOX
            self.model.geom_size[planes] = size
            self.model.geom_pos[planes] = pos

    def load(self, sim, sim_id: int) -> None:
        """Copy one simulation's state and model values (a person's size, a part's colour) and compute what drawing
        needs: the kinematic stage of the forward pass only (poses of bodies, geoms, cameras, lights, flex vertices
        and tendons). Collision, the constraint solve and the dynamics draw nothing; on BlanketCover's cloth they
        were most of a full ``mj_forward`` (about 500 against 13 µs, a scratch timing)."""
        sim.batch.get_model(sim_id, self.model)
        self._draw_planes_as_boxes()
        sim.batch.get_data(sim_id, self.data)
        self._pose()
        if self._boxed_planes is not None:  # the world's geoms keep the poses of reset: give the boxes theirs
            planes, _, pos = self._boxed_planes
            static = self.model.geom_bodyid[planes] == 0
            self.data.geom_xpos[planes[static]] = pos[static]

    def _pose(self) -> None:
        self._mujoco.mj_fwdKinematics(self.model, self.data)

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

    def object_ids(self, camera: str | int):
        """(H, W, 2) int32 (object id, ``mjtObj`` type) per pixel of the state last loaded (-1: background)."""
        self.renderer.update_scene(self.data, camera=camera)
        self.renderer.enable_segmentation_rendering()
        try:
            return self.renderer.render()
        finally:
            self.renderer.disable_segmentation_rendering()

    def segment(self, camera: str | int):
        """(H, W) int32 body id per pixel of the state last loaded (-1: background; a flex, such as cloth, is the
        body of its first vertex)."""
        ids = self.object_ids(camera)
        obj, kind = ids[..., 0], ids[..., 1]
        bodies = np.full(obj.shape, -1, dtype=np.int32)
        objects = self._mujoco.mjtObj
        model = self.model
        geom = (kind == objects.mjOBJ_GEOM) & (obj >= 0)
        bodies[geom] = model.geom_bodyid[obj[geom]]
        flex = (kind == objects.mjOBJ_FLEX) & (obj >= 0)
        if flex.any():
            first_vertex = model.flex_vertadr[obj[flex]]
            bodies[flex] = model.flex_vertbodyid[first_vertex]
        return bodies

    def close(self) -> None:
        self.renderer.close()


#: the half thickness of the box a plane is drawn as, and the half size of an infinite plane's
PLANE_BOX_HALF_THICKNESS_M = 0.001
INFINITE_PLANE_HALF_SIZE_M = 50.0


def plane_boxes(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(plane geoms, the sizes and positions of boxes whose top faces are those planes), for drawing planes as
    boxes (``RenderPreset.planes_as_boxes``)."""
    import mujoco

    planes = np.flatnonzero(model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE)
    size = model.geom_size[planes].copy()
    size[:, :2] = np.where(size[:, :2] > 0, size[:, :2], INFINITE_PLANE_HALF_SIZE_M)
    size[:, 2] = PLANE_BOX_HALF_THICKNESS_M
    pos = model.geom_pos[planes].copy()
    for k, geom in enumerate(planes):  # down along the plane's normal (its local z) by the half thickness
        normal = np.zeros(3)
        mujoco.mju_rotVecQuat(normal, np.array([0.0, 0.0, 1.0]), model.geom_quat[geom])
        pos[k] -= PLANE_BOX_HALF_THICKNESS_M * normal
    return planes, size, pos


HUMAN_HINT = (
    "render_mode='human' shows frames in a pygame window, and pygame is not installed: pip install pygame "
    "(or pip install 'embodia[viewer]'); or use render_mode='rgb_array' and show the frames yourself"
)


class HumanWindow:
    """A pygame window showing RGB frames at the env's control rate: ``render_mode="human"``.

    Made with the env, so a missing pygame fails at construction; the window opens with the first frame. Closing
    the window stops showing frames; the env goes on.
    """

    def __init__(self, title: Callable[[], str] | str, fps: float = 20.0) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        try:
            import pygame
        except ImportError as error:
            from gymnasium.error import DependencyNotInstalled

            raise DependencyNotInstalled(HUMAN_HINT) from error
        self._pygame = pygame
        self._title = title
        self.fps = fps
        self._screen = None
        self._clock = None
        self.dismissed = False  # the user closed the window

    def show(self, frame) -> None:
        """Show one (H, W, 3) uint8 frame, then wait out the rest of the control period."""
        if self.dismissed:
            return
        pygame = self._pygame
        height, width = frame.shape[:2]
        if self._screen is None or self._screen.get_size() != (width, height):
            _no_display_fallback()
            # a plain software framebuffer: SDL's accelerated one makes a GL context of its own, which clashes
            # with MuJoCo's (on X11 the first flip fails with BadAccess in X_GLXMakeCurrent)
            os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
            pygame.display.init()
            pygame.display.set_caption(self._title() if callable(self._title) else self._title)
            self._screen = pygame.display.set_mode((width, height))
            self._clock = pygame.time.Clock()
        surface = pygame.surfarray.make_surface(frame.transpose(1, 0, 2))
        self._screen.blit(surface, (0, 0))
        if any(event.type == pygame.QUIT for event in pygame.event.get()):
            self.close()
            self.dismissed = True
            return
        pygame.display.flip()
        self._clock.tick(self.fps)

    def close(self) -> None:
        if self._screen is not None:
            self._pygame.display.quit()
            self._screen = None


def _no_display_fallback() -> None:
    """Without a display (Linux, no DISPLAY or WAYLAND_DISPLAY), let SDL draw nowhere (its ``dummy`` driver).

    SDL would otherwise pick its ``offscreen`` driver, which runs on EGL and, when its window closes, terminates
    the EGL display that MuJoCo's renderers share: every later frame fails.
    """
    if sys.platform.startswith("linux") and not any(
        os.environ.get(name) for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")
    ):
        os.environ["SDL_VIDEODRIVER"] = "dummy"
        warnings.warn(
            "render_mode='human' without a display (DISPLAY and WAYLAND_DISPLAY are unset): frames are not shown",
            stacklevel=3,
        )
