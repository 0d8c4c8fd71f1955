"""`mastofleet`: check, render and operate a Mastodon fleet.

The console script's entry point; the subcommands are in `mastofleet.commands`, one module each.
Exit codes: 0 done, 1 the fleet (or the operation) has problems, 2 bad input (unreadable
inventory, missing file, not root where root is needed); see `mastofleet.commands.errors`.
"""

from __future__ import annotations

import sys

from mastofleet.commands import main, parser

__all__ = ["main", "parser"]

if __name__ == "__main__":
    sys.exit(main())
