"""Every HAck code from the NAR to the mobile node's decision (RFC 5568 §6.2.1.2, §6.2.3,
§6.4.6), and the NAR's unsolicited HAck Code 4 ("usually to trigger an HI message")."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.protocol.fmipv6.par import PreviousRouterRole
from mipshop.wire.mh import HandoverAcknowledge, HandoverInitiate
from mipshop.wire.mh_options import IPv6AddressPrefixOption, MHLinkLayerAddress
from tests.protocol.fmip_scenario import APS, MAC, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
POOL = IPv6Address("2001:db8:20::a55")


def predictive(scn, *, leave=5.6, link_down=0.1):
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=leave, link_down=link_down)


def test_a_late_node_makes_the_nar_ask_its_par_for_an_hi_with_hack_code_4():
    scn = build(nar={"proxy_lifetime": 0.3})
    scn.cbr(start=4.0, stop=9.0)
    predictive(scn, link_down=1.0)  # the node comes after the NAR's preparation expired
    scn.run(10)
    [expired] = scn.net.events_of("fmip.proxy_expired", "nar")
    sent = [e for e in scn.net.events_of("fmip.hack_sent", "nar") if e.fields.get("unsolicited")]
    assert len(sent) == 1 and sent[0].fields["code"] == 4 and sent[0].time > expired.time
    # On the wire: an unsolicited HAck Code 4 to the PAR naming the node and its PCoA ...
    [(_r, hack)] = [(r, p) for r, p in scn.net.packets(HandoverAcknowledge, sender="nar")
                    if p.payload.code == 4]
    assert (hack.src, hack.dst) == (ar("nar"), ar("par"))
    assert [o.address for o in hack.payload.options if isinstance(o, MHLinkLayerAddress)] == [MAC]
    assert PCOA in [o.address for o in hack.payload.options
                    if isinstance(o, IPv6AddressPrefixOption)]
    # ... answered by an HI Code 1 for that node, accepted (the NAR's neighbour entry is
    # validated); the tunnel and the node's FBack are unchanged.
    his = [(r.time, p.payload) for r, p in scn.net.packets(HandoverInitiate, sender="par")]
    assert [hi.code for _t, hi in his] == [0, 1] and his[1][0] > sent[0].time
    [context] = scn.net.events_of("fmip.context_sent", "par")
    assert context.fields["code"] == 0
    assert len(scn.net.events_of("fmip.tunnel_up", "par")) == 1
    assert len(scn.net.events_of("fmip.fback_sent", "par")) == 1
    assert scn.routers["par"].fast_handover.par.binding(PCOA).endpoint == NCOA


def test_a_hack_code_4_for_no_forwarded_node_is_dropped():
    scn = build(nar={"proxy_lifetime": 0.3})
    predictive(scn, link_down=1.0)
    # The PAR forgets the binding just before the HAck Code 4 arrives.
    par: PreviousRouterRole = scn.routers["par"].fast_handover.par
    scn.net.at(6.5, lambda now: par.bindings.clear())
    scn.run(8)
    assert scn.routers["par"].counters["drop.fmip_hack_unsolicited"] == 1
    assert [p.payload.code for _r, p in scn.net.packets(HandoverInitiate)] == [0]


def test_no_hack_code_4_when_the_node_comes_in_time():
    scn = build()
    predictive(scn)
    scn.run(8)
    assert not [e for e in scn.net.events_of("fmip.hack_sent", "nar")
                if e.fields.get("unsolicited")]


@pytest.mark.parametrize(("nar", "par", "hack_code", "fback_status", "outcome"), [
    ({}, {}, 0, 0, "ncoa"),                                                   # NCoA valid
    ({"addresses_in_use": frozenset({NCOA}), "address_pool": (POOL,)},        # assigned
     {}, 2, 1, "assigned"),
    ({"addresses_in_use": frozenset({NCOA}),                                  # use PCoA
      "support_previous_care_of_address": True}, {}, 3, 0, "pcoa"),
    ({"addresses_in_use": frozenset({NCOA})}, {}, 1, 128, "stopped"),         # NCoA not valid
    ({"accept_handovers": False}, {}, 129, 129, "stopped"),                   # prohibited
    ({"max_handovers": 0}, {}, 130, 130, "stopped"),                          # resources
])
def test_every_hack_code_reaches_the_mobile_nodes_decision(nar, par, hack_code, fback_status,
                                                         outcome):
    scn = build(nar=nar, par=par)
    predictive(scn)
    scn.run(10)
    [hack] = [e.fields["code"] for e in scn.net.events_of("fmip.hack", "par")]
    assert hack == hack_code
    fbacks = scn.net.events_of("fmip.fback", "mn")
    assert fbacks and fbacks[0].fields["status"] == fback_status
    stopped = [e.fields["reason"] for e in scn.net.events_of("fmip.stopped", "mn")]
    if outcome == "stopped":
        assert stopped == [f"fback_status_{fback_status}"]
        record = scn.routers["par"].fast_handover.par.binding(PCOA)
        assert record is None or not record.endpoint  # no tunnel (an ended record goes)
    elif outcome == "ncoa":
        assert not stopped and scn.mn.care_of_address == NCOA
    elif outcome == "assigned":
        assert not stopped and scn.mn.care_of_address == POOL
    else:  # pcoa: the NAR's NAACK status 4 keeps the PCoA
        assert [e.fields["status"] for e in scn.net.events_of("fmip.naack", "mn")] == [4]
        assert scn.mn.care_of_address == PCOA
