"""Domain figures the simulator draws from (DOMAIN.md and the letter in ../shared/reference/).

Numbers from the letter are marked [letter]; numbers from public COA/IND reporting that DOMAIN.md quotes are
marked [domain]; every other number is the simulator's own assumption, marked [outside the letter]: a round
order of magnitude chosen so that a simulated 2023 behaves as the letter describes (see the calibration test,
tests/capmon/test_calibration.py, and the week in tests/streams/test_simulated_week.py). None of them is a statistic.
"""

from __future__ import annotations

# [letter] MPP 2023 (spring): annual inflow per scenario, and the most likely inflow ("just over 70,000").
MPP_2023 = {"min": 49_000, "medio": 67_000, "max": 77_000}
DEFAULT_ANNUAL_INFLOW = 70_500

# [outside the letter] Share of the year's inflow per calendar month (January first): peaks in late summer.
MONTHLY_PROFILE = (0.070, 0.063, 0.070, 0.073, 0.078, 0.082, 0.089, 0.094, 0.099, 0.101, 0.093, 0.088)

# [outside the letter] Application types within MPP inflow, as shares of the annual scenario less the
# resettlement quota (below). Relocation comes on top and is not MPP inflow.
APPLICATION_TYPES = {"first": 0.73, "family_reunification": 0.22, "repeat": 0.05}
RELOCATION_SHARE = 0.01

# [domain] Resettlement is a quota, not a flow that scales with inflow. [outside the letter] 500 a year, arriving
# in groups (a flight every 30 days).
RESETTLEMENT_PER_YEAR = 500
RESETTLEMENT_FLIGHT_DAYS = 30

# [outside the letter] Share of each type that needs a COA bed. Nareis family members need one only while their
# sponsor still waits in reception for a home [letter: they come to COA if the sponsor is not yet housed].
NEEDS_RECEPTION = {"first": 1.0, "repeat": 0.6, "resettlement": 1.0, "relocation": 1.0}

# [domain] Registration mostly in Ter Apel, at Schiphol for arrivals by air; Budel and Zevenaar only relieve Ter
# Apel when it is over its norm. [outside the letter] the shares, and the share diverted during overflow.
REGISTRATION_CENTRES = {"ter-apel": 0.93, "schiphol": 0.07}
RELIEF_CENTRES = {"budel": 0.7, "zevenaar": 0.3}
DIVERTED_WHEN_OVER_NORM = 0.5

# nationality: (share of registrations, first-instance grant rate) [outside the letter; the letter names Syria
# and Yemen as high grant rates, Algeria and Moldova as low ones]
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

# [domain] Safe countries of origin: track 2. [letter] IND priorities 2023: fast handling of Syria and Yemen (high
# grant rate) and of Algeria and Moldova (low grant rate).
SAFE_COUNTRIES = frozenset({"DZA", "MAR", "MDA", "GEO", "TUN"})
PRIORITY = frozenset({"SYR", "YEM", "DZA", "MDA"})
DUBLIN_SHARE = 0.15  # [outside the letter] first applications where another EU state is responsible (track 1)

# [letter] The IND cannot keep up: it decides fewer first-instance cases than arrive, so the backlog grows.
# [outside the letter] its capacity in first-instance asylum decisions per day (Dublin claims apart), the share
# of it that goes to the priority nationalities first, and the least days a case takes. 80 a day (29,000 a year):
# with the housing pace above, the people who wait in reception for a decision, and not permit holders waiting for
# a home, are what fills the medio year's beds as the letter fears.
IND_DECISIONS_PER_DAY = 80
IND_PRIORITY_SHARE = 0.6
IND_MIN_DAYS = {"priority": 10, "other": 21}
# [outside the letter] IND decision days: repeat applications, Dublin claims.
REPEAT_DAYS = (20, 90)
DUBLIN_DAYS = (30, 100)

# [outside the letter] Nareis: the family of a permit holder arrives 3 to 15 months after the grant (the visa
# procedure); the sponsor is drawn from the grants of that window, more often for these nationalities.
NAREIS_LAG_DAYS = (90, 450)
NAREIS_PROPENSITY = {"SYR": 1.0, "ERI": 1.0, "YEM": 0.8, "SOM": 0.8, "AFG": 0.6, "TUR": 0.4}
NAREIS_PROPENSITY_OTHER = 0.2
# [outside the letter] First-instance grants per day before the feed starts (their nareis arrive in the feed).
GRANTS_PER_DAY_BEFORE = 70

# [outside the letter] Unaccompanied minors among first applications, by nationality group [letter: the Nidos
# caseload grows by 27 %].
AMV_SHARE = {"SYR": 0.10, "AFG": 0.18, "ERI": 0.20, "SOM": 0.15}
AMV_SHARE_OTHER = 0.03
# [outside the letter] Days a minor keeps an amv bed (turning 18, or a Nidos foster family); then an adult bed.
AMV_STAY_DAYS = (45, 300)

# [letter] Permit holders municipalities must house: 27,300 in 2023-II, the highest since 2015. [outside the
# letter] 2023-I's target, and the share of the target municipalities achieve: enough that a simulated medio 2023
# ends with 16,000-20,000 permit holders in reception [domain: what the housing shortage really kept in COA beds
# in 2023] (17,801 under seed 1) rather than doubling them.
TAAKSTELLING = {1: 20_900, 2: 27_300}
HOUSING_ACHIEVED = 0.41

# [outside the letter] The opening state (the people in reception when the feed starts): the share of beds taken,
# the kinds of residents outside the application centres, and how long before the start pending cases registered.
INITIAL_OCCUPANCY = 0.96
OPENING_KINDS = (0.30, 0.10, 0.60)  # permit holders, refused (rejected or Dublin) waiting to leave, pending cases
OPENING_WAITING_DAYS = (14, 450)  # registered this long before the start (pending cases)
OPENING_WAIT_MEAN_DAYS = 130
# [outside the letter] check-outs per day in the 28 days before the start (loaded with the opening state so the
# rolling net inflow at the start is a real one).
OPENING_CHECKOUTS_PER_DAY = 80

# [domain] The week has a rhythm: arrivals go on at weekends, while transfers, IND decisions, removals and the
# housing of permit holders mostly stop and wait for Monday. [outside the letter] the office hours (local time),
# and the share of a weekday's such work a duty service does on a Saturday or a Sunday.
OFFICE_HOURS = (8.0, 18.0)
WEEKEND_SHARE = 0.05

# [outside the letter] Days an applicant stays in the application centre before a transfer (when a bed is free).
APPLICATION_CENTRE_DAYS = (2, 14)
# [outside the letter] Of the rejected and the Dublin claimants in reception: the share that leaves on their own
# (departed) and the share returned (removed), 1-6 months after the decision; the rest stay.
LEAVING = {"rejected": (0.2, 0.05), "dublin": (0.15, 0.25)}
