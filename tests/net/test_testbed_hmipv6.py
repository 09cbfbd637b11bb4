"""HMIPv6 (RFC 5380) on real packets beyond the single-MAP registration: the RCoA as the source
of an application's traffic (§6.1), and HAck Code 3 at a MAP that anchors fast handovers
(RFC 4140 Appendix A, RFC 5568 §6.2.1.2). Captures are decoded with the wire layer; a plain
UDP echo server bound to the RCoA (the kernel's socket) and probes from the correspondent host
prove delivery."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mipshop.net.testbed import (
    CN_ADDRESS,
    HA_ADDRESS,
    MAP_ADDRESS,
    Testbed,
    TestbedOptions,
    care_of_address,
    regional_care_of_address,
)
from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram
from tests.net.test_testbed import binding, echo_server, packets, probe

pytestmark = pytest.mark.netns

RCOA = regional_care_of_address()
COA1, NCOA = care_of_address("ar1"), care_of_address("ar2")


def test_an_application_bound_to_the_rcoa_talks_through_the_map(tmp_path: Path) -> None:
    with Testbed(TestbedOptions(protocol="hmipv6", pcap=str(tmp_path / "mn.pcap"))) as bed:
        bed.wait_for(lambda: binding(bed) == str(RCOA), what="home registration of the RCoA")
        # The node's kernel holds the RCoA for its applications (HostAddress).
        process = bed.spawn("mn", [sys.executable, "-m", "mipshop.net.traffic", "echo",
                                   "--bind", str(RCOA), "--port", "9100"], name="echo-rcoa")
        bed.wait_for(lambda: "ready" in process.log.read_text(), what="the RCoA echo server")
        home_tunnelled = bed.state("ha")["entity_counters"].get("tunnel.encapsulated", 0)
        result = bed.exec("cn", [sys.executable, "-m", "mipshop.net.traffic", "probe", "--to",
                                 str(RCOA), "--port", "9100", "--count", "20", "--interval",
                                 "0.01", "--linger", "0.5"], timeout=60)
        assert '"received": 20' in result.stdout
        # The home agent carried none of it.
        assert bed.state("ha")["entity_counters"].get(
            "tunnel.encapsulated", 0) == home_tunnelled
        assert bed.state("mn")["entity_counters"]["local.sent"] >= 20
        echo_server(bed)
        assert probe(bed, 5)["received"] == 5  # the home address still works alongside
        bed.stop_capture()
    captured = packets(tmp_path / "mn.pcap")
    tunnelled = [p for p in captured if isinstance(p.payload, IPv6Packet)
                 and isinstance(p.payload.payload, UDPDatagram)
                 and 9100 in (p.payload.payload.src_port, p.payload.payload.dst_port)]
    down = [p for p in tunnelled if (p.src, p.dst) == (MAP_ADDRESS, COA1)]
    up = [p for p in tunnelled if (p.src, p.dst) == (COA1, MAP_ADDRESS)]
    assert len(down) >= 20 and len(up) >= 20
    assert all((p.payload.src, p.payload.dst) == (CN_ADDRESS, RCOA) for p in down)
    assert all((p.payload.src, p.payload.dst) == (RCOA, CN_ADDRESS) for p in up)
    assert not [p for p in tunnelled if HA_ADDRESS in (p.src, p.dst)]


def test_hack_3_at_the_map_anchor_the_nar_serves_the_lcoa(tmp_path: Path) -> None:
    nar = {"fast_handover": {"addresses_in_use": [str(NCOA)],
                             "support_previous_care_of_address": True}}
    options = TestbedOptions(protocol="fhmipv6", pcap=str(tmp_path / "mn.pcap"),
                             extra_entity_settings={"ar2": nar})
    with Testbed(options) as bed:
        bed.wait_for(lambda: binding(bed) == str(RCOA), what="home registration of the RCoA")
        echo_server(bed)
        bed.move("ar2", link_down=0.1)
        bed.wait_for(lambda: bed.events("ar2", "fmip.pcoa_served"), what="the LCoA served")
        assert [e["fields"]["code"] for e in bed.events("map", "fmip.hack")] == [3]
        assert [e["fields"]["status"] for e in bed.events("map", "fmip.fback_sent")] == [1]
        # The MAP binding stays on the old LCoA, now served by the NAR.
        assert bed.state("map")["binding_cache"][0]["care_of_address"] == str(COA1)
        assert bed.state("mn")["mobile_node"]["care_of_address"] == str(COA1)
        assert probe(bed, 20)["received"] == 20
        assert bed.state("ar2")["entity_counters"].get("fmip.pcoa_delivered", 0) >= 20
        bed.stop_capture()
    captured = packets(tmp_path / "mn.pcap")
    # On the new link: the MAP's tunnel to the old LCoA, delivered by the NAR.
    delivered = [p for p in captured if (p.src, p.dst) == (MAP_ADDRESS, COA1)
                 and isinstance(p.payload, IPv6Packet)]
    assert delivered


def test_two_maps_at_once(tmp_path: Path) -> None:
    """RFC 5380 §7.1, §9.1 on real packets: the node registers with the selected MAP and a
    second one (``additional_maps`` = 1); the home agent holds the first RCoA; an application
    bound to the second RCoA talks through the second MAP; a move updates both MAPs only."""
    from mipshop.net.testbed import MAP2_ADDRESS

    rcoa2 = regional_care_of_address("map2")
    options = TestbedOptions(protocol="hmipv6", maps=2, pcap=str(tmp_path / "mn.pcap"),
                             extra_entity_settings={"mn": {"map_client": {
                                 "additional_maps": 1}}})
    with Testbed(options) as bed:
        bed.wait_for(lambda: binding(bed) == str(RCOA), what="home registration of RCoA 1")
        bed.wait_for(lambda: bed.state("map2")["binding_cache"], what="the second MAP")
        assert [(e["home_address"], e["care_of_address"])
                for e in bed.state("map2")["binding_cache"]] == [(str(rcoa2), str(COA1))]
        process = bed.spawn("mn", [sys.executable, "-m", "mipshop.net.traffic", "echo",
                                   "--bind", str(rcoa2), "--port", "9100"], name="echo-rcoa2")
        bed.wait_for(lambda: "ready" in process.log.read_text(), what="the RCoA 2 echo")
        result = bed.exec("cn", [sys.executable, "-m", "mipshop.net.traffic", "probe", "--to",
                                 str(rcoa2), "--port", "9100", "--count", "10", "--interval",
                                 "0.01", "--linger", "0.5"], timeout=60)
        assert '"received": 10' in result.stdout
        bed.move("ar2", link_down=0.1)
        for node in ("map", "map2"):
            bed.wait_for(lambda n=node: bed.state(n)["binding_cache"][0]["care_of_address"]
                         == str(NCOA), what=f"{node} binding at ar2")
        assert len(bed.events("ha", "binding.registered")) == 1
        bed.stop_capture()
    captured = packets(tmp_path / "mn.pcap")
    down = [p for p in captured if (p.src, p.dst) == (MAP2_ADDRESS, COA1)
            and isinstance(p.payload, IPv6Packet) and p.payload.dst == rcoa2]
    assert len(down) >= 10
