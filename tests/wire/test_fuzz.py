"""Mutation fuzzing of the wire decoders in the default test run (see bench/fuzz_wire.py).

150,000 mutated inputs from a fixed seed: every decoder must raise nothing but
MalformedPacket, and every packet or message that decodes must survive a re-encode. About
7 s on the 2-core CI machine.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FUZZ_PATH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_wire.py"
ITERATIONS = 150_000
SEED = 20261128


def _load_fuzzer() -> ModuleType:
    name = "mipshop_bench_fuzz_wire"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FUZZ_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered while it executes
    spec.loader.exec_module(module)
    return module


def test_mutated_inputs_raise_only_malformed_packet_and_round_trip() -> None:
    stats = _load_fuzzer().fuzz(ITERATIONS, SEED)

    report = "\n\n".join(
        f"{f.check}: {f.error}\ninput: {f.data.hex()}\n{f.traceback}" for f in stats.failures
    )
    assert not stats.failures, report
    assert stats.iterations == ITERATIONS
    # Both outcomes in meaningful numbers, for each decoder: the mutations neither destroy
    # every input nor leave them all intact.
    for decoded, malformed in (
        (stats.packet_decoded, stats.packet_malformed),
        (stats.mh_decoded, stats.mh_malformed),
        (stats.icmpv6_decoded, stats.icmpv6_malformed),
    ):
        assert decoded >= ITERATIONS // 50, (decoded, malformed)
        assert malformed >= ITERATIONS // 50, (decoded, malformed)
    # Checksums over mutated packets are mostly wrong, but some inputs pass verification.
    assert stats.packet_verified >= 100
    # Every accepted packet and message went through the re-encode round trip.
    assert stats.roundtrips == stats.packet_decoded + stats.mh_decoded + stats.icmpv6_decoded
