"""Simulation only: tasks, scenes, controllers, envs and recording. Never imports agents."""

import os

from embodia.envs.core.rendering import INSTALL_HINT, select_gl_backend

select_gl_backend()  # MuJoCo reads MUJOCO_GL when it is first imported
try:
    import mujoco  # noqa: F401
except Exception as error:  # a broken GL backend fails inside MuJoCo's import, deep in PyOpenGL
    backend = os.environ.get("MUJOCO_GL", "unset")
    raise ImportError(f"MuJoCo failed to import with MUJOCO_GL={backend}: {error}; {INSTALL_HINT}") from error
