"""PyVista live window and offscreen rendering. Floor 2: knows result types only.

Not built yet (issue 9).
"""
