"""The simulated person: a parametric older-adult body, its posture control and impairments."""
