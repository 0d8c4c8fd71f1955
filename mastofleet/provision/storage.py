"""The media bucket on S3-compatible object storage (DigitalOcean Spaces, Hetzner, AWS), with boto3.

The bucket named in `object_storage` is made and kept like this, whole (a change made elsewhere
shows in plan, and apply puts it back):

* private: no public grant on the bucket, so nobody can list it;
* objects public-read through a bucket policy that lets everyone `s3:GetObject` the bucket's objects
  and nothing else (Mastodon also uploads with ACL public-read, S3_PERMISSION; the policy covers
  objects copied in without it, e.g. by rclone while migrating media);
* CORS: GET and HEAD from any origin, which Mastodon's service worker needs to fetch media;
* lifecycle: multipart uploads left incomplete are aborted after a day (they are billed otherwise).

The app reads the bucket through S3_ENDPOINT, S3_HOSTNAME, S3_REGION, S3_BUCKET and S3_ALIAS_HOST,
rendered into `.env.production` from the same `object_storage` section, so what is provisioned and
what the app is configured with cannot disagree.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mastofleet.model import ObjectStorage
from mastofleet.provision.errors import CredentialsError, ProvisionError

ENDPOINT_VARIABLE = "MASTOFLEET_OBJECT_STORAGE_ENDPOINT"  # another endpoint (a proxy, or a test server)
POLICY_SID = "MastofleetPublicReadObjects"
CORS_RULE = {
    "ID": "mastofleet-media",
    "AllowedOrigins": ["*"],
    "AllowedMethods": ["GET", "HEAD"],
    "AllowedHeaders": ["*"],
    "MaxAgeSeconds": 3000,
}
ABORT_AFTER_DAYS = 1
LIFECYCLE_RULE = {
    "ID": "mastofleet-abort-incomplete-uploads",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_AFTER_DAYS},
}
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
MISSING = ("NoSuchBucketPolicy", "NoSuchCORSConfiguration", "NoSuchLifecycleConfiguration")


def desired_policy(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": POLICY_SID,
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


@dataclass(frozen=True)
class BucketStep:
    action: str
    kind: str
    detail: str
    run: Callable[[Any], None]

    @property
    def title(self) -> str:
        return f"{self.action} bucket" if self.kind == "bucket" else f"{self.action} bucket {self.kind}"


@dataclass
class BucketPlan:
    storage: ObjectStorage
    endpoint: str
    client: Any
    steps: list[BucketStep] = field(default_factory=list)


def endpoint_of(storage: ObjectStorage) -> str:
    return os.environ.get(ENDPOINT_VARIABLE) or storage.endpoint


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


def storage_client(storage: ObjectStorage, access_key: str, secret_key: str) -> Any:
    """A boto3 S3 client for the store; virtual-hosted addressing, as Spaces and Hetzner document."""
    endpoint = endpoint_of(storage)
    host = urlsplit(endpoint).hostname or ""
    config = Config(
        s3={"addressing_style": "path" if _is_address(host) else "virtual"},
        # boto3 >= 1.36 sends CRC checksums by default, which some S3-compatible stores reject
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": 5},
    )
    return boto3.session.Session().client(
        "s3",
        region_name=storage.region,
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _explain(error: Exception, doing: str, storage: ObjectStorage) -> ProvisionError:
    if isinstance(error, ClientError):
        code = _code(error)
        if code == "403":  # a HEAD answer has no body: wrong keys, or a bucket of another account
            return CredentialsError(
                f"{doing}: the store at {endpoint_of(storage)} refused access to bucket {storage.bucket} (403): "
                "either the object storage keys are wrong (`mastofleet secrets set object_storage_access_key`) "
                "or the name belongs to another account (choose another object_storage.bucket)"
            )
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
            return CredentialsError(
                f"{doing}: the store at {endpoint_of(storage)} refused the object storage keys ({code}); check "
                "the secrets object_storage_access_key and object_storage_secret_key (`mastofleet secrets set`)"
            )
        if code == "BucketAlreadyExists":
            return ProvisionError(
                f"{doing}: the bucket name {storage.bucket} is taken by another account (bucket names are shared "
                f"by everyone on {storage.provider}); choose another object_storage.bucket"
            )
        return ProvisionError(
            f"{doing}: the store answered {code}: {error.response.get('Error', {}).get('Message', '')}"
        )
    return ProvisionError(f"{doing}: cannot reach the store at {endpoint_of(storage)} ({type(error).__name__})")


def _read(call: Callable[[], Any]) -> Any | None:
    """A bucket setting, or None when the bucket has none."""
    try:
        return call()
    except ClientError as error:
        if _code(error) in MISSING:
            return None
        raise


def _cors_key(rules: list[dict[str, Any]]) -> Any:
    return sorted(
        (
            sorted(rule.get("AllowedOrigins", [])),
            sorted(rule.get("AllowedMethods", [])),
            sorted(rule.get("AllowedHeaders", [])),
            rule.get("MaxAgeSeconds"),
            sorted(rule.get("ExposeHeaders", [])),
        )
        for rule in rules
    )


def _lifecycle_key(rules: list[dict[str, Any]]) -> Any:
    return sorted(
        (
            rule.get("ID"),
            rule.get("Status"),
            (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", "")),
            (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"),
            json.dumps(rule.get("Expiration"), sort_keys=True, default=str),
        )
        for rule in rules
    )


def _policy_key(policy: dict[str, Any]) -> Any:
    def one(value: Any) -> Any:
        return sorted(value) if isinstance(value, list) else [value]

    return sorted(
        (
            statement.get("Effect"),
            json.dumps(statement.get("Principal"), sort_keys=True),
            one(statement.get("Action")),
            one(statement.get("Resource")),
            json.dumps(statement.get("Condition"), sort_keys=True),
        )
        for statement in policy.get("Statement", [])
    )


def _public_grants(grants: list[dict[str, Any]]) -> list[str]:
    return [
        f"{grant['Permission']} for {grant['Grantee']['URI'].rsplit('/', 1)[-1]}"
        for grant in grants
        if grant.get("Grantee", {}).get("URI") in PUBLIC_GROUPS
    ]


def _create_bucket(storage: ObjectStorage) -> Callable[[Any], None]:
    def run(client: Any) -> None:
        arguments: dict[str, Any] = {"Bucket": storage.bucket, "ACL": "private"}
        constraint = {"CreateBucketConfiguration": {"LocationConstraint": storage.region}}
        if storage.provider == "s3" and storage.region != "us-east-1":
            arguments.update(constraint)
        try:
            client.create_bucket(**arguments)
        except ClientError as error:
            if _code(error) == "BucketAlreadyOwnedByYou":
                return
            # Spaces and Hetzner take the region from the endpoint; a store that wants it spelled out says so
            if _code(error) not in ("IllegalLocationConstraintException", "InvalidLocationConstraint"):
                raise
            client.create_bucket(**arguments, **constraint)

    return run


def _setting_steps(plan: BucketPlan, exists: bool) -> None:
    client, bucket = plan.client, plan.storage.bucket
    action = "change" if exists else "create"
    policy = _read(lambda: client.get_bucket_policy(Bucket=bucket)) if exists else None
    current = json.loads(policy["Policy"]) if policy else {}
    if _policy_key(current) != _policy_key(desired_policy(bucket)):
        plan.steps.append(
            BucketStep(
                action if policy else "create",
                "policy",
                "objects public-read (s3:GetObject for everyone), nothing else public",
                lambda client: client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(desired_policy(bucket))),
            )
        )
    cors = _read(lambda: client.get_bucket_cors(Bucket=bucket)) if exists else None
    if _cors_key((cors or {}).get("CORSRules", [])) != _cors_key([CORS_RULE]):
        plan.steps.append(
            BucketStep(
                action if cors else "create",
                "cors",
                "GET and HEAD from any origin (Mastodon's service worker fetches media)",
                lambda client: client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [CORS_RULE]}),
            )
        )
    lifecycle = _read(lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket)) if exists else None
    if _lifecycle_key((lifecycle or {}).get("Rules", [])) != _lifecycle_key([LIFECYCLE_RULE]):
        plan.steps.append(
            BucketStep(
                action if lifecycle else "create",
                "lifecycle",
                f"abort multipart uploads left incomplete after {ABORT_AFTER_DAYS} day",
                lambda client: client.put_bucket_lifecycle_configuration(
                    Bucket=bucket, LifecycleConfiguration={"Rules": [LIFECYCLE_RULE]}
                ),
            )
        )


def bucket_plan(storage: ObjectStorage, client: Any) -> BucketPlan:
    """Read the bucket and its settings; the steps that make it as described above."""
    plan = BucketPlan(storage, endpoint_of(storage), client)
    bucket = storage.bucket
    doing = f"reading bucket {bucket} at {plan.endpoint}"
    try:
        try:
            client.head_bucket(Bucket=bucket)
            exists = True
        except ClientError as error:
            if _code(error) not in ("404", "NoSuchBucket"):
                raise
            exists = False
        if not exists:
            plan.steps.append(
                BucketStep(
                    "create", "bucket", f"private (no public listing) at {plan.endpoint}", _create_bucket(storage)
                )
            )
        else:
            grants = _public_grants(client.get_bucket_acl(Bucket=bucket).get("Grants", []))
            if grants:
                plan.steps.append(
                    BucketStep(
                        "change",
                        "acl",
                        f"private: drop {', '.join(grants)} (public grants let anyone list the bucket)",
                        lambda client: client.put_bucket_acl(Bucket=bucket, ACL="private"),
                    )
                )
        _setting_steps(plan, exists)
    except (ClientError, BotoCoreError) as error:
        raise _explain(error, doing, storage) from None
    return plan


def apply_bucket(plan: BucketPlan, report: Callable[[BucketStep], None] = lambda step: None) -> list[BucketStep]:
    """Run the steps in order; on a failure the error says what was done and what was not."""
    done: list[BucketStep] = []
    for index, step in enumerate(plan.steps):
        try:
            step.run(plan.client)
        except (ClientError, BotoCoreError) as error:
            cause = _explain(error, f"{step.title} {plan.storage.bucket}", plan.storage)
            left = [later.title for later in plan.steps[index + 1 :]]
            raise type(cause)(
                f"{cause}\ndone: {', '.join(item.title for item in done) or 'nothing'}"
                f"\nnot attempted: {', '.join(left) or 'nothing'}"
                "\nrun `mastofleet provision apply` again to finish"
            ) from None
        done.append(step)
        report(step)
    return done
