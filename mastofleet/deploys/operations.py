"""Mechanics every role shares: put rendered files, keep secrets out of diffs, restart on change."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from io import StringIO
from pathlib import PurePosixPath as Path
from typing import ParamSpec, TypedDict, TypeVar, cast

from pyinfra import host, logger, state
from pyinfra.api import FactBase, FileUploadCommand, deploy, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.files import File, FileContents, Link, Sha256File
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util.files import generate_color_diff

from mastofleet.quoting import as_user_command as as_user_command
from mastofleet.quoting import shell, shell_words
from mastofleet.views.config_file import ConfigFile


class AsUser(TypedDict):
    """pyinfra's global arguments that run an operation as another user."""

    _sudo: bool
    _sudo_user: str


def as_user(name: str) -> AsUser:
    return {"_sudo": True, "_sudo_user": name}


Parameters = ParamSpec("Parameters")
Result = TypeVar("Result")


def role_deploy(name: str) -> Callable[[Callable[Parameters, Result]], Callable[Parameters, Result]]:
    """pyinfra's `@deploy(name)`, typed as the function it wraps: pyinfra types a deploy as an
    operation (its global arguments first, an OperationMeta back), which is not how roles call theirs."""

    def decorator(function: Callable[Parameters, Result]) -> Callable[Parameters, Result]:
        return cast(Callable[Parameters, Result], deploy(name)(function))

    return decorator


STAGING_DIRECTORY = "/var/lib/mastofleet/staging"  # root's own, 0700: where a file waits before its rename


class PrivateUploadDirectory(FactBase[str]):
    """A directory of the SSH user's own, mode 0700, created when missing: where a sudo upload
    lands before root copies it on (pyinfra's default, /tmp, would leave it readable by every user)."""

    def command(self) -> str:
        return 'd="$HOME/.cache/mastofleet-upload" && mkdir -p "$d" && chmod 700 "$d" && echo "$d"'

    def process(self, output: list[str]) -> str:
        return output[-1].strip()


def _owned_as_wanted(present: Mapping[str, object], user: str, group: str, mode: str) -> bool:
    return present.get("user") == user and present.get("group") == group and int(str(present.get("mode"))) == int(mode)


def _show_diff(path: str, present: object, content: str) -> None:
    current = (host.get_fact(FileContents, path=path) or []) if present else []
    host.log(f"Will {'modify' if present else 'create'} {path}", logger.info)
    for line in generate_color_diff([line + "\n" for line in current], content.splitlines(keepends=True)):
        logger.info("  %s", line)
    logger.info("")


@operation()
def placed_file(
    path: str,
    content: str,
    user: str = "root",
    group: str = "root",
    mode: str = "644",
    sensitive: bool = False,
    check: str | None = None,
):
    """
    Put a file by renaming a finished copy over it, so nothing follows a link at `path` (a service
    user who owns the directory may have planted one) and the file is never seen half-written or
    with the wrong mode: the content is uploaded into root's own staging directory, given its owner
    and mode there, checked, and renamed into place.

    + path: where the file goes on the host
    + content: the file's text
    + user/group/mode: its owner and mode
    + sensitive: it holds a secret: compared by checksum only, never diffed or logged
    + check: a command that must accept the staged file before it goes in place (`{path}` names it)
    """
    present = host.get_fact(File, path=path)  # False for a link or anything but a regular file
    wanted = hashlib.sha256(content.encode()).hexdigest()
    if present and host.get_fact(Sha256File, path=path) == wanted and _owned_as_wanted(present, user, group, mode):
        host.noop(f"{path} is up to date")
        return
    if not sensitive and state.config.DIFF:
        _show_diff(path, present or None, content)
    staged = f"{STAGING_DIRECTORY}/{hashlib.sha256(path.encode()).hexdigest()[:20]}"
    upload_directory = host.get_fact(PrivateUploadDirectory, _sudo=False)
    yield f"mkdir -p {shell(STAGING_DIRECTORY)} && chmod 700 {shell(STAGING_DIRECTORY)}"
    yield FileUploadCommand(StringIO(content), staged, remote_temp_filename=f"{upload_directory}/{Path(staged).name}")
    steps = [
        f"chown {shell(f'{user}:{group}')} {shell(staged)}",
        f"chmod {shell(mode)} {shell(staged)}",
        f"mkdir -p {shell(str(Path(path).parent))}",
    ]
    if check:
        steps.append(check.format(path=shell(staged)))
    steps.append(f"mv -fT {shell(staged)} {shell(path)}")
    yield " && ".join(steps) + f" || {{ rm -f {shell(staged)}; exit 1; }}"


def sensitive_file(path: str, content: str, user: str = "root", group: str = "root", mode: str = "600", **arguments):
    """A secret-bearing file: `placed_file`, never diffed or logged."""
    return placed_file(path=path, content=content, user=user, group=group, mode=mode, sensitive=True, **arguments)


@operation()
def every_host_reached(point: str):
    """
    Nothing but a meeting point: pyinfra runs what any host plans after it only once every host
    has done what it planned before it (hosts otherwise run their own operations at their own
    pace, interleaved). Every host must plan it from the same line of the deploy.

    + point: what has happened by then
    """
    yield from ()


class Uploads(list[OperationMeta]):
    """The operations that put a role's files, in the order given; `of(path)` names one, so a
    role never counts positions (a file added to a role's list breaks nothing)."""

    def __init__(self, paths: list[str], operations: list[OperationMeta]) -> None:
        super().__init__(operations)
        self._by_path = dict(zip(paths, operations, strict=True))

    def of(self, path: str) -> OperationMeta:
        return self._by_path[path]


def put_files(config_files: Iterable[ConfigFile]) -> Uploads:
    """Put each rendered file on the host (`placed_file`); secret-bearing ones are never shown."""
    config_files = list(config_files)
    results = []
    for config_file in config_files:
        results.append(
            placed_file(
                name=f"Put {config_file.path}" + (" (secret, not shown)" if config_file.sensitive else ""),
                path=config_file.path,
                content=config_file.content,
                user=config_file.user,
                group=config_file.group,
                mode=config_file.mode,
                sensitive=config_file.sensitive,
                check=config_file.check,
            )
        )
    return Uploads([config_file.path for config_file in config_files], results)


def changed(*operations: OperationMeta | Iterable[OperationMeta]) -> Callable[[], bool]:
    """An `_if=` condition: true when any of the operations changed something."""
    flat: list[OperationMeta] = []
    for item in operations:
        if isinstance(item, OperationMeta):
            flat.append(item)
        else:
            flat.extend(item)
    return lambda: any(meta.did_change() for meta in flat)


APPLIED_DIRECTORY = "/var/lib/mastofleet/applied"


def stale_check(service: str, paths: Iterable[str]) -> str:
    """Shell that prints `stale` when `service` has run since before one of `paths` last changed.

    Links count by their own time (`stat` does not follow them), so switching `live` is a change.
    """
    return (
        f"started=$(systemctl show -P ActiveEnterTimestamp --timestamp=unix {shell(service)} 2>/dev/null | tr -d @);"
        f" applied=$(stat -c %Y {shell(f'{APPLIED_DIRECTORY}/{service}')} 2>/dev/null || echo 0);"
        ' if [ "$applied" -gt "${started:-0}" ]; then started=$applied; fi;'
        f" for path in {shell_words(*paths)}; do"
        ' changed=$(stat -c %Y "$path" 2>/dev/null || echo 0);'
        ' if [ "${started:-0}" -lt "$changed" ]; then echo stale; break; fi; done'
    )


class ServiceOlderThanInputs(FactBase[bool]):
    """True when a service has been running since before one of its input files last changed.

    A restart that a failed run never got to do is still owed: this finds it on the next run.
    """

    def command(self, service: str, paths: tuple[str, ...]) -> str:
        return f"{stale_check(service, paths)}; echo checked"

    def process(self, output: list[str]) -> bool:
        return "stale" in (line.strip() for line in output)


def restart_command(service: str, action: str = "restart") -> str:
    return (
        f"systemctl {shell(action)} {shell(service)} && mkdir -p {APPLIED_DIRECTORY}"
        f" && touch {shell(f'{APPLIED_DIRECTORY}/{service}')}"
    )


def restart_needed(
    service: str, restart_when: Callable[[], bool] | None = None, inputs: Iterable[str] = ()
) -> Callable[[], bool]:
    """An `_if=` condition: the inputs changed in this run, or an earlier run still owes the restart."""
    paths = tuple(inputs)
    owed = bool(paths) and host.get_fact(ServiceOlderThanInputs, service=service, paths=paths)
    changed_now = restart_when or (lambda: False)
    return lambda: bool(owed) or changed_now()


def restart_service(service: str, when: Callable[[], bool], reload_instead: bool = False) -> OperationMeta:
    """Restart (or reload) a unit when `when` says so; the marker records when its inputs were applied."""
    action = "reload" if reload_instead else "restart"
    return server.shell(
        name=f"{action.capitalize()} {service} for its new configuration",
        commands=[restart_command(service, action)],
        _if=when,
    )


def service_running(
    service: str,
    restart_when: Callable[[], bool] | None = None,
    reload_instead: bool = False,
    daemon_reload_when: Callable[[], bool] | None = None,
    inputs: Iterable[str] = (),
) -> None:
    """Enable and start a unit; restart (or reload) it when `restart_when` says its inputs changed
    in this run, or when it is older than one of its `inputs` (a restart an earlier run still owes)."""
    enable_service(service, daemon_reload_when)
    if restart_when is not None or inputs:
        restart_service(service, restart_needed(service, restart_when, inputs), reload_instead)


def enable_service(service: str, daemon_reload_when: Callable[[], bool] | None = None) -> None:
    """Enable and start a unit (after reloading systemd when its unit file changed)."""
    if daemon_reload_when is not None:
        systemd.daemon_reload(name="Reload systemd units", _if=daemon_reload_when)
    systemd.service(name=f"Enable and start {service}", service=service, running=True, enabled=True)


def atomic_symlink(path: str, target: str, previous: str | None = None) -> OperationMeta | None:
    """Point the root-owned link `path` at `target` by renaming a new link over it: there is never
    a moment without one. With `previous`, the old target is kept there as a link too (what a
    rollback returns to). Both links live where only root writes (the release record)."""
    link = host.get_fact(Link, path=path)
    current = link.get("link_target") if link else None
    if current == target:
        return None
    commands = []
    if previous and current:
        commands.append(
            f"ln -sfn {shell(current)} {shell(previous + '.switching')} && mv -T {shell(previous + '.switching')}"
            f" {shell(previous)}"
        )
    temporary = f"{path}.switching"
    commands.append(
        f"mkdir -p {shell(str(Path(path).parent))} && ln -sfn {shell(target)} {shell(temporary)}"
        f" && mv -T {shell(temporary)} {shell(path)}"
    )
    return server.shell(name=f"Switch {path} to {target}", commands=[" && ".join(commands)])


POLICY_RC = "/usr/sbin/policy-rc.d"


def install_without_starting(name: str, packages: list[str]) -> None:
    """Install Debian packages without letting them start their services with the package's
    defaults (an exporter would listen on every address until configured): Debian's policy-rc.d
    says no while apt runs, and the role starts each service once its configuration is in place."""
    installed = host.get_fact(DebPackages) or {}
    missing = [package for package in packages if package not in installed]
    if missing:
        files.put(
            name="Keep new services stopped while installing",
            src=StringIO("#!/bin/sh\n# mastofleet: installing; services start once configured\nexit 101\n"),
            dest=POLICY_RC,
            mode="755",
        )
        apt.packages(name=name, packages=missing, no_recommends=True)
    # Always asked for (a no-op when absent): a failed run must not leave services unable to start.
    files.file(name="Let services start again", path=POLICY_RC, present=False)
