"""The plan's firewall steps: each Hetzner firewall with the fleet's rules, applied to exactly its servers."""

from __future__ import annotations

import ipaddress
from typing import Any

from hcloud.firewalls import FirewallResource, FirewallRule

from mastofleet.provision.desired import ANYWHERE, FirewallSpec, RuleSpec
from mastofleet.provision.hetzner_observe import Observed
from mastofleet.provision.hetzner_steps import FIREWALLS, MEMBERSHIP, Context, HetznerPlan, Step, foreign, ours


def _rules(firewall: FirewallSpec) -> list[FirewallRule]:
    return [
        FirewallRule(
            direction=FirewallRule.DIRECTION_IN,
            protocol=FirewallRule.PROTOCOL_TCP,
            port=rule.port,
            source_ips=list(rule.sources),
            description=rule.description,
        )
        for rule in firewall.rules
    ]


def _rule_key(direction: str, protocol: str, port: str | None, sources: list[str], description: str | None) -> Any:
    return (direction, protocol, port, frozenset(ipaddress.ip_network(item) for item in sources), description or "")


def _same_rules(found: Any, wanted: FirewallSpec) -> bool:
    have = {_rule_key(r.direction, r.protocol, r.port, r.source_ips, r.description) for r in found.rules or []}
    want = {_rule_key("in", "tcp", r.port, list(r.sources), r.description) for r in wanted.rules}
    return have == want and len(found.rules or []) == len(wanted.rules)


def _describe_rules(rules: tuple[RuleSpec, ...]) -> str:
    return "; ".join(
        f"{rule.description}: tcp {rule.port} from "
        + ("anywhere" if rule.sources == ANYWHERE else ", ".join(rule.sources))
        for rule in rules
    )


def firewall_steps(plan: HetznerPlan, observed: Observed, creating: set[str]) -> None:
    spec = plan.spec
    for wanted in spec.firewalls:
        found = observed.named(observed.firewalls, wanted.name)
        if found is not None and not ours(found, spec.fleet):
            plan.conflicts.append(foreign("firewall", wanted.name, found, spec.fleet))
            continue
        if found is None:

            def create(context: Context, wanted=wanted) -> list[Any]:
                response = context.client.firewalls.create(
                    name=wanted.name,
                    rules=_rules(wanted),
                    labels=wanted.labels,  # type: ignore[arg-type] # hcloud annotates labels as str
                )
                context.firewalls[wanted.name] = response.firewall
                return list(response.actions or [])

            servers = ", ".join(wanted.servers) or "no host"
            detail = f"{_describe_rules(wanted.rules) or 'no rule: nothing allowed in'}; on {servers}"
            plan.steps.append(Step("create", "firewall", wanted.name, detail, FIREWALLS, create))
        else:
            plan.context.firewalls[wanted.name] = found
            if not _same_rules(found, wanted):

                def set_rules(context: Context, wanted=wanted) -> list[Any]:
                    return list(context.client.firewalls.set_rules(context.firewalls[wanted.name], _rules(wanted)))

                detail = f"rules become: {_describe_rules(wanted.rules)}"
                plan.steps.append(Step("change", "firewall", wanted.name, detail, FIREWALLS, set_rules))
        _membership_steps(plan, observed, wanted, found, creating)


def _membership_steps(
    plan: HetznerPlan, observed: Observed, wanted: FirewallSpec, found: Any | None, creating: set[str]
) -> None:
    """Existing servers that should have the firewall get it; anything else it is applied to loses it."""
    applied = {entry.server.id for entry in (found.applied_to or []) if entry.server is not None} if found else set()
    for name in wanted.servers:
        server = observed.servers.get(name)
        if name in creating or server is None or not ours(server, plan.spec.fleet) or server.id in applied:
            continue

        def apply(context: Context, name=name) -> list[Any]:
            resource = FirewallResource(type=FirewallResource.TYPE_SERVER, server=context.servers[name])
            return list(context.client.firewalls.apply_to_resources(context.firewalls[wanted.name], [resource]))

        plan.steps.append(
            Step(
                "change",
                "firewall",
                wanted.name,
                f"apply to {name}",
                MEMBERSHIP,
                apply,
                f"apply {wanted.name} to {name}",
            )
        )
    wanted_ids = {observed.servers[name].id for name in wanted.servers if name in observed.servers}
    for entry in (found.applied_to or []) if found else []:
        if entry.server is not None and entry.server.id in wanted_ids:
            continue
        target = (
            f"server {entry.server.id}"
            if entry.server is not None
            else f"label selector {entry.label_selector.selector}"
        )

        def remove(context: Context, entry=entry) -> list[Any]:
            resource = FirewallResource(type=entry.type, server=entry.server, label_selector=entry.label_selector)
            return list(context.client.firewalls.remove_from_resources(context.firewalls[wanted.name], [resource]))

        plan.steps.append(Step("change", "firewall", wanted.name, f"remove from {target}", MEMBERSHIP, remove))
