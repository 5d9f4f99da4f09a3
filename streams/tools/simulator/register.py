"""The simulated capacity register: about 45 COA locations over the 12 provinces, at the scale of early 2023.

Capacities are usable beds. The total starts near 50,000 and grows through the year as in the letter (up to
19,000 extra emergency places by 1 July 2023, about 77,100 needed on 1 January 2024); a few crisis emergency
locations close again. Ids are stable slugs so a replay of the register is idempotent.

Openings of new locations and closures run on contracts known weeks ahead: the register announces them
`NOTICE_DAYS` before with `opens_on` / `closes_on` (CONTRACT.md section 2), as COA's portfolio would.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    location_id: str
    name: str
    province: str
    location_type: str
    capacity: int


# id, name, province, type, capacity at the start
_INITIAL = """\
ter-apel|Aanmeldcentrum Ter Apel|NL-GR|application_centre|2000
budel|Aanmeldcentrum Budel|NL-NB|application_centre|800
zevenaar|Aanmeldcentrum Zevenaar|NL-GE|application_centre|600
schiphol|Aanmeldcentrum Schiphol|NL-NH|application_centre|300
azc-groningen|AZC Groningen|NL-GR|regular|1100
azc-musselkanaal|AZC Musselkanaal|NL-GR|regular|800
azc-leeuwarden|AZC Leeuwarden|NL-FR|regular|1000
azc-sneek|AZC Sneek|NL-FR|regular|700
azc-burgum|AZC Burgum|NL-FR|regular|600
azc-assen|AZC Assen|NL-DR|regular|1200
azc-emmen|AZC Emmen|NL-DR|regular|900
azc-hoogeveen|AZC Hoogeveen|NL-DR|regular|700
azc-almelo|AZC Almelo|NL-OV|regular|1000
azc-zwolle|AZC Zwolle|NL-OV|regular|900
azc-enschede|AZC Enschede|NL-OV|regular|800
azc-almere|AZC Almere|NL-FL|regular|1100
azc-lelystad|AZC Lelystad|NL-FL|regular|800
azc-dronten|AZC Dronten|NL-FL|regular|600
azc-arnhem|AZC Arnhem|NL-GE|regular|1400
azc-nijmegen|AZC Nijmegen (Heumensoord)|NL-GE|regular|1600
azc-apeldoorn|AZC Apeldoorn|NL-GE|regular|1000
azc-ede|AZC Ede|NL-GE|regular|800
azc-utrecht|AZC Utrecht|NL-UT|regular|1300
azc-amersfoort|AZC Amersfoort|NL-UT|regular|900
azc-amsterdam|AZC Amsterdam|NL-NH|regular|1500
azc-den-helder|AZC Den Helder|NL-NH|regular|700
azc-rijswijk|AZC Rijswijk|NL-ZH|regular|1300
azc-dordrecht|AZC Dordrecht|NL-ZH|regular|800
azc-leiden|AZC Leiden|NL-ZH|regular|700
azc-middelburg|AZC Middelburg|NL-ZE|regular|700
azc-vlissingen|AZC Vlissingen|NL-ZE|regular|500
azc-gilze|AZC Gilze|NL-NB|regular|1200
azc-oisterwijk|AZC Oisterwijk|NL-NB|regular|900
azc-overloon|AZC Overloon|NL-NB|regular|700
azc-maastricht|AZC Maastricht|NL-LI|regular|1000
azc-echt|AZC Echt|NL-LI|regular|800
azc-venlo|AZC Venlo|NL-LI|regular|600
amv-ede|Amv-opvang Ede|NL-GE|amv|700
amv-utrecht|Amv-opvang Utrecht|NL-UT|amv|600
amv-oisterwijk|Amv-opvang Oisterwijk|NL-NB|amv|600
amv-zwolle|Amv-opvang Zwolle|NL-OV|amv|500
kleinschalig-deventer|Kleinschalige opvang Deventer|NL-OV|small_scale|300
kleinschalig-haarlem|Kleinschalige opvang Haarlem|NL-NH|small_scale|300
noodopvang-zoutkamp|Noodopvang Zoutkamp|NL-GR|emergency|800
noodopvang-zeewolde|Noodopvang Zeewolde|NL-FL|emergency|1000
noodopvang-den-haag|Noodopvang Den Haag|NL-ZH|emergency|1100
noodopvang-rotterdam|Noodopvang Rotterdam|NL-ZH|emergency|1200
crisis-venray|Crisisnoodopvang Venray|NL-LI|crisis_emergency|700
crisis-zaandam|Crisisnoodopvang Zaandam|NL-NH|crisis_emergency|900
crisis-doetinchem|Crisisnoodopvang Doetinchem|NL-GE|crisis_emergency|800
"""

# day offset from the start, id, name, province, type, capacity (0 with closed), status. [letter] Up to 19,000
# extra usable places by 1 July 2023 (day 181), in emergency and crisis emergency locations; crisis locations
# open for a term and close at its end (the closed events below); regular places follow later in the year.
_CHANGES = """\
7|noodopvang-hardenberg|Noodopvang Hardenberg|NL-OV|emergency|1000|open
14|crisis-assen|Crisisnoodopvang Assen (TT-hal)|NL-DR|crisis_emergency|800|open
21|noodopvang-amersfoort|Noodopvang Amersfoort|NL-UT|emergency|900|open
35|crisis-goes|Crisisnoodopvang Goes|NL-ZE|crisis_emergency|600|open
42|noodopvang-harderwijk|Noodopvang Harderwijk|NL-GE|emergency|1200|open
49|noodopvang-tilburg|Noodopvang Tilburg|NL-NB|emergency|1500|open
63|noodopvang-heerlen|Noodopvang Heerlen|NL-LI|emergency|1000|open
70|noodopvang-drachten|Noodopvang Drachten|NL-FR|emergency|900|open
77|crisis-velsen|Crisisnoodopvang Velsen (cruiseschip)|NL-NH|crisis_emergency|1000|open
91|noodopvang-haarlemmermeer|Noodopvang Haarlemmermeer|NL-NH|emergency|1500|open
105|noodopvang-utrecht-west|Noodopvang Utrecht West|NL-UT|emergency|1400|open
112|crisis-zwolle|Crisisnoodopvang Zwolle (IJsselhallen)|NL-OV|crisis_emergency|600|open
126|noodopvang-zwolle-noord|Noodopvang Zwolle Noord|NL-OV|emergency|1100|open
140|noodopvang-delft|Noodopvang Delft|NL-ZH|emergency|1300|open
154|noodopvang-eindhoven|Noodopvang Eindhoven|NL-NB|emergency|1600|open
161|crisis-almere|Crisisnoodopvang Almere (hal)|NL-FL|crisis_emergency|800|open
168|noodopvang-leeuwarden|Noodopvang Leeuwarden West|NL-FR|emergency|900|open
175|noodopvang-groningen|Noodopvang Groningen Zuid|NL-GR|emergency|1000|open
178|amv-nijmegen|Amv-opvang Nijmegen|NL-GE|amv|500|open
200|crisis-venray|Crisisnoodopvang Venray|NL-LI|crisis_emergency|0|closed
212|crisis-goes|Crisisnoodopvang Goes|NL-ZE|crisis_emergency|0|closed
226|crisis-zwolle|Crisisnoodopvang Zwolle (IJsselhallen)|NL-OV|crisis_emergency|0|closed
235|crisis-doetinchem|Crisisnoodopvang Doetinchem|NL-GE|crisis_emergency|0|closed
249|azc-groningen|AZC Groningen|NL-GR|regular|1500|open
256|azc-rotterdam|AZC Rotterdam|NL-ZH|regular|1200|open
259|noodopvang-zutphen|Noodopvang Zutphen|NL-GE|emergency|1000|open
263|azc-almere|AZC Almere|NL-FL|regular|1500|open
270|azc-eindhoven|AZC Eindhoven|NL-NB|regular|1200|open
273|noodopvang-hengelo|Noodopvang Hengelo|NL-OV|emergency|1200|open
277|azc-utrecht|AZC Utrecht|NL-UT|regular|1700|open
277|noodopvang-nijmegen|Noodopvang Nijmegen|NL-GE|emergency|1500|open
280|noodopvang-roermond|Noodopvang Roermond|NL-LI|emergency|800|open
284|azc-den-bosch|AZC Den Bosch|NL-NB|regular|1000|open
291|noodopvang-apeldoorn|Noodopvang Apeldoorn|NL-GE|emergency|1000|open
298|azc-amsterdam-zuid|AZC Amsterdam Zuid|NL-NH|regular|1400|open
300|crisis-almere|Crisisnoodopvang Almere (hal)|NL-FL|crisis_emergency|0|closed
305|azc-breda|AZC Breda|NL-NB|regular|1000|open
312|azc-enschede|AZC Enschede|NL-OV|regular|1200|open
319|azc-zoetermeer|AZC Zoetermeer|NL-ZH|regular|1000|open
326|amv-amersfoort|Amv-opvang Amersfoort|NL-UT|amv|400|open
333|noodopvang-arnhem|Noodopvang Arnhem|NL-GE|emergency|1000|open
340|azc-heerenveen|AZC Heerenveen|NL-FR|regular|900|open
347|azc-venlo|AZC Venlo|NL-LI|regular|1200|open
"""


# [outside the letter] The opening table is in round numbers; this brings it to the national scale of early 2023
# (~50,000 usable beds). Changes are the usable places as listed.
SCALE, CHANGE_SCALE = 1.14, 1.0


def _site(fields: list[str], scale: float = SCALE) -> Site:
    return Site(fields[0], fields[1], fields[2], fields[3], round(int(fields[4]) * scale))


INITIAL_SITES: tuple[Site, ...] = tuple(_site(line.split("|")) for line in _INITIAL.splitlines())

# (day offset, site, status): capacity changes, openings and closures during the simulated year.
CHANGES: tuple[tuple[int, Site, str], ...] = tuple(
    (int(f[0]), _site(f[1:6], CHANGE_SCALE), f[6]) for f in (line.split("|") for line in _CHANGES.splitlines())
)

APPLICATION_CENTRES = ("ter-apel", "budel", "zevenaar", "schiphol")

# [outside the letter] How long before its day an opening or a closure is known (a contract signed or ending).
NOTICE_DAYS = 42


@dataclass(frozen=True)
class Announcement:
    """A dated register entry announced ahead: `site` as it is (or will be) open, from `opens_day` (a day offset,
    None: open already) until `closes_day` (the first day without beds, None: no end known)."""

    change_day: int  # the day of the change itself (residents move out of a closing location that day)
    site: Site
    opens_day: int | None = None
    closes_day: int | None = None


def _announcements() -> tuple[Announcement, ...]:
    """The dated changes: an `open` of an id the register does not know yet opens a location on its day; a
    `closed` ends a contract: its residents move out that day, its last with beds, so `closes_on` is the day
    after. Capacity changes of a known location are not dated (one register entry per location)."""
    known: dict[str, Site] = {site.location_id: site for site in INITIAL_SITES}
    opened: dict[str, int] = {}
    out: list[Announcement] = []
    for offset, site, status in CHANGES:
        if status == "open" and site.location_id not in known:
            opened[site.location_id] = offset
            out.append(Announcement(offset, site, opens_day=offset))
        elif status == "closed":
            out.append(Announcement(offset, known[site.location_id], opens_day=opened.get(site.location_id),
                                    closes_day=offset + 1))
        if status == "open":
            known[site.location_id] = site
    return tuple(out)


ANNOUNCEMENTS: tuple[Announcement, ...] = _announcements()
# The changes announced ahead: on their day the simulation acts on them without a register event of its own.
DATED_CHANGE_DAYS: frozenset[tuple[int, str]] = frozenset((a.change_day, a.site.location_id) for a in ANNOUNCEMENTS)
