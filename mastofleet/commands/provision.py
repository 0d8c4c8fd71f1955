"""`mastofleet provision plan | apply | destroy INVENTORY`: the fleet on Hetzner Cloud and its media bucket.

plan     reads the Hetzner project (HCLOUD_TOKEN) and the bucket, prints what apply would create,
         change or delete, and what it cannot do; exit 1 if apply would refuse.
apply    checks everything first (nothing changes if anything is wrong), then does the plan, waits
         for Hetzner's actions, and records the servers in the inventory's state file. A second
         apply finds nothing to do.
destroy  deletes the servers, firewalls, placement group, network and SSH keys labelled with the
         fleet's name, after the name is typed (or --yes); never volumes, never the bucket.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mastofleet.commands.arguments import Subcommands
from mastofleet.provision.errors import CredentialsError, ProvisionError

if TYPE_CHECKING:  # the modules themselves load lazily, inside the commands, as every command's handler does
    from mastofleet.model import Fleet
    from mastofleet.model.problems import Problem
    from mastofleet.provision.hetzner_plan import HetznerPlan
    from mastofleet.provision.storage import BucketPlan


def register(subcommands: Subcommands) -> None:
    """Add `provision` to the CLI's subcommands."""
    provision = subcommands.add_parser("provision", help="the fleet on Hetzner Cloud and its media bucket")
    actions = provision.add_subparsers(dest="provision_command", required=True)
    for name, text in (("plan", "show what apply would do"), ("apply", "create or update the fleet")):
        command = actions.add_parser(name, help=text)
        command.add_argument("inventory")
        command.add_argument("--only", choices=("servers", "bucket"), help="one part only (default: both)")
        command.add_argument("--prune", action="store_true", help="also delete fleet servers not in the inventory")
    destroy = actions.add_parser("destroy", help="delete the fleet's Hetzner resources (not volumes, not the bucket)")
    destroy.add_argument("inventory")
    destroy.add_argument("--yes", action="store_true", help="do not ask for the fleet's name")
    provision.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    # pyinfra's CLI lets gevent patch the socket modules when imported; that must happen before
    # requests and botocore are loaded, or gevent warns that they kept the unpatched ones
    import pyinfra_cli  # noqa: F401

    commands: dict[str, Callable[[argparse.Namespace], int]] = {"plan": _plan, "apply": _apply, "destroy": _destroy}
    return commands[arguments.provision_command](arguments)  # a ProvisionError's exit code: commands.errors


# --- the two parts --------------------------------------------------------------------------------


class Parts:
    """What plan and apply work on, read once: the fleet, and each part's plan."""

    def __init__(self, arguments: argparse.Namespace) -> None:
        from mastofleet.project.fleet import load_fleet, project_directory

        self.inventory_path = arguments.inventory
        self.fleet, self.inventory = load_fleet(arguments.inventory)
        self.project = project_directory(arguments.inventory)
        self.only = arguments.only
        self.hetzner: HetznerPlan | None = self._hetzner(arguments.prune) if self.only in (None, "servers") else None
        self.bucket: BucketPlan | None = self._bucket() if self.only in (None, "bucket") else None

    def _hetzner(self, prune: bool) -> HetznerPlan:
        from mastofleet.model.problems import FleetError
        from mastofleet.provision.catalogue import catalogue_problems, deprecation_notes
        from mastofleet.provision.desired import hetzner_spec
        from mastofleet.provision.hetzner_client import connect
        from mastofleet.provision.hetzner_observe import observe
        from mastofleet.provision.hetzner_plan import hetzner_plan

        spec = hetzner_spec(self.fleet)
        client = connect()
        observed = observe(client, spec)
        problems = catalogue_problems(self.fleet, spec, observed.catalogue)
        if problems:
            raise FleetError(problems)
        plan = hetzner_plan(client, spec, observed, prune)
        plan.notes += deprecation_notes(spec, observed.catalogue)
        return plan

    def _bucket(self) -> BucketPlan | None:
        from mastofleet.model.secrets_reference import secret_name
        from mastofleet.project.secrets import SecretError, SecretStore
        from mastofleet.provision.storage import bucket_plan, storage_client

        storage = self.fleet.object_storage
        if storage is None or not storage.enabled:
            return None
        store = SecretStore.for_fleet_data(dict(next(iter(self.inventory)).data.dict()), self.project)
        try:
            access_key = store.reveal(secret_name(storage.access_key))
            secret_key = store.reveal(secret_name(storage.secret_key))
        except SecretError as error:
            raise CredentialsError(
                f"the media bucket needs the object storage keys: {error} (or leave the bucket out: --only servers)"
            ) from None
        return bucket_plan(storage, storage_client(storage, access_key, secret_key))

    @property
    def blocked(self) -> bool:
        return bool(self.hetzner and self.hetzner.conflicts)


# --- output ---------------------------------------------------------------------------------------


def _problems(title: str, problems: list[Problem]) -> None:
    if problems:
        print(f"\n{title}")
        for problem in problems:
            print(f"  - {problem}")


def _print_hetzner(plan: HetznerPlan) -> None:
    from mastofleet.views.report import table

    rows = [[step.action, step.kind, step.name, step.detail] for step in plan.steps if step.shown]
    print(f"Hetzner Cloud, fleet {plan.spec.fleet} (label fleet={plan.spec.fleet}):")
    print(table(["action", "kind", "name", "detail"], rows) if rows else "  nothing to change")
    _problems("cannot be done, apply refuses to start:", plan.conflicts)
    _problems("differs, and apply leaves it (needs a decision or a stopped server):", plan.drift)
    for note in plan.notes:
        print(f"note: {note}")
    counts = plan.counts()
    print(f"Hetzner: {counts['create']} to create, {counts['change']} to change, {counts['delete']} to delete.")


def _configuration_lines(fleet: Fleet) -> list[str]:
    from mastofleet.views.config_file import SecretValues
    from mastofleet.views.environment import render_environment

    wanted = ("S3_ENDPOINT=", "S3_HOSTNAME=", "S3_REGION=", "S3_BUCKET=", "S3_ALIAS_HOST=")
    return [line for line in render_environment(fleet, SecretValues()).splitlines() if line.startswith(wanted)]


def _print_bucket(plan: BucketPlan, fleet: Fleet) -> None:
    from mastofleet.views.report import table

    storage = plan.storage
    rows = [[step.action, step.kind, storage.bucket, step.detail] for step in plan.steps]
    print(f"\nObject storage ({storage.provider}), bucket {storage.bucket} at {plan.endpoint}:")
    print(table(["action", "kind", "bucket", "detail"], rows) if rows else "  nothing to change")
    print("the app's configuration (.env.production on every app host):")
    for line in _configuration_lines(fleet):
        print(f"  {line}")
    print(f"Bucket: {len(rows)} to create or change.")


def _print(parts: Parts) -> None:
    if parts.hetzner is not None:
        _print_hetzner(parts.hetzner)
    if parts.bucket is not None:
        _print_bucket(parts.bucket, parts.fleet)
    elif parts.only in (None, "bucket"):
        print("\nObject storage: the fleet has none enabled; nothing to do.")


# --- commands -------------------------------------------------------------------------------------


def _plan(arguments: argparse.Namespace) -> int:
    parts = Parts(arguments)
    _print(parts)
    return 1 if parts.blocked else 0


def _refresh_state(inventory_path: str, client: Any, fleet: str) -> None:
    from mastofleet.provision.hetzner_client import calling
    from mastofleet.provision.hetzner_observe import fleet_selector
    from mastofleet.provision.state import server_record, state_path_for, write_state

    path = state_path_for(inventory_path)
    try:
        with calling("reading the fleet's servers for the state file"):
            servers = client.servers.get_all(label_selector=fleet_selector(fleet))
    except ProvisionError as error:
        print(f"mastofleet: {path} not updated: {error}", file=sys.stderr)
        return
    if write_state(path, fleet, {server.name: server_record(server) for server in servers}):
        print(f"wrote {path} ({len(servers)} servers)")


def _apply(arguments: argparse.Namespace) -> int:
    from mastofleet.provision.hetzner_apply import run_steps
    from mastofleet.provision.storage import apply_bucket

    parts = Parts(arguments)
    _print(parts)
    if parts.blocked:
        print("\nnothing was changed: resolve the conflicts above first", file=sys.stderr)
        return 1
    hetzner = parts.hetzner
    if hetzner is not None:
        print()
        try:
            run_steps(hetzner.steps, hetzner.context, report=lambda step: print(f"done: {step.title}"))
        finally:
            _refresh_state(parts.inventory_path, hetzner.context.client, hetzner.spec.fleet)
    bucket = parts.bucket
    if bucket is not None:
        apply_bucket(bucket, report=lambda step: print(f"done: {step.title} {bucket.storage.bucket}"))
    print("\napply finished.")
    return 0


def _confirmed(fleet: str, yes: bool) -> bool:
    if yes:
        return True
    try:
        answer = input(f"type the fleet's name ({fleet}) to delete these resources: ")
    except EOFError:
        return False
    return answer.strip() == fleet


def _destroy(arguments: argparse.Namespace) -> int:
    from mastofleet.project.fleet import load_fleet
    from mastofleet.provision.hetzner_apply import run_steps
    from mastofleet.provision.hetzner_client import connect
    from mastofleet.provision.hetzner_destroy import destroy_context, destroy_plan
    from mastofleet.views.report import table

    fleet, _ = load_fleet(arguments.inventory)
    client = connect()
    plan = destroy_plan(client, fleet.name)
    rows = [["delete", step.kind, step.name, step.detail] for step in plan.steps]
    print(f"Hetzner Cloud, resources labelled fleet={fleet.name}:")
    print(table(["action", "kind", "name", "detail"], rows) if rows else "  nothing labelled with this fleet")
    kept = [*plan.kept]
    if fleet.object_storage is not None and fleet.object_storage.enabled:
        kept.append(f"bucket {fleet.object_storage.bucket}: buckets are never deleted by destroy")
    for line in kept:
        print(f"kept: {line}")
    if not plan.steps:
        return 0
    if not _confirmed(fleet.name, arguments.yes):
        print("not confirmed: nothing was deleted", file=sys.stderr)
        return 1
    try:
        run_steps(plan.steps, destroy_context(client), "destroy", report=lambda step: print(f"done: {step.title}"))
    finally:
        _refresh_state(arguments.inventory, client, fleet.name)
    print("destroy finished.")
    return 0
