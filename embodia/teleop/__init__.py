"""Teleoperation from a web browser: a person drives any task against the headless simulation, recorded."""
