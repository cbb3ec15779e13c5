"""Learning agents: behaviour cloning, stable-baselines3 RL and demonstration-augmented RL."""
