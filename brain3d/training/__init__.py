"""Training, evaluation and calibration of the Brain3D networks."""
