"""The simulation itself: a batch of MuJoCo models stepped together (``Simulation``) and the robot's bound view of it
(``RobotView``). Below control, safety, the person and the tasks, which all read and write it."""
