"""The bucket as the media programs see it: a boto3 client, and what an object's MD5 is."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .settings import Settings

# rclone's name for the whole-file MD5 it stores on objects it uploads in parts; the write-back uses it too.
MD5_METADATA = "md5chksum"


def client(settings: Settings) -> Any:
    """An S3 client for the fleet's store; credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY."""
    config = Config(
        region_name=settings.region,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        # Plain Content-MD5 is what every S3-compatible store checks; newer CRC trailers are not.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
    )
    return boto3.client("s3", endpoint_url=settings.endpoint, config=config)


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The object's metadata, or None when there is no such object."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)  # type: ignore[no-any-return]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def stored_md5(metadata: dict[str, Any]) -> str | None:
    """The hex MD5 of a stored object: its ETag for a single-part upload, else the md5chksum metadata."""
    etag = str(metadata.get("ETag", "")).strip('"')
    if etag and "-" not in etag:
        return etag.lower()
    encoded = (metadata.get("Metadata") or {}).get(MD5_METADATA)
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).hex()
    except (binascii.Error, ValueError):
        return None
