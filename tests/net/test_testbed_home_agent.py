"""The home agent's Duplicate Address Detection on the testbed's home link (RFC 6275 §10.3.1,
RFC 4862 §5.4), read from a capture of the home agent's switch port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mipshop.net.testbed import HA_ADDRESS, HOME_ADDRESS, Testbed, TestbedOptions
from mipshop.protocol.base.addressing import solicited_node_address
from mipshop.protocol.base.constants import ND_RETRANS_TIMER
from mipshop.wire.icmpv6 import NeighborSolicitation
from mipshop.wire.ipv6 import decode_packet
from mipshop.wire.mh import BindingAcknowledgement
from mipshop.wire.pcap import read_pcap
from tests.net.test_testbed import COA1, binding

pytestmark = pytest.mark.netns


@pytest.fixture
def bed(tmp_path: Path) -> Iterator[Testbed]:
    with Testbed(TestbedOptions(pcap=str(tmp_path / "ha.pcap"),
                                capture_ports=("p-ha",))) as tb:
        yield tb


def test_the_first_registration_waits_for_dad_on_the_home_link(bed: Testbed,
                                                               tmp_path: Path) -> None:
    bed.wait_for(lambda: binding(bed) == str(COA1), what="home registration")
    bed.stop_capture()
    records = [(r.timestamp, decode_packet(r.data, verify_checksums=False))
               for r in read_pcap(tmp_path / "ha.pcap")]
    probes = [(t, p) for t, p in records if isinstance(p.payload, NeighborSolicitation)
              and p.payload.target == HOME_ADDRESS and p.src.is_unspecified]
    acks = [(t, p) for t, p in records if isinstance(p.payload, BindingAcknowledgement)
            and p.src == HA_ADDRESS and p.payload.status == 0]
    assert probes and acks
    # RFC 4862 §5.4.2: from ::, to the solicited-node group, hop limit 255, no options.
    probe_time, probe = probes[0]
    assert probe.dst == solicited_node_address(HOME_ADDRESS) and probe.hop_limit == 255
    assert probe.payload.options == ()
    # §10.3.1: the BA only after DAD (RetransTimer with no answer) is over.
    ack_time, _ack = acks[0]
    assert ack_time - probe_time >= ND_RETRANS_TIMER - 0.05
