"""``mipshop dissect``: print the layers of every packet of a pcap or pcapng file.

The capture is read as a stream (:class:`mipshop.wire.pcap.CaptureReader`) and each packet is
printed as soon as it is read, so memory stays bounded whatever the file's size, and a file cut
short shows every complete packet before the error, as tshark does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from ..wire.describe import format_layer, packet_layers
from ..wire.errors import MalformedPacket
from ..wire.ipv6 import decode_packet
from ..wire.pcap import CaptureReader


def dissect(path: Path, out: TextIO, *, as_json: bool, fbu_lifetime_unit: int = 4) -> int:
    """Print each packet of ``path``; returns how many packets failed to decode.

    Packets are numbered as in the file (Wireshark's frame numbers): the frames that carry no
    IPv6 packet (ARP, IPv4, ...) are not shown but counted, and the text output ends with
    how many there were.

    A packet that does not decode is reported with the offset and reason of its
    :class:`MalformedPacket` and the dissection goes on with the next one. A packet whose
    checksum is wrong is decoded anyway and flagged, as Wireshark does. A capture file that is
    itself corrupt or cut short raises :class:`MalformedPacket` after the packets before the
    problem are printed.
    """
    failures = 0
    with open(path, "rb") as handle:
        reader = CaptureReader(handle)
        for record in reader:
            # The frame's number in the file (frames without IPv6 count, as in Wireshark).
            entry: dict[str, object] = {"number": record.number,
                                        "timestamp": round(record.timestamp, 6)}
            if record.interface is not None:
                entry["interface"] = record.interface
            try:
                packet = decode_packet(
                    record.data, verify_checksums=False, fbu_lifetime_unit=fbu_lifetime_unit
                )
            except MalformedPacket as exc:
                failures += 1
                entry.update(error=exc.reason, error_offset=exc.offset)
            else:
                entry["layers"] = packet_layers(packet)
                try:
                    decode_packet(record.data, fbu_lifetime_unit=fbu_lifetime_unit)
                    entry["checksum_ok"] = True
                except MalformedPacket:
                    entry["checksum_ok"] = False
            if as_json:
                out.write(json.dumps(entry, sort_keys=False) + "\n")
            else:
                _print_text(entry, out)
    if reader.skipped and not as_json:
        out.write(f"({reader.skipped} frame{'s' if reader.skipped > 1 else ''} without an "
                  "IPv6 packet not shown)\n")
    return failures


def _print_text(entry: dict[str, object], out: TextIO) -> None:
    """Readable rendering of one packet entry."""
    head = f"#{entry['number']} t={entry['timestamp']:.6f}"
    if "interface" in entry:
        head += f" on {entry['interface']}"
    if "error" in entry:
        out.write(f"{head} MALFORMED at offset {entry['error_offset']}: {entry['error']}\n")
        return
    if not entry.get("checksum_ok", True):
        head += " [bad checksum]"
    out.write(head + "\n")
    for layer in entry["layers"]:  # type: ignore[attr-defined]
        for line in format_layer(layer):
            out.write(line + "\n")
