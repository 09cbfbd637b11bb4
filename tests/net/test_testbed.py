"""The namespace testbed on real packets: registration, handover, return home, clean-up.

Each check reads the captured packets (decoded with the wire layer) and the home
agent's binding cache dump; UDP datagrams from the correspondent to the home address prove
the tunnels carry data. Every test removes everything it created (see conftest).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from mipshop.net.errors import NetError
from mipshop.net.experiment import run_experiment
from mipshop.net.testbed import (
    CN_ADDRESS,
    HA_ADDRESS,
    HOME_ADDRESS,
    MAP_ADDRESS,
    NS_PREFIX,
    Testbed,
    TestbedOptions,
    care_of_address,
    list_namespaces,
    regional_care_of_address,
    remove_stale_namespaces,
    run,
)
from mipshop.net.traffic import downlink_lost, outages
from mipshop.protocol.base.constants import MAX_RA_DELAY_TIME
from mipshop.wire.errors import MalformedPacket
from mipshop.wire.ipv6 import IPv6Packet, RawPayload, UDPDatagram, decode_packet
from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
from mipshop.wire.pcap import read_pcap

pytestmark = pytest.mark.netns

COA1, COA2 = care_of_address("ar1"), care_of_address("ar2")


def packets(path: Path) -> list[IPv6Packet]:
    """Decode a capture; signalling must have right checksums.

    A socket's UDP/TCP packet crossing veths keeps the sender's offloaded (partial) checksum
    until a real device completes it, so a tap sees it unfinished: such data packets are
    decoded without the check.
    """
    out = []
    for record in read_pcap(path):
        try:
            out.append(decode_packet(record.data))
        except MalformedPacket:
            packet = decode_packet(record.data, verify_checksums=False)
            assert isinstance(packet.payload, UDPDatagram | RawPayload), packet
            out.append(packet)
    return out


def binding_updates(path: Path) -> list[IPv6Packet]:
    return [p for p in packets(path) if isinstance(p.payload, BindingUpdate)]


def binding_acks(path: Path) -> list[IPv6Packet]:
    return [p for p in packets(path) if isinstance(p.payload, BindingAcknowledgement)]


def binding(tb: Testbed) -> str | None:
    cache = tb.state("ha")["binding_cache"]
    return cache[0]["care_of_address"] if cache else None


def echo_server(tb: Testbed, log: Path | None = None) -> None:
    extra = ["--log", str(log)] if log else []
    process = tb.spawn("mn", [sys.executable, "-m", "mipshop.net.traffic", "echo",
                              "--bind", str(HOME_ADDRESS), *extra], name="echo")
    tb.wait_for(lambda: "ready" in process.log.read_text(), what="the echo server")


def probe(tb: Testbed, count: int, interval: float = 0.01) -> dict:
    result = tb.exec("cn", [sys.executable, "-m", "mipshop.net.traffic", "probe", "--to",
                            str(HOME_ADDRESS), "--count", str(count), "--interval",
                            str(interval), "--linger", "0.5"], timeout=60)
    return json.loads(result.stdout)


@pytest.fixture
def bed(tmp_path: Path) -> Iterator[Testbed]:
    with Testbed(TestbedOptions(pcap=str(tmp_path / "mn.pcap"))) as tb:
        yield tb


def test_home_registration_on_real_packets(bed: Testbed, tmp_path: Path) -> None:
    assert bed.wait_for(lambda: binding(bed) == str(COA1), what="home registration")
    registered = bed.events("ha", "binding.registered")
    assert registered and registered[0]["fields"]["care_of_address"] == str(COA1)
    assert registered[0]["fields"]["home_address"] == str(HOME_ADDRESS)
    echo_server(bed)
    report = probe(bed, 20)
    assert report["received"] == 20, report["lost"]
    bed.stop_capture()
    # The BU left the mobile node from its care-of address with the Home Address option
    # (RFC 6275 §6.1.7, §11.7.1), the BA came back with a Type 2 Routing Header (§6.1.8).
    bu = binding_updates(tmp_path / "mn.pcap")[0]
    assert (bu.src, bu.dst, bu.home_address) == (COA1, HA_ADDRESS, HOME_ADDRESS)
    assert bu.payload.home_registration and bu.payload.ack
    ba = binding_acks(tmp_path / "mn.pcap")[0]
    assert (ba.src, ba.dst, ba.routing_home_address) == (HA_ADDRESS, COA1, HOME_ADDRESS)
    assert ba.payload.status == 0 and ba.payload.sequence == bu.payload.sequence
    # The data went through the tunnel: CN -> HA -> CoA, and back reverse-tunnelled.
    tunnelled = [p for p in packets(tmp_path / "mn.pcap") if isinstance(p.payload, IPv6Packet)]
    inbound = [p for p in tunnelled if p.src == HA_ADDRESS and p.dst == COA1]
    outbound = [p for p in tunnelled if p.src == COA1 and p.dst == HA_ADDRESS]
    assert len(inbound) >= 20 and len(outbound) >= 20
    assert inbound[0].payload.src == CN_ADDRESS and inbound[0].payload.dst == HOME_ADDRESS


def test_handover_and_return_home(bed: Testbed, tmp_path: Path) -> None:
    bed.wait_for(lambda: binding(bed) == str(COA1), what="home registration")
    echo_server(bed)
    bed.move("ar2", link_down=0.1)
    bed.wait_for(lambda: binding(bed) == str(COA2), what="re-registration from ar2")
    assert bed.state("mn")["mobile_node"]["care_of_address"] == str(COA2)
    assert probe(bed, 10)["received"] == 10
    bed.move("home", link_down=0.1)
    bed.wait_for(lambda: bed.state("ha")["binding_cache"] == [], what="de-registration")
    state = bed.state("mn")["mobile_node"]
    assert state["at_home"] is True and state["care_of_address"] is None
    assert bed.events("ha", "binding.deregistered")
    # At home the home address is the mobile node's own again (no proxy at the HA).
    assert str(HOME_ADDRESS) not in bed.state("ha")["claimed"]
    assert bed.wait_for(lambda: probe(bed, 10)["received"] == 10, what="traffic at home")
    bed.stop_capture()
    bus = binding_updates(tmp_path / "mn.pcap")
    sources = [(p.src, p.home_address) for p in bus]
    assert (COA2, HOME_ADDRESS) in sources
    # RFC 6275 §11.5.5: the de-registration goes from the home address, lifetime 0.
    dereg = [p for p in bus if p.payload.lifetime == 0]
    assert dereg and dereg[0].src == HOME_ADDRESS and dereg[0].dst == HA_ADDRESS
    acks = binding_acks(tmp_path / "mn.pcap")
    assert any(a.dst == HOME_ADDRESS and a.payload.status == 0 for a in acks)


def test_udp_stream_across_three_handovers(bed: Testbed) -> None:
    """CN -> home address -> CN echoes at 100 datagrams/s across 3 handovers (100 ms down).

    Base MIPv6 loses what falls in each handover's disruption: the link-down time plus
    movement detection (RS, then the RA after RFC 4861 §6.2.6's random 0-500 ms) and the
    home registration round trip; without that delay about 120-130 ms, 12-13 datagrams per
    handover.
    """
    bed.wait_for(lambda: binding(bed) == str(COA1), what="home registration")
    echo_server(bed)
    interval, count, link_down = 0.01, 600, 0.1
    stream = bed.spawn("cn", [sys.executable, "-m", "mipshop.net.traffic", "probe", "--to",
                              str(HOME_ADDRESS), "--count", str(count), "--interval",
                              str(interval), "--linger", "1"], name="probe",
                       stdout=subprocess.PIPE)
    time.sleep(1.0)
    for target in ("ar2", "ar1", "ar2"):
        bed.move(target, link_down=link_down)
        bed.wait_for(lambda t=target: binding(bed) == str(care_of_address(t)),
                     what=f"registration from {target}")
        time.sleep(0.8)
    out, _ = stream.popen.communicate(timeout=30)
    runs = outages(json.loads(out))
    handovers = [r for r in runs if r["lost"] >= 3]
    assert len(handovers) == 3, runs
    assert sum(r["lost"] for r in runs if r["lost"] < 3) <= 3, runs  # no loss elsewhere
    for run_ in handovers:
        # The link is down for 100 ms; the RA waits up to MAX_RA_DELAY_TIME; RS/RA and the
        # BU/BA exchange take milliseconds here.
        assert link_down - 2 * interval <= run_["duration"] < (
            link_down + MAX_RA_DELAY_TIME + 0.4), runs
    assert binding(bed) == str(COA2)


def test_tcp_download_survives_five_handovers(bed: Testbed) -> None:
    """A real Linux TCP connection over the home address: 20 MB at 2.5 MB/s, 5 handovers."""
    bed.wait_for(lambda: binding(bed) == str(COA1), what="home registration")
    size = 20_000_000
    server = bed.spawn("cn", [sys.executable, "-m", "mipshop.net.traffic", "serve", "--size",
                              str(size), "--rate", "2500000"], name="serve",
                       stdout=subprocess.PIPE)
    assert server.popen.stdout is not None
    assert json.loads(server.popen.stdout.readline())["ready"]
    client = bed.spawn("mn", [sys.executable, "-m", "mipshop.net.traffic", "fetch", "--from",
                              str(CN_ADDRESS), "--bind", str(HOME_ADDRESS)], name="fetch",
                       stdout=subprocess.PIPE)
    time.sleep(1.0)
    for target in ("ar2", "ar1", "ar2", "ar1", "ar2"):
        bed.move(target, link_down=0.1)
        time.sleep(1.0)
    fetched = json.loads(client.popen.communicate(timeout=40)[0])
    served = json.loads(server.popen.communicate(timeout=10)[0])
    assert fetched["error"] is None and served["error"] is None  # never reset
    assert fetched["received"] == served["sent"] == size
    assert fetched["sha256"] == served["sha256"]
    moves = [e for e in bed.events("mn", "movement.detected")]
    assert len(moves) == 6  # the first attachment and 5 handovers, all during the transfer


def test_nothing_left_after_a_failure() -> None:
    with pytest.raises(RuntimeError, match="boom"), Testbed() as tb:
        names = list(tb.ns.values())
        pids = [p.popen.pid for p in tb.processes]
        raise RuntimeError("boom")
    assert not set(names) & set(list_namespaces())
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_dead_daemon_is_reported_and_cleaned() -> None:
    with pytest.raises(NetError, match="daemon ha died"), Testbed() as tb:
        names = list(tb.ns.values())
        os.kill(tb.daemons["ha"].popen.pid, signal.SIGKILL)
        tb.wait_for(lambda: False, timeout=5)
    assert not set(names) & set(list_namespaces())


def test_stale_namespaces_of_dead_runs_are_removed() -> None:
    stale = f"{NS_PREFIX}999999999x1-cn"  # no such pid
    run(["ip", "netns", "add", stale])
    try:
        assert stale in remove_stale_namespaces()
        assert stale not in list_namespaces()
    finally:
        run(["ip", "netns", "del", stale], check=False)


def test_predictive_fmipv6_across_three_handovers(tmp_path: Path) -> None:
    """RFC 5568 predictive mode on real packets: RtSolPr/PrRtAdv, FBU from the PAR's link,
    HI/HAck between the routers, FBack, then the L2 handoff; the NAR buffers what the PAR
    tunnels to the NCoA and flushes it on the UNA. Base MIPv6 loses 12-13 datagrams per
    handover here (test above); FMIPv6 loses nothing."""
    options = TestbedOptions(protocol="fmipv6", pcap=str(tmp_path / "mn.pcap"))
    with Testbed(options) as tb:
        tb.wait_for(lambda: binding(tb) == str(COA1), what="home registration")
        echo_server(tb, tmp_path / "received.txt")
        interval, count = 0.01, 500
        stream = tb.spawn("cn", [sys.executable, "-m", "mipshop.net.traffic", "probe", "--to",
                                 str(HOME_ADDRESS), "--count", str(count), "--interval",
                                 str(interval), "--linger", "1"], name="probe",
                          stdout=subprocess.PIPE)
        time.sleep(1.0)
        for target in ("ar2", "ar1", "ar2"):
            tb.move(target, link_down=0.1)
            tb.wait_for(lambda t=target: binding(tb) == str(care_of_address(t)),
                        what=f"registration from {target}")
            time.sleep(0.9)
        report = json.loads(stream.popen.communicate(timeout=30)[0])
        fbus = tb.events("mn", "fmip.fbu_sent")
        flushed = tb.events("ar1", "fmip.flushed") + tb.events("ar2", "fmip.flushed")
        tb.stop_capture()
    assert [e["fields"]["mode"] for e in fbus] == ["predictive"] * 3
    assert len(flushed) == 3 and all(e["fields"]["packets"] >= 5 for e in flushed)
    # Downlink (CN -> home address), what FMIPv6 protects: MIPv6 loses ~39 here.
    assert downlink_lost(report, str(tmp_path / "received.txt")) == [], outages(report)
    # Round trips also count the mobile node's answers sent while its link is down (RFC 5568
    # buffers only towards the mobile node).
    assert len(report["lost"]) <= 3 * 6, outages(report)
    # The FBU went from the PCoA to the PAR on the old link (RFC 5568 §6.2.1).
    captured = packets(tmp_path / "mn.pcap")
    fbu = [p for p in captured if type(p.payload).__name__ == "FastBindingUpdate"]
    assert fbu and fbu[0].src == COA1 and fbu[0].dst == IPv6Address("2001:db8:10::1")


def test_a_taken_namespace_name_is_refused_and_left_alone() -> None:
    tb = Testbed()
    taken = tb.ns["cn"]
    run(["ip", "netns", "add", taken])
    try:
        with pytest.raises(NetError, match=f"namespace name {taken} is already taken"), tb:
            pass
        assert taken in list_namespaces()  # not ours to remove
        assert tb.ns["sw"] not in list_namespaces()  # ours, created before: removed
    finally:
        run(["ip", "netns", "del", taken], check=False)


def test_hmipv6_registers_through_the_map_and_moves_locally(tmp_path: Path) -> None:
    """RFC 5380: the MN registers RCoA -> LCoA with the MAP, then RCoA with the home agent;
    handovers inside the MAP domain send BUs to the MAP only, and the data keeps flowing
    (CN -> HA -> RCoA -> MAP -> LCoA)."""
    rcoa = regional_care_of_address()
    with Testbed(TestbedOptions(protocol="hmipv6", pcap=str(tmp_path / "mn.pcap"))) as tb:
        tb.wait_for(lambda: binding(tb) == str(rcoa), what="home registration of the RCoA")
        local = tb.state("map")["binding_cache"]
        assert [(e["home_address"], e["care_of_address"]) for e in local] == [
            (str(rcoa), str(COA1))]
        echo_server(tb)
        for target in ("ar2", "ar1"):
            tb.move(target, link_down=0.1)
            tb.wait_for(lambda t=target: tb.state("map")["binding_cache"][0][
                "care_of_address"] == str(care_of_address(t)), what=f"MAP binding at {target}")
            assert probe(tb, 10)["received"] == 10
        assert len(tb.events("ha", "binding.registered")) == 1  # no home BU after a move
        assert binding(tb) == str(rcoa)
        tb.stop_capture()
    bus = binding_updates(tmp_path / "mn.pcap")
    local_bus = [p for p in bus if p.payload.map_registration]
    # RFC 5380 §6.1: local BUs from the LCoA to the MAP with the RCoA in the Home Address
    # option; the home BU carries the RCoA as care-of address, reverse-tunnelled by the MAP.
    assert [(p.src, p.home_address) for p in local_bus][:3] == [
        (COA1, rcoa), (COA2, rcoa), (COA1, rcoa)]
    assert all(p.dst == MAP_ADDRESS for p in local_bus)


def test_fhmipv6_map_anchored_fast_handovers_lose_nothing(tmp_path: Path) -> None:
    """F-HMIPv6 (RFC 4140 Appendix A, MAP-anchored): the access routers' PrRtAdvs name the
    MAP, the FBU goes to the MAP with the RCoA as home address, HI/HAck run between the MAP
    and the NAR, the MAP tunnels the RCoA's packets to the NCoA (the NAR buffers them until
    the UNA), then the local BU supersedes the fast binding. The home agent hears nothing
    after the first registration. 3 handovers with the UDP stream, no downlink loss."""
    pcap = tmp_path / "mn.pcap"
    row = run_experiment(protocol="fhmipv6", handovers=3, dwell=1.0, pcap=str(pcap))
    assert row["handovers"] == 3
    assert row["packets_lost"] == 0, row["packets_lost_per_handover"]
    assert row["packets_buffered"] >= 3 * 5
    assert 95 <= row["disruption_ms"]["mean"] < 400, row["disruption_ms"]
    by_type = row["signalling"]["by_type"]
    assert by_type["handover_initiate"]["messages"] >= 3
    captured = packets(pcap)
    rcoa = regional_care_of_address()
    fbus = [p for p in captured if type(p.payload).__name__ == "FastBindingUpdate"]
    assert len(fbus) == 3
    assert all(p.dst == MAP_ADDRESS and p.home_address == rcoa for p in fbus)
    assert [p.src for p in fbus] == [COA1, COA2, COA1]
    # Home registrations: only the first one (RCoA); the rest are local BUs to the MAP.
    # (RFC 5380 §6.1: the home BU is reverse-tunnelled through the MAP.)
    inner = [p.payload for p in captured if isinstance(p.payload, IPv6Packet)]
    home_bus = [p for p in inner if isinstance(p.payload, BindingUpdate)
                and not p.payload.map_registration]
    assert len(home_bus) == 1, home_bus
    assert (home_bus[0].src, home_bus[0].dst) == (rcoa, HA_ADDRESS)


def test_reactive_fmipv6_ping_pong_loses_only_during_the_switch() -> None:
    """RFC 5568 reactive mode (RFC 4260 §7.2): AR-Info learnt beforehand, no LinkGoingDown;
    at LinkUp the UNA, then the FBU from the new link. Ping-pong between two routers: the
    mobile node returns (handovers 2 and 3) to a router still tunnelling that same address
    to the other one as its PAR; the UNA ends that forwarding (§5.6, ``returning``) before
    the home registration's BA comes back, so registration takes milliseconds (it took a
    1 s BU retransmission when no UNA came) and the only loss is what was sent while the
    link was switching."""
    row = run_experiment(protocol="fmipv6-reactive", handovers=3, dwell=1.0)
    assert row["handovers"] == 3
    assert row["binding_update_latency_ms"] < 200, row["phases_ms"]
    assert len(row["phases_ms"]) == 5 and row["phases_ms"]["fast_handover"] is not None
    interval_ms = 10.0
    for lost, handover in zip(row["packets_lost_per_handover"], range(3), strict=True):
        # The link is down ~110 ms; then UNA, FBU/HI/HAck/FBack, home BU/BA: milliseconds.
        assert 1 <= lost <= (row["phases_ms"]["l2"] + 100) / interval_ms, (handover, row)
    assert row["packets_lost"] == sum(row["packets_lost_per_handover"]), row
    assert row["disruption_ms"]["max"] < 400, row["disruption_ms"]
    by_type = row["signalling"]["by_type"]
    assert by_type["fast_binding_update"]["messages"] >= 3
    assert by_type["neighbor_advertisement"]["messages"] >= 3  # the UNAs, among others


def test_hmipv6_udp_stream_across_three_handovers_loses_only_within_the_disruption() -> None:
    """RFC 5380 over real packets with the UDP stream: each handover inside the MAP domain
    costs the link switch, movement detection and the local BU/BA round trip to the MAP, and
    the datagrams lost are only those that fall in that measured disruption."""
    row = run_experiment(protocol="hmipv6", handovers=3, dwell=1.0)
    assert row["handovers"] == 3
    interval_ms = 10.0
    for lost, disruption in zip(row["packets_lost_per_handover"],
                                [row["disruption_ms"]["max"]] * 3, strict=True):
        assert 1 <= lost <= disruption / interval_ms + 1, row
    assert row["packets_lost"] == sum(row["packets_lost_per_handover"]), row
    by_type = row["signalling"]["by_type"]
    # Local BUs to the MAP only: one home registration at start, none per handover.
    assert by_type["binding_update"]["messages"] >= 3
