"""Command handlers of the ``brain3d`` command, each thin over a library API."""
