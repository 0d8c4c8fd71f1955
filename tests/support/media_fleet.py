"""The outside world of a media migration on the local fleet: an S3 server and an old server.

* The object store: Debian's python3-moto in server mode on `outsider` (the machine outside the
  fleet), port 9000. It keeps objects in memory, so every test starts it fresh and makes the bucket.
  It stands in for DigitalOcean Spaces, which cannot be reached from here.
* The old server: `alice` (booted only when named), the basement server of the seed, with Mastodon's
  media directory filled with generated files of mixed sizes and served to the edge by nginx with
  the configuration `mastofleet` renders for old servers (templates/edge/old-server.conf.j2).

The files are generated from a seed, so the tests know every file's content without reading alice.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mastofleet.local.machines import MACHINES
from mastofleet.views.templating import render
from support.deploy_run import DeployResult, run_deploy
from support.remote import ssh

S3_HOST = "outsider"
S3_PORT = 9000
OLD_SERVER = "alice"
OLD_SERVER_PORT = 8080
MEDIA_DIRECTORY = "/var/lib/mastodon/public/system"
S3_UNIT = "mastofleet-test-s3.service"


@dataclass(frozen=True)
class MediaFile:
    key: str
    size: int
    seed: int

    def content(self) -> bytes:
        return random.Random(self.seed).randbytes(self.size)

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content()).hexdigest()  # noqa: S324 - compared with S3's MD5


def media_files(count: int = 1100) -> list[MediaFile]:
    """Mostly small images, some larger ones, a few videos of several MB: like a Mastodon media store."""
    chooser = random.Random(2022_11_27)
    result = []
    for index in range(count):
        roll = chooser.random()
        if roll < 0.90:
            size, kind, extension = chooser.randint(1_000, 60_000), "small", "png"
        elif roll < 0.99:
            size, kind, extension = chooser.randint(100_000, 1_000_000), "original", "jpg"
        else:
            size, kind, extension = chooser.randint(4_000_000, 12_000_000), "original", "mp4"
        directory = f"{index // 1000:03d}/{(index // 10) % 100:03d}/{index % 10:03d}"
        result.append(MediaFile(f"media_attachments/files/110/{directory}/{kind}/{index:06x}.{extension}", size, index))
    return result


def s3_endpoint() -> str:
    return f"http://{MACHINES[S3_HOST].address}:{S3_PORT}"


def old_server_url() -> str:
    return f"http://{MACHINES[OLD_SERVER].address}:{OLD_SERVER_PORT}"


S3_SERVICE = f"""[Unit]
Description=moto S3 server for the local fleet's tests (objects in memory)
After=network.target

[Service]
ExecStart=/usr/bin/python3 -m moto.server -H {{address}} -p {S3_PORT}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def start_object_store() -> str:
    """A fresh, empty moto S3 server on outsider; returns its endpoint."""
    address = MACHINES[S3_HOST].address
    ssh(S3_HOST, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-moto python3-flask-cors >/dev/null")
    ssh(S3_HOST, f"cat > /etc/systemd/system/{S3_UNIT}", stdin=S3_SERVICE.replace("{address}", address))
    ssh(S3_HOST, f"systemctl daemon-reload && systemctl enable -q {S3_UNIT} && systemctl restart {S3_UNIT}")
    wait_for(lambda: ssh(S3_HOST, f"nc -z -w 1 {address} {S3_PORT} && echo up || true").strip() == "up", 60)
    return s3_endpoint()


GENERATOR = """
import os, random, sys
root = sys.argv[1]
for line in sys.stdin:
    key, size, seed = line.split()
    path = os.path.join(root, key)
    if os.path.exists(path) and os.path.getsize(path) == int(size):
        continue
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".part", "wb") as handle:
        handle.write(random.Random(int(seed)).randbytes(int(size)))
    os.rename(path + ".part", path)
"""


def start_old_server(files: list[MediaFile], edge_addresses: list[str]) -> str:
    """alice with the media files in Mastodon's old directory, served to the edge hosts only."""
    mastofleet = str(Path(sys.executable).with_name("mastofleet"))
    subprocess.run([mastofleet, "local", "up", OLD_SERVER], check=True, capture_output=True)
    ssh(OLD_SERVER, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null")
    manifest = "".join(f"{item.key} {item.size} {item.seed}\n" for item in files)
    ssh(OLD_SERVER, f"mkdir -p {MEDIA_DIRECTORY} && cat > /tmp/generate.py", stdin=GENERATOR)
    ssh(OLD_SERVER, f"python3 /tmp/generate.py {MEDIA_DIRECTORY}", stdin=manifest)
    site = render(
        "edge/old-server.conf.j2",
        listen=f"{MACHINES[OLD_SERVER].address}:{OLD_SERVER_PORT}",
        directory=MEDIA_DIRECTORY,
        edge_addresses=edge_addresses,
    )
    ssh(OLD_SERVER, "cat > /etc/nginx/conf.d/old-media.conf", stdin=site)
    ssh(OLD_SERVER, "rm -f /etc/nginx/sites-enabled/default && nginx -t -q && systemctl reload-or-restart nginx")
    return old_server_url()


def wait_for(condition, seconds: float, interval: float = 0.5) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


MEDIA_HOST = "media.hachyderm.example"


def edge_get(path: str, edge: str = "esme", method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A request to the media host through an edge host, as a browser would make it (HTTPS, SNI)."""
    import http.client
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the local fleet's certificate is self-signed
    connection = http.client.HTTPSConnection(MACHINES[edge].address, 443, timeout=60, context=context)
    try:
        connection.request(method, path, headers={"Host": MEDIA_HOST})
        response = connection.getresponse()
        body = response.read()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, body
    finally:
        connection.close()


def s3_client():  # type: ignore[no-untyped-def]
    """boto3 against the local store, from this machine (moto accepts any credentials)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint(),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto checks no credentials
    )


def fresh_bucket(bucket: str) -> None:
    """The store emptied (moto's reset) and `bucket` made again."""
    import urllib.request

    request = urllib.request.Request(f"{s3_endpoint()}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).close()  # noqa: S310 - the local store
    s3_client().create_bucket(Bucket=bucket)


def reset_migration(bucket: str, edge: str = "esme") -> None:
    """A migration from the start, after a deploy: the edge's migration state, media cache and origin
    log of a previous run gone, the store empty, then the write-back started. The deploy starts the
    write-back itself, which may work through a stale origin log before this stops it: emptying the
    store only after the stop is what makes every object in it this run's."""
    ssh(
        edge,
        "systemctl stop mastofleet-media-copy.timer mastofleet-media-copy.service mastofleet-media-writeback.service"
        " && rm -rf /var/lib/mastofleet-media/* /var/cache/nginx/edge-media/* && : > /var/log/nginx/media-origin.log"
        # a restart, not a reload: the cache's keys live in nginx's shared memory
        " && systemctl restart nginx",
    )
    fresh_bucket(bucket)
    ssh(edge, "systemctl start mastofleet-media-writeback.service")


def restore_shared_fleet(edge: str = "esme") -> DeployResult:
    """The shared local fleet as every other test expects it after a migration run: the edge deployed
    from inventories/local.py (no fallback, no migration units, no origin log) and the store empty."""
    restored = run_deploy("inventories/local.py", "--limit", edge)
    start_object_store()
    return restored
