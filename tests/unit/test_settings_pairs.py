"""Settings that need each other (issue 16, part 3): each invalid pair is refused with its own message.

Every case starts from the default fleet (`fleet_builder`) and changes one thing.
"""

from __future__ import annotations

import pytest
from fleet_builder import build, only, problems_of, wfm

from mastofleet.model.problems import Problem

# --- TLS --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"),
    [({"certificate": "/etc/ssl/site.pem"}, "key"), ({"key": "/etc/ssl/site.key"}, "certificate")],
)
def test_mode_files_without_one_of_its_paths(fleet_data, given, missing):
    hosts, common = fleet_data
    common["tls"] = {"mode": "files", **given}
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "tls",
        missing,
        f"mode 'files' reads the {missing} from a file on each lb and edge host, and no path is set",
        f"set tls.{missing} to the path of the PEM file on the hosts, or use mode 'certbot'",
    )


def test_mode_files_without_any_path_names_both(fleet_data):
    hosts, common = fleet_data
    common["tls"] = {"mode": "files"}
    assert [problem.field for problem in problems_of(hosts, common)[0]] == ["certificate", "key"]


def test_mode_files_with_both_paths_is_accepted(fleet_data):
    hosts, common = fleet_data
    common["tls"] = {"mode": "files", "certificate": "/etc/ssl/site.pem", "key": "/etc/ssl/site.key"}
    assert build(hosts, common).tls.mode == "files"


def test_certbot_without_an_email(fleet_data):
    hosts, common = fleet_data
    common["tls"] = {"mode": "certbot"}
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem) == (
        "tls",
        "email",
        "certbot registers a Let's Encrypt account with an e-mail address, and none is set",
    )


@pytest.mark.parametrize("email", ["admin", "admin@", "@example.com", "admin@example", "ad min@example.com"])
def test_certbot_with_an_address_that_is_no_email(fleet_data, email):
    hosts, common = fleet_data
    common["tls"] = {"mode": "certbot", "email": email}
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "tls",
        "email",
        f"'{email}' is not an e-mail address",
        "write email as local@domain, e.g. notifications@example.com",
    )


@pytest.mark.parametrize("mode", ["certbot", "self-signed"])
def test_a_certificate_path_the_mode_never_reads(fleet_data, mode):
    hosts, common = fleet_data
    common["tls"] = {"mode": mode, "email": "admin@hachyderm.example", "certificate": "/etc/ssl/site.pem"}
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem) == ("tls", "certificate", f"a certificate path is set, but mode '{mode}' never reads it")
    assert problem.fix == "set tls.mode to 'files' to use it, or remove tls.certificate"


# --- mail addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["notifications", "Mastodon", "notifications@localhost", "<notifications@x.example>"]
)
def test_a_from_address_that_is_no_email(fleet_data, address):
    hosts, common = fleet_data
    common["smtp"]["from_address"] = address
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "smtp",
        "from_address",
        f"'{address}' is not an e-mail address (SMTP_FROM_ADDRESS)",
        "write it as notifications@example.com or 'Mastodon <notifications@example.com>'",
    )


def test_a_from_address_with_a_display_name_is_accepted(fleet_data):
    hosts, common = fleet_data
    common["smtp"]["from_address"] = "Hachyderm <notifications@hachyderm.example>"
    assert build(hosts, common).smtp is not None


def test_an_alert_receiver_address_that_is_no_email(fleet_data):
    hosts, common = fleet_data
    common["monitoring"]["alertmanager"]["receivers"][0]["email_to"] = "ops"
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem) == (
        "monitoring",
        "alertmanager.receivers[operators].email_to",
        "'ops' is not an e-mail address",
    )


@pytest.mark.parametrize("field", ["login", "password"])
def test_an_smtp_login_the_auth_method_never_sends(fleet_data, field):
    hosts, common = fleet_data
    common["smtp"]["auth_method"] = "none"
    common["smtp"].pop("login" if field == "password" else "password")
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "smtp",
        field,
        f"a {field} is set, but auth_method 'none' never sends it",
        f"set smtp.auth_method to 'plain' or 'login' to use it, or remove smtp.{field}",
    )


def test_an_smtp_login_without_a_password(fleet_data):
    hosts, common = fleet_data
    del common["smtp"]["password"]
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "smtp",
        "password",
        "smtp.login is set without smtp.password: the mail server would refuse the login",
        "set smtp.password as a reference like 'secret:smtp_password', or remove smtp.login and set "
        "auth_method = 'none'",
    )


def test_an_smtp_password_without_a_login(fleet_data):
    hosts, common = fleet_data
    del common["smtp"]["login"]
    problem = only(problems_of(hosts, common)[0])
    assert (problem.field, problem.message) == (
        "login",
        "smtp.password is set without smtp.login: the mail server would refuse the login",
    )


# --- PostgreSQL's reserve ---------------------------------------------------------------------


def test_reserved_connections_leave_none_for_the_app(fleet_data):
    hosts, common = fleet_data
    common["postgres"]["reserved_connections"] = 300
    problems = problems_of(hosts, common)[0]
    assert (
        Problem(
            "postgres",
            "reserved_connections",
            "300 reserved of max_connections 300 leaves none for the app",
            "set reserved_connections below 300 (10 is plenty), or raise max_connections",
        )
        in problems
    )


# --- monitoring and its host ------------------------------------------------------------------


def _without_monitor(hosts):
    for host in hosts:
        host["groups"] = [group for group in host["groups"] if group != "monitor"]


def test_alertmanager_configured_without_a_monitor_host(fleet_data):
    hosts, common = fleet_data
    _without_monitor(hosts)
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "monitoring",
        "alertmanager",
        "Alertmanager and its receivers are set, but no host is in the group 'monitor': nothing would be scraped "
        "or alerted on",
        "put one host into the inventory group 'monitor', or set monitoring = {} for a fleet without monitoring",
    )


def test_monitoring_settings_without_a_monitor_host(fleet_data):
    hosts, common = fleet_data
    _without_monitor(hosts)
    common["monitoring"] = {"retention_days": 90}
    problem = only(problems_of(hosts, common)[0])
    assert wfm(problem)[:2] == ("monitoring", "(section)")
    assert problem.message.startswith("the monitoring settings are set, but no host is in the group 'monitor'")


# --- the media host ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["local_domain", "web_domain"])
def test_the_media_host_is_the_site(fleet_data, field):
    hosts, common = fleet_data
    common["instance"]["web_domain"] = "social.hachyderm.example"
    common["object_storage"]["alias_host"] = common["instance"][field]
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "object_storage",
        "alias_host",
        f"'{common['instance'][field]}' is also instance.{field}: media and the site would share one host name",
        "give media a host of its own, e.g. media.hachyderm.example",
    )


# --- bucket names -----------------------------------------------------------------------------

BUCKET_FIX = "use 3 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. "


@pytest.mark.parametrize(
    ("provider", "bucket", "fault", "example"),
    [
        ("spaces", "hm", "it has 2 characters", "mastodon-media"),
        ("spaces", "m" * 64, "it has 64 characters", "m" * 63),
        (
            "spaces",
            "Hachyderm-Media",
            "it holds characters other than a-z, 0-9, '.' and '-', or starts or ends with '.' or '-'",
            "hachyderm-media",
        ),
        (
            "hetzner",
            "hachyderm_media",
            "it holds characters other than a-z, 0-9, '.' and '-', or starts or ends with '.' or '-'",
            "hachyderm-media",
        ),
        (
            "s3",
            "-hachyderm",
            "it holds characters other than a-z, 0-9, '.' and '-', or starts or ends with '.' or '-'",
            "hachyderm",
        ),
        (
            "spaces",
            "media.hachyderm",
            "a dot in it breaks https to BUCKET.<endpoint host> (the certificate covers one label)",
            "media-hachyderm",
        ),
        ("s3", "xn--media", "Amazon reserves the prefix 'xn--'", "media"),
        ("s3", "sthree-media", "Amazon reserves the prefix 'sthree-'", "media"),
        ("s3", "media-s3alias", "Amazon reserves the suffix '-s3alias'", "media"),
        ("s3", "media--ol-s3", "Amazon reserves the suffix '--ol-s3'", "media"),
    ],
)
def test_a_bucket_name_the_provider_refuses(fleet_data, provider, bucket, fault, example):
    hosts, common = fleet_data
    common["object_storage"].update(provider=provider, bucket=bucket)
    if bucket.startswith(common["object_storage"]["alias_host"].split(".")[0]):
        common["object_storage"]["alias_host"] = "files.hachyderm.example"
    problem = only(problems_of(hosts, common)[0])
    assert problem == Problem(
        "object_storage", "bucket", f"'{bucket}' is not a bucket name {provider} accepts: {fault}", BUCKET_FIX + example
    )


def test_a_bucket_named_like_an_address_on_a_path_style_endpoint(fleet_data):
    hosts, common = fleet_data
    common["object_storage"].update(provider="s3", endpoint="http://10.0.1.9:9000", bucket="10.0.1.9")
    common["backup"]["endpoint"] = "https://fra1.digitaloceanspaces.com"  # pgBackRest wants https
    problem = only(problems_of(hosts, common)[0])
    assert problem.message == "'10.0.1.9' is not a bucket name s3 accepts: it is written as an IP address"


def test_amazon_names_are_fine_elsewhere_and_dots_on_a_path_style_endpoint(fleet_data):
    hosts, common = fleet_data
    common["object_storage"].update(bucket="xn--media")
    assert build(hosts, common).object_storage is not None
    common["object_storage"].update(provider="s3", endpoint="http://10.0.1.9:9000", bucket="media.hachyderm")
    common["backup"]["endpoint"] = "https://fra1.digitaloceanspaces.com"
    assert build(hosts, common).object_storage is not None


# --- one round: fixing what a message says never meets a second refusal ----------------------


def test_a_literal_removed_key_is_refused_once_as_removed(fleet_data):
    hosts, common = fleet_data
    common["instance"]["extra_environment"] = {"OTP_SECRET": "0123456789abcdef"}
    problems = problems_of(hosts, common)[0]
    assert [(problem.where, problem.field) for problem in problems] == [("instance", "extra_environment.OTP_SECRET")]
    assert "secret:" not in problems[0].fix
