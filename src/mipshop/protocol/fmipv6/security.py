"""The BADF option of FMIPv6: signing and checking FBU and FBack (RFC 5568 §6.4.5).

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

import dataclasses
from ipaddress import IPv6Address
from typing import TypeVar

from ...wire.mh import (
    FastBindingAcknowledgement,
    FastBindingUpdate,
    encode_mh,
    mh_authenticator_input,
)
from ...wire.mh_options import FastBindingAuthorizationData
from ..base.constants import AUTHENTICATOR_LENGTH
from ..mipv6.return_routability import binding_authenticator, verify_binding_authenticator
from ..mipv6.signalling import received_or_encoded
from .config import HandoverKey

_M = TypeVar("_M", FastBindingUpdate, FastBindingAcknowledgement)


def sign_badf(
    message: _M, key: HandoverKey, *, care_of_address: IPv6Address, par_address: IPv6Address
) -> _M:
    """Return ``message`` with a BADF option appended as its last option (§6.4.5)."""
    options = message.options

    def with_badf(authenticator: bytes) -> _M:
        badf = FastBindingAuthorizationData(spi=key.spi, authenticator=authenticator)
        return dataclasses.replace(message, options=(*options, badf))

    draft = with_badf(bytes(AUTHENTICATOR_LENGTH))
    data = mh_authenticator_input(encode_mh(draft), AUTHENTICATOR_LENGTH)
    return with_badf(binding_authenticator(key.key, care_of_address, par_address, data))


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
