"""HI/HAck authentication between routers and HAck matching (RFC 5568 §10, §6.2.1).

RFC 5568 §10: HI and HAck "MUST be protected using end-to-end security association(s) offering
integrity and data origin authentication". Here a key per router pair stands in for IPsec
(:class:`~mipshop.protocol.fmipv6.security.RouterAuthenticator`): a spoofed, forged or replayed
HI prepares nothing at the NAR, and a spoofed or replayed HAck moves nothing at the PAR.
"""

from __future__ import annotations

import dataclasses
import random
from ipaddress import IPv6Address

import pytest

from mipshop.protocol.base.link_events import LinkGoingDown, ScanCompleted
from mipshop.protocol.fmipv6.config import RouterKey
from mipshop.protocol.fmipv6.par import FastBinding, ParState
from mipshop.protocol.fmipv6.security import ROUTER_PAIR_SUBTYPE, RouterAuthenticator, sign_badf
from mipshop.protocol.mipv6.mn_ha_auth import SecurityAssociation, unix_to_ntp
from mipshop.wire.ipv6 import IPv6Packet, encode_packet
from mipshop.wire.mh import (
    FastBindingAcknowledgement,
    HandoverAcknowledge,
    HandoverInitiate,
    decode_mh,
    encode_mh,
)
from mipshop.wire.mh_options import (
    IPv6AddressPrefixCode,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
    MHLinkLayerAddressCode,
    MobilityMessageAuthentication,
    ReplayProtection,
)
from tests.protocol.fmip_scenario import APS, HOME_ADDRESS, MAC, build, coa, pair_key
from tests.protocol.fmip_scenario import router_address as ar

PCOA, NCOA = coa("par"), coa("nar")
PAR, NAR = ar("par"), ar("nar")


def _hi(*, sequence: int = 77, lla: bytes = MAC) -> HandoverInitiate:
    return HandoverInitiate(sequence=sequence, code=0, buffer=True, options=(
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.PREVIOUS_CARE_OF_ADDRESS,
                                prefix_length=128, address=PCOA),
        IPv6AddressPrefixOption(option_code=IPv6AddressPrefixCode.NEW_CARE_OF_ADDRESS,
                                prefix_length=128, address=NCOA),
        MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=lla)))


def _signed(message, *, source=PAR, destination=NAR, at=5.0, key=None):
    signer = RouterAuthenticator((key or pair_key(source, destination),))
    return signer.sign(message, source=source, destination=destination, now=at)


def _packet(message, *, source=PAR, destination=NAR) -> bytes:
    return encode_packet(IPv6Packet(src=source, dst=destination, payload=message))


def _nar_prepared_nothing(scn) -> None:
    nar = scn.routers["nar"].fast_handover.nar
    assert nar.handovers == {}
    assert NCOA not in scn.net.claims()
    assert not list(scn.net.packets(HandoverAcknowledge))
    assert not scn.net.events_of("fmip.hi_received", "nar")


def test_sign_and_verify_round_trip():
    signed = _signed(_hi())
    *_, replay, auth = signed.options
    assert isinstance(replay, ReplayProtection)
    assert isinstance(auth, MobilityMessageAuthentication)
    assert auth.subtype == ROUTER_PAIR_SUBTYPE and len(auth.authenticator) == 12
    assert auth.spi == pair_key(PAR, NAR).security_association.spi
    assert decode_mh(encode_mh(signed)) == signed
    receiver = RouterAuthenticator((pair_key(NAR, PAR),))
    packet = IPv6Packet(src=PAR, dst=NAR, payload=signed)
    assert receiver.verify(packet, signed, 5.0) is None
    # The MAC covers both addresses: the same message from or to another router fails.
    other = RouterAuthenticator((dataclasses.replace(pair_key(NAR, PAR), peer=ar("ar3")),))
    assert other.verify(dataclasses.replace(packet, src=ar("ar3")), signed, 5.0) == (
        "bad_authenticator")
    assert receiver.verify(dataclasses.replace(packet, dst=ar("ar3")), signed, 5.0) == (
        "bad_authenticator")


def test_verify_reasons():
    receiver = RouterAuthenticator((pair_key(NAR, PAR),))
    signed = _signed(_hi())
    packet = IPv6Packet(src=PAR, dst=NAR, payload=signed)
    wrong = RouterKey(peer=NAR, security_association=SecurityAssociation(
        spi=pair_key(PAR, NAR).security_association.spi, key=b"not the pair key"))
    forged = _signed(_hi(), key=wrong)
    head, auth = signed.options[:-2], signed.options[-1]
    cases = {
        "unknown_router": (dataclasses.replace(packet, src=ar("ar3")), signed),
        "unauthenticated": (packet, _hi()),
        "bad_authenticator": (packet, forged),
        "no_timestamp": (packet, dataclasses.replace(signed, options=(*head, auth))),
    }
    other_spi = dataclasses.replace(auth, spi=auth.spi + 1)
    cases["unauthenticated_spi"] = (packet, dataclasses.replace(
        signed, options=(*signed.options[:-1], other_spi)))
    for reason, (pkt, message) in cases.items():
        assert receiver.verify(pkt, message, 5.0) == reason.removesuffix("_spi"), reason
    # Fresh and authentic: accepted once; the same timestamp again is a replay (RFC 4285 §6).
    assert receiver.verify(packet, signed, 5.0) is None
    assert receiver.verify(packet, signed, 5.0) == "replay"
    # Too far from the receiver's clock (window 7 s): refused even though never seen.
    late = _signed(_hi(), at=5.0)
    assert RouterAuthenticator((pair_key(NAR, PAR),)).verify(
        dataclasses.replace(packet, payload=late), late, 20.0) == "replay"


@pytest.mark.parametrize("case", ["spoofed", "forged", "unknown_router"])
def test_nar_refuses_an_unauthenticated_hi_and_prepares_nothing(case: str):
    scn = build()
    scn.run(4)
    hi = _hi()
    source = PAR
    if case == "forged":
        wrong = RouterKey(peer=NAR, security_association=SecurityAssociation(
            spi=pair_key(PAR, NAR).security_association.spi, key=b"guessed"))
        hi = _signed(hi, key=wrong)
    elif case == "unknown_router":
        source = IPv6Address("2001:db8:99::1")
        hi = _signed(hi, source=source)
    scn.net.inject(_packet(hi, source=source), "nar", "eth0", at=5.0)
    scn.run(6)
    _nar_prepared_nothing(scn)
    reason = {"spoofed": "unauthenticated", "forged": "bad_authenticator",
              "unknown_router": "unknown_router"}[case]
    assert scn.routers["nar"].counters[f"drop.fmip_hi.{reason}"] == 1


def test_authentic_hi_prepares_and_a_replay_of_it_later_prepares_nothing():
    scn = build()
    scn.run(4)
    captured = _packet(_signed(_hi(), at=5.0))
    scn.net.inject(captured, "nar", "eth0", at=5.0)
    scn.run(5.5)
    assert NCOA in scn.net.claims()  # the control: an authentic HI is served
    scn.run(8)  # the proxy lifetime (1.5 s) has run out: nothing left
    assert NCOA not in scn.net.claims()
    scn.net.inject(captured, "nar", "eth0", at=9.0)
    scn.run(10)
    assert NCOA not in scn.net.claims()
    assert scn.routers["nar"].counters["drop.fmip_hi.replay"] == 1
    assert len(scn.net.events_of("fmip.hi_received", "nar")) == 1


def _awaiting_hack(scn):
    """Let the PAR send its HI and hold every HAck back; return the HI."""
    scn.net.drop_if(lambda p, r: isinstance(p.payload, HandoverAcknowledge))
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.run(5.55)
    (hi,) = scn.net.messages(HandoverInitiate, sender="par")
    record = scn.routers["par"].fast_handover.par.binding(PCOA)
    assert record.state is ParState.AWAITING_HACK
    return hi


def _par_unmoved(scn):
    record = scn.routers["par"].fast_handover.par.binding(PCOA)
    assert record.state is ParState.AWAITING_HACK
    assert not scn.net.events_of("fmip.hack", "par")
    assert not scn.net.messages(FastBindingAcknowledgement)
    assert PCOA not in scn.net.claims()


@pytest.mark.parametrize("case", ["spoofed", "forged", "other_mobile_node"])
def test_par_refuses_a_hack_that_is_not_authentic_or_not_for_that_mobile_node(case: str):
    scn = build(par={"hi_retries": 0}, client={"fbu_retries": 0})
    hi = _awaiting_hack(scn)
    lla = MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE,
                             address=bytes.fromhex("020000000099") if (
                                 case == "other_mobile_node") else MAC)
    hack = HandoverAcknowledge(sequence=hi.sequence, code=0, options=(lla,))
    if case == "forged":
        wrong = RouterKey(peer=PAR, security_association=SecurityAssociation(
            spi=pair_key(PAR, NAR).security_association.spi, key=b"guessed"))
        hack = _signed(hack, source=NAR, destination=PAR, at=5.56, key=wrong)
    elif case == "other_mobile_node":
        hack = _signed(hack, source=NAR, destination=PAR, at=5.56)
    scn.net.inject(_packet(hack, source=NAR, destination=PAR), "par", "eth0", at=5.56)
    scn.run(5.58)
    _par_unmoved(scn)
    counter = {"spoofed": "drop.fmip_hack.unauthenticated",
               "forged": "drop.fmip_hack.bad_authenticator",
               "other_mobile_node": "drop.fmip_hack_unexpected"}[case]
    assert scn.routers["par"].counters[counter] == 1


def test_authentic_hack_is_accepted_once_and_its_replay_is_refused():
    scn = build(par={"hi_retries": 0}, client={"fbu_retries": 0})
    hi = _awaiting_hack(scn)
    lla = MHLinkLayerAddress(option_code=MHLinkLayerAddressCode.MOBILE_NODE, address=MAC)
    hack = _signed(HandoverAcknowledge(sequence=hi.sequence, code=0, options=(lla,)),
                   source=NAR, destination=PAR, at=5.56)
    data = _packet(hack, source=NAR, destination=PAR)
    scn.net.inject(data, "par", "eth0", at=5.56)
    scn.net.inject(data, "par", "eth0", at=5.57)
    scn.run(5.6)
    assert len(scn.net.events_of("fmip.hack", "par")) == 1
    assert scn.routers["par"].fast_handover.par.binding(PCOA).state is ParState.FORWARDING
    assert scn.routers["par"].counters["drop.fmip_hack.replay"] == 1


def test_the_nar_echoes_the_mobile_node_and_the_handover_completes():
    scn = build()
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.move("nar", at=5.6, link_down=0.1)
    scn.run(9)
    (hack,) = scn.net.messages(HandoverAcknowledge, sender="nar")
    echoed = [o.address for o in hack.options if isinstance(o, MHLinkLayerAddress)]
    assert echoed == [MAC]
    assert hack.options[-1].subtype == ROUTER_PAIR_SUBTYPE
    assert scn.routers["par"].fast_handover.par.binding(PCOA).endpoint == NCOA
    assert scn.ha.cache.lookup(HOME_ADDRESS, scn.net.now).care_of_address == NCOA


def test_hi_sequence_numbers_outstanding_towards_a_nar_are_never_reused():
    # Past 65,536 HIs the 16-bit number wraps: a number still awaiting its HAck is skipped,
    # so one mobile node's HAck can never be credited to another's handover.
    scn = build()
    role = scn.routers["par"].fast_handover.par
    role._hi_sequence = 0xFFFE
    waiting = FastBinding(pcoa=IPv6Address("2001:db8:10::7"), key=None)  # type: ignore[arg-type]
    role.awaiting[(NAR, 0xFFFF)] = waiting
    role.awaiting[(NAR, 0)] = waiting
    assert role._next_hi_sequence(NAR) == 1
    assert role._next_hi_sequence(ar("ar3")) == 2  # another NAR: its own numbers


def test_routers_clocks_and_the_replay_window():
    # Timestamps are the sender's wall clock (RFC 4285 §6 format), strictly increasing.
    signer = RouterAuthenticator((pair_key(PAR, NAR),), wall_clock_offset=1_700_000_000.0)
    first = signer.sign(_hi(), source=PAR, destination=NAR, now=1.0)
    second = signer.sign(_hi(), source=PAR, destination=NAR, now=1.0)
    t1, t2 = (m.options[-2].timestamp for m in (first, second))
    assert t1 >= unix_to_ntp(1_700_000_001.0) and t2 > t1
    receiver = RouterAuthenticator((pair_key(NAR, PAR),), wall_clock_offset=1_700_000_000.0)
    packet = IPv6Packet(src=PAR, dst=NAR, payload=second)
    assert receiver.verify(packet, second, 1.0 + random.Random(1).uniform(-6.9, 6.9)) is None


@pytest.mark.tshark
def test_tshark_dissects_the_authenticated_hi_and_hack_without_errors():
    from tests import tshark_support

    hi = _signed(_hi())
    hack = _signed(HandoverAcknowledge(sequence=77, code=0, options=(hi.options[2],)),
                   source=NAR, destination=PAR)
    trees = tshark_support.dissect([_packet(hi), _packet(hack, source=NAR, destination=PAR)])
    for message, tree in zip((hi, hack), trees, strict=True):
        assert tshark_support.problems(tree) == []
        auth = message.options[-1]
        assert tshark_support.fields(tree, "mip6.auth.subtype") == [str(ROUTER_PAIR_SUBTYPE)]
        assert tshark_support.fields(tree, "mip6.auth.mobility_spi") == [str(auth.spi)]
        assert tshark_support.fields(tree, "mip6.mhtype") == [str(type(message).MH_TYPE)]
        assert len(tshark_support.fields(tree, "mip6.mseg_id.timestamp")) == 1


def test_an_fbu_is_refused_when_every_hi_sequence_towards_its_nar_is_outstanding():
    scn = build(par={"max_pending_handovers": 1 << 17})
    role = scn.routers["par"].fast_handover.par
    waiting = FastBinding(pcoa=IPv6Address("2001:db8:10::7"), key=None)  # type: ignore[arg-type]
    role.awaiting.update({(NAR, n): waiting for n in range(1 << 16)})
    assert role._next_hi_sequence(NAR) is None
    assert role._next_hi_sequence(ar("ar3")) is not None
    scn.trigger(ScanCompleted(access_points=(APS["nar"],)), at=5.0)
    scn.trigger(LinkGoingDown(target_ap=APS["nar"]), at=5.5)
    scn.run(5.6)
    assert scn.routers["par"].counters["fmip.fbu_refused.hi_sequences"] >= 1
    assert not scn.net.messages(HandoverInitiate, sender="par")
    fbacks = scn.net.messages(FastBindingAcknowledgement, sender="par")
    assert fbacks and {f.status for f in fbacks} == {130}


def test_a_message_without_options_is_unauthenticated():
    from mipshop.protocol.fmipv6.security import badf_of

    assert badf_of(FastBindingAcknowledgement(status=0, sequence=1, lifetime=4)) is None
    receiver = RouterAuthenticator((pair_key(NAR, PAR),))
    bare = HandoverInitiate(sequence=1, code=0)
    assert receiver.verify(IPv6Packet(src=PAR, dst=NAR, payload=bare), bare, 5.0) == (
        "unauthenticated")


def test_verify_badf_requires_the_keys_spi():
    from mipshop.protocol.fmipv6.config import HandoverKey
    from mipshop.protocol.fmipv6.security import sign_badf, verify_badf

    key = HandoverKey(spi=7, key=b"k" * 20)
    fback = sign_badf(FastBindingAcknowledgement(status=0, sequence=1, lifetime=4), key,
                      care_of_address=NCOA, par_address=PAR)
    assert verify_badf(fback, key, care_of_address=NCOA, par_address=PAR)
    # The same secret under another SPI is another key (RFC 5568 §6.4.5: the SPI names it).
    assert not verify_badf(fback, HandoverKey(spi=8, key=b"k" * 20), care_of_address=NCOA,
                           par_address=PAR)


def test_each_peer_has_its_own_replay_state_and_its_sa_window():
    third = ar("ar3")
    keys = (pair_key(NAR, PAR), dataclasses.replace(
        pair_key(NAR, third), security_association=SecurityAssociation(
            spi=999, key=b"w" * 16, replay_window=1.0)))
    receiver = RouterAuthenticator(keys)
    from_par = _signed(_hi(), at=5.0)
    from_third = _signed(_hi(), source=third, at=4.0, key=RouterKey(
        peer=NAR, security_association=keys[1].security_association))
    assert receiver.verify(IPv6Packet(src=PAR, dst=NAR, payload=from_par), from_par, 5.0) is None
    # An older timestamp from another peer is not a replay of the first peer's.
    assert receiver.verify(IPv6Packet(src=third, dst=NAR, payload=from_third), from_third,
                           4.5) is None
    # That peer's SA allows 1 s of clock difference: 3 s is outside its window.
    late = _signed(_hi(), source=third, at=6.0, key=RouterKey(
        peer=NAR, security_association=keys[1].security_association))
    assert receiver.verify(IPv6Packet(src=third, dst=NAR, payload=late), late, 9.0) == "replay"


def test_authenticators_cover_the_octets_as_sent(monkeypatch):
    # A peer may pad differently (RFC 6275 §6.2.1): the MAC is over its octets, which need
    # not be what this encoder writes.
    import hashlib
    import hmac

    from mipshop.protocol.fmipv6.config import HandoverKey
    from mipshop.protocol.fmipv6.security import verify_badf
    from mipshop.wire.mh import FastBindingUpdate
    from mipshop.wire.mh_options import AlternateCareOfAddress

    key = HandoverKey(spi=7, key=b"k" * 20)
    fbu = FastBindingUpdate(sequence=1, lifetime=40, options=(
        AlternateCareOfAddress(address=NCOA),))
    signed = sign_badf(fbu, key, care_of_address=NCOA, par_address=PAR)
    octets = bytearray(encode_mh(signed))
    assert octets[12:14] == b"\x01\x00"  # PadN(2) before the Alternate CoA at 8n+6
    octets[12:14] = b"\x00\x00"  # two Pad1: the same message, other octets
    data = NCOA.packed + PAR.packed + bytes(octets[:4]) + b"\x00\x00" + bytes(octets[6:-12])
    octets[-12:] = hmac.new(key.key, data, hashlib.sha1).digest()[:12]
    theirs = decode_mh(bytes(octets))
    assert verify_badf(theirs, key, care_of_address=NCOA, par_address=PAR,
                       encoded=bytes(octets))
    assert not verify_badf(theirs, key, care_of_address=NCOA, par_address=PAR)
