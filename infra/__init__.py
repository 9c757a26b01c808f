"""Operational tooling: the `delaktig` command, the local launcher, deployment files."""
