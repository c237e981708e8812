"""The population manager: archive, NSGA-II ranking and survival, proposal of new architectures."""
