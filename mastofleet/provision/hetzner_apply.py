"""Carry out a Hetzner plan phase by phase, waiting for Hetzner's actions, and say exactly how far it got.

Within a phase every call is made first and then every action is waited for, so five servers are
created in parallel rather than one after another. When something fails, the actions already
started are still waited for, so the report of what was done is true; the error then lists what
was done, what failed and why, and what was not attempted. A later plan picks up from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mastofleet.provision.errors import ProvisionError
from mastofleet.provision.hetzner_client import calling
from mastofleet.provision.hetzner_steps import Context, Step


class PartialApply(ProvisionError):
    """Apply stopped part-way; the message is the whole report."""

    def __init__(
        self, verb: str, cause: ProvisionError, done: list[Step], failed: list[Step], left: list[Step]
    ) -> None:
        self.cause, self.done, self.failed, self.left = cause, done, failed, left
        lines = [f"{verb} stopped: {cause}"]
        lines.append(f"done ({len(done)}):" if done else "done: nothing")
        lines += [f"  - {step.title}" for step in done]
        lines.append(f"failed ({len(failed)}):")
        lines += [f"  - {step.title}" for step in failed]
        lines.append(f"not attempted ({len(left)}):" if left else "not attempted: nothing")
        lines += [f"  - {step.title}" for step in left]
        lines.append(f"what exists now stays; fix the cause and run `mastofleet provision {verb}` again to finish")
        super().__init__("\n".join(lines))


def _wait(started: list[tuple[Step, list[Any]]]) -> tuple[list[Step], list[tuple[Step, ProvisionError]]]:
    finished: list[Step] = []
    failures: list[tuple[Step, ProvisionError]] = []
    for step, actions in started:
        try:
            with calling(step.title):
                for action in actions:
                    action.wait_until_finished()
        except ProvisionError as error:
            failures.append((step, error))
        else:
            finished.append(step)
    return finished, failures


def run_steps(
    steps: list[Step], context: Context, verb: str = "apply", report: Callable[[Step], None] = lambda step: None
) -> list[Step]:
    """Run every step; the steps done. Raises PartialApply (with the full report) if one fails."""
    done: list[Step] = []
    for phase in sorted({step.phase for step in steps}):
        in_phase = [step for step in steps if step.phase == phase]
        started: list[tuple[Step, list[Any]]] = []
        failures: list[tuple[Step, ProvisionError]] = []
        for step in in_phase:
            try:
                with calling(step.title):
                    started.append((step, step.run(context)))
            except ProvisionError as error:
                failures.append((step, error))
                break  # the calls after it in this phase are not made
        finished, waiting_failures = _wait(started)
        for step in finished:
            done.append(step)
            report(step)
        failures += waiting_failures
        if failures:
            failed = [step for step, _ in failures]
            attempted = {id(step) for step in done} | {id(step) for step in failed}
            left = [step for step in steps if id(step) not in attempted]
            raise PartialApply(verb, failures[0][1], done, failed, left)
    return done
