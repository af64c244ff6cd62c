"""``python -m brain3d`` runs the ``brain3d`` command."""

import sys

from brain3d.cli import main

sys.exit(main())
