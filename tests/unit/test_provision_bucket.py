"""The media bucket, made by `provision apply` on a real S3-compatible server on loopback (moto's server mode).

moto answers the S3 API over HTTP as DigitalOcean Spaces or Hetzner would, keeps bucket ACLs,
policies, CORS and lifecycle rules and answers CORS preflight requests. It does not refuse anonymous
requests, so "no public listing" is checked as the configuration that results (no public grant, a
policy that allows GetObject and nothing else), not by an anonymous request being refused.
"""

from __future__ import annotations

import json

import boto3
import pytest
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

from mastofleet.provision.errors import ProvisionError
from mastofleet.provision.storage import ENDPOINT_VARIABLE, apply_bucket, bucket_plan, storage_client

KEYS = ("test-access-key", "test-secret-key")


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def storage(s3_server, hetzner_fleet, monkeypatch, request):
    monkeypatch.setenv(ENDPOINT_VARIABLE, s3_server)
    name = "media-" + request.node.name.replace("_", "-")[5:40].strip("-")
    yield hetzner_fleet.object_storage.model_copy(update={"bucket": name})
    requests.post(f"{s3_server}/moto-api/reset", timeout=10)


def inspector(endpoint: str, region: str):
    """A plain boto3 client, to read back what provisioning left."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=KEYS[0],
        aws_secret_access_key=KEYS[1],
        config=Config(s3={"addressing_style": "path"}),
    )


def plan_and_apply(storage):
    plan = bucket_plan(storage, storage_client(storage, *KEYS))
    apply_bucket(plan)
    return plan


def test_apply_makes_a_private_bucket_with_public_objects_cors_and_an_upload_lifecycle(storage, s3_server):
    plan = plan_and_apply(storage)
    assert [(step.action, step.kind) for step in plan.steps] == [
        ("create", "bucket"),
        ("create", "policy"),
        ("create", "cors"),
        ("create", "lifecycle"),
    ]
    s3 = inspector(s3_server, storage.region)
    grants = s3.get_bucket_acl(Bucket=storage.bucket)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all(grant["Grantee"]["Type"] == "CanonicalUser" for grant in grants)  # no AllUsers: nobody lists it
    policy = json.loads(s3.get_bucket_policy(Bucket=storage.bucket)["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": "MastofleetPublicReadObjects",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{storage.bucket}/*",
        }
    ]
    cors = s3.get_bucket_cors(Bucket=storage.bucket)["CORSRules"]
    assert [(rule["AllowedOrigins"], sorted(rule["AllowedMethods"])) for rule in cors] == [(["*"], ["GET", "HEAD"])]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    assert [(rule["Status"], rule["AbortIncompleteMultipartUpload"]) for rule in rules] == [
        ("Enabled", {"DaysAfterInitiation": 1})
    ]
    again = bucket_plan(storage, storage_client(storage, *KEYS))
    assert again.steps == []


def test_the_store_answers_a_cross_origin_get_for_media(storage, s3_server):
    plan_and_apply(storage)
    s3 = inspector(s3_server, storage.region)
    s3.put_object(Bucket=storage.bucket, Key="media_attachments/1/original.png", Body=b"png", ACL="public-read")
    url = f"{s3_server}/{storage.bucket}/media_attachments/1/original.png"
    origin = "https://elsewhere.example"
    preflight = requests.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "GET"}, timeout=10)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)
    assert set(preflight.headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    answer = requests.get(url, headers={"Origin": origin}, timeout=10)
    assert answer.status_code == 200 and answer.content == b"png"
    assert answer.headers["Access-Control-Allow-Origin"] in ("*", origin)


def test_settings_changed_elsewhere_show_in_plan_and_apply_puts_them_back(storage, s3_server):
    plan_and_apply(storage)
    s3 = inspector(s3_server, storage.region)
    s3.put_bucket_acl(Bucket=storage.bucket, ACL="public-read")  # would let anyone list the bucket
    s3.put_bucket_policy(
        Bucket=storage.bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject", "s3:ListBucket"],
                        "Resource": [f"arn:aws:s3:::{storage.bucket}", f"arn:aws:s3:::{storage.bucket}/*"],
                    }
                ],
            }
        ),
    )
    s3.delete_bucket_cors(Bucket=storage.bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=storage.bucket,
        LifecycleConfiguration={
            "Rules": [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]
        },
    )
    plan = plan_and_apply(storage)
    assert [(step.action, step.kind) for step in plan.steps] == [
        ("change", "acl"),
        ("change", "policy"),
        ("create", "cors"),
        ("change", "lifecycle"),
    ]
    assert "drop READ for AllUsers" in plan.steps[0].detail
    grants = s3.get_bucket_acl(Bucket=storage.bucket)["Grants"]
    assert [grant["Grantee"]["Type"] for grant in grants] == ["CanonicalUser"]
    statements = json.loads(s3.get_bucket_policy(Bucket=storage.bucket)["Policy"])["Statement"]
    assert [statement["Action"] for statement in statements] == ["s3:GetObject"]
    assert [rule["ID"] for rule in s3.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]] == [
        "mastofleet-abort-incomplete-uploads"
    ]
    assert bucket_plan(storage, storage_client(storage, *KEYS)).steps == []


def test_a_bucket_that_exists_is_configured_not_created(storage, s3_server):
    inspector(s3_server, storage.region).create_bucket(
        Bucket=storage.bucket, CreateBucketConfiguration={"LocationConstraint": storage.region}
    )
    plan = plan_and_apply(storage)
    assert [step.kind for step in plan.steps] == ["policy", "cors", "lifecycle"]


def test_a_name_taken_by_another_account_meanwhile_stops_apply_with_what_was_not_done(storage, s3_server):
    plan = bucket_plan(storage, storage_client(storage, *KEYS))  # the name is free while planning
    other = inspector(s3_server, storage.region)
    other.meta.events.register(  # moto's way to act as another account
        "before-sign.s3.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", "111111111111")
    )
    other.create_bucket(Bucket=storage.bucket, CreateBucketConfiguration={"LocationConstraint": storage.region})
    with pytest.raises(ProvisionError) as stopped:
        apply_bucket(plan)
    assert str(stopped.value) == (
        f"create bucket {storage.bucket}: the bucket name {storage.bucket} is taken by another account (bucket "
        "names are shared by everyone on spaces); choose another object_storage.bucket\n"
        "done: nothing\n"
        "not attempted: create bucket policy, create bucket cors, create bucket lifecycle\n"
        "run `mastofleet provision apply` again to finish"
    )
