"""PrRtAdv Code 5 (RFC 5568 §5.2, §6.1.2): the NAR's link assigns addresses with DHCPv6.

"The MN must still formulate an NCoA for transmitting FBU ..., but that NCoA will not be used
for forwarding packets"; "The PAR and NAR will forward packets to the PCoA of the MN"; "the MN
MUST perform DHCP operations once it attaches to the NAR". The mobile node's new care-of
address comes from Solicit/Advertise/Request/Reply (RFC 8415), not stateless formation.
"""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.wire.dhcpv6 import CLIENT_PORT, SERVER_PORT, DhcpMessageType, decode_dhcpv6
from mipshop.wire.icmpv6 import (
    NeighborAdvertisement,
    ProxyRouterAdvertisement,
    RouterAdvertisement,
)
from mipshop.wire.ipv6 import UDPDatagram
from mipshop.wire.mh import FastBindingUpdate
from tests.harness import innermost
from tests.protocol.fmip_scenario import APS, HOME_ADDRESS, build, coa
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
LEASED = IPv6Address("2001:db8:20::1:0")  # the NAR's first pool address
M = DhcpMessageType


def stateful(predictive: bool):
    scn = build(nar_dhcp={})
    scn.cbr(start=4.0, stop=9.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    if predictive:
        scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    return scn


@pytest.mark.parametrize("predictive", [True, False])
def test_the_new_care_of_address_comes_from_dhcpv6_and_the_pcoa_is_forwarded(predictive):
    scn = stateful(predictive)
    scn.run(10)
    [(_r, prrtadv)] = list(scn.net.packets(ProxyRouterAdvertisement))
    assert prrtadv.payload.code == 5
    assert scn.fmip.access_points[APS["nar"]].dhcp
    # The FBU names the NCoA formed from the PrRtAdv; the NAR answers Code 3 (use PCoA).
    fbus = [p for _r, p in scn.net.packets(FastBindingUpdate, sender="mn")]
    assert fbus and all(NCOA in (p.src, *(o.address for o in p.payload.options
                                          if hasattr(o, "address"))) for p in fbus)
    assert [e.fields["code"] for e in scn.net.events_of("fmip.hack", "par")] == [3]
    [up] = scn.net.events_of("fmip.tunnel_up", "par")
    assert up.fields["endpoint"] == ar("nar")
    [served] = scn.net.events_of("fmip.pcoa_served", "nar")
    assert served.fields["pcoa"] == PCOA
    # On the new link: DHCPv6 (§18), and its address is the care-of address.
    exchange = [decode_dhcpv6(p.payload.data).msg_type
                for _r, p in scn.net.packets(UDPDatagram)
                if isinstance(p.payload, UDPDatagram)
                and p.payload.dst_port in (CLIENT_PORT, SERVER_PORT)]
    assert exchange[:4] == [M.SOLICIT, M.ADVERTISE, M.REQUEST, M.REPLY]
    assert scn.mn.care_of_address == LEASED
    assert scn.ha.cache.lookup(HOME_ADDRESS, 10).care_of_address == LEASED
    # The state dump counts the server's leases and its expiry heap: the lease's expiry and
    # the superseded one of its offer (held offer_hold, 10 s, past the end of the run).
    sizes = scn.routers["nar"].table_sizes()
    assert (sizes["dhcp.leases"], sizes["dhcp.expiries"]) == (1, 2)
    [done] = scn.net.events_of("fmip.handover_complete", "mn")
    assert done.fields["ncoa"] == LEASED
    assert not scn.net.events_of("coa.configured", "mn") or all(
        e.fields["address"] in (PCOA, LEASED) for e in scn.net.events_of("coa.configured", "mn"))
    # §3.1: no data packet is sent with the NCoA as source: only the UNA and the FBU.
    from_ncoa = [type(innermost(p).payload).__name__ for r, p in scn.net.packets(sender="mn")
                 if p.src == NCOA]
    assert set(from_ncoa) <= {NeighborAdvertisement.__name__, FastBindingUpdate.__name__}
    # Nothing lost but what the link-down time took (the NAR buffers in predictive mode).
    lost = set(scn.sent) - set(scn.received())
    assert len(lost) <= (0 if predictive else 8)
    if predictive:
        # The packets the NAR buffered for the PCoA reached the node.
        [flushed] = scn.net.events_of("fmip.flushed", "nar")
        assert flushed.fields["address"] == PCOA and flushed.fields["packets"] > 0


def test_without_dhcp_on_the_nar_the_node_forms_the_ncoa():
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(8)
    assert scn.mn.care_of_address == NCOA
    assert not [p for _r, p in scn.net.packets(UDPDatagram, sender="mn")
                if innermost(p).payload.dst_port == SERVER_PORT]


def test_while_dhcpv6_takes_its_time_the_pcoa_is_forwarded_through_the_nar():
    """A server with Preference 0 makes the client wait out its first RT (about 1 s, RFC 8415
    §18.2.1): all that time the PAR tunnels the PCoA's packets to the NAR, which delivers
    them; nothing is lost after the link-layer switch."""
    scn = build(nar_dhcp={"preference": 0})
    scn.cbr(start=4.0, stop=9.0)
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(10)
    [bound] = scn.net.events_of("dhcp.bound", "mn")
    assert bound.time > 6.6
    assert scn.routers["nar"].counters["fmip.pcoa_delivered"] > 40  # 20 ms CBR for ~1 s
    assert set(scn.sent) <= set(scn.received())
    assert scn.mn.care_of_address == LEASED


def test_a_lease_bound_before_the_nars_first_router_advertisement_is_the_care_of_address():
    """§6.1.2: the node starts DHCPv6 as it attaches to a Code 5 NAR, before any RA there;
    a lease bound before the link's first RA (lost, or delayed by RFC 4861 §6.2.6) is the
    care-of address all the same, as a /128 until an RA names its on-link prefix (RFC 8415
    §21.6)."""
    scn = stateful(True)
    undo = scn.net.drop_if(
        lambda p, r: r.sender == "nar" and isinstance(p.payload, RouterAdvertisement))
    scn.net.at(7.0, lambda now: undo())
    scn.run(10)
    [bound] = scn.net.events_of("dhcp.bound", "mn")
    assert bound.time < 7.0
    assert scn.mn.care_of_address == LEASED
