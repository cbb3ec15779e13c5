"""Policies and learning: scripted experts, behaviour cloning, RL. Imports envs, never the CLI."""
