"""Passerelle's edge, by package: cli, devstack, audit, reads, intake, platform."""
