"""The top floor: the ``brain3d`` command, its command handlers and every benchmark.

Nothing imports this package; it may import all the others (``docs/architecture.md``).

* :mod:`brain3d_app.cli`: the argument parser and ``main`` (``brain3d`` / ``python -m brain3d_app``);
* :mod:`brain3d_app.commands`: the handlers that need more than a few lines (``view``,
  ``bench``, the slow stages' ``train``);
* :mod:`brain3d_app.bench`: benchmark mode (``brain3d bench``), its report, and the
  single-part benchmark scripts in :mod:`brain3d_app.bench.standalone`
  (``python -m brain3d_app.bench.standalone.viewer --json ...``).
"""
