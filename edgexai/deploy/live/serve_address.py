"""`--serve [HOST:]PORT`: where the live view listens, checked when the arguments are parsed.

The host defaults to loopback: a vehicle's network is not trusted, so listening anywhere else
takes an explicit host (`0.0.0.0:8080`, `[::]:8080`).
"""

from __future__ import annotations

import argparse

DEFAULT_HOST = "127.0.0.1"
USAGE = "expected [HOST:]PORT, e.g. 8080 or 0.0.0.0:8080"


def serve_address(text: str) -> tuple[str, int]:
    """'8080' → ('127.0.0.1', 8080); 'HOST:PORT' and '[IPv6]:PORT' name the host; port 0 asks
    for any free port. An argparse `type=`: refusals are one-line ArgumentTypeErrors."""
    host, port_text = _split(text.strip(), text)
    if not (port_text.isascii() and port_text.isdigit()):
        raise argparse.ArgumentTypeError(f"{USAGE}, got {text!r}")
    port = int(port_text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return host, port


def _split(value: str, text: str) -> tuple[str, str]:
    """(host, port text); an IPv6 host needs its brackets (its colons would read as a port)."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not (bracket and host and rest.startswith(":")):
            raise argparse.ArgumentTypeError(f"{USAGE} or [::1]:8080, got {text!r}")
        return host, rest[1:]
    if ":" not in value:
        return DEFAULT_HOST, value
    host, _, port_text = value.rpartition(":")
    if ":" in host:
        raise argparse.ArgumentTypeError(f"{USAGE} or [::1]:8080 (IPv6 in brackets), got {text!r}")
    if not host or any(c.isspace() for c in host):
        raise argparse.ArgumentTypeError(f"{USAGE}, got {text!r}")
    return host, port_text
