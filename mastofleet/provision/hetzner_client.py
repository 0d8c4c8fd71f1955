"""The `hcloud` client from the environment, and Hetzner's errors turned into clear messages.

The token comes from HCLOUD_TOKEN (never printed); HCLOUD_ENDPOINT points the client elsewhere, as
hcloud's own CLI allows (the tests use it for the fake API). Rate limits need no code here: the
library retries `rate_limit_exceeded` (and `conflict`, `timeout`, 502/504) itself, five times with
exponential backoff and jitter; what reaches us after that is explained like any other error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from hcloud import APIException, Client
from hcloud.actions import ActionFailedException, ActionTimeoutException

from mastofleet.provision.errors import CredentialsError, ProvisionError

TOKEN_VARIABLE = "HCLOUD_TOKEN"
ENDPOINT_VARIABLE = "HCLOUD_ENDPOINT"
DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1"
CREATE_TOKEN = (
    "create one in the Hetzner Cloud Console (your project -> Security -> API tokens; Read & Write for "
    f"apply and destroy) and export {TOKEN_VARIABLE}"
)


def connect(poll_interval: float = 1.0) -> Client:
    """A client for the project of the token in HCLOUD_TOKEN."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise CredentialsError(f"{TOKEN_VARIABLE} is not set: {CREATE_TOKEN}")
    endpoint = os.environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT
    return Client(token=token, api_endpoint=endpoint, application_name="mastofleet", poll_interval=poll_interval)


def explain(error: APIException, doing: str) -> ProvisionError:
    """A message that says what was being done, what Hetzner answered and what to do about it."""
    code, message = error.code, error.message
    if code == "unauthorized" or code == 401:
        return CredentialsError(
            f"Hetzner refused the token in {TOKEN_VARIABLE} while {doing} (unauthorized): it is mistyped, "
            f"expired or deleted; {CREATE_TOKEN}"
        )
    if code == "token_readonly":
        return CredentialsError(
            f"the token in {TOKEN_VARIABLE} is read-only, so {doing} was refused: plan works with it, "
            "apply and destroy need a Read & Write token"
        )
    if code == "forbidden":
        return CredentialsError(f"the token in {TOKEN_VARIABLE} may not do this ({doing}): {message}")
    if code == "rate_limit_exceeded":
        return ProvisionError(
            f"Hetzner's rate limit (3600 requests an hour per project) was still exceeded while {doing}, "
            "after the library's retries with backoff; wait a few minutes and run the command again "
            "(it continues from what exists)"
        )
    if code == "uniqueness_error":
        return ProvisionError(
            f"{doing}: the name is already taken in this project ({message}); rename the other resource "
            "or, if it belongs to this fleet, label it fleet=<fleet name>"
        )
    if code in ("resource_unavailable", "unavailable", "placement_error"):
        return ProvisionError(
            f"{doing}: Hetzner cannot provide this right now ({code}: {message}); pick another server type "
            "or location (`mastofleet provision plan` lists what the location offers) or try again later"
        )
    if code == "resource_limit_exceeded":
        return ProvisionError(f"{doing}: a limit of the project is reached ({message}); ask Hetzner to raise it")
    if code == "protected":
        return ProvisionError(f"{doing}: the resource is protected ({message}); lift the protection first")
    return ProvisionError(f"{doing}: Hetzner answered {code}: {message}")


@contextmanager
def calling(doing: str) -> Iterator[None]:
    """Turn whatever the library raises while `doing` into a ProvisionError that says so."""
    try:
        yield
    except APIException as error:
        raise explain(error, doing) from None
    except ActionFailedException as error:
        failure: Any = error.action.error or {}
        raise ProvisionError(
            f"{doing}: Hetzner's action {error.action.command} failed: "
            f"{failure.get('code', 'error')}: {failure.get('message', 'no reason given')}"
        ) from None
    except ActionTimeoutException as error:
        raise ProvisionError(
            f"{doing}: Hetzner's action {error.action.command} ({error.action.id}) is still running; "
            "run the command again later, it continues from what exists"
        ) from None
    except requests.RequestException as error:
        raise ProvisionError(f"{doing}: cannot reach the Hetzner API ({type(error).__name__})") from None
