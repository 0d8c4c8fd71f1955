"""Database operations across hosts: replication status, and the cutover from an old primary."""
