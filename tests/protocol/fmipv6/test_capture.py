"""A predictive FMIPv6 handover written to pcap: it decodes, and Wireshark finds nothing wrong."""

from __future__ import annotations

import pytest

from mipshop.wire.ipv6 import decode_packet
from mipshop.wire.pcap import read_pcap
from tests.harness import innermost
from tests.protocol.fmipv6.test_predictive import predictive

#: (message class name, how tshark names it) in the order of RFC 5568 Figure 2.
SEQUENCE = ["RouterSolicitationForProxy", "ProxyRouterAdvertisement", "FastBindingUpdate",
            "HandoverInitiate", "HandoverAcknowledge", "FastBindingAcknowledgement",
            "NeighborAdvertisement"]


def _capture(tmp_path):
    scn = predictive()
    path = tmp_path / "fmipv6.pcap"
    assert scn.net.write_pcap(path) == len(scn.net.log)
    return path, [record.data for record in read_pcap(path)]


def _signalling(packets):
    names = []
    for data in packets:
        payload = innermost(decode_packet(data)).payload
        name = type(payload).__name__
        if name == "NeighborAdvertisement" and not payload.is_una:
            continue
        if name in SEQUENCE:
            names.append(name)
    return names


def test_predictive_capture_decodes_in_figure_2_order(tmp_path):
    _path, packets = _capture(tmp_path)
    names = _signalling(packets)
    first = [names.index(n) for n in SEQUENCE]
    assert first == sorted(first), names


@pytest.mark.tshark
def test_predictive_capture_dissects_cleanly_with_tshark(tmp_path):
    from tests import tshark_support

    path, packets = _capture(tmp_path)
    trees = tshark_support.dissect_file(path)
    assert len(trees) == len(packets)
    for index, tree in enumerate(trees):
        assert tshark_support.problems(tree) == [], (index, decode_packet(packets[index]))
    order = []
    for tree in trees:
        subtypes = tshark_support.fields(tree, "icmpv6.fmip6.subtype")
        mh = tshark_support.fields(tree, "mip6.mhtype")
        na = tshark_support.fields(tree, "icmpv6.type")
        if subtypes:
            order.append({"2": "RtSolPr", "3": "PrRtAdv"}[subtypes[0]])
        elif mh and mh[-1] in ("8", "9", "14", "15"):
            order.append({"8": "FBU", "9": "FBack", "14": "HI", "15": "HAck"}[mh[-1]])
        elif na and na[-1] == "136" and tshark_support.fields(tree, "icmpv6.nd.na.flag.o") == [
                "0"]:
            order.append("UNA")
    first = {name: order.index(name) for name in
             ("RtSolPr", "PrRtAdv", "FBU", "HI", "HAck", "FBack", "UNA")}
    assert list(first.values()) == sorted(first.values()), order
