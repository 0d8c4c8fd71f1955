"""The local fleet: Debian hosts booted with systemd-nspawn on this machine.

Each host is a real systemd machine (PID 1 is systemd) with its own address on the
bridge ``mf0``, reachable over SSH, so the same deploy and the same testinfra suite
that run against cloud hosts run here. ``mastofleet local up`` boots them,
``mastofleet local down`` removes them; see :mod:`mastofleet.commands.local`.
"""
