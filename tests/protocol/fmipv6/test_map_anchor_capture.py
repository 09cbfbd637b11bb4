"""A predictive F-HMIPv6 handover written to pcap and dissected by Wireshark.

Both placements of RFC 4140 Appendix A on the same topology: anchored at the MAP (Figure A.2:
FBU/FBack between the MN and the MAP, HI/HAck between the MAP and the NAR) and at the access
routers (Figure A.1, RFC 5568). Each capture must dissect without malformed or expert warnings
and show RtSolPr, PrRtAdv, FBU, HI, HAck, FBack, UNA and the local BU (M flag, from the NCoA)
in that order.
"""

from __future__ import annotations

import pytest

from mipshop.wire.ipv6 import decode_packet
from mipshop.wire.mh import BindingUpdate
from mipshop.wire.pcap import read_pcap
from tests.harness import innermost
from tests.protocol.fmip_scenario import MAP_ADDRESS, coa
from tests.protocol.fmip_scenario import router_address as ar
from tests.protocol.fmipv6.test_placement import _run

NCOA = coa("nar")
ORDER = ("RtSolPr", "PrRtAdv", "FBU", "HI", "HAck", "FBack", "UNA", "LocalBU")
_FMIP_NAMES = {"RouterSolicitationForProxy": "RtSolPr", "ProxyRouterAdvertisement": "PrRtAdv",
               "FastBindingUpdate": "FBU", "HandoverInitiate": "HI",
               "HandoverAcknowledge": "HAck", "FastBindingAcknowledgement": "FBack"}


def _capture(tmp_path, map_anchored):
    scn = _run(map_anchored=map_anchored)
    path = tmp_path / ("fhmipv6-map.pcap" if map_anchored else "fhmipv6-ar.pcap")
    assert scn.net.write_pcap(path) == len(scn.net.log)
    return path, [record.data for record in read_pcap(path)]


def _first_after(order, start="RtSolPr"):
    """Index of each name's first occurrence at or after the first ``start``."""
    begin = order.index(start)
    return {name: order.index(name, begin) for name in ORDER}


@pytest.mark.parametrize("map_anchored", [True, False])
def test_fhmip_capture_decodes_in_order(tmp_path, map_anchored):
    _path, packets = _capture(tmp_path, map_anchored)
    order, endpoints = [], {}
    for data in packets:
        packet = decode_packet(data)
        inner = innermost(packet)
        payload = inner.payload
        name = _FMIP_NAMES.get(type(payload).__name__)
        if name is None and type(payload).__name__ == "NeighborAdvertisement" and payload.is_una:
            name = "UNA"
        if name is None and isinstance(payload, BindingUpdate) and payload.map_registration \
                and inner.src == NCOA:
            name = "LocalBU"
        if name is not None:
            order.append(name)
            endpoints.setdefault(name, (inner.src, inner.dst))
    first = _first_after(order)
    assert list(first.values()) == sorted(first.values()), order
    anchor = MAP_ADDRESS if map_anchored else ar("par")
    assert endpoints["FBU"][1] == anchor and endpoints["FBack"][0] == anchor
    assert endpoints["HI"] == (anchor, ar("nar")) and endpoints["HAck"] == (ar("nar"), anchor)
    assert endpoints["LocalBU"] == (NCOA, MAP_ADDRESS)


@pytest.mark.tshark
@pytest.mark.parametrize("map_anchored", [True, False])
def test_fhmip_capture_dissects_cleanly_with_tshark(tmp_path, map_anchored):
    from tests import tshark_support

    path, packets = _capture(tmp_path, map_anchored)
    trees = tshark_support.dissect_file(path)
    assert len(trees) == len(packets)
    for index, tree in enumerate(trees):
        assert tshark_support.problems(tree) == [], (index, decode_packet(packets[index]))
    order = []
    anchor = str(MAP_ADDRESS if map_anchored else ar("par"))
    fbu_destinations, hi_sources = [], []
    for tree in trees:
        subtypes = tshark_support.fields(tree, "icmpv6.fmip6.subtype")
        mh = tshark_support.fields(tree, "mip6.mhtype")
        icmp = tshark_support.fields(tree, "icmpv6.type")
        destinations = tshark_support.fields(tree, "ipv6.dst")
        sources = tshark_support.fields(tree, "ipv6.src")
        if subtypes:
            order.append({"2": "RtSolPr", "3": "PrRtAdv"}[subtypes[0]])
            if subtypes[0] == "3" and map_anchored:
                # RFC 4140 Appendix A: the PrRtAdv carries the MAP option (ND type 23).
                assert "23" in tshark_support.fields(tree, "icmpv6.opt.type")
        elif mh and mh[-1] in ("8", "9", "14", "15"):
            name = {"8": "FBU", "9": "FBack", "14": "HI", "15": "HAck"}[mh[-1]]
            order.append(name)
            if name == "FBU":
                fbu_destinations.append(destinations[-1])
            if name == "HI":
                hi_sources.append(sources[-1])
        elif mh and mh[-1] == "5" and tshark_support.fields(tree, "mip6.bu.m_flag") == ["1"] \
                and sources[-1] == str(NCOA):
            order.append("LocalBU")
        elif icmp and icmp[-1] == "136" and tshark_support.fields(
                tree, "icmpv6.nd.na.flag.o") == ["0"]:
            order.append("UNA")
    first = _first_after(order)
    assert list(first.values()) == sorted(first.values()), order
    assert fbu_destinations == [anchor] and hi_sources == [anchor]
