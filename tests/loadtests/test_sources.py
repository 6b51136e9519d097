"""--source-addresses: a network's hosts or listed addresses, taken in turn by each connection."""

from __future__ import annotations

import ipaddress
from argparse import ArgumentTypeError

import pytest

from loadtests._sources import SourceAddresses, check_reaching, source_addresses
from wsharness.target import TargetError


def taken(addresses: SourceAddresses, count: int) -> list[str | None]:
    return [addresses.next() for _ in range(count)]


def test_listed_addresses_are_taken_in_turn_round_and_round() -> None:
    addresses = SourceAddresses("127.0.0.2, 127.0.0.3,127.0.0.4")
    first = taken(addresses, 3)
    assert sorted(a for a in first if a) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert taken(addresses, 6) == first * 2


def test_a_network_gives_its_hosts_only() -> None:
    addresses = SourceAddresses("127.0.0.0/29")
    assert len(addresses) == 6
    assert sorted(taken(addresses, 6), key=lambda a: ipaddress.ip_address(a or "")) == [
        f"127.0.0.{n}" for n in range(1, 7)]  # neither .0 nor .7, the broadcast address
    assert len(SourceAddresses("127.0.0.0/8")) == 2**24 - 2
    assert taken(SourceAddresses("127.0.0.9/32"), 2) == ["127.0.0.9"] * 2
    assert sorted(map(str, taken(SourceAddresses("fd00::/126"), 3))) == [
        "fd00::1", "fd00::2", "fd00::3"]  # IPv6 has no broadcast address


def test_none_given_leaves_the_choice_to_the_kernel() -> None:
    addresses = SourceAddresses("")
    assert not addresses
    assert addresses.next() is None


@pytest.mark.parametrize("bad", ["127.0.0.0/33", "localhost", "127.0.0.1,", "10.0.0.0/8/8"])
def test_a_value_that_names_no_addresses_is_refused_in_one_line(bad: str) -> None:
    with pytest.raises(ArgumentTypeError, match="expected a network"):
        source_addresses(bad)


@pytest.mark.parametrize(("sources", "url"), [
    ("127.0.0.0/8", "ws://127.0.0.1:8000"), ("::1", "http://[::1]:8000"),
    ("10.0.0.2,10.0.0.3", "wss://10.0.0.1"), ("127.0.0.0/8", "ws://localhost:8000"),
    ("", "ws://[::1]:8000")])
def test_sources_that_can_reach_the_target_pass(sources: str, url: str) -> None:
    check_reaching(sources, url)


@pytest.mark.parametrize(("sources", "url", "message"), [
    ("127.0.0.0/8", "ws://[::1]:8000", "IPv4 addresses cannot reach the IPv6 target ::1"),
    ("127.0.0.2", "ws://10.0.0.1:8000", "127.0.0.2 cannot reach 10.0.0.1"),
    ("10.0.0.2", "ws://127.0.0.1:8000", "10.0.0.2 cannot reach 127.0.0.1")])
def test_sources_that_cannot_reach_the_target_are_one_line(sources: str, url: str,
                                                           message: str) -> None:
    with pytest.raises(TargetError, match=message) as caught:
        check_reaching(sources, url)
    assert "\n" not in str(caught.value)
