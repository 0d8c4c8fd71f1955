"""`mastofleet upgrade` and `mastofleet rollback`: a new release, or back to the previous one,
through the same deploy and its rollout (prepare everywhere, migrate, switch, Sidekiq, web and
streaming host by host out of the balancer, post-deployment migrations).

Both read, over SSH, which release each app host serves before and after, print it, and, when the
rollout stops, say where it stopped, what serves now and how to go on or go back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mastofleet.model import Fleet, Role
from mastofleet.model.release_names import release_name
from mastofleet.project.fleet import VERSION_OVERRIDE, fleet_host_name, load_fleet
from mastofleet.quoting import shell
from mastofleet.remote.session import connected
from mastofleet.runtime.deployment import HOLD_POST_MIGRATIONS, ROLLBACK_RELEASE
from mastofleet.runtime.pyinfra_deploy import parse_data, run_deploy
from mastofleet.views.report import table


class RolloutError(Exception):
    """The fleet's releases do not allow the asked change; nothing was changed."""


@dataclass(frozen=True)
class HostReleases:
    live: str | None
    previous: str | None
    releases: tuple[str, ...]  # release directories present on the host


def _name(target: str, what: str) -> str | None:
    """The release a link of the release record points at; a name that is no release name (which
    only a tampered host could give) is refused, never passed on to a deploy."""
    return release_name(target.rstrip("/").rsplit("/", 1)[-1], what) if target else None


def read_releases(fleet: Fleet, inventory: Any) -> dict[str, HostReleases | str]:
    """What each app host has: its live and previous release and its release directories
    (or why it could not be asked)."""
    instance = fleet.instance
    by_name = {fleet_host_name(item.name): item for item in inventory}
    # All three from the release record, which only root writes: the links and the releases
    # whose steps were noted there.
    command = (
        f"readlink {shell(instance.live_directory)}; echo; readlink {shell(instance.previous_link)}; echo;"
        f" ls -1 {shell(instance.release_state_directory + '/steps')} 2>/dev/null | tr '\\n' ' '"
    )
    answers: dict[str, HostReleases | str] = {}
    for host in fleet.with_role(Role.app):
        try:
            with connected(host.name, by_name[host.name].data.dict()) as remote:
                lines = [line.strip() for line in remote.run(command, timeout=20).split("\n") if line.strip() != ""]
        except Exception as error:  # reported per host: the caller refuses to go on
            answers[host.name] = f"unreachable: {error}"
            continue
        try:
            live = _name(lines[0], "live") if lines and lines[0].startswith("/") else None
            previous = _name(lines[1], "previous") if len(lines) > 1 and lines[1].startswith("/") else None
            listed = lines[-1].split() if lines and not lines[-1].startswith("/") else []
            releases = tuple(release_name(name, "a release in the record") for name in listed)
        except ValueError as error:
            answers[host.name] = f"unreadable release record: {error}"
            continue
        answers[host.name] = HostReleases(live, previous, releases)
    return answers


def releases_table(answers: dict[str, HostReleases | str]) -> str:
    rows = []
    for name, answer in answers.items():
        if isinstance(answer, str):
            rows.append([name, answer, "", ""])
        else:
            rows.append([name, answer.live or "-", answer.previous or "-", str(len(answer.releases))])
    return table(["app host", "live", "previous", "releases"], rows)


def _reachable(answers: dict[str, HostReleases | str]) -> dict[str, HostReleases]:
    unreachable = {name: answer for name, answer in answers.items() if isinstance(answer, str)}
    if unreachable:
        details = "; ".join(f"{name}: {answer}" for name, answer in unreachable.items())
        raise RolloutError(f"cannot read the releases of every app host ({details}). Nothing was changed.")
    return {name: answer for name, answer in answers.items() if isinstance(answer, HostReleases)}


def rollback_target(answers: dict[str, HostReleases | str]) -> str:
    """The one release every app host can go back to, or why there is none."""
    hosts = _reachable(answers)
    previous = {name: answer.previous for name, answer in hosts.items()}
    targets = set(previous.values())
    if None in targets:
        missing = sorted(name for name, target in previous.items() if target is None)
        raise RolloutError(f"no previous release on {', '.join(missing)}: there is nothing to roll back to.")
    if len(targets) != 1:
        listing = ", ".join(f"{name}: {target}" for name, target in sorted(previous.items()))
        raise RolloutError(
            f"the app hosts disagree on the previous release ({listing}): finish the upgrade first"
            " (deploy again), then roll back."
        )
    (target,) = targets
    assert target is not None
    lacking = sorted(name for name, answer in hosts.items() if target not in answer.releases)
    if lacking:
        raise RolloutError(f"release {target} is gone from {', '.join(lacking)}: it cannot be switched back to.")
    return target


def refuse_after_post_migrations(
    fleet: Fleet, inventory: Any, answers: dict[str, HostReleases | str], target: str
) -> None:
    """A rollback only while the live release's post-deployment migrations have not run: they may
    remove what the previous release needs (a column, a table), and migrations are not reversed."""
    first = fleet.app_hosts[0]
    answer = answers.get(first.name)
    live = answer.live if isinstance(answer, HostReleases) else None
    if live is None:
        return
    by_name = {fleet_host_name(item.name): item for item in inventory}
    marker = f"{fleet.instance.release_state_directory}/steps/{live}/migrated"
    with connected(first.name, by_name[first.name].data.dict()) as remote:
        migrated = remote.run(f"test -e {shell(marker)} && echo yes || true", timeout=20).strip() == "yes"
    if migrated:
        raise RolloutError(
            f"the post-deployment migrations of {live} have run (on {first.name}): they may have removed what"
            f" {target} needs, and migrations are not reversed, so a rollback could break the site. Nothing was"
            " changed. Go forward instead: fix the problem and deploy a new version. To keep a rollback possible"
            " next time, upgrade with --keep-rollback, and run `mastofleet deploy` once you are sure."
        )


def _rollout(inventory: str, data: list[str], what: str) -> int:
    started = time.monotonic()
    code = run_deploy(inventory, data, [])
    seconds = time.monotonic() - started
    fleet, loaded = load_fleet(inventory)
    after = read_releases(fleet, loaded)
    print(releases_table(after))
    if code == 0:
        print(f"{what}: done in {seconds:.1f} s")
        return 0
    print(
        f"{what}: STOPPED after {seconds:.1f} s (pyinfra exit {code}); the failed operation and host are"
        " named above. The table shows what each app host serves now: a host is switched only once its"
        " release is fully prepared, and a host whose restart failed stays out of the balancer while the"
        " others serve. To go on: fix the cause and run the same command again (finished steps are"
        " skipped). To go back: mastofleet rollback " + inventory
    )
    return code


def upgrade(
    inventory: str, version: str, code_path: str | None, extra_data: Sequence[str] = (), keep_rollback: bool = False
) -> int:
    """Deploy `version` (and, for a path source, the code at `code_path`) across the fleet; with
    `keep_rollback`, without its post-deployment migrations (the next deploy runs them)."""
    data = [*extra_data, f"{VERSION_OVERRIDE}={version}"]
    if keep_rollback:
        data.append(f"{HOLD_POST_MIGRATIONS}=true")
        print(
            "post-deployment migrations held back: `mastofleet rollback` stays possible; once you are sure,"
            f" `mastofleet deploy {inventory}` (with {version} in the inventory) runs them"
        )
    if code_path:
        data.append("instance.source=" + json.dumps({"git_url": None, "path": code_path}))
    fleet, loaded = load_fleet(inventory, override_data=parse_data(data))  # the new shape is checked first
    print(releases_table(read_releases(fleet, loaded)))
    return _rollout(inventory, data, f"upgrade to {version}")


def rollback(inventory: str, extra_data: Sequence[str] = ()) -> int:
    """Switch every app host back to its previous release, through the same rollout."""
    fleet, loaded = load_fleet(inventory)
    answers = read_releases(fleet, loaded)
    print(releases_table(answers))
    target = rollback_target(answers)
    refuse_after_post_migrations(fleet, loaded, answers, target)
    print(
        f"rolling back to {target}; migrations are not reversed (Mastodon's are written so the previous"
        " release runs on the new schema), and the inventory still names its own version: change it"
        " before the next deploy, or that deploy upgrades again."
    )
    return _rollout(inventory, [*extra_data, f"{ROLLBACK_RELEASE}={target}"], f"rollback to {target}")
