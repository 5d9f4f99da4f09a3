"""The simulated capacity register: about 45 COA locations over the 12 provinces, at the scale of early 2023.

Capacities are usable beds. The total starts near 50,000 and grows through the year as in the letter (up to
19,000 extra emergency places by 1 July 2023, about 77,100 needed on 1 January 2024); a few crisis emergency
locations close again. Ids are stable slugs so a replay of the register is idempotent.
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

# day offset from the start, id, name, province, type, capacity (0 with closed), status
_CHANGES = """\
21|noodopvang-hardenberg|Noodopvang Hardenberg|NL-OV|emergency|1000|open
35|noodopvang-amersfoort|Noodopvang Amersfoort|NL-UT|emergency|900|open
49|noodopvang-harderwijk|Noodopvang Harderwijk|NL-GE|emergency|1200|open
63|crisis-goes|Crisisnoodopvang Goes|NL-ZE|crisis_emergency|600|open
77|noodopvang-tilburg|Noodopvang Tilburg|NL-NB|emergency|1500|open
91|noodopvang-heerlen|Noodopvang Heerlen|NL-LI|emergency|1000|open
105|noodopvang-drachten|Noodopvang Drachten|NL-FR|emergency|900|open
119|noodopvang-haarlemmermeer|Noodopvang Haarlemmermeer|NL-NH|emergency|1500|open
120|crisis-zaandam|Crisisnoodopvang Zaandam|NL-NH|crisis_emergency|0|closed
133|noodopvang-utrecht-west|Noodopvang Utrecht West|NL-UT|emergency|1400|open
147|noodopvang-zwolle-noord|Noodopvang Zwolle Noord|NL-OV|emergency|1100|open
161|noodopvang-delft|Noodopvang Delft|NL-ZH|emergency|1300|open
175|noodopvang-eindhoven|Noodopvang Eindhoven|NL-NB|emergency|1600|open
182|amv-nijmegen|Amv-opvang Nijmegen|NL-GE|amv|500|open
200|crisis-venray|Crisisnoodopvang Venray|NL-LI|crisis_emergency|0|closed
214|azc-groningen|AZC Groningen|NL-GR|regular|1500|open
228|azc-almere|AZC Almere|NL-FL|regular|1500|open
242|azc-rotterdam|AZC Rotterdam|NL-ZH|regular|1200|open
256|azc-eindhoven|AZC Eindhoven|NL-NB|regular|1200|open
270|azc-utrecht|AZC Utrecht|NL-UT|regular|1700|open
280|crisis-doetinchem|Crisisnoodopvang Doetinchem|NL-GE|crisis_emergency|0|closed
284|azc-den-bosch|AZC Den Bosch|NL-NB|regular|1000|open
298|azc-amsterdam-zuid|AZC Amsterdam Zuid|NL-NH|regular|1400|open
312|azc-enschede|AZC Enschede|NL-OV|regular|1200|open
326|amv-amersfoort|Amv-opvang Amersfoort|NL-UT|amv|400|open
340|azc-heerenveen|AZC Heerenveen|NL-FR|regular|900|open
"""


# The tables above are in round numbers; this brings the start to the national scale of early 2023 (~50,000).
# Changes are scaled down a little so occupancy stays near COA's 96 % norm, as it did in 2023.
SCALE, CHANGE_SCALE = 1.14, 0.85


def _site(fields: list[str], scale: float = SCALE) -> Site:
    return Site(fields[0], fields[1], fields[2], fields[3], round(int(fields[4]) * scale))


INITIAL_SITES: tuple[Site, ...] = tuple(_site(line.split("|")) for line in _INITIAL.splitlines())

# (day offset, site, status): capacity changes, openings and closures during the simulated year.
CHANGES: tuple[tuple[int, Site, str], ...] = tuple(
    (int(f[0]), _site(f[1:6], CHANGE_SCALE), f[6]) for f in (line.split("|") for line in _CHANGES.splitlines())
)

APPLICATION_CENTRES = ("ter-apel", "budel", "zevenaar", "schiphol")
