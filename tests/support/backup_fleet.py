"""The backup bucket of the local fleet: an S3 server with TLS on `outsider`.

pgBackRest speaks S3 over TLS only, so the store for backups is Debian's python3-moto in server mode
on outsider's loopback behind nginx, which terminates TLS on port 9443 with a certificate of a CA made
here (`backup_store_directory()`); moto's own TLS (werkzeug) drops kept-alive connections without a
TLS close, which pgBackRest rightly refuses. It runs next to the plain-http media store of `media_fleet`. moto keeps objects in memory: a restart of the unit
(or of outsider) empties the bucket; `start_backup_store` therefore starts it only when it is not
already serving. It stands in for DigitalOcean Spaces / Hetzner's object storage, which cannot be
reached from here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mastofleet.local.machines import MACHINES, state_directory
from support.media_fleet import ssh, wait_for

STORE_HOST = "outsider"
STORE_PORT = 9443
MOTO_PORT = 9001  # on outsider's loopback, behind nginx
BUCKET = "hachyderm-backups"
UNIT = "mastofleet-test-backup-s3.service"
REMOTE_DIRECTORY = "/etc/mastofleet-test-backup-s3"

SERVICE = f"""[Unit]
Description=moto S3 server with TLS for the local fleet's backups (objects in memory)
After=network.target

[Service]
ExecStart=/usr/bin/python3 -m moto.server -H 127.0.0.1 -p {MOTO_PORT}
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


PROXY = f"""# TLS in front of the local backup store (moto on loopback), for pgBackRest.
server {{
    listen {{address}}:{STORE_PORT} ssl;
    ssl_certificate {REMOTE_DIRECTORY}/server.pem;
    ssl_certificate_key {REMOTE_DIRECTORY}/server.key;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    location / {{
        proxy_pass http://127.0.0.1:{MOTO_PORT};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_read_timeout 600s;
    }}
}}
"""


def backup_store_directory() -> Path:
    return state_directory() / "backup-s3"


def ca_path() -> Path:
    return backup_store_directory() / "ca.pem"


def endpoint() -> str:
    return f"https://{MACHINES[STORE_HOST].address}:{STORE_PORT}"


def _openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


def make_certificates() -> None:
    """A CA and a server certificate for outsider's address (once; kept in the state directory)."""
    directory = backup_store_directory()
    if (directory / "server.pem").exists() and ca_path().exists():
        return
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    address = MACHINES[STORE_HOST].address
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=mastofleet local backup CA",
        "-keyout",
        str(directory / "ca.key"),
        "-out",
        str(ca_path()),
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={address}",
        "-keyout",
        str(directory / "server.key"),
        "-out",
        str(directory / "server.csr"),
    )
    extensions = directory / "server.ext"
    extensions.write_text(
        f"subjectAltName=IP:{address}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(directory / "server.csr"),
        "-CA",
        str(ca_path()),
        "-CAkey",
        str(directory / "ca.key"),
        "-CAcreateserial",
        "-days",
        "3650",
        "-extfile",
        str(extensions),
        "-out",
        str(directory / "server.pem"),
    )


def serving() -> bool:
    """moto answers on outsider's loopback and nginx in front of it."""
    address = MACHINES[STORE_HOST].address
    check = f"nc -z -w 1 127.0.0.1 {MOTO_PORT} && nc -z -w 1 {address} {STORE_PORT} && echo up || true"
    return ssh(STORE_HOST, check).strip() == "up"


def start_backup_store(fresh: bool = False) -> str:
    """The TLS S3 server on outsider with the backup bucket; `fresh` empties it (a restart)."""
    make_certificates()
    if fresh or not serving():
        directory = backup_store_directory()
        address = MACHINES[STORE_HOST].address
        ssh(
            STORE_HOST,
            "export DEBIAN_FRONTEND=noninteractive; packages='python3-moto python3-flask-cors nginx';"
            " apt-get install -y -q $packages >/dev/null 2>&1 || { apt-get update -q >/dev/null"
            " && apt-get install -y -q $packages >/dev/null; }; command -v nginx >/dev/null && install -d /etc/nginx/conf.d",
        )
        ssh(STORE_HOST, f"install -d -m 700 {REMOTE_DIRECTORY}")
        for name in ("server.pem", "server.key"):
            ssh(
                STORE_HOST,
                f"cat > {REMOTE_DIRECTORY}/{name} && chmod 600 {REMOTE_DIRECTORY}/{name}",
                stdin=(directory / name).read_text(),
            )
        ssh(STORE_HOST, f"cat > /etc/systemd/system/{UNIT}", stdin=SERVICE.replace("{address}", address))
        ssh(STORE_HOST, "cat > /etc/nginx/conf.d/mastofleet-backup-s3.conf", stdin=PROXY.replace("{address}", address))
        ssh(STORE_HOST, f"systemctl daemon-reload && systemctl enable -q {UNIT} && systemctl restart {UNIT}")
        ssh(STORE_HOST, "nginx -t -q && systemctl enable -q nginx && systemctl reload-or-restart nginx")
        assert wait_for(serving, 60), f"the backup S3 server on {STORE_HOST} did not start"
    client().create_bucket(Bucket=BUCKET) if BUCKET not in buckets() else None
    return endpoint()


def client():  # type: ignore[no-untyped-def]
    """boto3 against the backup store, verifying its certificate (moto accepts any credentials)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint(),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto checks no credentials
        verify=str(ca_path()),
    )


def buckets() -> list[str]:
    return [bucket["Name"] for bucket in client().list_buckets().get("Buckets", [])]


def stop_backup_store() -> None:
    ssh(STORE_HOST, f"systemctl disable -q --now {UNIT} || true")


ARCHIVE_WAIT_SECONDS = 300


def archive_now(database: str = "postgres") -> None:
    """Close nixie's current WAL segment and wait until the archiver has shipped it."""
    import time

    def psql(query: str) -> str:
        return ssh("nixie", f'sudo -n -u postgres psql -XtAq -d {database} -c "{query}"').strip()

    segment = psql("SELECT pg_walfile_name(pg_switch_wal())")
    # Generous: after an outage the archiver first ships every segment still queued (up to the guard's
    # 256 MB) through the S3 stand-in, which is slow on a busy 2-core machine (120 s was once too little).
    deadline = time.monotonic() + ARCHIVE_WAIT_SECONDS
    while time.monotonic() < deadline:
        if psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= segment:
            return
        time.sleep(1)
    raise AssertionError(f"WAL segment {segment} was not archived within {ARCHIVE_WAIT_SECONDS} s")
