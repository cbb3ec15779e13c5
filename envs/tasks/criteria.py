"""Success criteria and reward scales shared by tasks, each with its unit and the reason for its value.

A task's own tolerances (a slot's clearance, a palm's height band) live in its file; the values here are the
conventions every task judges by, so that "at rest" or "fell off" means the same thing across the suite.
"""

#: a placed factory part counts only once it has settled: below 3 cm/s it is no longer sliding or bouncing
AT_REST_SPEED_M_S = 0.03
#: objects handed to a person or set on furniture sway with the person and the soft palm: 5 cm/s
SETTLED_ON_PERSON_SPEED_M_S = 0.05
#: an object more than 5 cm below the surface it started on has fallen off it; the episode has failed
FELL_BELOW_SURFACE_M = 0.05
#: in the care tasks the robot must have opened its jaws to at least 5 cm to count as having let go
OPEN_HAND_WIDTH_M = 0.05

# Shaping scales of ``tolerance(d, scale) = 1 - tanh(d / scale)``: the term is 0.24 at d = scale and 0.04 at 2 scale.
#: approaching an object from the arm's workspace (tens of centimetres away)
REACH_SCALE_M = 0.10
#: coming from anywhere in the work cell (half a metre and more): the reach term is flat beyond about 25 cm, so a
#: learner that starts there is told nothing about which way to go
APPROACH_SCALE_M = 0.40
#: carrying a held object to the point above its goal
CARRY_SCALE_M = 0.10
#: the last few centimetres of placing or aligning a held object
PLACE_SCALE_M = 0.03
#: a held object's axis over a hole or shaft before it is lowered: a few millimetres of slack beyond the clearance
ON_AXIS_SLACK_M = 0.002
#: the lift term of the factory tasks is full once a part is 8 cm off the bench, clear of the bin walls and fixtures
LIFT_HEIGHT_M = 0.08
#: the care tasks lift 10 cm: clear of a drawer's front or a table's edge
CARE_LIFT_HEIGHT_M = 0.10
#: the carry waypoint: this far above the goal, from where the object is lowered into place
CARRY_ABOVE_GOAL_M = 0.08
#: the align waypoint for a part going onto a shaft or into a hole: 1 cm above the shaft's tip or the hole's mouth
ALIGN_CLEARANCE_M = 0.01
