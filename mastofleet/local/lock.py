"""One `up` or `down` at a time: two at once would start two containers on one overlay."""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Machine-wide, not per state directory: every local fleet uses the same bridge and
# addresses, so even fleets with different state directories must take turns.
LOCK_PATH = Path("/run/lock/mastofleet-local.lock")


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold the fleet's lock for the duration; wait (and say so) if someone else has it."""
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with LOCK_PATH.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another `mastofleet local up/down` ({LOCK_PATH})", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
