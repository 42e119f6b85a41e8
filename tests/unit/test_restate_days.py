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


NODE_OS = ("the pool runs Ubuntu 22.04 (nodeImageVersion AKSUbuntu-2204gen2containerd-202409.23.0): AKS support "
           "ends on 2027-06-30 (in 208 days; no patches, no new node pools) and its node images are removed on "
           "2028-04-30, when scaling and repair fail. Move to OS SKU Ubuntu2404.")


def test_node_os_messages_are_recounted_too():
    assert restate_days(NODE_OS, date(2026, 12, 4)) == NODE_OS
    later = restate_days(NODE_OS, date(2027, 7, 10))
    assert "AKS support ended on 2027-06-30 (10 days ago; no patches" in later
    assert "its node images are removed on 2028-04-30, when" in later
    gone = restate_days(NODE_OS, date(2028, 5, 1))
    assert "ended on 2027-06-30 (306 days ago;" in gone and "its node images were removed on 2028-04-30" in gone
    assert gone.endswith("Move to OS SKU Ubuntu2404.")
