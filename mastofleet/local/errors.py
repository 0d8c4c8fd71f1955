"""The one exception the local fleet raises for problems an operator can fix."""


class LocalFleetError(Exception):
    """A step failed; the message names what failed and how to fix it."""
