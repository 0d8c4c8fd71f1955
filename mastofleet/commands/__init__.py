"""The operator commands: one module per `mastofleet` subcommand, each registered the same way.

A subcommand's module has `register(subcommands)`, which adds its parser (its verbs and options, so
that its `--help` lists them) and sets `handler`, the function that runs it. `errors` is the one
place that turns what a handler raises into an exit code and a message. Registering loads nothing
heavy (no pyinfra, no SSH, no model): each handler imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mastofleet.commands import (
    backup,
    check,
    cutover,
    db,
    deploy,
    doctor,
    errors,
    local,
    lock,
    media,
    provision,
    reference,
    render,
    rollback,
    secrets,
    status,
    upgrade,
    vagrant,
)

DESCRIPTION = "`mastofleet`: check, render and operate a Mastodon fleet."

# In the order `mastofleet --help` lists them.
SUBCOMMANDS = (
    check,
    render,
    deploy,
    upgrade,
    rollback,
    doctor,
    status,
    secrets,
    media,
    backup,
    db,
    cutover,
    lock,
    reference,
    provision,
    local,
    vagrant,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mastofleet", description=DESCRIPTION)
    subcommands = top.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.register(subcommands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    return errors.run(parser().parse_args(argv))
