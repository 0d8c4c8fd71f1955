class VagrantFleetError(Exception):
    """Something on this machine kept the Vagrant fleet from being built, booted or checked;
    the message says what failed and what to do."""
