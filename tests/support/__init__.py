"""Helpers for the fleet tests: run a deploy and read its results, reach hosts with testinfra."""
