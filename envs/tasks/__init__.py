"""Every task, registered on import with ``embodia.envs.tasks.registry.register_task``: adding a task is one line here.

The order of these lines is the order in which ``embodia tasks`` lists the tasks.
"""

# isort: off
from embodia.envs.tasks.factory import bin_picking  # noqa: F401
from embodia.envs.tasks.factory import peg_insertion  # noqa: F401
from embodia.envs.tasks.factory import nut_bolt  # noqa: F401
from embodia.envs.tasks.factory import gear_assembly  # noqa: F401
from embodia.envs.tasks.care import handover  # noqa: F401
from embodia.envs.tasks.care import blanket_cover  # noqa: F401
from embodia.envs.tasks.care import drawer_fetch  # noqa: F401
from embodia.envs.tasks.care import fetch_dropped  # noqa: F401
from embodia.envs.tasks.care import bed_bathing  # noqa: F401
from embodia.envs.tasks.care import feeding  # noqa: F401
from embodia.envs.tasks.care import drinking  # noqa: F401
from embodia.envs.tasks.factory import reach  # noqa: F401
from embodia.envs.tasks.factory import palletizing  # noqa: F401
from embodia.envs.tasks.factory import conveyor_sort  # noqa: F401
# isort: on
