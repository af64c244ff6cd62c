"""Acquisition: sources (LSL inlet, BrainFlow board, file replay), ring buffer,
streaming preprocessing and the recorder. Floor 4: imports ``brain3d`` only.

Not built yet (issue 5).
"""
