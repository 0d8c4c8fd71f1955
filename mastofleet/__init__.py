"""mastofleet: infrastructure as code for a multi-host Mastodon fleet, on pyinfra 3."""
