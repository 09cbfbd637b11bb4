"""A full scenario written to pcap: every packet decodes, and Wireshark finds nothing wrong."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, decode_packet
from mipshop.wire.pcap import read_pcap
from tests.harness import innermost
from tests.protocol.scenario import CN_ADDRESSES, HOME_ADDRESS, build

CN1 = CN_ADDRESSES["cn1"]


def _full_scenario():
    """DHAAD, registration, RR with two CNs, data, mobile prefix, handover, return home."""
    scn = build(correspondents=("cn1", "cn2"), mn={"home_agent": None})
    mn, cn1 = scn.mn, scn.cns["cn1"]

    def up(now):
        mn.send_packet(IPv6Packet(src=HOME_ADDRESS, dst=CN1, payload=UDPDatagram(
            src_port=40000, dst_port=40001, data=b"up")), now)

    def down(now):
        cn1.send_packet(IPv6Packet(src=CN1, dst=HOME_ADDRESS, payload=UDPDatagram(
            src_port=40001, dst_port=40000, data=b"down")), now)

    scn.move("visited1", at=1.0)
    for t in (8.0, 9.0):
        scn.net.at(t, up)
        scn.net.at(t + 0.5, down)
    scn.net.at(10.0, mn.solicit_mobile_prefix)
    scn.move("visited2", at=15.0, link_down=0.05)
    scn.net.at(25.0, up)
    scn.net.at(25.5, down)
    scn.move("home", at=30.0)
    scn.run(40)
    return scn


def _write(scn, path: Path) -> list[bytes]:
    assert scn.net.write_pcap(path) == len(scn.net.log)
    return [record.data for record in read_pcap(path)]


def test_every_captured_packet_decodes(tmp_path):
    scn = _full_scenario()
    packets = _write(scn, tmp_path / "mipv6.pcap")
    kinds = Counter(type(innermost(decode_packet(p)).payload).__name__ for p in packets)
    for name in ("BindingUpdate", "BindingAcknowledgement", "HomeTestInit", "CareOfTestInit",
                 "HomeTest", "CareOfTest", "RouterAdvertisement", "RouterSolicitation",
                 "HomeAgentAddressDiscoveryRequest", "HomeAgentAddressDiscoveryReply",
                 "MobilePrefixSolicitation", "MobilePrefixAdvertisement", "UDPDatagram",
                 "NeighborAdvertisement"):
        assert kinds[name] > 0, name
    assert scn.net.events_of("movement.home") and scn.net.events_of("home.deregistered")


@pytest.mark.tshark
def test_capture_dissects_cleanly_with_tshark(tmp_path):
    from tests import tshark_support

    scn = _full_scenario()
    path = tmp_path / "mipv6.pcap"
    packets = _write(scn, path)
    trees = tshark_support.dissect_file(path)
    assert len(trees) == len(packets)
    for index, tree in enumerate(trees):
        assert tshark_support.problems(tree) == [], (index, decode_packet(packets[index]))
    mh_types = {int(v) for tree in trees for v in tshark_support.fields(tree, "mip6.mhtype")}
    assert {1, 2, 3, 4, 5, 6} <= mh_types
