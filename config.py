"""pyinfra settings for every run of deploy.py (pyinfra reads config.py from the project directory)."""

from pyinfra import config

# Any failed host stops the whole run at that operation: a rollout never goes on past an app host
# that did not come back, and an unreachable host stops the deploy before anything changes.
config.FAIL_PERCENT = 0

# Validate the whole fleet before connecting to any host: a bad fleet is refused with every problem
# listed, even when a host cannot be reached (deploy.py itself runs only after every host connected).
from mastofleet.runtime.before_connect import refuse_a_bad_fleet_before_connecting  # noqa: E402

refuse_a_bad_fleet_before_connecting()

# Then take the fleet's lock (one change to the fleet at a time, from any operator's machine); it is
# given back when pyinfra exits. `mastofleet lock status|break INVENTORY` shows or breaks it.
from mastofleet.remote.fleet_lock import lock_this_pyinfra_run  # noqa: E402

lock_this_pyinfra_run()
