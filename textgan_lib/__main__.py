"""``python -m textgan_lib ...`` runs the command line (see :mod:`textgan_lib.cli`)."""
import sys

from .cli import main

sys.exit(main())
