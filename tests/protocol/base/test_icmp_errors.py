"""``mobility_header_parameter_problem`` on its own: the RFC 4443 §2.4 rules a Parameter
Problem for a bad Mobility Header (RFC 6275 §9.2) obeys, on packets laid out byte by byte."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.icmp_errors import MINIMUM_MTU, mobility_header_parameter_problem
from mipshop.wire.checksum import upper_layer_checksum
from mipshop.wire.errors import MalformedPacket
from mipshop.wire.icmpv6 import ParameterProblem
from mipshop.wire.ipv6 import decode_packet
from tests.protocol.mipv6.test_parameter_problem import CN1, COA, raw_brr


def _error(raw: bytes) -> MalformedPacket:
    with pytest.raises(MalformedPacket) as caught:
        decode_packet(raw)
    return caught.value


@pytest.mark.parametrize(("case", "src", "dst"), [
    ("unicast source", CN1, COA),
    ("unspecified source", IPv6Address("::"), COA),  # RFC 4443 §2.4 (e): nobody to tell
    ("multicast source", IPv6Address("ff02::1"), COA),
    ("multicast destination", CN1, IPv6Address("ff02::1")),
])
def test_no_error_to_an_unspecified_or_multicast_address(case, src, dst):
    raw = raw_brr(src=src, dst=dst, payload_proto=6)
    problem = mobility_header_parameter_problem(raw, _error(raw))
    if case == "unicast source":
        assert problem is not None and (problem.src, problem.dst) == (COA, CN1)
    else:
        assert problem is None


def _long_mh(units: int) -> bytes:
    """A Binding Refresh Request with Payload Proto 6 and ``units`` more 8-octet units of
    Pad1 options (RFC 6275 §6.1.2, §6.2.2), its checksum right: 48 + 8 x units octets."""
    mh = bytearray(struct.pack("!BBBBHH", 6, units, 0, 0, 0, 0) + bytes(8 * units))
    mh[4:6] = upper_layer_checksum(CN1, COA, 135, bytes(mh)).to_bytes(2, "big")
    return struct.pack("!IHBB", 6 << 28, len(mh), 135, 64) + CN1.packed + COA.packed + bytes(mh)


def test_the_error_fits_in_the_minimum_mtu():
    # RFC 4443 §2.4 (c): as much of the invoking packet as fits in 1280 octets, no more.
    for units, kept in ((0, 48), (250, MINIMUM_MTU - 48)):
        raw = _long_mh(units)
        problem = mobility_header_parameter_problem(raw, _error(raw))
        assert problem is not None and isinstance(problem.payload, ParameterProblem)
        assert problem.payload.code == 0 and problem.payload.pointer == 40
        assert problem.payload.invoking_packet == raw[:kept]
