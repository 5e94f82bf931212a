"""``python -m acd`` is the ``acd`` command."""

import sys

from acd.cli import main

sys.exit(main())
