"""Source addresses for the users' connections (--source-addresses): a network such as
127.0.0.0/8, or addresses separated by commas. Each connection takes the next address in
turn, each process starting at a random one. Towards one server port, every source address
has the kernel's whole ephemeral port range (about 28,000 ports), so tens of thousands of
connections from one machine need several of them; loopback has 127.0.0.0/8."""

from __future__ import annotations

import ipaddress
import random
from argparse import ArgumentTypeError
from urllib.parse import urlsplit

from wsharness.target import TargetError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def source_addresses(text: str) -> str:
    """The option's type: text if it names source addresses (or is empty), else one line."""
    _parse(text)
    return text


def _parse(text: str) -> list[Address] | ipaddress.IPv4Network | ipaddress.IPv6Network:
    text = text.strip()
    if not text:
        return []
    try:
        if "/" in text:
            return ipaddress.ip_network(text, strict=False)
        return [ipaddress.ip_address(part.strip()) for part in text.split(",")]
    except ValueError:
        raise ArgumentTypeError(f"expected a network (127.0.0.0/8) or addresses separated by "
                                f"commas, got {text!r}") from None


def check_reaching(text: str, url: str) -> None:
    """TargetError (one line) if the source addresses cannot reach the target named by its
    address: another IP version, or loopback on one side only (a host name is not checked)."""
    hostname = urlsplit(url).hostname or ""
    try:
        target = ipaddress.ip_address(hostname)
    except ValueError:
        return
    parsed = _parse(text)
    for address in parsed if isinstance(parsed, list) else [parsed.network_address]:
        if address.version != target.version:
            raise TargetError(f"--source-addresses {text}: IPv{address.version} addresses "
                              f"cannot reach the IPv{target.version} target {hostname}")
        if address.is_loopback != target.is_loopback:
            raise TargetError(f"--source-addresses {text}: {address} cannot reach "
                              f"{hostname} (loopback on one side only)")


class SourceAddresses:
    """The addresses of a --source-addresses value, one after another, round and round."""

    def __init__(self, text: str) -> None:
        parsed = _parse(text)
        if isinstance(parsed, list):
            self._first, self._count = 0, len(parsed)
            self._listed: list[Address] | None = parsed
            self._network = None
        else:
            # a network's hosts: all but its own address and, in IPv4, its broadcast address,
            # when it has them
            self._listed, self._network = None, parsed
            self._first = 1 if parsed.num_addresses > 2 else 0
            last = self._first if parsed.version == 4 else 0
            self._count = parsed.num_addresses - self._first - last
        self._next = random.randrange(self._count) if self._count else 0

    def __bool__(self) -> bool:
        return self._count > 0

    def __len__(self) -> int:
        return self._count

    def next(self) -> str | None:
        """The next source address, or None when there are none (the kernel's choice)."""
        if not self._count:
            return None
        index, self._next = self._next, (self._next + 1) % self._count
        if self._listed is not None:
            return str(self._listed[index])
        assert self._network is not None
        return str(self._network[self._first + index])
