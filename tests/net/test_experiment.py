"""``mipshop testbed``: a result row in the ``mipshop compare`` schema, from real packets."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mipshop.cli.main import main
from mipshop.net.errors import NetError
from mipshop.net.experiment import run_experiment
from mipshop.net.testbed import NS_PREFIX, list_namespaces
from mipshop.wire.pcap import read_pcap


@pytest.mark.netns
def test_experiment_row_and_outputs(tmp_path: Path) -> None:
    out, pcap = tmp_path / "row.json", tmp_path / "mipv6.pcapng"
    assert main(["testbed", "--handovers", "2", "--tcp-bytes", "2000000", "--json", str(out),
                 "--pcap", str(tmp_path)]) == 0
    row = json.loads(out.read_text())["results"][0]
    assert row["source"] == "testbed" and row["protocol"] == "mipv6"
    assert row["handovers"] == 2
    assert set(row["phases_ms"]) == {"l2", "movement_detection", "address_configuration",
                                     "registration"}
    assert 90 <= row["disruption_ms"]["mean"] < 600
    # Loss only inside the measured disruption (one datagram every 10 ms).
    assert len(row["packets_lost_per_handover"]) == 2
    for lost in row["packets_lost_per_handover"]:
        assert 1 <= lost <= row["disruption_ms"]["max"] / 10 + 1, row
    assert row["loss_run_ms"]["mean"] <= row["disruption_ms"]["mean"]
    assert 0 < row["packets_lost"] <= row["round_trip_lost"] < 2 * 60
    assert row["tcp"]["bytes"] == 2_000_000 and row["tcp"]["sha256_equal"]
    assert row["tcp"]["error"] is None
    assert row["tcp"]["paced_bytes_per_s"] >= 100_000
    records = read_pcap(pcap)
    assert len(records) > 100
    assert {record.interface for record in records} == {"p-mn"}  # the mobile node's port
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mipv6.pcapng", "row.json"]


@pytest.mark.netns
@pytest.mark.parametrize("protocol", ["fmipv6", "fhmipv6"])
def test_predictive_handovers_lose_no_datagram_beside_a_bulk_tcp_download(
        protocol: str) -> None:
    """40 MB of TCP beside the UDP stream, 3 handovers: the NAR's buffer fills with TCP at
    every handover, drops only TCP segments (docs/decisions.md D28), and no UDP datagram is
    lost; TCP recovers what was dropped and the bytes arrive intact.

    40 MB, not 20: the download is paced over the run (about 6 MB/s here), and what TCP has
    in flight when the link goes down is what reaches the buffer. At 20 MB (3 MB/s) that was
    about 55-60 segments a handover, below the 64-packet buffer: in 4 of 7 runs of this test
    on 2026-12-06 one protocol's buffer never filled (162-179 buffered in all), and the test
    failed on its own precondition below. At 40 MB, 5 runs of each handover's figures (192
    buffered: 64 at every handover; 29-177 TCP segments dropped; no datagram lost) and 3 runs
    of this test all filled it."""
    tcp_bytes = 40_000_000
    row = run_experiment(protocol=protocol, handovers=3, tcp_bytes=tcp_bytes)
    assert row["handovers"] == 3
    assert row["packets_lost"] == 0, row["packets_lost_per_handover"]
    tcp = row["tcp"]
    assert tcp["bytes"] == tcp_bytes and tcp["sha256_equal"] and tcp["error"] is None
    # The buffer did fill (else this proves nothing), and only the TCP flow paid for it.
    assert row["buffer_drops"], row["packets_buffered"]
    assert all(flow.endswith("proto 6") for flow in row["buffer_drops"]), row["buffer_drops"]


@pytest.mark.netns
def test_an_interrupted_testbed_keeps_the_rows_already_measured(tmp_path: Path) -> None:
    """Each row is printed and saved as soon as its protocol finishes: Ctrl-C during the
    second protocol keeps the first, and the testbed is removed."""
    out = tmp_path / "rows.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "mipshop.cli.main", "testbed", "--protocols", "mipv6,hmipv6",
         "--handovers", "1", "--json", str(out), "--pcap", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first:  # the command ended without a row: say why
            _rest, err = process.communicate(timeout=60)
            pytest.fail(f"testbed exited {process.returncode} without a row: {err}")
        assert first.startswith("mipv6 ") and "handovers=1" in first, first
        saved = json.loads(out.read_text())["results"]
        assert [row["protocol"] for row in saved] == ["mipv6"]
        time.sleep(1.0)  # hmipv6's testbed is being built
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "interrupted during hmipv6" in err and f"1 row(s) kept in {out}" in err, err
    assert rest == ""
    assert [row["protocol"] for row in json.loads(out.read_text())["results"]] == ["mipv6"]
    # The finished protocol's capture is there; the interrupted one left nothing behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mipv6.pcapng", "rows.json"]
    assert not [n for n in list_namespaces() if n.startswith(f"{NS_PREFIX}{process.pid}x")]


@pytest.mark.netns
def test_predictive_fmipv6_row_loses_nothing_downlink(tmp_path: Path) -> None:
    """Nothing lost, yet a disruption: the simulator's definition (last datagram received on
    the old link to the first on the new one) covers the buffering from the FBack, through
    the 100 ms link-down, to the flush on the UNA; the datagrams of that gap are buffered."""
    row = run_experiment(protocol="fmipv6", handovers=2, dwell=1.0)
    assert row["protocol"] == "fmipv6" and row["handovers"] == 2
    # RFC 5568 predictive mode loses nothing (MIPv6 ~13 per handover). The PAR intercepts the
    # PCoA before its FBack lets the MN leave (fmip_par: a stray 1 was lost when that route
    # came after the FBack and the link went down in between).
    assert row["packets_lost"] == 0
    assert 95 <= row["disruption_ms"]["mean"] < 400, row["disruption_ms"]
    assert row["disruption_ms"]["p50"] is not None and row["disruption_ms"]["max"] < 600
    assert row["packets_buffered"] >= 2 * 5  # at least the link-down's worth per handover
    by_type = row["signalling"]["by_type"]
    # Per handover: FBU (MN link, then PAR's uplink), HI and HAck between the routers.
    for name in ("fast_binding_update", "handover_initiate", "handover_acknowledge",
                 "fast_binding_acknowledgment", "binding_update"):
        assert by_type[name]["messages"] >= 2, by_type
    assert row["signalling"]["messages_per_handover"] > 5


@pytest.mark.netns
def test_unknown_protocols_are_refused() -> None:
    with pytest.raises(NetError, match="does not run on real packets"):
        run_experiment(protocol="carrier-pigeon")


@pytest.mark.netns
@pytest.mark.parametrize(("protocol", "node"), [("mipv6", "ha"), ("hmipv6", "map")])
def test_kill_9_mid_stream_loses_no_binding(protocol: str, node: str) -> None:
    """``--restart``: the daemon is killed with SIGKILL while the UDP stream runs and started
    again; it reloads its state file, so traffic resumes without any Binding Update."""
    row = run_experiment(protocol=protocol, handovers=0, dwell=1.0, restart=node)
    restart = row["restart"]
    assert restart["node"] == node
    assert restart["bindings_before"] == 1 and restart["bindings_restored"] == 1
    assert restart["bindings_lost"] == 0, restart
    # Downlink back once the new daemon runs: the outage is its start-up, not a refresh
    # (tens of seconds away with the testbed's 60 s lifetime).
    assert restart["outage_ms"] is not None, restart
    assert 0 < restart["outage_ms"] < 10_000, restart
    assert restart["outage_ms"] >= restart["daemon_restart_ms"] - 50, restart
    assert restart["packets_lost"] <= restart["outage_ms"] / 10 + 2, restart



def test_processing_times_pair_each_request_with_the_daemons_answer(tmp_path: Path) -> None:
    """From a capture: a BU on the home agent's port to its BA, an RS on the mobile node's
    port to the RA, an RA that answers an RS to the node's BU; an unsolicited RA followed by a
    BU, an answer later than the window and data in between are not counted."""
    from ipaddress import IPv6Address

    from mipshop.net.experiment import PROCESSING_WINDOW, processing_times
    from mipshop.wire.icmpv6 import RouterAdvertisement, RouterSolicitation
    from mipshop.wire.ipv6 import IPv6Packet, UDPDatagram, encode_packet
    from mipshop.wire.mh import BindingAcknowledgement, BindingUpdate
    from mipshop.wire.pcap import CapturedPacket, write_pcapng

    ha, coa = IPv6Address("2001:db8:1::1"), IPv6Address("2001:db8:2::10")

    def packet(payload: object) -> bytes:
        return encode_packet(IPv6Packet(src=coa, dst=ha, hop_limit=255, payload=payload))

    bu = packet(BindingUpdate(sequence=1, lifetime=100, home_registration=True, ack=True))
    ba = packet(BindingAcknowledgement(status=0, sequence=1, lifetime=100))
    rs, ra = packet(RouterSolicitation()), packet(RouterAdvertisement())
    data = packet(UDPDatagram(src_port=1, dst_port=2, data=b"x"))
    records = [
        (9.0, "p-ha", bu), (9.001, "p-ha", ba),  # before ``since``: left out
        (10.0, "p-ha", bu), (10.0005, "p-ha", data), (10.004, "p-ha", ba),
        (11.0, "p-ha", bu), (11.0 + PROCESSING_WINDOW + 0.01, "p-ha", ba),  # too late
        (12.0, "p-mn", rs), (12.002, "p-mn", ra), (12.005, "p-mn", bu),
        (13.0, "p-mn", ra), (13.003, "p-mn", bu),  # unsolicited RA: not the node's answer
    ]
    path = tmp_path / "signalling.pcapng"
    write_pcapng(path, [CapturedPacket(timestamp=t, data=d, interface=i) for t, i, d in records],
                 interfaces=["p-mn", "p-ha"])
    result = processing_times([path, tmp_path / "missing.pcapng"], since=9.5)
    assert set(result) == {"home_agent", "access_router", "mobile_node"}
    assert result["home_agent"]["count"] == 1
    assert result["home_agent"]["mean_ms"] == pytest.approx(4.0, abs=0.01)
    assert result["access_router"]["count"] == 1
    assert result["access_router"]["mean_ms"] == pytest.approx(2.0, abs=0.01)
    assert result["mobile_node"]["count"] == 1
    assert result["mobile_node"]["mean_ms"] == pytest.approx(3.0, abs=0.01)
