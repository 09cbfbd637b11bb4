"""Return routability keys and the correspondent's nonce table (RFC 6275 §5.2, §6.2.7).

Notation as in RFC 6275 §5.2: ``|`` is concatenation, First(n, x) the first n bits of x,
HMAC_SHA1(K, m) a MAC over m keyed with K (§5.2.4). Addresses enter the formulas as their 16
packed octets.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections import OrderedDict
from dataclasses import dataclass
from ipaddress import IPv6Address

from mipshop.protocol.base.constants import (
    AUTHENTICATOR_LENGTH,
    COOKIE_LENGTH,
    KEYGEN_TOKEN_LENGTH,
    MAX_NONCE_LIFETIME,
    MAX_RR_BINDING_LIFETIME,
    MAX_TOKEN_LIFETIME,
    NODE_KEY_LENGTH,
    NONCE_LENGTH,
    NONCE_REGENERATION_INTERVAL,
    NONCES_KEPT,
)
from mipshop.protocol.mipv6.mn_ha_auth import hmac_sha1

#: RFC 6275 §5.2.5: the final octet distinguishing home (0) and care-of (1) keygen tokens.
HOME_TOKEN_TAG = b"\x00"
CARE_OF_TOKEN_TAG = b"\x01"
#: Nonce indices are carried in 16-bit fields (RFC 6275 §6.1.4, §6.1.6, §6.2.6).
NONCE_INDEX_MODULUS = 1 << 16


def _hmac_sha1(key: bytes, message: bytes) -> bytes:
    return hmac_sha1(key, message)


def _keygen_token(kcn: bytes, address: IPv6Address, nonce: bytes, tag: bytes) -> bytes:
    if not kcn:
        raise ValueError("Kcn must not be empty")
    return _hmac_sha1(kcn, address.packed + nonce + tag)[:KEYGEN_TOKEN_LENGTH]


def home_keygen_token(kcn: bytes, home_address: IPv6Address, nonce: bytes) -> bytes:
    """Return the 8-octet home keygen token (RFC 6275 §5.2.5).

    ``First(64, HMAC_SHA1(Kcn, (home address | nonce | 0)))`` where the final 0 is one zero
    octet and the home address is the 16-octet address the Home Test Init came from.
    """
    return _keygen_token(kcn, home_address, nonce, HOME_TOKEN_TAG)


def care_of_keygen_token(kcn: bytes, care_of_address: IPv6Address, nonce: bytes) -> bytes:
    """Return the 8-octet care-of keygen token (RFC 6275 §5.2.5).

    ``First(64, HMAC_SHA1(Kcn, (care-of address | nonce | 1)))`` where the final 1 is the
    single octet 0x01. For a BU with an Alternate Care-of Address option the care-of address
    is the one in that option (§5.2.6, §9.5.1).
    """
    return _keygen_token(kcn, care_of_address, nonce, CARE_OF_TOKEN_TAG)


def binding_management_key(home_token: bytes, care_of_token: bytes | None) -> bytes:
    """Return the 20-octet (KBM_LENGTH) binding management key Kbm (RFC 6275 §5.2.5).

    ``Kbm = SHA-1(home keygen token | care-of keygen token)``; for a Binding Update that
    deletes a binding (lifetime 0, or care-of address == home address) the care-of token is
    not used and ``Kbm = SHA-1(home keygen token)``: pass ``care_of_token=None``.
    """
    if len(home_token) != KEYGEN_TOKEN_LENGTH:
        raise ValueError(f"home keygen token must be {KEYGEN_TOKEN_LENGTH} octets")
    if care_of_token is not None and len(care_of_token) != KEYGEN_TOKEN_LENGTH:
        raise ValueError(f"care-of keygen token must be {KEYGEN_TOKEN_LENGTH} octets")
    return hashlib.sha1(home_token + (care_of_token or b"")).digest()


def binding_authenticator(
    kbm: bytes, care_of_address: IPv6Address, correspondent: IPv6Address, mh_data: bytes
) -> bytes:
    """Return the 12-octet Binding Authorization Data authenticator (RFC 6275 §6.2.7, §5.2.6).

    ``First(96, HMAC_SHA1(Kbm, (care-of address | correspondent | MH Data)))`` where

    * ``care_of_address`` is the CoA being registered (the Alternate Care-of Address if
      present, else the BU's source address) and, for a de-registration, the home address;
    * ``correspondent`` is the CN's address (its home address if the CN is itself mobile);
    * ``mh_data`` is the Mobility Header from its first octet (Payload Proto) up to, *not*
      including, the authenticator value; it includes the Binding Authorization Data option's
      Type and Length octets, and its Checksum field is zero (§6.2.7).

    The same formula authenticates the CN's Binding Acknowledgement (§5.2.6) and, keyed with
    the MN-PAR handover key, the FMIPv6 BADF option (RFC 5568 §6.4.5).
    """
    if not kbm:
        raise ValueError("Kbm must not be empty")
    message = care_of_address.packed + correspondent.packed + mh_data
    return _hmac_sha1(kbm, message)[:AUTHENTICATOR_LENGTH]


def verify_binding_authenticator(
    kbm: bytes,
    care_of_address: IPv6Address,
    correspondent: IPv6Address,
    mh_data: bytes,
    authenticator: bytes,
) -> bool:
    """Check an authenticator from the wire in constant time (RFC 6275 §9.5.1, §11.7.3)."""
    expected = binding_authenticator(kbm, care_of_address, correspondent, mh_data)
    return hmac.compare_digest(expected, authenticator)


def generate_node_key(rng: random.Random) -> bytes:
    """Draw a 20-octet node key Kcn from ``rng`` (RFC 6275 §5.2.1)."""
    return rng.randbytes(NODE_KEY_LENGTH)


def generate_cookie(rng: random.Random) -> bytes:
    """Draw a fresh 64-bit home/care-of init cookie from ``rng`` (RFC 6275 §5.2.3, §11.8)."""
    return rng.randbytes(COOKIE_LENGTH)


def clamp_rr_lifetime(lifetime: float) -> float:
    """Cap a binding lifetime authorised by RR keys at MAX_RR_BINDING_LIFETIME (§5.2.6)."""
    return min(lifetime, MAX_RR_BINDING_LIFETIME)


def token_usable(received_at: float, now: float) -> bool:
    """True while a keygen token received at ``received_at`` may still be used by the MN.

    RFC 6275 §5.2.7: the MN MAY reuse tokens until MAX_TOKEN_LIFETIME expires and SHOULD NOT
    use them afterwards.
    """
    return now - received_at < MAX_TOKEN_LIFETIME


@dataclass(frozen=True, slots=True)
class NonceEntry:
    """One nonce of a correspondent node, with the node key it pairs with (RFC 6275 §5.2.2).

    RFC 6275 §5.2.7: a Kcn update SHOULD coincide with a nonce update so that a nonce index
    identifies both; ``kcn`` is therefore stored with each nonce.
    """

    index: int
    nonce: bytes
    kcn: bytes
    generated_at: float

    def valid(self, now: float, lifetime: float = MAX_NONCE_LIFETIME) -> bool:
        """True if a token built on this nonce may still be accepted at ``now`` (§5.2.7)."""
        return now < self.generated_at + lifetime

    def home_token(self, home_address: IPv6Address) -> bytes:
        """Home keygen token for ``home_address`` built on this nonce and key (§5.2.5)."""
        return home_keygen_token(self.kcn, home_address, self.nonce)

    def care_of_token(self, care_of_address: IPv6Address) -> bytes:
        """Care-of keygen token for ``care_of_address`` built on this nonce and key (§5.2.5)."""
        return care_of_keygen_token(self.kcn, care_of_address, self.nonce)


class NonceTable:
    """A correspondent node's nonces, indexed by 16-bit nonce index (RFC 6275 §5.2.2, §5.2.7).

    Validity rule (RFC 6275 §5.2.7): each nonce should stay acceptable at least
    MAX_TOKEN_LIFETIME (210 s) after its first use in a HoT/CoT, and MUST NOT be accepted more
    than MAX_NONCE_LIFETIME (240 s) after its first use. This table hands out only its newest
    nonce, makes a new one once the newest is NONCE_REGENERATION_INTERVAL (30 s) old, and
    accepts a nonce until MAX_NONCE_LIFETIME after it was *generated*. Since a nonce is first
    used no earlier than its generation and no later than 30 s after, every token is accepted
    for 210..240 s after it was sent: the MUST holds exactly and the recommendation holds too.
    At most MAX_NONCE_LIFETIME / 30 = 8 nonces are ever live, and the table keeps the last 8.

    Generation is lazy and driven by ``now`` alone: :meth:`current` makes a new nonce only
    when asked for one and the newest is too old, so an idle CN does no work (§5.2.7 allows
    on-demand generation "as long as ... [it] does not generate new nonces on every return
    routability request"). Randomness (nonces, node keys, the first index) comes from ``rng``.

    With ``rotate_node_key`` a fresh Kcn is drawn with every nonce (§5.2.7 SHOULD); otherwise
    all nonces share ``node_key`` (drawn from ``rng`` if not given).
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        node_key: bytes | None = None,
        rotate_node_key: bool = False,
        nonce_length: int = NONCE_LENGTH,
        regeneration_interval: float = NONCE_REGENERATION_INTERVAL,
        nonce_lifetime: float = MAX_NONCE_LIFETIME,
        max_nonces: int = NONCES_KEPT,
    ) -> None:
        if nonce_length < 1:
            raise ValueError("nonce_length must be >= 1")
        if not 0 < regeneration_interval <= nonce_lifetime:
            raise ValueError("need 0 < regeneration_interval <= nonce_lifetime")
        if max_nonces < 1:
            raise ValueError("max_nonces must be >= 1")
        self._rng = rng
        self._node_key = node_key if node_key is not None else generate_node_key(rng)
        if not self._node_key:
            raise ValueError("node_key must not be empty")
        self.rotate_node_key = rotate_node_key
        self.nonce_length = nonce_length
        self.regeneration_interval = regeneration_interval
        self.nonce_lifetime = nonce_lifetime
        self.max_nonces = max_nonces
        self._next_index = rng.randrange(NONCE_INDEX_MODULUS)
        self._entries: OrderedDict[int, NonceEntry] = OrderedDict()

    def _newest(self) -> NonceEntry | None:
        if not self._entries:
            return None
        return next(reversed(self._entries.values()))

    def _generate(self, now: float) -> NonceEntry:
        index = self._next_index
        self._next_index = (index + 1) % NONCE_INDEX_MODULUS
        if self.rotate_node_key:
            self._node_key = generate_node_key(self._rng)
        entry = NonceEntry(
            index=index,
            nonce=self._rng.randbytes(self.nonce_length),
            kcn=self._node_key,
            generated_at=now,
        )
        # A 16-bit index space cannot wrap onto a live entry with max_nonces <= 65536, but pop
        # first anyway so the new entry always goes to the end (newest).
        self._entries.pop(index, None)
        self._entries[index] = entry
        while len(self._entries) > self.max_nonces:
            self._entries.popitem(last=False)
        return entry

    def current(self, now: float) -> NonceEntry:
        """Return the nonce to use in a Home Test / Care-of Test sent at ``now``.

        A new nonce (and, with ``rotate_node_key``, a new Kcn) is generated first if there is
        none yet or the newest is ``regeneration_interval`` old or older.
        """
        self.expire(now)
        newest = self._newest()
        if newest is None or now - newest.generated_at >= self.regeneration_interval:
            newest = self._generate(now)
        return newest

    def entry(self, index: int, now: float) -> NonceEntry | None:
        """Return the live entry for ``index``, or None if unknown or expired (§5.2.7, §9.5.1)."""
        found = self._entries.get(index)
        if found is None or not found.valid(now, self.nonce_lifetime):
            return None
        return found

    def valid_until(self, index: int, now: float) -> float | None:
        """When the nonce ``index`` stops being accepted, or None if it no longer is (§5.2.7)."""
        found = self.entry(index, now)
        return None if found is None else found.generated_at + self.nonce_lifetime

    def lookup(self, index: int, now: float) -> bytes | None:
        """Return the nonce for ``index`` if it may still be accepted at ``now``, else None.

        None is what yields Binding Acknowledgement status 136/137/138 (RFC 6275 §9.5.1).
        """
        found = self.entry(index, now)
        return None if found is None else found.nonce

    def home_token(self, index: int, home_address: IPv6Address, now: float) -> bytes | None:
        """Regenerate the home keygen token for ``index`` (§9.5.1), or None if expired."""
        found = self.entry(index, now)
        return None if found is None else found.home_token(home_address)

    def care_of_token(self, index: int, care_of_address: IPv6Address, now: float) -> bytes | None:
        """Regenerate the care-of keygen token for ``index`` (§9.5.1), or None if expired."""
        found = self.entry(index, now)
        return None if found is None else found.care_of_token(care_of_address)

    def invalidate(self, index: int) -> bool:
        """Forget the nonce ``index`` early (RFC 6275 §5.2.8, §9.5.3); True if it existed."""
        return self._entries.pop(index, None) is not None

    def expire(self, now: float) -> list[NonceEntry]:
        """Discard nonces that may no longer be accepted (§5.2.2: "MUST be discarded")."""
        dead = [e for e in self._entries.values() if not e.valid(now, self.nonce_lifetime)]
        for e in dead:
            del self._entries[e.index]
        return dead

    def entries(self) -> list[NonceEntry]:
        """Stored entries, oldest first (expired ones included until :meth:`expire`)."""
        return list(self._entries.values())

    def __len__(self) -> int:
        """Number of stored entries."""
        return len(self._entries)
