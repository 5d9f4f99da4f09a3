"""Every topic name capmon uses comes from `Topics`, under the deployment's prefix."""

from __future__ import annotations

from streams.contract.topics import Topics


def test_every_topic_name_is_the_one_it_always_was():
    t = Topics("acc.")
    assert t.all() == ["acc.registrations", "acc.decisions", "acc.placements", "acc.locations", "acc.forecasts",
                       "acc.alerts", "acc.dead-letters"]
    assert (t.figures, t.people_changelog, t.app_id) == ("acc.capmon-figures", "acc.capmon-people-changelog",
                                                         "acc.capmon")
    assert (Topics().figures, Topics().people_changelog) == ("capmon-figures", "capmon-people-changelog")
    assert t.people_partitions == "acc.capmon-people-partitions"  # new: the person partitions' assignment
