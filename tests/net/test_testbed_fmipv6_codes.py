"""FMIPv6 on real packets beyond the accepting path (RFC 5568 §4, §6.2.1.2, §6.4.6): a NAR that
serves the PCoA (HAck Code 3 with NAACK status 4, and NAACK status 3), the NAR's unsolicited HAck
Code 4, and the PAR's simultaneous bindings. Each test reads the captured packets (decoded with
the wire layer) and the daemons' events; UDP echoes from the correspondent prove delivery."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mipshop.net.testbed import (
    HOME_ADDRESS,
    Testbed,
    TestbedOptions,
    care_of_address,
)
from mipshop.net.traffic import outages
from mipshop.wire.mh import FastBindingUpdate, HandoverAcknowledge, HandoverInitiate
from mipshop.wire.mh_options import AlternateCareOfAddress
from mipshop.wire.nd_options import NeighborAdvertisementAcknowledgment
from tests.net.test_testbed import binding, echo_server, packets, probe

pytestmark = pytest.mark.netns

PCOA, NCOA = care_of_address("ar1"), care_of_address("ar2")
NAR = "2001:db8:20::1"


def naacks(path: Path) -> list[int]:
    return [o.status for p in packets(path) for o in getattr(p.payload, "options", ())
            if isinstance(o, NeighborAdvertisementAcknowledgment)]


@pytest.mark.parametrize("case", ["hack_3", "naack_3"])
def test_the_nar_serves_the_pcoa_through_the_pars_tunnel(case: str, tmp_path: Path) -> None:
    nar = {"addresses_in_use": [str(NCOA)]}
    if case == "hack_3":
        nar["support_previous_care_of_address"] = True
    else:
        nar["naack_use_router_address"] = True
    options = TestbedOptions(protocol="fmipv6", predictive=case == "hack_3",
                             pcap=str(tmp_path / "mn.pcap"), capture_ports=("p-mn",),
                             extra_entity_settings={"ar2": {"fast_handover": nar}})
    with Testbed(options) as bed:
        bed.wait_for(lambda: binding(bed) == str(PCOA), what="home registration on ar1")
        echo_server(bed)
        bed.move("ar2", link_down=0.1)
        bed.wait_for(lambda: bed.events("ar2", "fmip.pcoa_served"), what="the PCoA served")
        # The home agent binds the PCoA (again, if the node's optimistic BU for the NCoA got
        # there before the NAACK); the PAR tunnels it to the NAR, which delivers it on its
        # link: the home address answers.
        bed.wait_for(lambda: binding(bed) == str(PCOA), what="the PCoA bound at home")
        assert bed.state("mn")["mobile_node"]["care_of_address"] == str(PCOA)
        assert probe(bed, 20)["received"] == 20
        tunnel = bed.events("ar1", "fmip.tunnel_up")[-1]["fields"]
        assert tunnel["endpoint"] == NAR
        delivered = bed.state("ar2")["entity_counters"].get("fmip.pcoa_delivered", 0)
        assert delivered >= 20
        bed.stop_capture()
    captured = packets(tmp_path / "mn.pcap")
    if case == "hack_3":
        assert naacks(tmp_path / "mn.pcap") == [4]
    else:
        assert naacks(tmp_path / "mn.pcap")[:1] == [3]
        fbu = [p for p in captured if isinstance(p.payload, FastBindingUpdate)][-1]
        assert str(fbu.src) == str(PCOA)
        assert [str(o.address) for o in fbu.payload.options
                if isinstance(o, AlternateCareOfAddress)] == [NAR]


def test_a_late_node_gets_its_par_asked_for_an_hi(tmp_path: Path) -> None:
    """The NAR's preparation runs out (PROXY_ND_LIFETIME set to 50 ms) before the node comes
    (its link is down 0.5 s): the NAR sends the PAR an unsolicited HAck Code 4, and the PAR
    answers with an HI Code 1 (RFC 5568 §6.2.1.2)."""
    options = TestbedOptions(protocol="fmipv6", extra_entity_settings={"ar2": {
        "fast_handover": {"proxy_lifetime": 0.05}}})
    with Testbed(options) as bed:
        bed.wait_for(lambda: binding(bed) == str(PCOA), what="home registration on ar1")
        capture = bed.capture(tmp_path / "core.pcap", ("c-ar1",), node="core",
                              signalling=True)
        bed.move("ar2", link_down=0.5)
        bed.wait_for(lambda: bed.events("ar1", "fmip.context_sent"), what="the HI Code 1")
        assert bed.events("ar2", "fmip.proxy_expired")
        time.sleep(0.2)
        capture.stop()
    captured = packets(tmp_path / "core.pcap")
    hacks = [p for p in captured if isinstance(p.payload, HandoverAcknowledge)]
    his = [p for p in captured if isinstance(p.payload, HandoverInitiate)]
    assert [h.payload.code for h in hacks] == [0, 4, 0]
    assert [h.payload.code for h in his] == [0, 1]


def test_simultaneous_bindings_deliver_on_the_old_link_until_the_node_leaves(
        tmp_path: Path) -> None:
    """The node stays 0.4 s on the old link after the FBack (``linger``); with a 1 s window
    the PAR delivers there as well as through the tunnel, so the stream has no outage while
    the node lingers and its link is down only 50 ms."""
    options = TestbedOptions(protocol="fmipv6", linger=0.4,
                             extra_entity_settings={"ar1": {"fast_handover": {
                                 "simultaneous_binding": 1.0}}})
    with Testbed(options) as bed:
        bed.wait_for(lambda: binding(bed) == str(PCOA), what="home registration on ar1")
        echo_server(bed)
        stream = bed.spawn("cn", [sys.executable, "-m", "mipshop.net.traffic", "probe", "--to",
                                  str(HOME_ADDRESS), "--count", "200", "--interval", "0.01",
                                  "--linger", "1"], name="probe", stdout=subprocess.PIPE)
        time.sleep(0.5)
        bed.move("ar2", link_down=0.05)
        out, _ = stream.popen.communicate(timeout=30)
        bicast = bed.state("ar1")["entity_counters"].get("fmip.bicast", 0)
        assert bicast >= 20  # 0.4 s of 100 datagrams/s went both ways
    runs = outages(json.loads(out))
    assert sum(r["lost"] for r in runs) <= 8, runs
