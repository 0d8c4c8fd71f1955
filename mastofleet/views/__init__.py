"""Views: what follows from a fleet, computed from the model alone (no pyinfra, no roles).

Addresses and endpoints (environment, replication, Redis servers, search, metrics endpoints), the
firewall's openings, the rendered files' value types (config_file), the templates' renderer
(templating), the disk probe's script and verdict, and the tables and reference printed for the
operator. The roles and everything above them read these; they import only the model and each other.
"""
