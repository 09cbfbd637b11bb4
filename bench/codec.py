"""Encode+decode round-trip rate of the mipshop wire codec against scapy and a struct floor.

Method
------
Five messages: a home-registration Binding Update with an Alternate Care-of Address option,
a Binding Acknowledgement, a Fast Binding Update (ACoA + Binding Authorization Data for
FMIPv6), a Handover Initiate (two MH IPv6 Address/Prefix options + MH Link-Layer Address) and
a Router Advertisement with a MAP option and a Prefix Information option. For each, three
codecs do one round trip per message (encode the object to bytes, decode the bytes back):

- **mipshop**: ``decode_mh(encode_mh(m))`` / ``decode_icmpv6(encode_icmpv6(m))``, message
  level, no IPv6 header (so no checksum);
- **scapy**: ``cls(raw(p))`` for the equivalent scapy object (``MIP6MH_BU``, ``MIP6MH_BA``,
  ``ICMPv6ND_RA / ICMPv6NDOptMAP / ICMPv6NDOptPrefixInfo``), checksum 0 as ours. scapy has no
  FBU or HI class; its ``MIP6MH_Generic`` keeps the message data as one opaque string (and
  reads ``8 * len - 6`` octets of it), which is not a comparable codec, so scapy is reported
  as n/a (JSON ``null``) for those two;
- **struct**: a floor: precompiled :class:`struct.Struct` objects for the fixed part and for
  each option (with the padding mipshop writes), addresses as 16-byte ``bytes``, fields as
  plain tuples, no objects and no checks. Its encoding is asserted byte-identical to
  mipshop's before timing.

Each codec cycles through a pool of 256 distinct messages (different addresses, sequence
numbers, identifiers), so that nothing is measured on one hot message. All three are timed in
the same run with :func:`time.perf_counter`, interleaved, and the best of ``--repeats``
passes is kept; the rate is round trips per second.

mipshop memoizes decoded mobility-option addresses (``mh_options._address``, a bounded dict of
4096 entries emptied when full). The 256-message pool has at most 512 distinct addresses, so
in steady state those lookups hit the memo, as they do on a node that talks to a few peers;
the table therefore also shows a **cold** mipshop rate over a pool of 6144 messages whose
more than 4096 addresses (cycled in order) miss the memo every time. The ND options of the RA
do not go through that memo. The JSON output carries the 256-pool rate as ``mipshop``.

Targets: mipshop >= 100x scapy and >= 0.1x the struct floor.

Usage: ``python bench/codec.py [--quick] [--json] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any

from mipshop.wire.icmpv6 import RouterAdvertisement, decode_icmpv6, encode_icmpv6
from mipshop.wire.mh import (
    BindingAcknowledgement,
    BindingUpdate,
    FastBindingUpdate,
    HandoverInitiate,
    decode_mh,
    encode_mh,
)
from mipshop.wire.mh_options import (
    AlternateCareOfAddress,
    FastBindingAuthorizationData,
    IPv6AddressPrefixOption,
    MHLinkLayerAddress,
)
from mipshop.wire.nd_options import MAPOption, PrefixInformation

try:
    from scapy.compat import raw
    from scapy.layers.inet6 import (
        MIP6MH_BA,
        MIP6MH_BU,
        ICMPv6ND_RA,
        ICMPv6NDOptMAP,
        ICMPv6NDOptPrefixInfo,
        MIP6OptAltCoA,
    )

    HAVE_SCAPY = True
except ImportError:  # pragma: no cover - scapy is a dev dependency
    HAVE_SCAPY = False

MESSAGES = ("BU", "BA", "FBU", "HI", "RA")
POOL = 256
COLD_POOL = 6144  # > 4096 (mh_options._ADDRESS_CACHE_SIZE) distinct addresses, see docstring
TARGET_SCAPY = 100.0
TARGET_STRUCT = 0.1

RoundTrip = Callable[[Any], Any]


def _address(prefix: int, i: int) -> IPv6Address:
    """A distinct documentation address per (prefix, i)."""
    return IPv6Address((0x20010DB8 << 96) | (prefix << 64) | (i + 1))


def _mac(i: int) -> bytes:
    return bytes((2, 0, 0, 0, (i >> 8) & 0xFF, i & 0xFF))


# ---------------------------------------------------------------------------------------------
# The messages, as mipshop objects
# ---------------------------------------------------------------------------------------------


def mipshop_message(kind: str, i: int) -> Any:
    """Message ``i`` of the pool for ``kind``."""
    seq = (1000 + 7 * i) & 0xFFFF
    if kind == "BU":
        return BindingUpdate(
            sequence=seq,
            lifetime=400,
            ack=True,
            home_registration=True,
            options=(AlternateCareOfAddress(address=_address(1, i)),),
        )
    if kind == "BA":
        return BindingAcknowledgement(status=0, sequence=seq, lifetime=400)
    if kind == "FBU":
        return FastBindingUpdate(
            sequence=seq,
            lifetime=8,
            options=(
                AlternateCareOfAddress(address=_address(2, i)),
                FastBindingAuthorizationData(spi=0x200 + i, authenticator=bytes(12)),
            ),
        )
    if kind == "HI":
        return HandoverInitiate(
            sequence=seq,
            buffer=True,
            code=0,
            options=(
                IPv6AddressPrefixOption(option_code=1, prefix_length=128, address=_address(3, i)),
                IPv6AddressPrefixOption(option_code=2, prefix_length=128, address=_address(4, i)),
                MHLinkLayerAddress(option_code=2, address=_mac(i)),
            ),
        )
    if kind == "RA":
        return RouterAdvertisement(
            cur_hop_limit=64,
            home_agent=True,
            router_lifetime=1800,
            reachable_time=30.0,
            retrans_timer=1.0,
            options=(
                MAPOption(
                    distance=2,
                    preference=10,
                    r_flag=False,
                    valid_lifetime=3600 + i,
                    address=_address(5, i),
                ),
                PrefixInformation(
                    prefix_length=64,
                    on_link=True,
                    autonomous=True,
                    router_address=True,
                    valid_lifetime=86400,
                    preferred_lifetime=14400,
                    prefix=IPv6Address((0x20010DB8 << 96) | ((0x4100 + i) << 64)),
                ),
            ),
        )
    raise ValueError(kind)


def _mipshop_mh(m: Any) -> Any:
    return decode_mh(encode_mh(m))


def _mipshop_icmpv6(m: Any) -> Any:
    return decode_icmpv6(encode_icmpv6(m))


# ---------------------------------------------------------------------------------------------
# The same messages in scapy
# ---------------------------------------------------------------------------------------------


def scapy_message(m: Any) -> Any:
    """scapy's equivalent of a pool message (BU, BA, RA); None when scapy has no class."""
    if isinstance(m, BindingUpdate):
        acoa = m.options[0].address
        return MIP6MH_BU(
            cksum=0,
            seq=m.sequence,
            flags="AH",
            mhtime=m.lifetime // 4,
            options=[MIP6OptAltCoA(acoa=str(acoa))],
        )
    if isinstance(m, BindingAcknowledgement):
        return MIP6MH_BA(cksum=0, status=m.status, flags=0, seq=m.sequence, mhtime=m.lifetime // 4)
    if isinstance(m, RouterAdvertisement):
        map_option, pio = m.options
        return (
            ICMPv6ND_RA(
                cksum=0,
                chlim=m.cur_hop_limit,
                M=0,
                O=0,
                H=1,
                prf=0,
                P=0,
                routerlifetime=m.router_lifetime,
                reachabletime=round(m.reachable_time * 1000),
                retranstimer=round(m.retrans_timer * 1000),
            )
            / ICMPv6NDOptMAP(
                len=3,
                dist=map_option.distance,
                pref=map_option.preference,
                R=0,
                validlifetime=map_option.valid_lifetime,
                addr=str(map_option.address),
            )
            / ICMPv6NDOptPrefixInfo(
                prefixlen=pio.prefix_length,
                L=1,
                A=1,
                R=1,
                validlifetime=pio.valid_lifetime,
                preferredlifetime=pio.preferred_lifetime,
                prefix=str(pio.prefix),
            )
        )
    return None


def _scapy_round_trip(kind: str) -> RoundTrip:
    cls = {"BU": MIP6MH_BU, "BA": MIP6MH_BA, "RA": ICMPv6ND_RA}[kind]

    def round_trip(p: Any) -> Any:
        return cls(raw(p))

    return round_trip


# ---------------------------------------------------------------------------------------------
# The struct floor: same fields, same bytes, no objects
# ---------------------------------------------------------------------------------------------

# Payload Proto, Header Len, MH Type, Reserved, Checksum, then the type's fixed fields.
_BU = struct.Struct("!BBBBHHHH")  # ... Sequence, A|H|L|K|M flags word, Lifetime
_BA = struct.Struct("!BBBBHBBHH")  # ... Status, K flags, Sequence, Lifetime
_HI = struct.Struct("!BBBBHHBB")  # ... Sequence, S|U flags, Code
_PADN = struct.Struct("!BB")  # PadN header (Type 1, Length)
_ACOA = struct.Struct("!BB16s")  # Type 3, Length 16, address
_BADF = struct.Struct("!BBI12s")  # Type 21 (FMIPv6 BADF), Length 16, SPI, authenticator
_PFX = struct.Struct("!BBBB16s")  # Type 34, Length 18, Option-Code, Prefix Length, address
_LLA = struct.Struct("!BBB6s")  # Type 7, Length 7, Option-Code, MAC
_RA = struct.Struct("!BBHBBHII")  # Type, Code, Checksum, Cur Hop Limit, flags, lifetimes, timers
_MAP = struct.Struct("!BBBBI16s")  # Type 23, Length 3, Dist|Pref, R, Valid Lifetime, address
_PIO = struct.Struct("!BBBBIII16s")  # Type 3, Length 4, Prefix Length, L|A|R, lifetimes, prefix

_PAD2 = _PADN.pack(1, 0)
_PAD4 = _PADN.pack(1, 2) + bytes(2)
_PAD6 = _PADN.pack(1, 4) + bytes(4)
_PAD7 = _PADN.pack(1, 5) + bytes(5)


def struct_fields(kind: str, m: Any) -> tuple[Any, ...]:
    """The wire fields of a pool message as plain values (addresses as 16 bytes)."""
    if kind == "BU":
        return (m.sequence, 0xC000, m.lifetime // 4, m.options[0].address.packed)
    if kind == "BA":
        return (m.status, 0, m.sequence, m.lifetime // 4)
    if kind == "FBU":
        acoa, badf = m.options
        return (m.sequence, 0xC000, m.lifetime // 4, acoa.address.packed, badf.spi,
                badf.authenticator)  # fmt: skip
    if kind == "HI":
        pcoa, ncoa, lla = m.options
        return (m.sequence, 0x40, m.code, pcoa.address.packed, ncoa.address.packed, lla.address)
    map_option, pio = m.options
    return (
        m.cur_hop_limit,
        0x20,
        m.router_lifetime,
        30000,
        1000,
        (map_option.distance << 4) | map_option.preference,
        map_option.valid_lifetime,
        map_option.address.packed,
        pio.prefix_length,
        pio.valid_lifetime,
        pio.preferred_lifetime,
        pio.prefix.packed,
    )


def _enc_bu(f: tuple[Any, ...]) -> bytes:
    return _BU.pack(59, 3, 5, 0, 0, f[0], f[1], f[2]) + _PAD2 + _ACOA.pack(3, 16, f[3])


def _dec_bu(d: bytes) -> tuple[Any, ...]:
    _, _, _, _, _, seq, flags, lifetime = _BU.unpack_from(d)
    return seq, flags, lifetime, _ACOA.unpack_from(d, 14)[2]


def _enc_ba(f: tuple[Any, ...]) -> bytes:
    return _BA.pack(59, 1, 6, 0, 0, f[0], f[1], f[2], f[3]) + _PAD4


def _dec_ba(d: bytes) -> tuple[Any, ...]:
    return _BA.unpack_from(d)[5:]


def _enc_fbu(f: tuple[Any, ...]) -> bytes:
    return (
        _BU.pack(59, 6, 8, 0, 0, f[0], f[1], f[2])
        + _PAD2
        + _ACOA.pack(3, 16, f[3])
        + _PAD6
        + _BADF.pack(21, 16, f[4], f[5])
    )


def _dec_fbu(d: bytes) -> tuple[Any, ...]:
    _, _, _, _, _, seq, flags, lifetime = _BU.unpack_from(d)
    _, _, spi, auth = _BADF.unpack_from(d, 38)
    return seq, flags, lifetime, _ACOA.unpack_from(d, 14)[2], spi, auth


def _enc_hi(f: tuple[Any, ...]) -> bytes:
    return (
        _HI.pack(59, 8, 14, 0, 0, f[0], f[1], f[2])
        + _PAD2
        + _PFX.pack(34, 18, 1, 128, f[3])
        + _PAD4
        + _PFX.pack(34, 18, 2, 128, f[4])
        + _LLA.pack(7, 7, 2, f[5])
        + _PAD7
    )


def _dec_hi(d: bytes) -> tuple[Any, ...]:
    _, _, _, _, _, seq, flags, code = _HI.unpack_from(d)
    return seq, flags, code, _PFX.unpack_from(d, 12)[4], _PFX.unpack_from(d, 36)[4], d[59:65]


def _enc_ra(f: tuple[Any, ...]) -> bytes:
    return (
        _RA.pack(134, 0, 0, f[0], f[1], f[2], f[3], f[4])
        + _MAP.pack(23, 3, f[5], 0, f[6], f[7])
        + _PIO.pack(3, 4, f[8], 0xE0, f[9], f[10], 0, f[11])
    )


def _dec_ra(d: bytes) -> tuple[Any, ...]:
    _, _, _, hop_limit, flags, lifetime, reachable, retrans = _RA.unpack_from(d)
    _, _, dist_pref, _, valid, address = _MAP.unpack_from(d, 16)
    _, _, plen, _, pvalid, preferred, _, prefix = _PIO.unpack_from(d, 40)
    return (hop_limit, flags, lifetime, reachable, retrans, dist_pref, valid, address, plen,
            pvalid, preferred, prefix)  # fmt: skip


STRUCT_CODECS: dict[str, tuple[Callable[[tuple[Any, ...]], bytes], Callable[[bytes], Any]]] = {
    "BU": (_enc_bu, _dec_bu),
    "BA": (_enc_ba, _dec_ba),
    "FBU": (_enc_fbu, _dec_fbu),
    "HI": (_enc_hi, _dec_hi),
    "RA": (_enc_ra, _dec_ra),
}


def _struct_round_trip(kind: str) -> RoundTrip:
    enc, dec = STRUCT_CODECS[kind]

    def round_trip(f: tuple[Any, ...]) -> Any:
        return dec(enc(f))

    return round_trip


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


@dataclass
class Contender:
    """One codec on one message kind: its round trip and its pool of inputs."""

    round_trip: RoundTrip
    pool: Sequence[Any]
    best: float = float("inf")  # seconds per round trip


def _time_pass(c: Contender, cycles: int) -> None:
    round_trip, pool = c.round_trip, c.pool
    start = time.perf_counter()
    for _ in range(cycles):
        for item in pool:
            round_trip(item)
    elapsed = (time.perf_counter() - start) / (cycles * len(pool))
    c.best = min(c.best, elapsed)


def _cycles_for(c: Contender, seconds: float) -> int:
    """Pool cycles that take about ``seconds`` (calibrated on one cycle)."""
    _time_pass(c, 1)
    return max(1, round(seconds / (c.best * len(c.pool))))


def _check_equivalence(kind: str, messages: Sequence[Any], scapy_pool: Sequence[Any]) -> None:
    """All three codecs write the same bytes (scapy only where it has the message)."""
    encode = encode_icmpv6 if kind == "RA" else encode_mh
    enc = STRUCT_CODECS[kind][0]
    for i, m in enumerate(messages):
        ours = encode(m)
        if enc(struct_fields(kind, m)) != ours:
            raise AssertionError(f"{kind}: struct floor bytes differ from mipshop's")
        if scapy_pool and raw(scapy_pool[i]) != ours:
            raise AssertionError(f"{kind}: scapy bytes differ from mipshop's")
        decoded = decode_icmpv6(ours) if kind == "RA" else decode_mh(ours)
        if decoded != m:
            raise AssertionError(f"{kind}: mipshop round trip changed the message")


def run(repeats: int, seconds: float, cold: bool) -> dict[str, dict[str, float | None]]:
    """Measure every codec on every message; return round trips per second."""
    results: dict[str, dict[str, float | None]] = {}
    for kind in MESSAGES:
        messages = [mipshop_message(kind, i) for i in range(POOL)]
        scapy_pool = (
            [scapy_message(m) for m in messages]
            if HAVE_SCAPY and kind in ("BU", "BA", "RA")
            else []
        )
        _check_equivalence(kind, messages, scapy_pool)
        ours = _mipshop_icmpv6 if kind == "RA" else _mipshop_mh
        contenders: dict[str, Contender] = {
            "mipshop": Contender(ours, messages),
            "struct": Contender(
                _struct_round_trip(kind), [struct_fields(kind, m) for m in messages]
            ),
        }
        if scapy_pool:
            contenders["scapy"] = Contender(_scapy_round_trip(kind), scapy_pool)
        if cold:
            contenders["cold"] = Contender(
                ours, [mipshop_message(kind, i) for i in range(COLD_POOL)]
            )
        cycles = {name: _cycles_for(c, seconds) for name, c in contenders.items()}
        for _ in range(repeats):
            for name, c in contenders.items():  # interleaved: same conditions for all
                _time_pass(c, cycles[name])
        results[kind] = {
            name: (1.0 / contenders[name].best if name in contenders else None)
            for name in ("mipshop", "scapy", "struct", "cold")
            if name != "cold" or cold
        }
    return results


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:,.2f}x"


def print_table(results: dict[str, dict[str, float | None]], repeats: int) -> None:
    """The human-readable table: rates (round trips/s) and the two ratios."""
    cold = any("cold" in r for r in results.values())
    header = f"{'message':8}{'mipshop':>12}"
    header += f"{'cold':>12}" if cold else ""
    header += f"{'scapy':>10}{'struct':>12}{'mip/scapy':>11}{'mip/struct':>12}"
    print(f"encode+decode round trips per second, best of {repeats}, pool of {POOL} messages")
    print(header)
    print("-" * len(header))
    for kind, r in results.items():
        line = f"{kind:8}{_rate(r['mipshop']):>12}"
        line += f"{_rate(r.get('cold')):>12}" if cold else ""
        line += f"{_rate(r['scapy']):>10}{_rate(r['struct']):>12}"
        line += f"{_ratio(r['mipshop'], r['scapy']):>11}{_ratio(r['mipshop'], r['struct']):>12}"
        print(line)
    print()
    print("scapy n/a for FBU and HI: scapy has no FMIPv6 classes, and MIP6MH_Generic keeps the")
    print("message data opaque (and misreads its length), so it is not a comparable codec.")
    if cold:
        print(f"cold: mipshop over {COLD_POOL} messages, more addresses than the 4096-entry")
        print("mobility-option address memo holds (RA addresses never use it).")
    print(f"targets: mipshop >= {TARGET_SCAPY:.0f}x scapy and >= {TARGET_STRUCT}x struct")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (3 repeats, ~20 ms each)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=None, help="timed passes per codec")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    seconds = 0.02 if args.quick else 0.2
    results = run(repeats, seconds, cold=not args.json)
    if args.json:
        messages = {
            kind: {name: r[name] for name in ("mipshop", "scapy", "struct")}
            for kind, r in results.items()
        }
        print(json.dumps({"messages": messages}))
    else:
        print_table(results, repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
