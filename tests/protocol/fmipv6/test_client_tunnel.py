"""The mobile node strips the PAR's tunnel (RFC 5568 §4: PAR -> NCoA) only from a packet that
is that tunnel: from its PAR, to its NCoA (or current care-of address), an IPv6 packet inside.
Another node cannot have packets delivered to it through a forged "PAR tunnel"."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encapsulate
from tests.protocol.fmip_scenario import build

STRANGER = IPv6Address("2001:db8:66::1")
INNER = IPv6Packet(src=IPv6Address("2001:db8:50::1"), dst=IPv6Address("2001:db8:10::ff:fe00:1"),
                   payload=UDPDatagram(src_port=7, dst_port=9, data=b"x"))


@pytest.mark.parametrize(("case", "taken"), [
    ("from the PAR to the NCoA", True),
    ("from another node to the NCoA", False),
    ("from the PAR to another address", False),
    ("from the PAR, no IPv6 packet inside", False),
])
def test_only_the_pars_tunnel_is_stripped(case, taken):
    scn = build()
    scn.move("nar", at=4.0)
    scn.run(5.5)  # arrived at the NAR, the handover complete, its PAR and NCoA known
    h = scn.fmip.handover
    assert h is not None and h.ncoa is not None
    src = STRANGER if case == "from another node to the NCoA" else h.par
    dst = STRANGER if case == "from the PAR to another address" else h.ncoa
    packet = encapsulate(INNER, src=src, dst=dst)
    if case == "from the PAR, no IPv6 packet inside":
        packet = IPv6Packet(src=src, dst=dst, payload=INNER.payload)
    assert scn.fmip.decapsulate(packet) == (INNER if taken else None)
