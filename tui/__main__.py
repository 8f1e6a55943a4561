"""``python -m tui``: the whole ``maker`` command line, the TUI commands with the headless ones."""

import sys

from tui.cli import main

sys.exit(main())
