"""The one error every decoder raises on bad bytes."""

from __future__ import annotations


class MalformedPacket(ValueError):  # noqa: N818 (the project-wide name)
    """Bytes that cannot be decoded.

    ``offset`` is the position of the offending byte from the start of the buffer handed to
    the decoder that raised (callers that decode a nested buffer re-base it), and ``reason``
    says what is wrong. Entities turn it into a counted drop (docs/architecture.md, "Two error
    paths");
    the Mobility Header receiver rules of RFC 6275 §9.2 use ``offset`` as the Parameter
    Problem pointer.
    """

    def __init__(self, reason: str, offset: int = 0) -> None:
        super().__init__(f"offset {offset}: {reason}")
        self.reason = reason
        self.offset = offset

    def shifted(self, base: int) -> MalformedPacket:
        """Return the same error with ``offset`` counted from ``base`` bytes earlier."""
        return MalformedPacket(self.reason, self.offset + base)
