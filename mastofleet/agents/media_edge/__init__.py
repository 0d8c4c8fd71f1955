"""Programs shipped to edge hosts for the media migration: the write-back service and the reports.

They run there under Debian's python3 with python3-boto3 and rclone, as `python3 -m media_edge.<name>`
(the deploy copies this directory to /usr/local/lib/mastofleet/media_edge), so they import only the
standard library, boto3 and each other (relatively).
"""
