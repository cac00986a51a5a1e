"""``python -m kobako_async``: the ``kobako-async`` command."""

import sys

from ._cli import main

sys.exit(main())
