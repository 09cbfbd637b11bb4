"""Route optimization on real packets (RFC 6275 §5.2, §9.3, §11.6, §11.7.2): ``mipshop testbed
--route-optimization``, the correspondent running ``mipshop daemon cn``."""

from __future__ import annotations

import pytest

from mipshop.net.experiment import run_experiment

pytestmark = pytest.mark.netns


def test_udp_and_tcp_take_the_optimised_path_across_handovers() -> None:
    row = run_experiment(protocol="mipv6", handovers=2, dwell=1.5, tcp_bytes=1_000_000,
                         route_optimization=True)
    assert row["route_optimization"] is True and row["handovers"] == 2
    # The TCP download (the correspondent's plain socket to the home address) survives both
    # handovers over the optimised path: every byte, the same SHA-256, no reset.
    tcp = row["tcp"]
    assert tcp["bytes"] == 1_000_000 and tcp["sha256_equal"] and tcp["error"] is None
    # Which path each datagram took, on the correspondent's link: once the binding is in
    # place both directions are route-optimised (Type 2 Routing Header down, Home Address
    # option up).
    down, up = row["paths"]["downlink"], row["paths"]["uplink"]
    assert down["ro"] + down["tunnel"] == len(down["by_sequence"]) == row["packets_sent"]
    assert down["ro"] >= 0.9 * row["packets_sent"] and up["ro"] >= 0.8 * row["packets_sent"]
    assert set(down["by_sequence"].values()) <= {"ro", "tunnel"}
    counters = row["correspondent"]
    assert counters["ro.data_sent"] >= down["ro"] and counters["ro.data_received"] >= up["ro"]
