"""embodia."""
