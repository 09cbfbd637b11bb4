"""Protocol constants and configuration defaults, in seconds (times) or counts.

Sources: RFC 6275 §12 (protocol constants) and §13 (configuration variables), RFC 5568 §9
(FMIPv6 configurable parameters) with the timers of §5.4, §6.1.1 and §6.2.1.1, RFC 4285 §5.1
and §6 (MN-HA authentication), and the derived values of RFC 6275 §5.2.7.
RFC 6275 §13 and RFC 5568 §9 values are *defaults*: the entities take them as keyword
arguments so that system management can change them, as those sections require.
Implementation choices that no RFC fixes are marked "[choice]".
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------------------------
# Mobile IPv6 protocol constants (RFC 6275 §12)
# ---------------------------------------------------------------------------------------------

#: RFC 6275 §12: DHAAD Request retransmissions (§11.4.1).
DHAAD_RETRIES: Final = 4
#: RFC 6275 §12: first Binding Update retransmission timeout when a binding exists (§11.8).
INITIAL_BINDACK_TIMEOUT: Final = 1.0
#: RFC 6275 §12: first DHAAD Request retransmission timeout (§11.4.1).
INITIAL_DHAAD_TIMEOUT: Final = 3.0
#: RFC 6275 §12: first Mobile Prefix Solicitation retransmission timeout (§11.4.2, §11.8).
INITIAL_SOLICIT_TIMER: Final = 3.0
#: RFC 6275 §12: ceiling of the exponential back-off (§11.8); the MN MAY keep sending at it.
MAX_BINDACK_TIMEOUT: Final = 32.0
#: RFC 6275 §12: how long a home agent keeps a de-registered entry marked invalid (§10.3.2).
MAX_DELETE_BCE_TIMEOUT: Final = 10.0
#: RFC 6275 §12: a CN MUST NOT accept a nonce later than this after its first use (§5.2.7).
MAX_NONCE_LIFETIME: Final = 240.0
#: RFC 6275 §12: a keygen token should stay usable this long after it was sent (§5.2.7).
MAX_TOKEN_LIFETIME: Final = 210.0
#: RFC 6275 §12: return routability attempts before falling back to the HA tunnel (§5.2.9).
MAX_RO_FAILURE: Final = 3
#: RFC 6275 §12: ceiling of a binding authorised by return routability keys (§5.2.6).
MAX_RR_BINDING_LIFETIME: Final = 420.0
#: RFC 6275 §12: MH messages of one type to one correspondent per second (§11.8).
MAX_UPDATE_RATE: Final = 3
#: RFC 6275 §12: unsolicited Mobile Prefix Advertisement retransmissions (§10.6.2).
PREFIX_ADV_RETRIES: Final = 3
#: RFC 6275 §12: first unsolicited Mobile Prefix Advertisement retransmission timeout.
PREFIX_ADV_TIMEOUT: Final = 3.0

# ---------------------------------------------------------------------------------------------
# Mobile IPv6 configuration variables, defaults (RFC 6275 §13)
# ---------------------------------------------------------------------------------------------

#: RFC 6275 §13 MaxMobPfxAdvInterval (home agent): default 86,400 s.
MAX_MOB_PFX_ADV_INTERVAL: Final = 86_400.0
#: RFC 6275 §13 MinMobPfxAdvInterval (home agent): default 600 s.
MIN_MOB_PFX_ADV_INTERVAL: Final = 600.0
#: RFC 6275 §13 MinDelayBetweenRAs (home agent / router): default 3 s.
MIN_DELAY_BETWEEN_RAS: Final = 3.0
#: RFC 6275 §13 MinDelayBetweenRAs: smallest allowed value, 0.03 s (§7.5).
MIN_DELAY_BETWEEN_RAS_FLOOR: Final = 0.03
#: RFC 6275 §13 InitialBindackTimeoutFirstReg (mobile node): default 1.5 s, the first BU
#: retransmission timeout when there is no binding at the HA yet (§11.8), giving the HA time to
#: run DAD: 1.5 x RetransTimer (RFC 4861 §10) x DupAddrDetectTransmits (RFC 4862 §5.1).
INITIAL_BINDACK_TIMEOUT_FIRST_REG: Final = 1.5

#: RFC 4861 §10 RETRANS_TIMER (1,000 ms), an input of InitialBindackTimeoutFirstReg.
ND_RETRANS_TIMER: Final = 1.0
#: RFC 4861 §10 / §6.2.6: a Router Advertisement answering a Router Solicitation MUST be
#: delayed by a random time between 0 and this many seconds.
MAX_RA_DELAY_TIME: Final = 0.5
#: RFC 4861 §10 / §7.2.6: unsolicited Neighbor Advertisements a node MAY send for one change
#: (RFC 5568 §6.3 allows retransmitting the UNA under this rule).
MAX_NEIGHBOR_ADVERTISEMENT: Final = 3
#: RFC 4861 §10 / §7.3.3: unicast Neighbor Solicitations of Neighbor Unreachability Detection
#: (RFC 6275 §11.5.1 uses it on the default router).
MAX_UNICAST_SOLICIT: Final = 3
#: RFC 4861 §10 / §6.3.7: Router Solicitations a host sends, RTR_SOLICITATION_INTERVAL apart.
MAX_RTR_SOLICITATIONS: Final = 3
RTR_SOLICITATION_INTERVAL: Final = 4.0
#: RFC 4862 §5.1 DupAddrDetectTransmits default, an input of InitialBindackTimeoutFirstReg.
DUP_ADDR_DETECT_TRANSMITS: Final = 1

# ---------------------------------------------------------------------------------------------
# Mobile IPv6 derived and wire-related values
# ---------------------------------------------------------------------------------------------

#: RFC 6275 §6.1.7/§6.1.8: BU/BA Lifetime is carried in units of 4 seconds.
LIFETIME_UNIT: Final = 4.0
#: RFC 6275 §6.1.7: largest lifetime a 16-bit field in 4 s units can carry (0xFFFF * 4).
MAX_BINDING_LIFETIME: Final = 262_140.0
#: RFC 6275 §5.2.7: a new nonce every MAX_NONCE_LIFETIME - MAX_TOKEN_LIFETIME = 30 s.
NONCE_REGENERATION_INTERVAL: Final = MAX_NONCE_LIFETIME - MAX_TOKEN_LIFETIME
#: RFC 6275 §5.2.7: keep the last MAX_NONCE_LIFETIME / 30 = 8 nonces.
NONCES_KEPT: Final = int(MAX_NONCE_LIFETIME // NONCE_REGENERATION_INTERVAL)
#: RFC 6275 §5.2.1: the node key Kcn is 20 random octets.
NODE_KEY_LENGTH: Final = 20
#: RFC 6275 §5.2.2: recommended nonce length, 64 bits.
NONCE_LENGTH: Final = 8
#: RFC 6275 §5.2.3: init cookies and keygen tokens are 64 bits.
COOKIE_LENGTH: Final = 8
#: RFC 6275 §5.2.3 / §5.2.5: keygen token length, First(64, ...).
KEYGEN_TOKEN_LENGTH: Final = 8
#: RFC 6275 §5.2.5: Kbm is a SHA-1 digest, 20 octets.
KBM_LENGTH: Final = 20
#: RFC 6275 §6.2.7: Binding Authorization Data authenticator, First(96, ...) = 12 octets.
AUTHENTICATOR_LENGTH: Final = 12
#: RFC 6275 §9.5.1 / §11.8: sequence numbers are 16 bits, compared modulo 2**16.
SEQUENCE_MODULUS: Final = 1 << 16
#: RFC 6275 §11.8: MAX_UPDATE_RATE is counted over this sliding window.
UPDATE_RATE_WINDOW: Final = 1.0
#: [choice] UMIP CN_BRR_TIME_THRESH (not in the RFC): a CN sends a Binding Refresh Request
#: only for an entry used within this many seconds (RFC 6275 §9.5.5 leaves "active use" open).
BRR_RECENT_USE_THRESHOLD: Final = 60.0
#: [choice] Refresh a binding at this fraction of the granted lifetime, counted from when the
#: BU was sent (RFC 6275 §11.7.3: "well before the expiration of this period").
REFRESH_FRACTION: Final = 0.8

# ---------------------------------------------------------------------------------------------
# RFC 4285: MN-HA mobility message authentication and replay protection
# ---------------------------------------------------------------------------------------------

#: RFC 4285 §5.1: the MN-HA shared key is 16 octets.
MN_HA_KEY_LENGTH: Final = 16
#: RFC 4285 §5.1: Authentication Data = First(96, HMAC_SHA1(...)), 12 octets.
MN_HA_AUTHENTICATOR_LENGTH: Final = 12
#: RFC 4285 §5.1 / §6: default "close enough" timestamp window, 7 s.
MN_HA_REPLAY_WINDOW: Final = 7.0
#: RFC 4285 §5.1 / §6: the window SHOULD be greater than 3 s.
MN_HA_REPLAY_WINDOW_MIN: Final = 3.0
#: RFC 4285 §5.1: mobility SPI values 0..255 are reserved.
MN_HA_SPI_RESERVED_MAX: Final = 255

# ---------------------------------------------------------------------------------------------
# FMIPv6 configurable parameters (RFC 5568 §9) and timers
# ---------------------------------------------------------------------------------------------

#: RFC 5568 §9 / §6.1.1: RtSolPr retransmissions.
RTSOLPR_RETRIES: Final = 3
#: RFC 5568 §9 / §6.1.1: RtSolPr messages per second.
MAX_RTSOLPR_RATE: Final = 3
#: RFC 5568 §9 / §6.2.2 (§4): FBU retransmissions with no FBack before giving up on FMIPv6.
FBU_RETRIES: Final = 3
#: RFC 5568 §9 / §6.2.1.2 (§4): how long the NAR proxies (defends) the NCoA, 1.5 s.
PROXY_ND_LIFETIME: Final = 1.5
#: RFC 5568 §9 / §6.2.1.1: HI retransmissions.
HI_RETRIES: Final = 3
#: RFC 5568 §6.1.1 / §6.2.1.1: first RtSolPr / HI timeout when the RTT is unknown, 100 ms.
FMIP_DEFAULT_INITIAL_TIMEOUT: Final = 0.1
#: RFC 5568 §6.1.1 / §6.2.1.1: first RtSolPr / HI timeout is at least this many RTTs.
FMIP_RTT_MULTIPLIER: Final = 2.0
#: [choice] RFC 5568 gives no FBU retransmission timer (only FBU_RETRIES, docs/decisions.md D7):
#: use the RtSolPr/HI scheme, 2 x RTT or 100 ms, doubling. 1 s (INITIAL_BINDACK_TIMEOUT)
#: would outlast the few hundred milliseconds an MN has on the PAR's link.
FBU_INITIAL_TIMEOUT: Final = FMIP_DEFAULT_INITIAL_TIMEOUT
#: RFC 5568 §5.4: a buffering router MAY send at most 5 buffered packets back to back.
BUFFER_BURST_PACKETS: Final = 5

# ---------------------------------------------------------------------------------------------
# HMIPv6 (RFC 5380 defines no protocol constants; these are the figures its text mentions)
# ---------------------------------------------------------------------------------------------

#: RFC 5380 §5 (MAP option Pref): 15 is the highest preference; 0 means "no new bindings"
#: (RFC 5380 §7.1, §10).
MAP_PREFERENCE_MAX: Final = 15
#: RFC 5380 §5 / RFC 4140 §7.1: Dist starts at 1 (MAP on the same link); 0 MUST NOT be used.
MAP_DISTANCE_DEFAULT: Final = 1
#: RFC 5380 §10 (informative example): an AR probes its MAP every 10 s...
MAP_PROBE_INTERVAL: Final = 10.0
#: ...then, on no answer, every 5 s...
MAP_PROBE_FAST_INTERVAL: Final = 5.0
#: ...for 15 s, after which it advertises the MAP option with Valid Lifetime 0.
MAP_PROBE_FAST_PERIOD: Final = 15.0
