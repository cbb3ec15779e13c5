"""embodia: Gymnasium environments on MuJoCo for Physical AI manipulation in elder care and factories.

``import embodia`` registers every task with Gymnasium (``gymnasium.make("embodia/BinPicking-v0")``).
It imports the tasks (``embodia.envs.tasks``, which fills ``embodia.envs.tasks.registry.TASKS``), not torch.
"""

from embodia.envs.core.rendering import select_gl_backend

select_gl_backend()  # before anything imports mujoco: MuJoCo reads MUJOCO_GL at import

from embodia.envs.tasks.registry import TASKS  # noqa: E402
from embodia.registration import register_all  # noqa: E402

__version__ = "0.1.0"
__all__ = ["TASKS", "__version__"]

register_all()
