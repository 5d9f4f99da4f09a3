"""Domain figures the simulator draws from (DOMAIN.md): scenarios, seasonality, nationality mix, grant rates.

Shares are rough public orders of magnitude for 2022-2023, good enough for realistic dashboards and tests;
they are not statistics.
"""

from __future__ import annotations

# MPP 2023 (spring): annual inflow per scenario, and the simulator's default ("just over 70,000").
MPP_2023 = {"min": 49_000, "medio": 67_000, "max": 77_000}
DEFAULT_ANNUAL_INFLOW = 70_500

# Share of the year's inflow per calendar month (January first): inflow peaks in late summer and autumn.
MONTHLY_PROFILE = (0.070, 0.063, 0.070, 0.073, 0.078, 0.082, 0.089, 0.094, 0.099, 0.101, 0.093, 0.088)

# Application types within MPP inflow; relocation comes on top and is not MPP inflow.
APPLICATION_TYPES = {"first": 0.70, "family_reunification": 0.22, "repeat": 0.05, "resettlement": 0.03}
RELOCATION_SHARE = 0.01

# Share of each type that needs a COA bed (family members of a housed permit holder go to the sponsor's home).
NEEDS_RECEPTION = {"first": 1.0, "repeat": 0.6, "family_reunification": 0.45, "resettlement": 1.0, "relocation": 1.0}

# Registration centre of first and repeat applications.
REGISTRATION_CENTRES = {"ter-apel": 0.80, "budel": 0.10, "zevenaar": 0.06, "schiphol": 0.04}

# nationality: (share of registrations, first-instance grant rate)
NATIONALITIES: dict[str, tuple[float, float]] = {
    "SYR": (0.30, 0.95),
    "TUR": (0.09, 0.75),
    "AFG": (0.08, 0.80),
    "YEM": (0.05, 0.92),
    "ERI": (0.05, 0.90),
    "IRQ": (0.04, 0.35),
    "IRN": (0.03, 0.55),
    "SOM": (0.03, 0.60),
    "DZA": (0.03, 0.05),
    "MAR": (0.03, 0.04),
    "MDA": (0.02, 0.02),
    "GEO": (0.02, 0.03),
    "SDN": (0.02, 0.70),
    "ETH": (0.02, 0.45),
    "NGA": (0.02, 0.10),
    "COL": (0.02, 0.10),
    "PAK": (0.02, 0.15),
    "UKR": (0.01, 0.30),
    "LBY": (0.01, 0.40),
    "EGY": (0.01, 0.20),
    "TUN": (0.01, 0.05),
    "XXA": (0.02, 0.85),
    "XXX": (0.01, 0.40),
}

# Safe countries of origin: track 2, fast decisions. IND priority: fast handling of Syria and Yemen.
SAFE_COUNTRIES = frozenset({"DZA", "MAR", "MDA", "GEO", "TUN"})
PRIORITY = frozenset({"SYR", "YEM"})
DUBLIN_SHARE = 0.15  # first applications where another EU state is responsible (track 1)

# Unaccompanied minors among first applications, by nationality group.
AMV_SHARE = {"SYR": 0.10, "AFG": 0.18, "ERI": 0.20, "SOM": 0.15}
AMV_SHARE_OTHER = 0.03

# Permit holders municipalities must house per half year (taakstelling 2023-II: 27,300).
TAAKSTELLING_PER_HALF_YEAR = 27_300
# Municipalities fall short of the target; the simulated pace is this share of it.
HOUSING_ACHIEVED = 0.6
