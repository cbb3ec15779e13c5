"""Controllers: they own the action space and turn a normalised action into actuator targets."""

from embodia.envs.control.controllers import (
    CONTROL_MODES,
    Controller,
    EndEffectorDelta,
    JointAbsolute,
    JointDelta,
    make_controller,
)

__all__ = ["CONTROL_MODES", "Controller", "EndEffectorDelta", "JointAbsolute", "JointDelta", "make_controller"]
