"""embodia: Gymnasium environments on MuJoCo for Physical AI manipulation in elder care and factories.

``import embodia`` registers every task with Gymnasium (``gymnasium.make("embodia/BinPicking-v0")``).
It imports neither torch nor the tasks themselves; a task loads when an env is made.
"""

from embodia.envs.core.rendering import select_gl_backend

select_gl_backend()  # before anything imports mujoco: MuJoCo reads MUJOCO_GL at import

from embodia.registration import TASKS, register_all  # noqa: E402

__version__ = "0.1.0"
__all__ = ["TASKS", "__version__"]

register_all()
