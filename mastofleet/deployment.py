"""Kept for the deploy.py of existing projects (`from mastofleet.deployment import deploy_current_host`);
the runtime holds it now (`mastofleet.runtime.deployment`). To be removed in the next release."""

from mastofleet.runtime.deployment import deploy_current_host

__all__ = ["deploy_current_host"]
