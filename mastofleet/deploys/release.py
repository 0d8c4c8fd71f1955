"""What the application's deploy hands on from stage to stage: the release prepared on an app host,
the application the process roles start from it, and the restarts they leave to the rollout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyinfra.api.exceptions import DeployError
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server

from mastofleet.deploys.operations import restart_command
from mastofleet.model.release_names import release_name


@dataclass(frozen=True)
class Release:
    """A prepared code version on an app host. Its name becomes a path and is read back from the
    hosts (`previous`, a rollback's target), so only a plain name is accepted (`quoting.release_name`)."""

    name: str
    directory: str

    def __post_init__(self) -> None:
        try:
            release_name(self.name, "the release")
        except ValueError as error:
            raise DeployError(f"{error}; set instance.version or instance.source.ref to a plain tag") from None


@dataclass(frozen=True)
class Prepared:
    """A release made ready on an app host, before anything serves it."""

    release: Release
    code: list[OperationMeta]
    configuration: list[OperationMeta]


@dataclass(frozen=True)
class Application:
    """What the process roles need to know: did the code or the configuration change?"""

    release: Release
    code: list[OperationMeta]  # the release's code was put in place, or `live` was switched to it
    configuration: list[OperationMeta]
    inputs: list[str]  # files whose change means the processes must restart: env file, `live`
    switch: OperationMeta | None = None  # `live` was switched in this run


@dataclass(frozen=True)
class PendingRestart:
    """A unit to restart later (by the rollout, behind the balancer) and the condition to do it.

    `when` is decided by pyinfra as the run goes; `only_if`, a shell check that prints `stale`,
    is decided on the host at that moment (for what only the host can know then).
    """

    service: str
    when: Callable[[], bool]
    only_if: str | None = None

    def command(self) -> str:
        if self.only_if is None:
            return restart_command(self.service)
        return f'if [ -n "$({self.only_if})" ]; then {restart_command(self.service)}; fi'

    def perform(self) -> OperationMeta:
        return server.shell(
            name=f"Restart {self.service} for its new code or configuration", commands=[self.command()], _if=self.when
        )
