"""pyinfra settings for every run of deploy.py (pyinfra reads config.py from the project directory)."""

from pyinfra import config

# Any failed host stops the whole run at that operation: a rollout never goes on past an app host
# that did not come back, and an unreachable host stops the deploy before anything changes.
config.FAIL_PERCENT = 0
