"""What the testinfra suite shares: the fleet under test, SSH targets, secrets that never print, probes.

Nothing here knows which inventory is checked: hosts, addresses and connection settings all come
from the inventory's data and the fleet model built from it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
import shlex
import uuid
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import paramiko
import pytest
import testinfra

from mastofleet.deploys.mastodon import shared_environment_path
from mastofleet.model import Fleet, Host, Role
from mastofleet.plan import firewall
from mastofleet.plan.files import ConfigFile
from mastofleet.project.fleet import fleet_host_name

PROBE_SCRIPT = (Path(__file__).with_name("remote_probe.py")).read_text()
WILDCARD_ADDRESSES = {"0.0.0.0", "::", "*", "[::]"}
RUN_TOKEN = uuid.uuid4().hex[:12]  # marks this run's requests and jobs


# --- secrets that never print -----------------------------------------------------------------


class Secret:
    """A secret value read from a host. Its repr is masked, so a failing assertion, pytest's
    argument dump of a traceback or `--showlocals` never shows it; `reveal()` only to send it."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"<secret {self.name}, {len(self._value)} characters>"

    __str__ = __repr__


# --- the fleet under test ---------------------------------------------------------------------


@dataclass
class Outsider:
    """A machine outside the fleet model, to probe the fleet from as the internet would."""

    name: str
    address: str


@dataclass(repr=False)
class FleetUnderTest:
    """The validated fleet model of an inventory, and how to reach each of its hosts over SSH."""

    inventory_path: str
    fleet: Fleet
    inventory: Any
    is_local: bool
    outsider: Outsider | None = None
    ssh_config: Path | None = None
    validated: bool = False  # the model was rebuilt with the real secrets store
    _targets: dict[str, Target] = field(default_factory=dict)
    _unreachable: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<fleet {self.fleet.name} of {self.inventory_path}>"

    # hosts by role, in inventory order -----------------------------------------------------------
    def names(self, role: Role | None = None) -> list[str]:
        return [host.name for host in self.fleet.hosts if role is None or host.has(role)]

    @property
    def web_names(self) -> list[str]:
        return [host.name for host in self.fleet.app_hosts if host.web]

    @property
    def streaming_names(self) -> list[str]:
        return [host.name for host in self.fleet.app_hosts if host.streaming]

    @property
    def prober_names(self) -> list[str]:
        """Fleet hosts that must not reach the database or Redis as the app: neither app nor db/redis."""
        return [
            host.name
            for host in self.fleet.hosts
            if not host.has(Role.app) and not host.has(Role.db) and not host.has(Role.redis)
        ]

    # SSH ---------------------------------------------------------------------------------------
    def write_ssh_config(self, path: Path) -> None:
        """One Host entry per inventory host (by its fleet name), and the outsider when known."""
        entries = []
        first_data: dict[str, Any] = {}
        for inventory_host in self.inventory:
            data = inventory_host.data.dict()
            first_data = first_data or data
            entries.append(_ssh_entry(fleet_host_name(inventory_host.name), data))
        if self.outsider is not None:
            # outside the fleet: no operator account there, the harness logs in as root
            outsider = {**first_data, "ssh_hostname": self.outsider.address, "ssh_user": "root"}
            entries.append(_ssh_entry(self.outsider.name, outsider))
        path.write_text("\n".join(entries))
        path.chmod(0o600)
        self.ssh_config = path

    def target(self, name: str) -> Target:
        """A connected testinfra host; a host that cannot be reached fails every test at once."""
        if name in self._unreachable:
            pytest.fail(f"{name} is unreachable over SSH: {self._unreachable[name]}", pytrace=False)
        if name not in self._targets:
            assert self.ssh_config is not None
            user = _ssh_user(self._data_of(name))
            spec = f"paramiko://{name}?ssh_config={self.ssh_config}&timeout=10"
            if user != "root":
                spec += "&sudo=true"
            host = testinfra.get_host(spec)
            try:
                host.backend.client  # noqa: B018 - connect now, so a down host fails fast and once
            except Exception as error:  # paramiko raises many kinds: all mean "unreachable"
                self._unreachable[name] = f"{type(error).__name__}: {error}"
                pytest.fail(f"{name} is unreachable over SSH: {self._unreachable[name]}", pytrace=False)
            model = self.fleet.host(name) if name in self.names() else None
            self._targets[name] = Target(name, model, host)
        return self._targets[name]

    def _data_of(self, name: str) -> dict[str, Any]:
        for inventory_host in self.inventory:
            if fleet_host_name(inventory_host.name) == name:
                return inventory_host.data.dict()
        # the outsider: with the fleet's key, as root (it has no operator account)
        return {**next(iter(self.inventory)).data.dict(), "ssh_user": "root"}

    # addresses ----------------------------------------------------------------------------------
    def address_of(self, name: str) -> str:
        if self.outsider is not None and name == self.outsider.name:
            return self.outsider.address
        return str(self.fleet.host(name).private_address)

    @property
    def lb_address(self) -> str:
        """Where the world reaches nginx on the (first) lb host: its public address, else private."""
        lb = self.fleet.with_role(Role.lb)[0]
        return str(lb.public_address or lb.private_address)


def _ssh_user(data: dict[str, Any]) -> str:
    return str(data.get("ssh_user") or getpass.getuser())


def _ssh_entry(name: str, data: dict[str, Any]) -> str:
    lines = [f"Host {name}", f"    HostName {data.get('ssh_hostname') or name}", f"    User {_ssh_user(data)}"]
    if data.get("ssh_port"):
        lines.append(f"    Port {data['ssh_port']}")
    if data.get("ssh_key"):
        lines.append(f"    IdentityFile {data['ssh_key']}")
    if str(data.get("ssh_strict_host_key_checking", "")).lower() in ("no", "off", "false"):
        lines.append("    StrictHostKeyChecking no")
    return "\n".join(lines) + "\n"


# --- one host ---------------------------------------------------------------------------------


@dataclass
class Target:
    """A fleet host (or the outsider) as tests see it: its name, its model, its testinfra host."""

    name: str
    model: Host | None
    host: Any  # testinfra.host.Host

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def run(self, command: str, *arguments: str) -> Any:
        return self.host.run(command, *arguments)

    def output(self, command: str, *arguments: str) -> str:
        """stdout of a command that must succeed (its output carries no secret)."""
        result = self.host.run(command, *arguments)
        assert result.rc == 0, f"{self.name}: `{result.command}` exited {result.rc}: {result.stderr.strip()}"
        return result.stdout

    def run_with_secret(self, command: str, secret: Secret | None) -> tuple[int, str, str]:
        """Run a command with a secret as its first line of stdin: how a password reaches a host
        without a command line (the value is revealed only inside the send, never held in a frame)."""
        channel = self._session()
        channel.settimeout(30)
        channel.exec_command(self.host.backend.get_command(command))
        channel.sendall((secret.reveal() if secret else "").encode() + b"\n")
        channel.shutdown_write()
        stdout = channel.makefile("rb").read().decode(errors="replace")
        stderr = channel.makefile_stderr("rb").read().decode(errors="replace")
        return channel.recv_exit_status(), stdout, stderr

    def _session(self) -> paramiko.Channel:
        """A new channel on testinfra's connection to the host, connecting again (once, as
        testinfra's own `run` does) when the host was rebooted or restored from the snapshot since
        the connection was made: its old transport is then dead."""
        backend = self.host.backend
        transport = backend.client.get_transport()
        try:
            if transport is None or not transport.is_active():
                raise paramiko.SSHException("the connection is gone")
            return transport.open_session(timeout=15)
        except (paramiko.SSHException, EOFError, ConnectionResetError):
            del backend.client  # a cached_property: the next use connects anew
            transport = backend.client.get_transport()
            assert transport is not None
            return transport.open_session(timeout=15)

    @cached_property
    def has_python(self) -> bool:
        return self.host.run("command -v python3").rc == 0

    # systemd -----------------------------------------------------------------------------------
    def unit_states(self, units: list[str]) -> dict[str, tuple[str, str]]:
        """{unit: (is-active, is-enabled)} in one round trip."""
        script = "; ".join(
            f"echo {shlex.quote(unit)} $(systemctl is-active {shlex.quote(unit)}) "
            f"$(systemctl is-enabled {shlex.quote(unit)} 2>/dev/null || echo not-found)"
            for unit in units
        )
        states = {}
        for line in self.output(script).splitlines():
            unit, active, enabled = (line.split() + ["", ""])[:3]
            states[unit] = (active, enabled)
        return states

    def unit_properties(self, unit: str, properties: list[str]) -> dict[str, str]:
        text = self.output(f"systemctl show -p {','.join(properties)} {shlex.quote(unit)}")
        values = {}
        for line in text.splitlines():
            key, _, value = line.partition("=")
            values[key] = value
        return values

    # sockets -----------------------------------------------------------------------------------
    @cached_property
    def listeners(self) -> list[tuple[str, int, str]]:
        """TCP listening sockets: (address, port, process names)."""
        sockets = []
        for line in self.output("ss -Htlnp").splitlines():
            fields = line.split()
            if len(fields) < 4:
                continue
            address, _, port = fields[3].rpartition(":")
            address = address.strip("[]").split("%")[0]
            processes = ",".join(sorted(set(re.findall(r'\("([^"]+)"', line))))
            sockets.append((address, int(port), processes))
        return sockets

    def addresses_on(self, port: int) -> set[str]:
        return {address for address, listening_port, _ in self.listeners if listening_port == port}

    # files -------------------------------------------------------------------------------------
    def file_facts(self, paths: list[str]) -> dict[str, tuple[str, str, str, str]]:
        """{path: (user, group, octal mode, sha256)} in one round trip; missing files are absent."""
        quoted = " ".join(shlex.quote(path) for path in paths)
        script = (
            f'for f in {quoted}; do [ -f "$f" ] || continue; '
            r"""printf '%s %s %s\n' "$(stat -c '%U %G %a' "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)" "$f"; done"""
        )
        facts = {}
        for line in self.output(script).splitlines():
            user, group, mode, digest, path = line.split(None, 4)
            facts[path.strip()] = (user, group, mode, digest)
        return facts


# --- checks shared by the role modules ----------------------------------------------------------


def assert_active_and_enabled(target: Target, units: list[str]) -> None:
    assert units, f"{target.name}: the model gives no services to check"
    states = target.unit_states(units)
    wrong = {unit: state for unit, state in states.items() if state != ("active", "enabled")}
    assert not wrong, f"{target.name}: services not active+enabled, (is-active, is-enabled): {wrong}"


def assert_listening_only(
    target: Target, port: int, required: set[str], allowed_extra: frozenset[str] = frozenset()
) -> None:
    """`port` is listened on at every `required` address, and nowhere else but `allowed_extra`."""
    present = target.addresses_on(port)
    assert required <= present, (
        f"{target.name}:{port} listens on {sorted(present)}, missing {sorted(required - present)}"
    )
    wildcard = present & WILDCARD_ADDRESSES
    assert not wildcard, f"{target.name}:{port} listens on all addresses {sorted(wildcard)}"
    extra = present - required - allowed_extra
    assert not extra, f"{target.name}:{port} also listens on {sorted(extra)}"


def assert_files_as_rendered(target: Target, rendered: list[ConfigFile], compare_content: bool = True) -> None:
    """Each file exists with the owner, group and mode the role gives it; files without a secret
    also have exactly the content the model renders today (no drift, no hand edits)."""
    assert rendered, f"{target.name}: the role renders no file here"
    facts = target.file_facts([item.path for item in rendered])
    problems = []
    for item in rendered:
        if item.path not in facts:
            problems.append(f"{item.path}: missing")
            continue
        user, group, mode, digest = facts[item.path]
        wanted_mode = format(int(item.mode, 8), "o")
        if (user, group, mode) != (item.user, item.group, wanted_mode):
            problems.append(f"{item.path}: {user}:{group} {mode}, want {item.user}:{item.group} {wanted_mode}")
        if compare_content and not item.sensitive and digest != hashlib.sha256(item.content.encode()).hexdigest():
            problems.append(f"{item.path}: content differs from what the model renders (redeploy, or a hand edit)")
    assert not problems, f"{target.name}: " + "; ".join(problems)


SANDBOX = {
    # Mastodon's dist/ units carry this sandbox; ours must keep it (design notes, anchors §2.2).
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
}


def assert_sandboxed(target: Target, unit: str, user: str) -> None:
    wanted = {**SANDBOX, "User": user}
    present = target.unit_properties(unit, sorted(wanted))
    wrong = {key: present.get(key) for key, value in wanted.items() if present.get(key) != value}
    assert not wrong, f"{target.name}: {unit} sandbox differs from Mastodon's: {wrong} (want {wanted})"
    filters = target.unit_properties(unit, ["SystemCallFilter"])["SystemCallFilter"]
    assert filters.startswith("~") and "mount" in filters.split(), f"{target.name}: {unit} lost its SystemCallFilter"


def exec_start_argv(target: Target, unit: str) -> list[str]:
    """The argv of a unit's ExecStart as systemd loaded it."""
    value = target.unit_properties(unit, ["ExecStart"])["ExecStart"]
    match = re.search(r"argv\[\]=(.*?) ;", value)
    assert match, f"{target.name}: {unit} has no ExecStart: {value!r}"
    return shlex.split(match.group(1))


def unit_environment(target: Target, unit: str) -> dict[str, str]:
    value = target.unit_properties(unit, ["Environment"])["Environment"]
    return dict(item.split("=", 1) for item in shlex.split(value) if "=" in item)


# --- probes from a host -------------------------------------------------------------------------


def probe(target: Target, arguments: list[str], password: Secret | None = None) -> dict:
    """Run remote_probe.py on `target`; a password goes over stdin."""
    if not target.has_python:
        pytest.skip(f"{target.name} has no python3 to run the login probe from")
    command = "python3 -c " + shlex.quote(PROBE_SCRIPT) + " " + " ".join(shlex.quote(word) for word in arguments)
    rc, stdout, stderr = target.run_with_secret(command, password)
    assert rc == 0, f"{target.name}: the probe {arguments[0]} failed ({rc}): {stderr.strip()[-500:]}"
    return json.loads(stdout.strip().splitlines()[-1])


# --- .env.production, read on the host ------------------------------------------------------------


def environment_keys(target: Target, path: str) -> list[str]:
    """The keys of an env file, in order; only the names leave the host, never a value."""
    script = (
        r"""awk '/^[[:space:]]*(#|$)/ {next} { sub(/^[[:space:]]*export[[:space:]]+/, "");"""
        r""" if (index($0, "=") > 0) print substr($0, 1, index($0, "=") - 1); else print "<a line without =>" }' """
        + shlex.quote(path)
    )
    return [line.strip() for line in target.output(script).splitlines() if line.strip()]


def _environment_value(target: Target, path: str, key: str) -> str:
    script = (
        f"awk -v key={shlex.quote(key)} "
        r"""'index($0, key "=") == 1 { print substr($0, length(key) + 2); found = 1; exit } END { exit !found }' """
        + shlex.quote(path)
    )
    result = target.run(script)
    if result.rc != 0:  # never show result: its stdout may be a secret
        pytest.fail(f"{target.name}: {path} has no {key}", pytrace=False)
    return result.stdout.rstrip("\n")


def environment_values(target: Target, path: str, keys: list[str]) -> dict[str, str]:
    """Values that are no secret (hosts, ports, a domain), in one round trip; absent keys are left out."""
    script = (
        f"awk -v keys={shlex.quote(' '.join(keys))} "
        r"""'BEGIN { n = split(keys, wanted, " "); for (i = 1; i <= n; i++) want[wanted[i]] = 1 }"""
        r""" { i = index($0, "="); if (i > 1 && (substr($0, 1, i - 1) in want)) print }' """ + shlex.quote(path)
    )
    values = {}
    for line in target.output(script).splitlines():
        key, _, value = line.partition("=")
        values[key] = value
    return values


def environment_secret(target: Target, path: str, key: str) -> Secret:
    """A secret value, wrapped so that it never prints."""
    return Secret(key, _environment_value(target, path, key))


# --- logins as the app ------------------------------------------------------------------------


def psql_as_app(target: Target, fleet: Fleet, port: int, password: str = '"$DB_PASS"') -> tuple[int, str, str]:
    """psql on an app host with the credentials of its .env.production (read there, in the shell)."""
    env = shlex.quote(shared_environment_path(fleet.instance))
    query = "SELECT current_user || ' ' || current_database() || ' ' || inet_client_addr()"
    command = (
        f"set -a && . {env} && set +a && PGPASSWORD={password} PGCONNECT_TIMEOUT=5 "
        f'psql "host=$DB_HOST port={port} user=$DB_USER dbname=$DB_NAME sslmode=disable" -XtAc {shlex.quote(query)}'
    )
    result = target.run(command)
    return result.rc, result.stdout.strip(), result.stderr.strip()


# --- the site, through nginx on the lb host ---------------------------------------------------------


class Site:
    """HTTPS requests to nginx on the lb host, as a browser for the site's domain would send them.

    Sent to the lb's address with the site's Host header and no certificate check (the local fleet
    has a self-signed certificate). nginx caches GET answers of `location /` for 7 days when the
    upstream sends no Cache-Control (as Mastodon's own nginx.conf does; Rails marks dynamic answers
    private, the stand-in does not): every GET here carries a unique query string.
    """

    def __init__(self, address: str, domain: str) -> None:
        import requests

        self.address = address
        self.base = f"https://{address}"
        self.domain = domain
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy, and no CA bundle from the environment overriding verify
        self.session.verify = False
        self.session.headers["Host"] = domain
        self._counter = 0

    def unique(self) -> str:
        self._counter += 1
        return f"{RUN_TOKEN}-{self._counter}"

    def get(self, path: str, fresh: bool = True, **arguments: Any) -> Any:
        params = dict(arguments.pop("params", {}))
        if fresh:
            params["nocache"] = self.unique()
        return self.request("GET", self.base + path, params=params, **arguments)

    def post(self, path: str, **arguments: Any) -> Any:
        return self.request("POST", self.base + path, **arguments)

    def request(self, method: str, url: str, **arguments: Any) -> Any:
        import requests
        import urllib3

        with warnings.catch_warnings():  # the certificate is not checked on purpose (see above)
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            try:
                return self.session.request(method, url, timeout=10, **arguments)
            except requests.ConnectionError:
                # A kept-alive connection from before a restore or reboot of the balancer is dead
                # (the session outlives modules): once more on a new connection, which must work.
                self.session.close()
                return self.session.request(method, url, timeout=10, **arguments)


def dropped_by_firewall(fleet: Fleet, prober: Target, result: dict[str, Any], what: str, at: tuple[str, int]) -> bool:
    """With the firewall on, a host the model does not let in to `at` (address, port) never gets a TCP
    connection (the packets are dropped: the attempt times out). True then; the caller's checks of the
    service's own refusal (pg_hba, NOAUTH) apply where the firewall lets the prober in (a read replica
    reaches the primary's PostgreSQL for replication) or where there is no firewall."""
    if not fleet.firewall.enabled or firewall_lets_in(fleet, prober.name, at):
        return False
    assert result["tcp"] == "timeout", f"{prober.name} reached {what} through the firewall: {result}"
    return True


def firewall_lets_in(fleet: Fleet, source: str, at: tuple[str, int]) -> bool:
    address, port = at
    target = next(host for host in fleet.hosts if str(host.private_address) == address)
    return any(
        opening.sources is None or source in {item.name for item in opening.sources}
        for opening in firewall.openings(fleet, target)
        if opening.port == port
    )
