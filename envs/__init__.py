"""Simulation only: tasks, scenes, controllers, envs and recording. Never imports agents."""
