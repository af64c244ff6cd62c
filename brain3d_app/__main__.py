"""``python -m brain3d_app`` runs the ``brain3d`` command."""

import sys

from brain3d_app.cli import main

sys.exit(main())
