"""Where the tests serve: this machine's address beside loopback, for callers that must not look local."""

import ipaddress
import socket


def lan_address() -> str | None:
    """Return this machine's IPv4 address on its network (not loopback), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a UDP "connect" sends nothing: it only picks the route
        except OSError:
            return None
        host = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(host).is_loopback else host
