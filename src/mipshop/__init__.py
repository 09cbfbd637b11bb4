"""mipshop: HMIPv6 and FMIPv6 on Mobile IPv6, as codecs, a sans-IO core, a simulator and daemons."""

__version__ = "0.1.0"
