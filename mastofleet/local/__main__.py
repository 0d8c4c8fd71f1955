"""`python -m mastofleet.local ...`, the same as `mastofleet local ...`."""

import sys

from mastofleet.commands.local import run

sys.exit(run(sys.argv[1:]))
