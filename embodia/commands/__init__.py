"""Subcommands of the ``embodia`` command, one module each; every module defines ``register(commands)``."""
