"""A stateful fake of the Hetzner Cloud API, served over HTTP on loopback, for tests and benchmarks.

The real API cannot be reached here (it needs a token and the internet), so the provisioning code is
tested against this: the official `hcloud` library talks to it over real HTTP exactly as it would
talk to api.hetzner.cloud. It was written from the API documentation's request and response shapes
(docs.hetzner.cloud: pagination, label selectors, error objects, actions), not from the library's
own test fixtures, and it keeps state: a created server is listed afterwards, an action answers
`running` until it has been polled `action_polls` times, then `success` (or `error` when a test asked
for a failure), and only then does its effect show (a server is running, a network attached).

What it checks is what the documentation promises: authentication (`unauthorized`, `token_readonly`),
unique names (`uniqueness_error`), known server types, locations and images, server types not
orderable in a location (`resource_unavailable`), IPs outside any subnet or taken (`ip_not_available`),
adding a running server to a placement group (`server_not_stopped`) and rate limiting (HTTP 429 with
`rate_limit_exceeded` and the RateLimit-* headers). Where the documentation names an error code
but not its HTTP status, the status here is our choice; the library reads the code.

Every request is recorded (method, path, query, JSON body) so a test can assert the exact calls.
Run on its own for a benchmark in another process: `python -m support.hetzner_api` (in tests/); it
prints its URL, and `GET /__fake__/requests` returns the record.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from support import hetzner_catalogue

TOKEN = "fake-hcloud-token-0000"
RATE_LIMIT = 3600  # requests per hour and project, as documented
HOSTNAME = re.compile(r"^(?=.{1,63}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9-]+)*$")
SPREAD_LIMIT = 10  # servers per spread placement group


class ApiError(Exception):
    """An error answer: HTTP status, the documented code and a message."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Request:
    """One request as the fake received it."""

    method: str
    path: str  # without the /v1 prefix, e.g. /servers/1001/actions/poweron
    query: dict[str, list[str]]
    body: Any

    @property
    def call(self) -> tuple[str, str]:
        return self.method, self.path


@dataclass
class _Action:
    data: dict[str, Any]
    polls_left: int
    error: dict[str, str] | None = None
    effect: Any = None  # called once when the action succeeds


@dataclass
class _Faults:
    rate_limited: int = 0
    failing: dict[str, tuple[str, str]] = field(default_factory=dict)  # command -> (code, message)
    unorderable: set[tuple[str, str]] = field(default_factory=set)  # (server type, location)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def fingerprint(public_key: str) -> str:
    """The MD5 fingerprint Hetzner shows for an OpenSSH public key (aa:bb:...)."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()  # noqa: S324 - it is the format
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


def label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """The documented label selector language: k=v, k==v, k!=v, k, !k, k in (..), k notin (..), joined by ','."""
    for term in re.findall(r"[^,()]+(?:\([^)]*\))?", selector):
        term = term.strip()
        if not term:
            continue
        membership = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$", term)
        if membership:
            key, operator, values = membership.groups()
            wanted = {value.strip() for value in values.split(",")}
            inside = key in labels and labels[key] in wanted
            if inside != (operator == "in"):
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = re.split(r"==?", term, maxsplit=1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


class FakeHetznerApi:
    """The fake API's state and its HTTP server; `start()` returns the endpoint for `hcloud.Client`."""

    def __init__(self, token: str = TOKEN, action_polls: int = 1, readonly_tokens: tuple[str, ...] = ()) -> None:
        self.token = token
        self.readonly_tokens = set(readonly_tokens)
        self.action_polls = action_polls
        self.requests: list[Request] = []
        self.faults = _Faults()
        self.locations = copy.deepcopy(hetzner_catalogue.LOCATIONS)
        self.server_types = hetzner_catalogue.server_types()
        self.images = hetzner_catalogue.images()
        self.ssh_keys: dict[int, dict[str, Any]] = {}
        self.networks: dict[int, dict[str, Any]] = {}
        self.firewalls: dict[int, dict[str, Any]] = {}
        self.placement_groups: dict[int, dict[str, Any]] = {}
        self.servers: dict[int, dict[str, Any]] = {}
        self.volumes: dict[int, dict[str, Any]] = {}
        self.actions: dict[int, _Action] = {}
        self._next_id = 1000
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- running ------------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on a free loopback port in a thread; the API endpoint (…/v1)."""
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.endpoint

    @property
    def endpoint(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- what tests arrange -------------------------------------------------------------------

    def rate_limit(self, requests: int) -> None:
        """The next `requests` requests are answered 429 rate_limit_exceeded."""
        self.faults.rate_limited = requests

    def fail_next_action(self, command: str, code: str = "action_failed", message: str = "Action failed") -> None:
        """The next action with this command (e.g. attach_to_network) ends in status error."""
        self.faults.failing[command] = (code, message)

    def make_unorderable(self, server_type: str, location: str) -> None:
        """Creating this type here fails with resource_unavailable, though the catalogue lists it."""
        self.faults.unorderable.add((server_type, location))

    def set_availability(self, server_type: str, location: str, available: bool) -> None:
        """What `/server_types` says about ordering a type in a location."""
        for entry in self._server_type(server_type)["locations"]:
            if entry["name"] == location:
                entry["available"] = available

    def add_server(self, name: str, labels: dict[str, str] | None = None, server_type: str = "cx23") -> int:
        """A server made elsewhere (the console, another tool), running, on no network."""
        with self._lock:
            server = self._new_server(name, self._server_type(server_type), self._location("fsn1"), labels or {})
            server["status"] = "running"
            return int(server["id"])

    def add_volume(self, name: str, server: int | None, labels: dict[str, str] | None = None) -> int:
        with self._lock:
            identifier = self._id()
            self.volumes[identifier] = {
                "id": identifier,
                "name": name,
                "size": 100,
                "server": server,
                "location": self._location("fsn1"),
                "linux_device": f"/dev/disk/by-id/scsi-0HC_Volume_{identifier}",
                "protection": {"delete": False},
                "labels": labels or {},
                "status": "available",
                "created": _now(),
                "format": "ext4",
            }
            return identifier

    # --- what tests read ----------------------------------------------------------------------

    def calls(self, *, writes_only: bool = False) -> list[tuple[str, str]]:
        return [request.call for request in self.requests if not writes_only or request.method != "GET"]

    def writes(self) -> list[Request]:
        return [request for request in self.requests if request.method != "GET"]

    def server_named(self, name: str) -> dict[str, Any]:
        return next(server for server in self.servers.values() if server["name"] == name)

    # --- dispatch -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, token: str | None) -> Any:
        with self._lock:
            self.requests.append(Request(method, path, query, body))
            if token not in {self.token, *self.readonly_tokens}:
                raise ApiError(401, "unauthorized", "unable to authenticate")
            if self.faults.rate_limited > 0:
                self.faults.rate_limited -= 1
                raise ApiError(429, "rate_limit_exceeded", "limit of 3600 requests per hour reached")
            if method != "GET" and token in self.readonly_tokens:
                raise ApiError(403, "token_readonly", "the token is only allowed to perform GET requests")
            for pattern, verb, handler in self._routes():
                match = re.fullmatch(pattern, path)
                if match and verb == method:
                    return handler(query, body, *[int(group) for group in match.groups()])
            raise ApiError(404, "not_found", f"no route {method} {path}")

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            (r"/locations", "GET", lambda q, b: self._list("locations", self.locations, q)),
            (r"/server_types", "GET", lambda q, b: self._list("server_types", self.server_types, q)),
            (r"/images", "GET", self._list_images),
            (r"/actions", "GET", self._list_actions),
            (r"/actions/(\d+)", "GET", self._get_action),
            (r"/ssh_keys", "GET", lambda q, b: self._list("ssh_keys", self.ssh_keys.values(), q)),
            (r"/ssh_keys", "POST", self._create_ssh_key),
            (r"/ssh_keys/(\d+)", "DELETE", lambda q, b, i: self._delete(self.ssh_keys, i)),
            (r"/networks", "GET", lambda q, b: self._list("networks", self.networks.values(), q)),
            (r"/networks", "POST", self._create_network),
            (r"/networks/(\d+)", "GET", lambda q, b, i: {"network": self._get(self.networks, i)}),
            (r"/networks/(\d+)", "DELETE", lambda q, b, i: self._delete(self.networks, i)),
            (r"/networks/(\d+)/actions/add_subnet", "POST", self._add_subnet),
            (r"/firewalls", "GET", lambda q, b: self._list("firewalls", self.firewalls.values(), q)),
            (r"/firewalls", "POST", self._create_firewall),
            (r"/firewalls/(\d+)", "GET", lambda q, b, i: {"firewall": self._get(self.firewalls, i)}),
            (r"/firewalls/(\d+)", "DELETE", lambda q, b, i: self._delete(self.firewalls, i)),
            (r"/firewalls/(\d+)/actions/set_rules", "POST", self._set_rules),
            (r"/firewalls/(\d+)/actions/apply_to_resources", "POST", self._apply_firewall),
            (r"/firewalls/(\d+)/actions/remove_from_resources", "POST", self._remove_firewall),
            (
                r"/placement_groups",
                "GET",
                lambda q, b: self._list("placement_groups", self.placement_groups.values(), q),
            ),
            (r"/placement_groups", "POST", self._create_placement_group),
            (r"/placement_groups/(\d+)", "DELETE", lambda q, b, i: self._delete(self.placement_groups, i)),
            (r"/servers", "GET", self._list_servers),
            (r"/servers", "POST", self._create_server),
            (r"/servers/(\d+)", "GET", lambda q, b, i: {"server": self._get(self.servers, i)}),
            (r"/servers/(\d+)", "PUT", self._update_server),
            (r"/servers/(\d+)", "DELETE", self._delete_server),
            (r"/servers/(\d+)/actions/attach_to_network", "POST", self._attach_to_network),
            (r"/servers/(\d+)/actions/poweron", "POST", self._power_on),
            (r"/servers/(\d+)/actions/add_to_placement_group", "POST", self._add_to_placement_group),
            (r"/volumes", "GET", lambda q, b: self._list("volumes", self.volumes.values(), q)),
        ]

    # --- helpers ------------------------------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    @staticmethod
    def _get(store: dict[int, dict[str, Any]], identifier: int) -> dict[str, Any]:
        if identifier not in store:
            raise ApiError(404, "not_found", f"resource {identifier} not found")
        return store[identifier]

    def _delete(self, store: dict[int, dict[str, Any]], identifier: int) -> None:
        self._get(store, identifier)
        del store[identifier]
        return None

    def _list(self, key: str, items: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        selected = list(items)
        if "name" in query:
            selected = [item for item in selected if item.get("name") == query["name"][0]]
        if "label_selector" in query:
            selected = [item for item in selected if label_selector_matches(query["label_selector"][0], item["labels"])]
        if "fingerprint" in query:
            selected = [item for item in selected if item.get("fingerprint") == query["fingerprint"][0]]
        if "status" in query:
            selected = [item for item in selected if item.get("status") in query["status"]]
        if "architecture" in query:
            selected = [item for item in selected if item.get("architecture") == query["architecture"][0]]
        if "type" in query:
            selected = [item for item in selected if item.get("type") in query["type"]]
        page = int(query.get("page", ["1"])[0])
        per_page = min(int(query.get("per_page", ["25"])[0]), 50)
        last = max(1, -(-len(selected) // per_page))
        chunk = selected[(page - 1) * per_page : page * per_page]
        return {
            key: copy.deepcopy(chunk),
            "meta": {
                "pagination": {
                    "page": page,
                    "per_page": per_page,
                    "previous_page": page - 1 if page > 1 else None,
                    "next_page": page + 1 if page < last else None,
                    "last_page": last,
                    "total_entries": len(selected),
                }
            },
        }

    def _list_images(self, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        return self._list("images", self.images, query)

    def _server_type(self, name_or_id: Any) -> dict[str, Any]:
        for server_type in self.server_types:
            if str(server_type["id"]) == str(name_or_id) or server_type["name"] == name_or_id:
                return server_type
        raise ApiError(400, "invalid_input", f"server type {name_or_id} not found")

    def _location(self, name_or_id: Any) -> dict[str, Any]:
        for location in self.locations:
            if str(location["id"]) == str(name_or_id) or location["name"] == name_or_id:
                return location
        raise ApiError(400, "invalid_input", f"location {name_or_id} not found")

    def _unique(self, store: dict[int, dict[str, Any]], name: str, what: str) -> None:
        if any(item["name"] == name for item in store.values()):
            raise ApiError(409, "uniqueness_error", f"{what} name is already used", {"fields": [{"name": "name"}]})

    def _labels(self, body: dict[str, Any]) -> dict[str, str]:
        labels = body.get("labels") or {}
        for key, value in labels.items():
            if not re.fullmatch(
                r"([a-z0-9.-]+/)?[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?", key
            ) or not re.fullmatch(r"([a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?)?", str(value)):
                raise ApiError(400, "invalid_input", f"invalid label {key}={value}")
        return dict(labels)

    # --- actions ------------------------------------------------------------------------------

    def _action(self, command: str, resources: list[tuple[int, str]], effect: Any = None) -> dict[str, Any]:
        identifier = self._id()
        data = {
            "id": identifier,
            "command": command,
            "status": "running",
            "progress": 0,
            "started": _now(),
            "finished": None,
            "resources": [{"id": resource, "type": kind} for resource, kind in resources],
            "error": None,
        }
        failure = self.faults.failing.pop(command, None)
        error = {"code": failure[0], "message": failure[1]} if failure else None
        self.actions[identifier] = _Action(data, self.action_polls, error, effect)
        return copy.deepcopy(data)

    def _advance(self, action: _Action) -> None:
        if action.data["status"] != "running":
            return
        action.polls_left -= 1
        if action.polls_left > 0:
            action.data["progress"] = 50
            return
        action.data["progress"] = 100
        action.data["finished"] = _now()
        if action.error:
            action.data["status"] = "error"
            action.data["error"] = action.error
            return
        action.data["status"] = "success"
        if action.effect is not None:
            action.effect()

    def _get_action(self, query: dict[str, list[str]], body: Any, identifier: int) -> dict[str, Any]:
        if identifier not in self.actions:
            raise ApiError(404, "not_found", f"action {identifier} not found")
        action = self.actions[identifier]
        self._advance(action)
        return {"action": copy.deepcopy(action.data)}

    def _list_actions(self, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        wanted = [int(value) for value in query.get("id", [])]
        if not wanted:
            raise ApiError(400, "invalid_input", "listing arbitrary actions was removed; give id")
        found = []
        for identifier in wanted:
            action = self.actions.get(identifier)
            if action:
                self._advance(action)
                found.append(copy.deepcopy(action.data))
        return {"actions": found}

    # --- SSH keys, networks, firewalls, placement groups --------------------------------------

    def _create_ssh_key(self, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        self._unique(self.ssh_keys, body["name"], "SSH key")
        print_ = fingerprint(body["public_key"])
        if any(key["fingerprint"] == print_ for key in self.ssh_keys.values()):
            raise ApiError(
                409,
                "uniqueness_error",
                "SSH key with the same fingerprint already exists",
                {"fields": [{"name": "public_key"}]},
            )
        identifier = self._id()
        key = {
            "id": identifier,
            "name": body["name"],
            "fingerprint": print_,
            "public_key": body["public_key"],
            "labels": self._labels(body),
            "created": _now(),
        }
        self.ssh_keys[identifier] = key
        return {"ssh_key": copy.deepcopy(key)}

    def _create_network(self, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        self._unique(self.networks, body["name"], "network")
        ip_range = ipaddress.ip_network(body["ip_range"])
        identifier = self._id()
        network = {
            "id": identifier,
            "name": body["name"],
            "ip_range": str(ip_range),
            "subnets": [],
            "routes": [],
            "servers": [],
            "load_balancers": [],
            "protection": {"delete": False},
            "labels": self._labels(body),
            "created": _now(),
            "expose_routes_to_vswitch": False,
        }
        self.networks[identifier] = network
        for subnet in body.get("subnets", []):
            self._subnet(network, subnet)
        return {"network": copy.deepcopy(network)}

    def _subnet(self, network: dict[str, Any], subnet: dict[str, Any]) -> None:
        parent = ipaddress.ip_network(network["ip_range"])
        child = ipaddress.ip_network(subnet["ip_range"])
        if not child.subnet_of(parent):  # type: ignore[arg-type]
            raise ApiError(400, "invalid_input", f"subnet {child} is not inside {parent}")
        if any(child.overlaps(ipaddress.ip_network(existing["ip_range"])) for existing in network["subnets"]):
            raise ApiError(400, "invalid_input", f"subnet {child} overlaps another subnet")
        network["subnets"].append(
            {
                "type": subnet["type"],
                "ip_range": str(child),
                "network_zone": subnet["network_zone"],
                "gateway": str(next(parent.hosts())),
                "vswitch_id": None,
            }
        )

    def _add_subnet(self, query: dict[str, list[str]], body: dict[str, Any], identifier: int) -> dict[str, Any]:
        network = self._get(self.networks, identifier)
        self._subnet(network, body)
        return {"action": self._action("add_subnet", [(identifier, "network")])}

    def _rules(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        rules = []
        for rule in body.get("rules", []):
            rules.append(
                {
                    "description": rule.get("description"),
                    "direction": rule["direction"],
                    "source_ips": [str(ipaddress.ip_network(ip)) for ip in rule.get("source_ips", [])],
                    "destination_ips": [str(ipaddress.ip_network(ip)) for ip in rule.get("destination_ips", [])],
                    "protocol": rule["protocol"],
                    "port": rule.get("port"),
                }
            )
        if len(rules) > 50:
            raise ApiError(400, "invalid_input", "a firewall holds at most 50 rules")
        return rules

    def _create_firewall(self, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        self._unique(self.firewalls, body["name"], "firewall")
        identifier = self._id()
        firewall = {
            "id": identifier,
            "name": body["name"],
            "labels": self._labels(body),
            "created": _now(),
            "rules": self._rules(body),
            "applied_to": [],
        }
        self.firewalls[identifier] = firewall
        actions = [self._action("set_firewall_rules", [(identifier, "firewall")])]
        for resource in body.get("apply_to", []):
            actions.append(self._apply(firewall, resource))
        return {"firewall": copy.deepcopy(firewall), "actions": actions}

    def _apply(self, firewall: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
        server = self._get(self.servers, resource["server"]["id"])
        firewall["applied_to"].append({"type": "server", "server": {"id": server["id"]}, "applied_to_resources": []})
        server["public_net"]["firewalls"].append({"id": firewall["id"], "status": "applied"})
        return self._action("apply_firewall", [(server["id"], "server"), (firewall["id"], "firewall")])

    def _set_rules(self, query: dict[str, list[str]], body: dict[str, Any], identifier: int) -> dict[str, Any]:
        firewall = self._get(self.firewalls, identifier)
        firewall["rules"] = self._rules(body)
        return {"actions": [self._action("set_firewall_rules", [(identifier, "firewall")])]}

    def _apply_firewall(self, query: dict[str, list[str]], body: dict[str, Any], identifier: int) -> dict[str, Any]:
        firewall = self._get(self.firewalls, identifier)
        return {"actions": [self._apply(firewall, resource) for resource in body["apply_to"]]}

    def _remove_firewall(self, query: dict[str, list[str]], body: dict[str, Any], identifier: int) -> dict[str, Any]:
        firewall = self._get(self.firewalls, identifier)
        actions = []
        for resource in body["remove_from"]:
            server = self._get(self.servers, resource["server"]["id"])
            firewall["applied_to"] = [
                entry for entry in firewall["applied_to"] if entry.get("server", {}).get("id") != server["id"]
            ]
            server["public_net"]["firewalls"] = [
                entry for entry in server["public_net"]["firewalls"] if entry["id"] != identifier
            ]
            actions.append(self._action("remove_firewall", [(server["id"], "server"), (identifier, "firewall")]))
        return {"actions": actions}

    def _create_placement_group(self, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        self._unique(self.placement_groups, body["name"], "placement group")
        if body.get("type") != "spread":
            raise ApiError(400, "invalid_input", "type must be spread")
        identifier = self._id()
        group = {
            "id": identifier,
            "name": body["name"],
            "labels": self._labels(body),
            "type": "spread",
            "created": _now(),
            "servers": [],
        }
        self.placement_groups[identifier] = group
        return {"placement_group": copy.deepcopy(group), "action": None}

    # --- servers ------------------------------------------------------------------------------

    def _list_servers(self, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
        return self._list("servers", self.servers.values(), query)

    def _new_server(
        self, name: str, server_type: dict[str, Any], location: dict[str, Any], labels: dict[str, str]
    ) -> dict[str, Any]:
        self._unique(self.servers, name, "server")
        identifier = self._id()
        number = identifier % 250 + 2
        server = {
            "id": identifier,
            "name": name,
            "status": "initializing",
            "created": _now(),
            "public_net": {
                "ipv4": {
                    "id": identifier + 500000,
                    "ip": f"203.0.113.{number}",
                    "blocked": False,
                    "dns_ptr": f"static.{number}.113.0.203.clients.your-server.de",
                },
                "ipv6": {"id": identifier + 600000, "ip": f"2001:db8:{number:x}::/64", "blocked": False, "dns_ptr": []},
                "floating_ips": [],
                "firewalls": [],
            },
            "private_net": [],
            "server_type": copy.deepcopy(server_type),
            "location": copy.deepcopy(location),
            "image": None,
            "iso": None,
            "rescue_enabled": False,
            "locked": False,
            "backup_window": None,
            "outgoing_traffic": 0,
            "ingoing_traffic": 0,
            "included_traffic": server_type["included_traffic"],
            "protection": {"delete": False, "rebuild": False},
            "labels": labels,
            "volumes": [],
            "load_balancers": [],
            "primary_disk_size": server_type["disk"],
            "placement_group": None,
        }
        self.servers[identifier] = server
        return server

    def _create_server(self, query: dict[str, list[str]], body: dict[str, Any]) -> dict[str, Any]:
        if not HOSTNAME.match(body.get("name", "")):
            raise ApiError(400, "invalid_input", "name must be a valid hostname")
        server_type = self._server_type(body["server_type"])
        location = self._location(body.get("location", "fsn1"))
        offer = next((entry for entry in server_type["locations"] if entry["name"] == location["name"]), None)
        if (
            offer is None
            or not offer["available"]
            or (server_type["name"], location["name"]) in self.faults.unorderable
        ):
            raise ApiError(
                412,
                "resource_unavailable",
                f"server type {server_type['name']} is unavailable in {location['name']}",
            )
        image = next(
            (
                image
                for image in self.images
                if image["name"] == body["image"] and image["architecture"] == server_type["architecture"]
            ),
            None,
        )
        if image is None:
            raise ApiError(400, "invalid_input", f"image {body['image']} not found")
        keys = []
        for reference in body.get("ssh_keys", []):
            key = next(
                (key for key in self.ssh_keys.values() if str(key["id"]) == str(reference) or key["name"] == reference),
                None,
            )
            if key is None:
                raise ApiError(400, "invalid_input", f"ssh key {reference} not found")
            keys.append(key)
        firewalls = [self._get(self.firewalls, entry["firewall"]) for entry in body.get("firewalls", [])]
        group = None
        if body.get("placement_group") is not None:
            group = self._get(self.placement_groups, body["placement_group"])
            if len(group["servers"]) >= SPREAD_LIMIT:
                raise ApiError(412, "placement_error", "the spread placement group is full")
        server = self._new_server(body["name"], server_type, location, self._labels(body))
        server["image"] = copy.deepcopy(image)
        for firewall in firewalls:
            self._apply(firewall, {"server": {"id": server["id"]}})
        if group is not None:
            group["servers"].append(server["id"])
            server["placement_group"] = copy.deepcopy(group)
        for network_id in body.get("networks", []):
            self._attach(server, self._get(self.networks, network_id), None)
        start = body.get("start_after_create", True)

        def created() -> None:
            server["status"] = "running" if start else "off"

        action = self._action("create_server", [(server["id"], "server")], created)
        next_actions = []
        if start:
            next_actions.append(self._action("start_server", [(server["id"], "server")]))
        return {
            "server": copy.deepcopy(server),
            "action": action,
            "next_actions": next_actions,
            "root_password": None if keys else "generated-root-password",
        }

    def _update_server(self, query: dict[str, list[str]], body: dict[str, Any], identifier: int) -> dict[str, Any]:
        server = self._get(self.servers, identifier)
        if "name" in body:
            self._unique(self.servers, body["name"], "server")
            server["name"] = body["name"]
        if "labels" in body:
            server["labels"] = self._labels(body)
        return {"server": copy.deepcopy(server)}

    def _delete_server(self, query: dict[str, list[str]], body: Any, identifier: int) -> dict[str, Any]:
        server = self._get(self.servers, identifier)
        if server["protection"]["delete"]:
            raise ApiError(403, "protected", "the server is protected against deletion")
        for firewall in self.firewalls.values():
            firewall["applied_to"] = [
                entry for entry in firewall["applied_to"] if entry.get("server", {}).get("id") != identifier
            ]
        for group in self.placement_groups.values():
            group["servers"] = [member for member in group["servers"] if member != identifier]
        for network in self.networks.values():
            network["servers"] = [member for member in network["servers"] if member != identifier]
        for volume in self.volumes.values():
            if volume["server"] == identifier:
                volume["server"] = None  # volumes survive their server, detached
        del self.servers[identifier]
        return {"action": self._action("delete_server", [(identifier, "server")])}

    def _attach(self, server: dict[str, Any], network: dict[str, Any], ip: str | None) -> None:
        if any(entry["network"] == network["id"] for entry in server["private_net"]):
            raise ApiError(409, "server_already_attached", "the server is already attached to the network")
        taken = {
            entry["ip"]
            for other in self.servers.values()
            for entry in other["private_net"]
            if entry["network"] == network["id"]
        }
        subnets = [ipaddress.ip_network(subnet["ip_range"]) for subnet in network["subnets"]]
        gateway = str(next(ipaddress.ip_network(network["ip_range"]).hosts()))
        if ip is None:
            ip = next(
                (
                    str(address)
                    for subnet in subnets
                    for address in list(subnet.hosts())[1:]
                    if str(address) not in taken
                ),
                None,
            )
            if ip is None:
                raise ApiError(412, "no_subnet_available", "no subnet or IP is available for the server")
        elif ip in taken or ip == gateway or not any(ipaddress.ip_address(ip) in subnet for subnet in subnets):
            raise ApiError(409, "ip_not_available", f"the network IP {ip} is not available")
        server["private_net"].append(
            {
                "network": network["id"],
                "ip": ip,
                "alias_ips": [],
                "mac_address": f"86:00:00:{server['id'] % 256:02x}:00:01",
            }
        )
        network["servers"].append(server["id"])

    def _attach_to_network(self, query: dict[str, list[str]], body: dict[str, Any], identifier: int) -> dict[str, Any]:
        server = self._get(self.servers, identifier)
        network = self._get(self.networks, body["network"])
        # the address is checked and reserved now; the server shows it once the action has succeeded
        probe = copy.deepcopy(server)
        self._attach(probe, network, body.get("ip"))
        network["servers"].remove(server["id"])
        attachment = probe["private_net"][-1]

        def attached() -> None:
            server["private_net"].append(attachment)
            network["servers"].append(server["id"])

        return {
            "action": self._action("attach_to_network", [(identifier, "server"), (network["id"], "network")], attached)
        }

    def _power_on(self, query: dict[str, list[str]], body: Any, identifier: int) -> dict[str, Any]:
        server = self._get(self.servers, identifier)

        def started() -> None:
            server["status"] = "running"

        return {"action": self._action("start_server", [(identifier, "server")], started)}

    def _add_to_placement_group(
        self, query: dict[str, list[str]], body: dict[str, Any], identifier: int
    ) -> dict[str, Any]:
        server = self._get(self.servers, identifier)
        group = self._get(self.placement_groups, body["placement_group"])
        if server["status"] != "off":
            raise ApiError(412, "server_not_stopped", "the action requires a stopped server")
        group["servers"].append(identifier)
        server["placement_group"] = copy.deepcopy(group)
        return {"action": self._action("add_to_placement_group", [(identifier, "server")])}


class _Handler(BaseHTTPRequestHandler):
    api: FakeHetznerApi
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out as two writes; without this the client's delayed ACK adds ~40 ms to each
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass  # quiet: tests read the request record instead

    def _answer(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("RateLimit-Limit", str(RATE_LIMIT))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path.startswith("/__fake__/"):
            return self._control(parts.path)
        if not parts.path.startswith("/v1/"):
            return self._answer(404, {"error": {"code": "not_found", "message": "not found", "details": None}})
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._answer(400, {"error": {"code": "json_error", "message": "invalid JSON", "details": None}})
        authorization = self.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        try:
            result = self.api.handle(method, parts.path[3:], parse_qs(parts.query), body, token)
        except ApiError as error:
            headers = {}
            if error.status == 429:
                headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(time.time()) + 60)}
            return self._answer(
                error.status,
                {"error": {"code": error.code, "message": error.message, "details": error.details}},
                headers,
            )
        if result is None:
            return self._answer(204, None)
        status = 201 if method == "POST" and not parts.path.count("/actions/") else 200
        self._answer(status, result, {"RateLimit-Remaining": str(RATE_LIMIT - 1)})

    def _control(self, path: str) -> None:
        if path == "/__fake__/requests":
            records = [
                {"method": r.method, "path": r.path, "query": r.query, "body": r.body} for r in self.api.requests
            ]
            return self._answer(200, {"requests": records})
        if path == "/__fake__/forget":
            self.api.requests.clear()
            return self._answer(200, {})
        return self._answer(404, {})

    def do_GET(self) -> None:  # noqa: N802 - the base class's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")


def main() -> None:
    """Serve until killed; print the endpoint on the first line of stdout."""
    api = FakeHetznerApi()
    print(api.start(), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
