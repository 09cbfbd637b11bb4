"""The action builders entities use on every message make what the constructors make."""

from __future__ import annotations

from ipaddress import IPv6Address

from mipshop.protocol.base.actions import (
    BindingRecord,
    Claim,
    Event,
    PersistBinding,
    PersistReplay,
    Transmit,
    new_binding_record,
    new_claim,
    new_event,
    new_persist_binding,
    new_persist_replay,
    new_transmit,
)
from mipshop.wire.ipv6 import IPv6Packet

A = IPv6Address("2001:db8::1")
B = IPv6Address("2001:db8::2")


def _same(built: object, constructed: object) -> None:
    assert built == constructed and type(built) is type(constructed)
    assert repr(built) == repr(constructed)


def test_new_event_is_the_constructed_event() -> None:
    fields = {"home_address": A, "lifetime": 8}
    _same(new_event(1.5, "ha", "binding.registered", fields),
          Event(time=1.5, node="ha", kind="binding.registered", fields=fields))


def test_new_transmit_is_the_constructed_transmit() -> None:
    packet = IPv6Packet(src=A, dst=B, payload=None)
    _same(new_transmit(packet, "home", None), Transmit(packet=packet, interface="home"))
    _same(new_transmit(packet, None, b"\x02" * 6),
          Transmit(packet=packet, link_destination=b"\x02" * 6))


def test_new_binding_record_is_the_constructed_record() -> None:
    _same(new_binding_record(A, B, 7, 40.0, 1e9, True, False, True, b"mn", 300, False),
          BindingRecord(home_address=A, care_of_address=B, sequence=7, lifetime=40.0,
                        registered_at=1e9, home_registration=True, link_local_compat=True,
                        owner=b"mn", spi=300))


def test_new_claim_is_the_constructed_claim() -> None:
    _same(new_claim(A, True, "home"), Claim(address=A, proxy_interface="home"))
    _same(new_claim(A, False, None), Claim(address=A, active=False))


def test_new_persist_binding_and_replay_are_the_constructed_actions() -> None:
    record = BindingRecord(home_address=A, care_of_address=B, sequence=1, lifetime=8.0,
                           registered_at=2.0)
    _same(new_persist_binding(record), PersistBinding(binding=record))
    _same(new_persist_replay(b"mn@example.com", 300, 7 << 32),
          PersistReplay(identity=b"mn@example.com", spi=300, timestamp=7 << 32))
