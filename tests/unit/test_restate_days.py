"""A stored retiring-size message read on a later day says the days left as of that day."""

from datetime import date

from scanner.core.judge import restate_days

MSG = ("Standard_NV12s_v3 retires on 2026-09-30 (in 10 days; the date for usgovvirginia, elsewhere "
       "2026-06-30): NVv3-series VMs retire. The size is restricted for this subscription here.")


def test_count_and_tense_follow_the_day_it_is_read():
    assert restate_days(MSG, date(2026, 9, 20)) == MSG
    later = restate_days(MSG, date(2026, 10, 5))
    assert later.startswith("Standard_NV12s_v3 retired on 2026-09-30 (5 days ago; the date for usgovvirginia")
    assert later.endswith("NVv3-series VMs retire. The size is restricted for this subscription here.")
    assert restate_days(MSG, date(2026, 9, 30)).startswith("Standard_NV12s_v3 retires on 2026-09-30 (today;")


def test_other_messages_are_left_as_written():
    gen1 = "Standard_A2_v2 supports Generation 1 only in eastus: no move to v6 sizes (in 3 days)."
    assert restate_days(gen1, date(2027, 1, 1)) == gen1
    odd = "Standard_X retires on 2026-02-31 (in 3 days): typo in a stored date."
    assert restate_days(odd, date(2027, 1, 1)) == odd
