"""Plain-data views of decoded packets, for the dissector's text and JSON output.

Field names are the dataclass field names (the RFCs' names in snake_case), addresses become
strings, flags are grouped under ``flags`` as booleans keyed by their RFC letter, link-layer
addresses and other byte strings become colon-separated hex, and lifetimes and intervals stay in
seconds, as the model holds them.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from enum import Enum
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from .ipv6 import IPv6Packet

JSONValue = Any


def describe(item: object) -> dict[str, JSONValue]:
    """Return a JSON-ready dict for one message, option or header (not recursing into packets)."""
    if not is_dataclass(item):
        raise TypeError(f"{type(item).__name__} is not a wire dataclass")
    out: dict[str, JSONValue] = {"name": type(item).NAME}  # type: ignore[union-attr]
    for attribute in ("MH_TYPE", "ICMP_TYPE", "SUBTYPE", "OPTION_TYPE"):
        value = getattr(type(item), attribute, None)
        if isinstance(value, int):
            out[attribute.lower()] = value
    flag_letters: dict[str, str] = getattr(type(item), "FLAGS", {})
    flags: dict[str, bool] = {}
    for field in fields(item):
        value = getattr(item, field.name)
        if field.name in flag_letters:
            flags[flag_letters[field.name]] = bool(value)
        elif field.name in ("payload", "extension_headers") and isinstance(item, IPv6Packet):
            continue
        else:
            out[field.name] = _plain(value)
    if flags:
        out["flags"] = flags
    return out


def _plain(value: object) -> JSONValue:
    """Convert a field value to JSON-ready data."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, IPv6Address | IPv6Network):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return ":".join(f"{byte:02x}" for byte in value)
    if isinstance(value, tuple | list):
        return [_plain(element) for element in value]
    if is_dataclass(value):
        return describe(value)
    return str(value)


def packet_layers(packet: IPv6Packet) -> list[dict[str, JSONValue]]:
    """Every layer of ``packet`` in order: IPv6 header, extension headers, payload, tunnels."""
    layers: list[dict[str, JSONValue]] = []
    current: object = packet
    while isinstance(current, IPv6Packet):
        layers.append(describe(current))
        layers.extend(describe(header) for header in current.extension_headers)
        current = current.payload
    if current is not None:
        layers.append(describe(current))
    return layers


def format_layer(layer: dict[str, JSONValue], indent: str = "  ") -> list[str]:
    """Render one layer dict as readable lines (used by ``mipshop dissect``)."""
    head = layer["name"]
    parts: list[str] = []
    options: list[JSONValue] = []
    for key, value in layer.items():
        if key == "name":
            continue
        if key == "options" and isinstance(value, list):
            options = value
            continue
        if key == "flags":
            value = "".join(letter for letter, on in value.items() if on) or "-"
        parts.append(f"{key}={value}")
    lines = [f"{indent}{head} " + " ".join(parts)]
    for option in options:
        if isinstance(option, dict):
            lines.extend(format_layer(option, indent + "    "))
    return lines
