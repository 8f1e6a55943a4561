"""``python -m engine.cli``: the headless command line."""

import sys

from engine.cli.main import main

sys.exit(main())
