"""Refuse a bad fleet before pyinfra connects to any host.

pyinfra runs deploy.py only once it has connected to every host: the validation at the top of
deploy.py comes after the network was touched, and a host that cannot be reached fails the run
before the fleet's problems are ever listed. The project's config.py, which pyinfra runs first,
calls `refuse_a_bad_fleet_before_connecting()`: the fleet is then validated (the same validation
deploy.py uses, once per inventory) as soon as pyinfra has read the inventory, before it connects.
"""

from __future__ import annotations

from typing import Any

from mastofleet.runtime.deployment import current_fleet


def refuse_a_bad_fleet_before_connecting() -> None:
    """Call from config.py: validate the fleet right after pyinfra reads the inventory.

    config.py runs before the inventory exists and pyinfra offers no hook between reading it and
    connecting (its state callbacks are set up then, and run inside each host's connection), so the
    state's own `init`, which pyinfra calls with the inventory just before connecting, is extended.
    A bad fleet raises PyinfraError("mastofleet refuses to deploy: ..."), which pyinfra prints, exit 1.
    """
    from pyinfra.context import ctx_state

    state = ctx_state.get()
    initialise = state.init

    def initialise_then_validate(*arguments: Any, **options: Any) -> None:
        initialise(*arguments, **options)
        current_fleet()

    setattr(state, "init", initialise_then_validate)  # noqa: B010 (mypy refuses assigning a method)
