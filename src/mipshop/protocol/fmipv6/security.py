"""FMIPv6 message protection: the BADF option on FBU and FBack (RFC 5568 §6.4.5), and the
router-pair authenticator on HI and HAck (:class:`RouterAuthenticator`, RFC 5568 §10 stand-in).

BADF:

"Authenticator: Same as in RFC 3775, with 'correspondent' replaced by the PAR's IP address,
and Kbm replaced by the shared key between the MN and the PAR", i.e.::

    First(96, HMAC_SHA1(key, care-of address | PAR address | MH Data))

MH Data runs from the Payload Proto octet up to the authenticator, so it ends with the BADF's Type,
Length and SPI octets, checksum taken as zero (:func:`~mipshop.wire.mh.mh_authenticator_input`).

Resolved ambiguity (docs/decisions.md D5, [choice]): the care-of address input is the address
the message binds: the Alternate Care-of Address option when present, else the NCoA the FBU
names (its ACoA or, sent from the new link, its source); for an FBack, the ACoA it carries (a
NAR-assigned NCoA) or else the NCoA of the FBU it answers. For a lifetime-0 FBU sent from the
PAR's link that is the PCoA, the "home address" of the fast binding, as RFC 6275 §5.2.6 uses
the home address for a de-registration.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv6Address
from typing import TypeVar

from ...wire.ipv6 import IPv6Packet
from ...wire.mh import (
    FastBindingAcknowledgement,
    FastBindingUpdate,
    HandoverAcknowledge,
    HandoverInitiate,
    append_options,
    encode_mh,
    mh_authenticator_input,
    sign_last_option,
    with_options,
)
from ...wire.mh_options import (
    FastBindingAuthorizationData,
    MobilityMessageAuthentication,
    ReplayProtection,
    authentication_options,
    with_authenticator,
)
from ..base.constants import AUTHENTICATOR_LENGTH, MN_HA_AUTHENTICATOR_LENGTH
from ..mipv6.mn_ha_auth import ReplayChecker, ReplayVerdict, TimestampSource
from ..mipv6.return_routability import binding_authenticator, verify_binding_authenticator
from ..mipv6.signalling import find_option, received_or_encoded
from .config import HandoverKey, RouterKey

_M = TypeVar("_M", FastBindingUpdate, FastBindingAcknowledgement)
_R = TypeVar("_R", HandoverInitiate, HandoverAcknowledge)

#: [choice] Subtype of the Mobility Message Authentication option (type 9, RFC 4285 §5) that
#: carries the router-pair authenticator on HI and HAck. IANA's registry holds 1 (MN-HA) and
#: 2 (MN-AAA); 128, unassigned, marks this project's stand-in for the IPsec SA of RFC 5568
#: §10, so that no receiver can take it for an MN-HA authenticator. Wireshark dissects it
#: as an authentication option of an unknown subtype.
ROUTER_PAIR_SUBTYPE = 128


def sign_badf(
    message: _M, key: HandoverKey, *, care_of_address: IPv6Address, par_address: IPv6Address
) -> _M:
    """Return ``message`` with a BADF option appended as its last option (§6.4.5)."""
    placeholder = FastBindingAuthorizationData(spi=key.spi,
                                               authenticator=bytes(AUTHENTICATOR_LENGTH))
    draft = with_options(message, (*message.options, placeholder))
    encoded = encode_mh(draft)
    data = mh_authenticator_input(encoded, AUTHENTICATOR_LENGTH)
    authenticator = binding_authenticator(key.key, care_of_address, par_address, data)
    return sign_last_option(draft, encoded, with_authenticator(placeholder, authenticator))


def badf_of(message: FastBindingUpdate | FastBindingAcknowledgement
            ) -> FastBindingAuthorizationData | None:
    """The BADF option if it is the message's last option (§6.4.5: MUST be last), else None."""
    options = message.options
    last = options[-1] if options else None
    return last if isinstance(last, FastBindingAuthorizationData) else None


def verify_badf(
    message: FastBindingUpdate | FastBindingAcknowledgement,
    key: HandoverKey,
    *,
    care_of_address: IPv6Address,
    par_address: IPv6Address,
    encoded: bytes | None = None,
) -> bool:
    """True if ``message`` ends with a BADF under ``key`` that authenticates it.

    ``encoded`` is the Mobility Header as received (the MAC covers the sender's bytes); None
    re-encodes ``message``.
    """
    badf = badf_of(message)
    if badf is None or badf.spi != key.spi or len(badf.authenticator) != AUTHENTICATOR_LENGTH:
        return False
    data = mh_authenticator_input(received_or_encoded(message, encoded), len(badf.authenticator))
    return verify_binding_authenticator(key.key, care_of_address, par_address, data,
                                        badf.authenticator)


class RouterAuthenticator:
    """Authenticates HI and HAck between two routers (RFC 5568 §10; stand-in for IPsec).

    RFC 5568 §10 requires HI/HAck to be protected by "end-to-end security association(s)
    offering integrity and data origin authentication", i.e. IPsec ESP. This runtime has none,
    so each router pair shares a key (:class:`~.config.RouterKey`) and every HI and HAck ends
    with two RFC 4285 options, as an MN-HA Binding Update does (RFC 4285 §5.1, §6):

    * Replay Protection (type 10): a 64-bit NTP timestamp of the sender's clock, strictly
      increasing per sender (:class:`~mipshop.protocol.mipv6.mn_ha_auth.TimestampSource`);
    * Mobility Message Authentication (type 9), last, subtype :data:`ROUTER_PAIR_SUBTYPE`,
      the pair's SPI and ``First(96, HMAC_SHA1(key, source | destination | MH Data))``, where
      source and destination are the packet's addresses and MH Data the Mobility Header up to
      and including the SPI with the checksum zeroed (RFC 4285 §5.1 with the care-of and home
      addresses replaced by the routers').

    A receiver accepts a message only from a peer it has a key for, with that SPI, a valid
    authenticator and a timestamp within the SA's replay window of its own clock and newer
    than the last one accepted from that peer (RFC 4285 §6); anything else is refused with the
    reason (:meth:`verify`). A retransmitted HI or HAck is signed again with a new timestamp.
    Routers' clocks must agree within the window (the simulator's do; the testbed's daemons
    share the host clock).
    """

    def __init__(self, keys: Iterable[RouterKey], *, wall_clock_offset: float = 0.0) -> None:
        #: Keys by peer router address: one dictionary probe per message.
        self.keys: dict[IPv6Address, RouterKey] = {k.peer: k for k in keys}
        self.timestamps = TimestampSource(wall_clock_offset)
        self.replay = ReplayChecker(wall_clock_offset=wall_clock_offset)

    def sign(self, message: _R, *, source: IPv6Address, destination: IPv6Address,
             now: float) -> _R:
        """``message`` with the timestamp and router-pair authenticator for ``destination``.

        Raises KeyError when ``destination`` is no peer (configurations guarantee one for
        every neighbour and anchor).
        """
        sa = self.keys[destination].security_association
        # Checked as the constructors check them (authentication_options); the message's own
        # options were checked when it was built.
        appended = authentication_options(self.timestamps.next(now), ROUTER_PAIR_SUBTYPE,
                                          sa.spi, MN_HA_AUTHENTICATOR_LENGTH)
        placeholder = appended[1]
        draft = append_options(message, appended)
        encoded = encode_mh(draft)
        data = mh_authenticator_input(encoded, MN_HA_AUTHENTICATOR_LENGTH)
        authenticator = sa.authenticator(source, destination, data)
        return sign_last_option(draft, encoded, with_authenticator(placeholder, authenticator))

    def verify(self, packet: IPv6Packet, message: HandoverInitiate | HandoverAcknowledge,
               now: float, *, encoded: bytes | None = None) -> str | None:
        """Why ``message`` (in ``packet``) is refused, or None when it is authentic and fresh.

        Reasons: ``unknown_router`` (no key for the source), ``unauthenticated`` (no
        router-pair authenticator last, or another SPI), ``no_timestamp``,
        ``bad_authenticator``, ``replay`` (RFC 4285 §6 timestamp check). ``encoded`` is the
        Mobility Header as received. Only an accepted timestamp is recorded.
        """
        key = self.keys.get(packet.src)
        if key is None:
            return "unknown_router"
        sa = key.security_association
        options = message.options
        auth = options[-1] if options else None
        if not (isinstance(auth, MobilityMessageAuthentication)
                and auth.subtype == ROUTER_PAIR_SUBTYPE and auth.spi == sa.spi):
            return "unauthenticated"
        replay = find_option(message, ReplayProtection)
        if replay is None:
            return "no_timestamp"
        data = mh_authenticator_input(received_or_encoded(message, encoded),
                                      len(auth.authenticator))
        if not sa.verify(packet.src, packet.dst, data, auth.authenticator):
            return "bad_authenticator"
        verdict = self.replay.accept(packet.src, replay.timestamp, now, window=sa.replay_window)
        return None if verdict is ReplayVerdict.ACCEPTED else "replay"
