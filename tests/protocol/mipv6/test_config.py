"""Configuration checks of the binding agents' security associations (RFC 6275 §10.3.1, §15.3).

Every MN-HA and MN-MAP security association names the one address it may register: a key
valid for any address of the prefix lets its holder claim every other node's address.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv6Address, IPv6Network

import pytest

from mipshop.protocol.base.config import RouterConfig
from mipshop.protocol.hmipv6.config import MapConfig
from mipshop.protocol.mipv6.config import HomeAgentConfig, MobileNodeConfig, MobilityCredentials
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation

PREFIX = IPv6Network("2001:db8:1::/64")
ROUTER = RouterConfig(address=IPv6Address("2001:db8:1::1"), prefix=PREFIX)
MAP = IPv6Address("2001:db8:a1::1")


def creds(spi: int, address: str | None) -> MobilityCredentials:
    return MobilityCredentials(
        identifier=f"mn{spi}@example.com".encode(),
        security_association=SecurityAssociation(spi=spi, key=b"k" * 16),
        home_address=None if address is None else IPv6Address(address))


BAD = [
    ((creds(1000, None),), "name no"),
    ((creds(1000, "2001:db8:99::1"),), "outside"),
    ((creds(1000, "2001:db8:1::10"), creds(1000, "2001:db8:1::11")), "SPI 1000 is used twice"),
]


@pytest.mark.parametrize(("credentials", "message"), BAD, ids=["no-address", "off-prefix",
                                                                 "duplicate-spi"])
def test_home_agent_refuses_a_security_association_without_its_own_address(credentials, message):
    with pytest.raises(ValueError, match=message):
        HomeAgentConfig(router=ROUTER, credentials=credentials)


@pytest.mark.parametrize(("credentials", "message"), [
    ((creds(1000, None),), "name no RCoA"),
    ((creds(1000, "2001:db8:1::10"),), "outside 2001:db8:a1::/64"),
    ((creds(1000, "2001:db8:a1::10"), creds(1000, "2001:db8:a1::11")), "used twice"),
], ids=["no-address", "off-prefix", "duplicate-spi"])
def test_map_refuses_a_security_association_without_its_own_rcoa(credentials, message):
    with pytest.raises(ValueError, match=message):
        MapConfig(address=MAP, credentials=credentials)


def test_valid_agent_credentials_are_accepted():
    both = (creds(1000, "2001:db8:1::10"), creds(1001, "2001:db8:1::11"))
    assert HomeAgentConfig(router=ROUTER, credentials=both).credentials == both
    rcoas = (creds(1000, "2001:db8:a1::10"),)
    assert MapConfig(address=MAP, credentials=rcoas).credentials == rcoas


def test_mobile_node_credentials_may_not_name_another_home_address():
    own = IPv6Address("2001:db8:1::10")
    base = dict(home_address=own, home_prefix=PREFIX)
    assert MobileNodeConfig(**base, credentials=creds(1000, None)).credentials is not None
    assert MobileNodeConfig(**base, credentials=creds(1000, str(own))).credentials is not None
    with pytest.raises(ValueError, match="another home address"):
        MobileNodeConfig(**base, credentials=creds(1000, "2001:db8:1::11"))
    assert dataclasses.replace(creds(1000, None), home_address=own).home_address == own
