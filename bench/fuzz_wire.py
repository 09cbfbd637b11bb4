"""Mutation fuzzer for the wire decoders (``decode_packet``, ``decode_mh``, ``decode_icmpv6``).

Seeds are the encoded packets of :func:`mipshop.wire.samples.all_message_packets` and, for
the Mobility Header and ICMPv6 ones, their upper-layer bytes alone. Each input is a seed with
one to a few random mutations (bit flips, bytes set to 0, 0xFF or a random value, small
arithmetic on a byte, truncation, insertion of random bytes, duplication or deletion of a
slice, splicing in the tail of another seed, and tweaks of the length fields the seed
carries: IPv6 Payload Length, extension header lengths, MH Header Len, mobility and ND option
lengths), drawn from a seeded :class:`random.Random` so that a run is reproducible.

Every input goes to ``decode_packet(data)``, ``decode_packet(data, verify_checksums=False)``,
``decode_mh(data)`` and ``decode_icmpv6(data)``. A failure is:

- any exception other than :class:`~mipshop.wire.errors.MalformedPacket` (the decoders
  promise to raise nothing else, whatever the bytes);
- a packet that decodes without checksum verification but does not survive a re-encode:
  ``decode_packet(encode_packet(p), verify_checksums=v) == p`` must hold for v False and True
  (``encode_packet`` computes correct checksums, so the verified decode must succeed too);
- a packet that decodes with verification but differently from the unverified decode;
- a message that ``decode_mh``/``decode_icmpv6`` accepts but that does not re-encode to a
  message decoding to the same value.

Failures are deduplicated by (check, exception type, innermost frame) and each kept input is
shrunk by a small delta-debugging pass before it is reported.

Usage: ``python bench/fuzz_wire.py [--iterations N] [--seed S]``; exits 1 on any failure.
The test suite imports :func:`fuzz` (``tests/wire/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from mipshop.wire.errors import MalformedPacket
from mipshop.wire.icmpv6 import decode_icmpv6, encode_icmpv6
from mipshop.wire.ipv6 import decode_packet, encode_packet
from mipshop.wire.mh import decode_mh, encode_mh
from mipshop.wire.samples import all_message_packets

__all__ = ["Failure", "FuzzStats", "fuzz", "main", "minimize", "seed_corpus"]

_MAX_FAILURES = 20

# Offset of the first mobility option, by MH Type (RFC 6275 §6.1, RFC 5568 §6.2).
_MH_OPTIONS_AT = {0: 8, 1: 16, 2: 16, 3: 24, 4: 24, 5: 12, 6: 12, 7: 24, 8: 12, 9: 12, 10: 8,
                  14: 10, 15: 10}  # fmt: skip
# Offset of the first ND option, by ICMPv6 Type (RFC 4861 §4, RFC 6275 §6.7-6.8, RFC 5568).
_ND_OPTIONS_AT = {133: 8, 134: 16, 135: 24, 136: 24, 146: 8, 147: 8, 154: 8}
_EXTENSION_HEADERS = frozenset({0, 43, 44, 51, 60, 139, 140, 253, 254})


@dataclass(frozen=True)
class Failure:
    """One distinct failure: which check, the (shrunk) input, and what went wrong."""

    check: str
    data: bytes
    error: str
    traceback: str


@dataclass
class FuzzStats:
    """Counts from one :func:`fuzz` run."""

    iterations: int = 0
    packet_decoded: int = 0  # decode_packet(verify_checksums=False) succeeded
    packet_malformed: int = 0
    packet_verified: int = 0  # decode_packet(data) (checksums verified) succeeded
    mh_decoded: int = 0
    mh_malformed: int = 0
    icmpv6_decoded: int = 0
    icmpv6_malformed: int = 0
    roundtrips: int = 0  # re-encode round trips checked (packet and message level)
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    @property
    def decoded(self) -> int:
        """Inputs at least one decoder accepted."""
        return self.packet_decoded + self.mh_decoded + self.icmpv6_decoded

    @property
    def malformed(self) -> int:
        """MalformedPacket raised, summed over the three decoders (unverified packet decode)."""
        return self.packet_malformed + self.mh_malformed + self.icmpv6_malformed

    @property
    def rate(self) -> float:
        """Inputs per second."""
        return self.iterations / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------------------------------------
# Seeds and their length fields
# ---------------------------------------------------------------------------------------------


def _option_length_positions(data: bytes, start: int, end: int, nd: bool) -> list[int]:
    """Positions of the Length octet of each TLV option in ``data[start:end]``."""
    out: list[int] = []
    i = start
    while i + 1 < end:
        if not nd and data[i] == 0:  # MH Pad1 has no length
            i += 1
            continue
        out.append(i + 1)
        if nd and data[i + 1] == 0:  # an invalid zero length: stop walking
            break
        i += data[i + 1] * 8 if nd else data[i + 1] + 2
    return out


def _upper_length_positions(data: bytes, at: int, protocol: int) -> list[int]:
    """Length fields of an MH (protocol 135) or ICMPv6 (58) message starting at ``at``."""
    if protocol == 135 and len(data) >= at + 3:
        end = min(len(data), at + (data[at + 1] + 1) * 8)
        first = _MH_OPTIONS_AT.get(data[at + 2])
        opts = [] if first is None else _option_length_positions(data, at + first, end, nd=False)
        return [at + 1, *opts]
    if protocol == 58 and len(data) > at:
        first = _ND_OPTIONS_AT.get(data[at])
        if first is not None:
            return _option_length_positions(data, at + first, len(data), nd=True)
    return []


def _packet_length_positions(data: bytes) -> tuple[list[int], int, int]:
    """Length fields of an encoded packet, and the offset and protocol of its upper layer."""
    positions = [4, 5]
    next_header, offset = data[6], 40
    while next_header in _EXTENSION_HEADERS and offset + 2 <= len(data):
        positions.append(offset + 1)
        size = (data[offset + 1] + 2) * 4 if next_header == 51 else (data[offset + 1] + 1) * 8
        next_header, offset = data[offset], offset + size
    if next_header == 41 and offset + 40 <= len(data):  # a tunnelled packet
        inner, at, protocol = _packet_length_positions(data[offset:])
        positions += [offset + p for p in inner]
        return positions, offset + at, protocol
    positions += _upper_length_positions(data, offset, next_header)
    return positions, offset, next_header


@dataclass(frozen=True)
class _Seed:
    data: bytes
    length_positions: tuple[int, ...]


def seed_corpus() -> list[_Seed]:
    """Every sample packet, and the MH/ICMPv6 bytes of those that carry one."""
    seeds: list[_Seed] = []
    for packet in all_message_packets():
        data = encode_packet(packet)
        positions, at, protocol = _packet_length_positions(data)
        seeds.append(_Seed(data, tuple(positions)))
        if protocol in (58, 135):
            upper = data[at:]
            seeds.append(_Seed(upper, tuple(_upper_length_positions(upper, 0, protocol))))
    return seeds


# ---------------------------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------------------------


def _mutate(rng: random.Random, seed: _Seed, seeds: list[_Seed]) -> bytes:
    buf = bytearray(seed.data)
    for _ in range(1 + min(int(rng.expovariate(1.0)), 5)):
        n = len(buf)
        kind = rng.randrange(12)
        if kind <= 1 and seed.length_positions:  # length-field tweak (twice as likely)
            pos = rng.choice(seed.length_positions)
            if pos < n:
                buf[pos] = rng.choice(
                    (
                        (buf[pos] + rng.choice((-8, -2, -1, 1, 2, 8))) & 0xFF,
                        0,
                        1,
                        0xFF,
                        buf[pos] ^ 1,
                    )
                )
            continue
        if n == 0:
            buf.extend(rng.randbytes(rng.randrange(1, 16)))
            continue
        pos = rng.randrange(n)
        if kind <= 3:  # bit flip
            buf[pos] ^= 1 << rng.randrange(8)
        elif kind == 4:
            buf[pos] = rng.choice((0, 0xFF, rng.randrange(256)))
        elif kind == 5:  # small arithmetic
            buf[pos] = (buf[pos] + rng.randint(-16, 16)) & 0xFF
        elif kind == 6:  # truncation
            del buf[rng.randrange(n) :]
        elif kind == 7:  # insertion
            buf[pos:pos] = rng.randbytes(rng.choice((1, 1, 2, 4, 8, 16)))
        elif kind == 8:  # duplicate a slice
            a = rng.randrange(n)
            b = min(n, a + rng.choice((1, 2, 4, 8, 16, 24, 40)))
            buf[pos:pos] = buf[a:b]
        elif kind == 9:  # delete a slice
            del buf[pos : pos + rng.choice((1, 2, 4, 8))]
        elif kind == 10:  # splice the tail of another seed
            other = rng.choice(seeds).data
            buf[pos:] = other[rng.randrange(len(other)) :]
        else:  # a 16- or 32-bit word of 0/0xFF.../random
            width = rng.choice((2, 4))
            buf[pos : pos + width] = rng.choice(
                (bytes(width), b"\xff" * width, rng.randbytes(width))
            )
    return bytes(buf)


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


class _RoundTripError(AssertionError):
    """A decoded value that does not survive re-encoding (or disagrees across decoders)."""


def _check_packet(data: bytes, stats: FuzzStats | None) -> None:
    """decode_packet without verification, then the re-encode round trip."""
    try:
        packet = decode_packet(data, verify_checksums=False)
    except MalformedPacket:
        if stats is not None:
            stats.packet_malformed += 1
        return
    if stats is not None:
        stats.packet_decoded += 1
    encoded = encode_packet(packet)
    for verify in (False, True):
        again = decode_packet(encoded, verify_checksums=verify)
        if again != packet:
            raise _RoundTripError(
                f"re-encode round trip (verify_checksums={verify}): {packet!r} -> {again!r}"
            )
    if stats is not None:
        stats.roundtrips += 1
    try:
        verified = decode_packet(data)
    except MalformedPacket:
        return
    if stats is not None:
        stats.packet_verified += 1
    if verified != packet:
        raise _RoundTripError(f"verified decode {verified!r} != unverified {packet!r}")


def _check_mh(data: bytes, stats: FuzzStats | None) -> None:
    try:
        message = decode_mh(data)
    except MalformedPacket:
        if stats is not None:
            stats.mh_malformed += 1
        return
    if stats is not None:
        stats.mh_decoded += 1
        stats.roundtrips += 1
    again = decode_mh(encode_mh(message))
    if again != message:
        raise _RoundTripError(f"MH re-encode round trip: {message!r} -> {again!r}")


def _check_icmpv6(data: bytes, stats: FuzzStats | None) -> None:
    try:
        message = decode_icmpv6(data)
    except MalformedPacket:
        if stats is not None:
            stats.icmpv6_malformed += 1
        return
    if stats is not None:
        stats.icmpv6_decoded += 1
        stats.roundtrips += 1
    again = decode_icmpv6(encode_icmpv6(message))
    if again != message:
        raise _RoundTripError(f"ICMPv6 re-encode round trip: {message!r} -> {again!r}")


_CHECKS: tuple[tuple[str, Callable[[bytes, FuzzStats | None], None]], ...] = (
    ("decode_packet", _check_packet),
    ("decode_mh", _check_mh),
    ("decode_icmpv6", _check_icmpv6),
)


def _signature(check: str, exc: BaseException) -> tuple[str, str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return check, type(exc).__name__, where


def _fails_same(
    check: Callable[[bytes, FuzzStats | None], None], signature: tuple[str, str, str]
) -> Callable[[bytes], bool]:
    def predicate(data: bytes) -> bool:
        try:
            check(data, None)
        except Exception as exc:
            return _signature(signature[0], exc) == signature
        return False

    return predicate


def minimize(data: bytes, still_fails: Callable[[bytes], bool]) -> bytes:
    """Shrink ``data`` (delete chunks, then zero bytes) while ``still_fails`` holds."""
    chunk = max(1, len(data) // 2)
    while chunk >= 1:
        i, shrunk = 0, False
        while i < len(data):
            candidate = data[:i] + data[i + chunk :]
            if still_fails(candidate):
                data, shrunk = candidate, True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    for i in range(len(data)):
        if data[i] and still_fails(candidate := data[:i] + b"\0" + data[i + 1 :]):
            data = candidate
    return data


def fuzz(iterations: int, seed: int = 0) -> FuzzStats:
    """Run ``iterations`` mutated inputs through every decoder; return the counts and failures.

    Distinct failures (at most 20) are collected in ``failures`` with a shrunk input, rather
    than stopping the run at the first one.
    """
    rng = random.Random(seed)
    seeds = seed_corpus()
    stats = FuzzStats()
    seen: set[tuple[str, str, str]] = set()
    start = time.perf_counter()
    for _ in range(iterations):
        data = _mutate(rng, rng.choice(seeds), seeds)
        stats.iterations += 1
        for name, check in _CHECKS:
            try:
                check(data, stats)
            except Exception as exc:
                signature = _signature(name, exc)
                if signature in seen or len(stats.failures) >= _MAX_FAILURES:
                    continue
                seen.add(signature)
                small = minimize(data, _fails_same(check, signature))
                try:
                    check(small, None)
                    small = data  # pragma: no cover - minimize keeps failing inputs only
                except Exception as small_exc:
                    exc = small_exc
                stats.failures.append(
                    Failure(
                        check=name,
                        data=small,
                        error=f"{type(exc).__name__}: {exc}",
                        traceback="".join(traceback.format_exception(exc)),
                    )
                )
    stats.seconds = time.perf_counter() - start
    return stats


def main(argv: list[str] | None = None) -> int:
    """Command line: run the fuzzer, print counts and failures, exit 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1_000_000, help="inputs to try")
    parser.add_argument("--seed", type=int, default=0, help="random.Random seed")
    args = parser.parse_args(argv)
    stats = fuzz(args.iterations, args.seed)
    for failure in stats.failures:
        print(f"FAILURE in {failure.check}: {failure.error}")
        print(f"input ({len(failure.data)} bytes): {failure.data.hex()}")
        print(failure.traceback)
    print(
        f"{stats.iterations} inputs in {stats.seconds:.1f} s ({stats.rate:,.0f}/s), "
        f"seed {args.seed}\n"
        f"  decode_packet (no checksum check): {stats.packet_decoded} decoded, "
        f"{stats.packet_malformed} malformed; {stats.packet_verified} also passed checksums\n"
        f"  decode_mh: {stats.mh_decoded} decoded, {stats.mh_malformed} malformed\n"
        f"  decode_icmpv6: {stats.icmpv6_decoded} decoded, {stats.icmpv6_malformed} malformed\n"
        f"  re-encode round trips checked: {stats.roundtrips}\n"
        f"  failures: {len(stats.failures)}"
    )
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
