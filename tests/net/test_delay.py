"""The userspace delay element on the core router: path delays without netem."""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.net.delay import DelayElement, parse_link
from mipshop.net.errors import NetError
from mipshop.net.experiment import run_experiment


def _packet(src: str, dst: str) -> bytes:
    return bytes(8) + IPv6Address(src).packed + IPv6Address(dst).packed


def test_a_packet_is_held_for_the_links_of_its_source_and_destination() -> None:
    element = DelayElement([parse_link("2001:db8:1::/64=0.02"),
                            parse_link("2001:db8:100::/64=0.005"),
                            parse_link("2001:db8:1:1::/64=0.5")])
    assert element.delay(_packet("2001:db8:100::10", "2001:db8:1::100")) == pytest.approx(0.025)
    assert element.delay(_packet("2001:db8:10::1", "2001:db8:20::1")) == 0.0
    # The longest prefix wins.
    assert element.delay(_packet("2001:db8:1:1::1", "2001:db8:10::1")) == 0.5
    assert element.delay(b"short") == 0.0
    assert parse_link("2001:db8:1::/64=0.02") == (IPv6Network("2001:db8:1::/64"), 0.02)
    with pytest.raises(NetError, match="PREFIX=SECONDS"):
        parse_link("home=20")
    with pytest.raises(NetError, match="negative"):
        parse_link("2001:db8:1::/64=-1")


@pytest.mark.netns
def test_a_distant_home_agent_slows_mipv6_registration() -> None:
    """20 ms each way between the core and the home link: the home registration's BU/BA
    round trip crosses the core twice, so it costs at least 40 ms more than without delay
    (13-20 ms, the daemons' processing), and the disruption grows with it."""
    row = run_experiment(protocol="mipv6", handovers=2, dwell=1.0, delays={"home": 0.02})
    assert row["delays_ms"] == {"home": 20.0}
    assert 40 <= row["phases_ms"]["registration"] < 150, row["phases_ms"]
    # Link down (~110 ms) + RS/RA + the BU/BA round trip, and the CN -> HA leg's 20 ms is
    # paid by the packets before and after alike.
    assert row["disruption_ms"]["mean"] >= 140, row["disruption_ms"]
