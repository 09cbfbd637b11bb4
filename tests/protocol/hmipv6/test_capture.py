"""An HMIPv6 scenario written to pcap: it decodes, and Wireshark finds nothing wrong.

The capture holds RAs with MAP options, local BUs (M flag) and their BAs with an RH2, the
home and correspondent registrations of the RCoA inside the LCoA -> MAP tunnel, double
encapsulated data, an intra-domain and an inter-domain move with the previous-MAP update.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet
from mipshop.wire.mh import BindingUpdate
from mipshop.wire.nd_options import MAPOption
from mipshop.wire.pcap import read_pcap
from tests.harness import innermost
from tests.protocol.hmip_scenario import build_hmip
from tests.protocol.scenario import CN_ADDRESSES, HOME_ADDRESS

CN1 = CN_ADDRESSES["cn1"]


def _hmip_scenario():
    scn = build_hmip(correspondents=("cn1",))
    mn, cn1 = scn.mn, scn.cns["cn1"]

    def up(now):
        mn.send_packet(IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(
            src_port=40000, dst_port=40001, data=b"up")), now)

    def down(now):
        cn1.send_packet(IPv6Packet(src=CN1, dst=HOME_ADDRESS, payload=UDPDatagram(
            src_port=40001, dst_port=40000, data=b"down")), now)

    scn.move("d1a", at=1.0)
    scn.net.at(2.5, up)  # before route optimisation: via the HA, doubly encapsulated
    scn.net.at(2.6, down)
    scn.net.at(8.0, up)
    scn.net.at(8.5, down)
    scn.move("d1b", at=10.0, link_down=0.05)
    scn.net.at(14.0, down)
    scn.move("d2a", at=20.0, link_down=0.05)
    scn.net.at(25.0, up)
    scn.net.at(25.5, down)
    scn.run(30)
    return scn


def _write(scn, path: Path) -> list[bytes]:
    assert scn.net.write_pcap(path) == len(scn.net.log)
    return [record.data for record in read_pcap(path)]


def test_every_captured_hmip_packet_decodes(tmp_path):
    scn = _hmip_scenario()
    packets = [decode_packet(p) for p in _write(scn, tmp_path / "hmipv6.pcap")]
    kinds = Counter(type(innermost(p).payload).__name__ for p in packets)
    for name in ("BindingUpdate", "BindingAcknowledgement", "HomeTestInit", "CareOfTestInit",
                 "HomeTest", "CareOfTest", "RouterAdvertisement", "UDPDatagram"):
        assert kinds[name] > 0, name
    local = [innermost(p) for p in packets if isinstance(innermost(p).payload, BindingUpdate)
             and innermost(p).payload.map_registration]
    assert len(local) >= 4  # MAP1, MAP1 after the move, MAP1 (previous) and MAP2
    maps = {o.address for p in packets for o in getattr(p.payload, "options", ())
            if isinstance(o, MAPOption)}
    assert len(maps) == 2
    depths = Counter()
    for p in packets:
        depth = 0
        while isinstance(p.payload, IPv6Packet):
            depth, p = depth + 1, p.payload
        depths[depth] += 1
    assert depths[2] > 0  # RFC 5380 §6.1: HA tunnel inside the MAP tunnel


@pytest.mark.tshark
def test_hmip_capture_dissects_cleanly_with_tshark(tmp_path):
    from tests import tshark_support

    scn = _hmip_scenario()
    path = tmp_path / "hmipv6.pcap"
    packets = _write(scn, path)
    trees = tshark_support.dissect_file(path)
    assert len(trees) == len(packets)
    for index, tree in enumerate(trees):
        assert tshark_support.problems(tree) == [], (index, decode_packet(packets[index]))
    # Every local BU shows the M flag; BUs to the HA and CNs do not set it.
    m_flags = Counter(v for tree in trees for v in tshark_support.fields(tree, "mip6.bu.m_flag"))
    local = sum(1 for p in packets if isinstance(innermost(decode_packet(p)).payload,
                                                 BindingUpdate)
                and innermost(decode_packet(p)).payload.map_registration)
    assert m_flags["1"] == local and m_flags["0"] > 0
    # The MAP option as Wireshark reads it: ND option type 23.
    types = {v for tree in trees for v in tshark_support.fields(tree, "icmpv6.opt.type")}
    assert "23" in types
