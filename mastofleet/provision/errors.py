"""Why provisioning stopped, phrased for the operator: what, where, and how to fix it."""

from __future__ import annotations


class ProvisionError(Exception):
    """Provisioning cannot go on; `exit_code` follows the CLI's convention (1 failed, 2 bad input)."""

    exit_code = 1


class CredentialsError(ProvisionError):
    """A token or key is missing, wrong or not allowed to do what was asked."""

    exit_code = 2
