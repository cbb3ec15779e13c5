"""Package data: robot, object and texture files. Data only."""
