"""Stateful address configuration on real packets: the mobile node's DHCPv6 client (RFC 8415)
against the access router's DHCPv6 server, alone and under FMIPv6's PrRtAdv Code 5 (RFC 5568
§5.2, §6.1.2). The captured exchange is decoded with our codec and dissected by Wireshark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mipshop.net.testbed import (
    HOME_ADDRESS,
    Testbed,
    TestbedOptions,
    care_of_address,
    dhcp_address,
)
from mipshop.wire.dhcpv6 import (
    ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
    CLIENT_PORT,
    IANA,
    SERVER_PORT,
    DhcpMessageType,
    decode_dhcpv6,
)
from mipshop.wire.ipv6 import UDPDatagram
from mipshop.wire.pcap import read_pcap
from tests.net.test_testbed import binding, echo_server, packets, probe
from tests.tshark_support import dissect_file, problems

pytestmark = pytest.mark.netns

M = DhcpMessageType
COA1, LEASED = care_of_address("ar1"), dhcp_address("ar2")


def exchange(path: Path) -> list:
    """The DHCPv6 messages captured, decoded."""
    return [(p, decode_dhcpv6(p.payload.data)) for p in packets(path)
            if isinstance(p.payload, UDPDatagram)
            and p.payload.dst_port in (CLIENT_PORT, SERVER_PORT)]


@pytest.fixture(params=["mipv6", "fmipv6"])
def bed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Testbed]:
    options = TestbedOptions(protocol=request.param, dhcp_links=("ar2",),
                             pcap=str(tmp_path / "mn.pcap"))
    with Testbed(options) as tb:
        yield tb


def test_the_care_of_address_on_a_managed_link_comes_from_dhcpv6(bed: Testbed,
                                                                  tmp_path: Path) -> None:
    bed.wait_for(lambda: binding(bed) == str(COA1), what="home registration on ar1")
    echo_server(bed)
    bed.move("ar2", link_down=0.1)
    bed.wait_for(lambda: binding(bed) == str(LEASED), what="registration of the leased address")
    assert bed.state("mn")["mobile_node"]["care_of_address"] == str(LEASED)
    assert probe(bed, 10)["received"] == 10  # the home address works through the lease
    fast = bed.options.protocol == "fmipv6"
    if fast:
        prrtadvs = bed.events("mn", "fmip.prrtadv")
        assert prrtadvs and prrtadvs[-1]["fields"]["code"] == 5
        assert [e["fields"]["code"] for e in bed.events("ar1", "fmip.hack")] == [3]
        assert bed.events("ar2", "fmip.pcoa_served")
        assert bed.events("mn", "fmip.handover_complete")[-1]["fields"]["ncoa"] == str(LEASED)
    bed.stop_capture()
    messages = exchange(tmp_path / "mn.pcap")
    kinds = [m.msg_type for _p, m in messages]
    assert kinds[:4] == [M.SOLICIT, M.ADVERTISE, M.REQUEST, M.REPLY]
    solicit = messages[0][0]
    assert solicit.src.is_link_local and solicit.dst == ALL_DHCP_RELAY_AGENTS_AND_SERVERS
    assert messages[3][1].option(IANA).addresses[0].address == LEASED
    # Wireshark reads the exchange as RFC 8415 lays it out, with no expert complaints.
    layers = [packet for packet in dissect_file(tmp_path / "mn.pcap", extra=["-Y", "dhcpv6"])]
    assert [packet["dhcpv6"]["dhcpv6.msgtype"] for packet in layers][:4] == ["1", "2", "3", "7"]
    assert not [problems(packet) for packet in layers if problems(packet)]
    assert len(list(read_pcap(tmp_path / "mn.pcap"))) > len(layers)
    assert HOME_ADDRESS  # the probe above went to it
