"""``python -m bci_app.replay``: the ``bci-replay`` command."""

import sys

from bci_app.replay.cli import main

sys.exit(main())
