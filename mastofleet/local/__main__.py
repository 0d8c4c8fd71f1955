"""`python -m mastofleet.local ...`, the same as `mastofleet local ...`."""

import sys

from mastofleet.local.command import run

sys.exit(run(sys.argv[1:]))
