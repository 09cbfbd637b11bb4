"""Constants against tables transcribed from the RFCs, and against the RFC text itself."""

import re
from pathlib import Path

import pytest

from mipshop.protocol.base import constants as c

# Transcribed by hand from RFC 6275 §5.2.7, §12 and §13 (and derived values such as
# INITIAL_BINDACK_TIMEOUT_FIRST_REG, §13), and RFC 5568 §5.4, §6.1.1 and §9.
RFC_6275 = {
    "DHAAD_RETRIES": 4,
    "INITIAL_BINDACK_TIMEOUT": 1.0,
    "INITIAL_DHAAD_TIMEOUT": 3.0,
    "INITIAL_SOLICIT_TIMER": 3.0,
    "MAX_BINDACK_TIMEOUT": 32.0,
    "MAX_DELETE_BCE_TIMEOUT": 10.0,
    "MAX_NONCE_LIFETIME": 240.0,
    "MAX_TOKEN_LIFETIME": 210.0,
    "MAX_RO_FAILURE": 3,
    "MAX_RR_BINDING_LIFETIME": 420.0,
    "MAX_UPDATE_RATE": 3,
    "PREFIX_ADV_RETRIES": 3,
    "PREFIX_ADV_TIMEOUT": 3.0,
    "MAX_MOB_PFX_ADV_INTERVAL": 86400.0,
    "MIN_MOB_PFX_ADV_INTERVAL": 600.0,
    "MIN_DELAY_BETWEEN_RAS": 3.0,
    "MIN_DELAY_BETWEEN_RAS_FLOOR": 0.03,
    "INITIAL_BINDACK_TIMEOUT_FIRST_REG": 1.5,
    "NONCE_REGENERATION_INTERVAL": 30.0,
    "NONCES_KEPT": 8,
    "NODE_KEY_LENGTH": 20,
    "MAX_BINDING_LIFETIME": 262140.0,
    "BRR_RECENT_USE_THRESHOLD": 60.0,
}
RFC_5568 = {
    "RTSOLPR_RETRIES": 3,
    "MAX_RTSOLPR_RATE": 3,
    "FBU_RETRIES": 3,
    "PROXY_ND_LIFETIME": 1.5,
    "HI_RETRIES": 3,
    "FMIP_DEFAULT_INITIAL_TIMEOUT": 0.1,
    "BUFFER_BURST_PACKETS": 5,
}


@pytest.mark.parametrize("name,value", sorted({**RFC_6275, **RFC_5568}.items()))
def test_transcribed_values(name, value):
    assert getattr(c, name) == value


def test_derived():
    assert c.MAX_NONCE_LIFETIME - c.MAX_TOKEN_LIFETIME == c.NONCE_REGENERATION_INTERVAL
    assert c.NONCES_KEPT * c.NONCE_REGENERATION_INTERVAL == c.MAX_NONCE_LIFETIME
    assert c.MAX_BINDING_LIFETIME == 0xFFFF * c.LIFETIME_UNIT
    assert c.MAX_RR_BINDING_LIFETIME / c.LIFETIME_UNIT == 105
    assert c.INITIAL_BINDACK_TIMEOUT_FIRST_REG == (
        1.5 * c.ND_RETRANS_TIMER * c.DUP_ADDR_DETECT_TRANSMITS
    )
    assert c.MN_HA_REPLAY_WINDOW > c.MN_HA_REPLAY_WINDOW_MIN
    assert 0 < c.REFRESH_FRACTION < 1


#: Verbatim RFC passages committed as test data (each file names its RFC and sections).
PASSAGES = Path(__file__).resolve().parent / "rfc_passages"
_NAME_MAP = {
    "MaxMobPfxAdvInterval": "MAX_MOB_PFX_ADV_INTERVAL",
    "MinDelayBetweenRAs": "MIN_DELAY_BETWEEN_RAS",
    "MinMobPfxAdvInterval": "MIN_MOB_PFX_ADV_INTERVAL",
    "InitialBindackTimeoutFirstReg": "INITIAL_BINDACK_TIMEOUT_FIRST_REG",
}


def test_against_rfc6275_sections_12_13():
    text = (PASSAGES / "rfc6275-sections-12-13.txt").read_text()
    start = text.index("12.  Protocol Constants\n")
    found = {}
    for line in text[start:].splitlines():
        m = re.match(r"^\s+([A-Za-z_]+)\s+(?:Default:\s+)?([\d,.]+)\s", line + " ")
        if m and m.group(1) not in {"Min"}:
            found[_NAME_MAP.get(m.group(1), m.group(1))] = float(m.group(2).replace(",", ""))
    assert len(found) == 17
    for name, value in found.items():
        assert getattr(c, name) == value, name


def test_against_rfc5568_section_9():
    text = (PASSAGES / "rfc5568-section-9.txt").read_text()
    table = text[text.index("9.  Configurable Parameters\n") :]
    rows = re.findall(r"\|\s+([A-Z_]+)\s+\|\s+([\d.]+)(?: seconds)?\s+\|", table)
    assert len(rows) == 5
    for name, value in rows:
        assert getattr(c, name) == float(value), name


def test_against_rfc4861_section_10():
    text = (PASSAGES / "rfc4861-section-10.txt").read_text()
    table = dict(re.findall(r"^\s+([A-Z_]+)\s+([\d.,]+) ", text, flags=re.MULTILINE))
    assert float(table["MAX_RA_DELAY_TIME"]) == c.MAX_RA_DELAY_TIME
    assert int(table["MAX_NEIGHBOR_ADVERTISEMENT"]) == c.MAX_NEIGHBOR_ADVERTISEMENT
    assert float(table["MIN_DELAY_BETWEEN_RAS"]) == c.MIN_DELAY_BETWEEN_RAS
    assert float(table["RETRANS_TIMER"].replace(",", "")) / 1000 == c.ND_RETRANS_TIMER
    assert int(table["MAX_UNICAST_SOLICIT"]) == c.MAX_UNICAST_SOLICIT
    assert int(table["MAX_RTR_SOLICITATIONS"]) == c.MAX_RTR_SOLICITATIONS
    assert float(table["RTR_SOLICITATION_INTERVAL"]) == c.RTR_SOLICITATION_INTERVAL
