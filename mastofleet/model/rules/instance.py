"""Rules over the instance section: its domains and version."""

from __future__ import annotations

import re

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem

DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
VERSION_PATTERN = re.compile(r"^v\d+\.\d+\.\d+(-(alpha|beta|rc)\.\d+)?$")


def domains_and_version(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    instance = fleet.instance
    for field, domain in (("local_domain", instance.local_domain), ("web_domain", instance.web_domain)):
        if domain is not None and not DOMAIN_PATTERN.match(domain):
            problems.append(
                Problem(
                    "instance",
                    field,
                    f"'{domain}' is not a valid domain",
                    "write a lowercase name like social.example.com",
                )
            )
    if not VERSION_PATTERN.match(instance.version):
        problems.append(
            Problem(
                "instance",
                "version",
                f"'{instance.version}' is not a Mastodon release tag",
                "write a tag like v4.6.5",
            )
        )
    return problems
