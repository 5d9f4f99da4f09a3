"""The person table's values: a person round-trips, writes the bytes it always wrote, and the formats before
it still read (a person kept by format 2 moves from where they are: their placements' times were not kept)."""

from __future__ import annotations

from streams.contract.records.values import decode_person, encode_person
from streams.state.people import (
    CheckIn,
    CheckOut,
    LatestDecision,
    LatestPlacement,
    Move,
    Person,
    RegistrationEntry,
    Transfer,
    moves,
)

ANN = Person(
    placement=LatestPlacement((300, "p3"), "AZC"), decision=LatestDecision((250, "d1"), "granted"),
    registrations={"r1": RegistrationEntry("2023-05-01", "first", False, 100)},
    check_ins={"p1": CheckIn("2023-05-01", "TA", 150)}, check_outs={"p0": CheckOut("2023-04-30", "other", "TA", 90)},
    transfers={"p3": Transfer("2023-05-03", "AZC", 300)}, last_us=300, asylum_registration=(100, "r1"))
GOLDEN_ANN = (b'[3,[300,"p3","AZC"],[250,"d1","granted"],{"r1":["2023-05-01","first",false,100]},{},'
              b'{"p1":["2023-05-01","TA",150]},{"p0":["2023-04-30","other","TA",90]},{"p3":["2023-05-03","AZC",300]},'
              b'300,[100,"r1"],false,[],null]')
FORMAT_2 = (b'[2,[300,"p3","AZC"],null,{},{},{"p1":["2023-05-01","TA"]},{},["p3"],300,null,false,[]]')


def test_a_person_round_trips_and_is_the_bytes_it_always_was():
    assert encode_person(ANN) == GOLDEN_ANN
    assert decode_person(GOLDEN_ANN) == ANN
    assert moves(ANN) == [Move("2023-05-01", None, "TA"), Move("2023-05-03", "TA", "AZC")]  # p0 left no one


def test_a_person_of_format_2_moves_from_where_they_are():
    old = decode_person(FORMAT_2)
    assert old.location == "AZC" and old.base == old.placement and "p1" in old.check_ins and "p3" in old.transfers
    assert moves(old) == []  # nothing held with its time: the moves before the upgrade are not known
    assert decode_person(encode_person(old)) == old
