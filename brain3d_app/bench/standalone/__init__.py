"""Single-part benchmarks, each a ``python -m brain3d_app.bench.standalone.<part> --json PATH``
script that prints figures and asserts nothing (``brain3d bench`` runs them all)."""
