"""The Debian mirror of this machine, read from its own apt sources at run time.

The local hosts may reach nothing but this mirror, and the project never names a mirror
host itself: whatever this machine uses for apt is what the hosts use too.
"""

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mastofleet.local.errors import LocalFleetError

SOURCES_LIST = Path("/etc/apt/sources.list")
SOURCES_DIRECTORY = Path("/etc/apt/sources.list.d")
OS_RELEASE = Path("/etc/os-release")


@dataclass(frozen=True)
class AptSource:
    """One `deb` entry: where it points, which suites and which components."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


@dataclass(frozen=True)
class MirrorHost:
    """A host name of the mirror and the IPv4 addresses this machine resolves it to."""

    name: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Mirror:
    """The main archive URI, the security archive URI (if any) and their hosts, resolved."""

    archive_uri: str
    security_uri: str | None
    hosts: tuple[MirrorHost, ...]

    def addresses(self) -> tuple[str, ...]:
        """Every address of every mirror host, each once: what the firewall lets through."""
        return tuple(sorted({address for host in self.hosts for address in host.addresses}))


def parse_deb822(text: str) -> list[AptSource]:
    """The enabled `deb` entries of a deb822 `.sources` file."""
    sources = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields = _deb822_fields(paragraph)
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(fields.get("suites", "").split())
        components = tuple(fields.get("components", "").split())
        for uri in fields.get("uris", "").split():
            sources.append(AptSource(uri, suites, components))
    return sources


def _deb822_fields(paragraph: str) -> dict[str, str]:
    """Field name (lower case) to value; continuation lines are joined, comments dropped."""
    fields: dict[str, str] = {}
    current = ""
    for line in paragraph.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and current:
            fields[current] += " " + line.strip()
            continue
        name, _, value = line.partition(":")
        current = name.strip().lower()
        fields[current] = value.strip()
    return fields


def parse_one_line(text: str) -> list[AptSource]:
    """The `deb` lines of a classic sources.list (`deb [options] URI suite components...`)."""
    sources = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        # Options in brackets may contain spaces; they say nothing we need.
        words = re.sub(r"\[[^\]]*\]", " ", line).split()
        if len(words) >= 3 and words[0] == "deb":
            sources.append(AptSource(words[1], (words[2],), tuple(words[3:])))
    return sources


def read_apt_sources(sources_list: Path = SOURCES_LIST, sources_directory: Path = SOURCES_DIRECTORY) -> list[AptSource]:
    """Every `deb` source this machine's apt uses, deb822 files first."""
    sources = []
    for path in sorted(sources_directory.glob("*.sources")):
        sources.extend(parse_deb822(path.read_text()))
    for path in [sources_list, *sorted(sources_directory.glob("*.list"))]:
        if path.is_file():
            sources.extend(parse_one_line(path.read_text()))
    return sources


def host_codename(os_release: Path = OS_RELEASE) -> str:
    """This machine's Debian codename (e.g. the suite its own apt sources name)."""
    for line in os_release.read_text().splitlines():
        name, _, value = line.partition("=")
        if name == "VERSION_CODENAME":
            return value.strip().strip('"')
    raise LocalFleetError(f"{os_release} has no VERSION_CODENAME; is this machine Debian?")


def find_mirror_uris(sources: list[AptSource], codename: str) -> tuple[str, str | None]:
    """The archive URI and the security URI among ``sources``.

    Only Debian's own entries count: their suites are this release's (third-party
    repositories use suites like `stable` or `nodistro`) and they carry `main`.
    """
    archive = None
    security = None
    for source in sources:
        if urlsplit(source.uri).scheme not in ("http", "https"):
            continue
        if "main" not in source.components:
            continue
        for suite in source.suites:
            if suite == f"{codename}-security":
                security = security or source.uri
            elif suite in (codename, f"{codename}-updates"):
                archive = archive or source.uri
    if archive is None:
        raise LocalFleetError(
            f"found no http(s) Debian source for `{codename} main` in /etc/apt/sources.list "
            "or /etc/apt/sources.list.d/*.sources; the local hosts install from this "
            "machine's own mirror, so add it there (apt-get update must work on this machine)."
        )
    return archive.rstrip("/"), security.rstrip("/") if security else None


def resolve(name: str) -> MirrorHost:
    """Resolve a mirror host name to its IPv4 addresses, as this machine sees them."""
    try:
        answers = socket.getaddrinfo(name, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise LocalFleetError(
            f"cannot resolve the apt mirror host {name} ({error}); "
            "check this machine's DNS (/etc/resolv.conf) and that apt-get update works here."
        ) from error
    return MirrorHost(name, tuple(sorted({str(answer[4][0]) for answer in answers})))


def discover_mirror() -> Mirror:
    """Read this machine's apt sources and resolve the mirror hosts they name."""
    archive, security = find_mirror_uris(read_apt_sources(), host_codename())
    names = dict.fromkeys(str(urlsplit(uri).hostname) for uri in (archive, security) if uri is not None)
    return Mirror(archive, security, tuple(resolve(name) for name in names))
