"""Rota maths (pure): who is on call at an instant, from a rotation, shifts and overrides; now and next
(the rota commands and the teams on the demo workspace are tests/integration/test_teams_and_rota.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from fuseboard.ops.oncall import now_and_next, rotation_turn, turn_at

MON = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # a Monday, 09:00
H = timedelta(hours=1)
D = timedelta(days=1)
W = timedelta(weeks=1)


def rota(*members: str, start: datetime = MON, days: int = 7) -> SimpleNamespace:
    return SimpleNamespace(starts_at=start, length_days=days, members=list(members))


def shift(person: str, start: datetime, end: datetime, kind: str = "shift") -> SimpleNamespace:
    return SimpleNamespace(person=person, starts_at=start, ends_at=end, kind=kind)


def who(turn: Any) -> tuple[str, datetime, datetime, str] | None:
    return None if turn is None else (turn.person, turn.start, turn.end, turn.source)


def test_weekly_rotation_hands_over_at_the_exact_instant_and_wraps_around() -> None:
    members = ["chloe", "dev", "erin"]
    assert who(rotation_turn(MON, 7, members, MON)) == ("chloe", MON, MON + W, "rotation")
    assert rotation_turn(MON, 7, members, MON + W - timedelta(microseconds=1)).person == "chloe"
    # the instant of handover belongs to the next person
    assert who(rotation_turn(MON, 7, members, MON + W)) == ("dev", MON + W, MON + 2 * W, "rotation")
    assert rotation_turn(MON, 7, members, MON + 2 * W + 3 * D).person == "erin"
    assert rotation_turn(MON, 7, members, MON + 3 * W).person == "chloe"  # wrapped around
    far = rotation_turn(MON, 7, members, MON + 100 * W + 5 * H)  # 100 % 3 == 1
    assert who(far) == ("dev", MON + 100 * W, MON + 101 * W, "rotation")
    # before the start, or nobody in it: nobody on call
    assert rotation_turn(MON, 7, members, MON - timedelta(seconds=1)) is None
    assert rotation_turn(MON, 7, [], MON + D) is None
    assert turn_at(None, [], MON) is None
    # a 2-day rotation
    assert rotation_turn(MON, 2, ["a", "b"], MON + 3 * D).person == "b"


def test_shift_wins_over_rotation_and_override_wins_over_shift() -> None:
    r = rota("chloe", "dev")
    wed10, wed20, wed22, thu10 = MON + 2 * D + H, MON + 2 * D + 11 * H, MON + 2 * D + 13 * H, MON + 3 * D + H
    shifts = [shift("erin", wed10, thu10), shift("dev", wed20, wed22, "override")]
    # the rotation turn is cut short where the shift begins: "until" is when the next person starts
    assert who(turn_at(r, shifts, MON + D)) == ("chloe", MON, wed10, "rotation")
    assert who(turn_at(r, shifts, wed10)) == ("erin", wed10, wed20, "shift")  # cut short by the override
    assert who(turn_at(r, shifts, wed20 + H)) == ("dev", wed20, wed22, "override")
    assert who(turn_at(r, shifts, wed22)) == ("erin", wed10, thu10, "shift")  # the override ended
    assert who(turn_at(r, shifts, thu10)) == ("chloe", MON, MON + W, "rotation")
    # an override wins even with no rotation at all
    assert turn_at(None, shifts, wed20).person == "dev"


def test_now_and_next() -> None:
    r = rota("chloe", "dev")
    tue10, tue12 = MON + D + H, MON + D + 3 * H
    cover = [shift("dev", tue10, tue12, "override")]
    now, nxt = now_and_next(r, cover, MON + 2 * H)
    assert (now.person, now.end) == ("chloe", tue10) and (nxt.person, nxt.source) == ("dev", "override")
    assert nxt.end == tue12
    # during the override: the next person is the one after it ends
    now, nxt = now_and_next(r, cover, tue10 + H)
    assert (now.person, now.source, now.end) == ("dev", "override", tue12)
    assert (nxt.person, nxt.source, nxt.end) == ("chloe", "rotation", MON + W)
    # after the override ended: back to the rotation, next is the following week's person
    now, nxt = now_and_next(r, cover, tue12 + H)
    assert (now.person, now.end) == ("chloe", MON + W)
    assert (nxt.person, nxt.start, nxt.end) == ("dev", MON + W, MON + 2 * W)
    # before the rotation starts: nobody now, the first person next
    now, nxt = now_and_next(r, [], MON - D)
    assert now is None and (nxt.person, nxt.start) == ("chloe", MON)
    # no rota and no shifts: nobody, ever
    assert now_and_next(None, [], MON) == (None, None)


def test_next_turn_after_an_override_starts_when_the_override_ends() -> None:
    tue10, tue12 = MON + D + H, MON + D + 3 * H
    now, nxt = now_and_next(rota("chloe", "dev"), [shift("dev", tue10, tue12, "override")], tue10 + H)
    assert nxt.person == "chloe"
    assert nxt.start == tue12  # chloe is back on call at 12:00, not "from Monday 09:00"


def test_an_override_inside_another_override_cuts_it_short() -> None:
    sick = shift("dev", MON + D, MON + 5 * D, "override")  # dev covers Tue..Sat
    swap = shift("erin", MON + 2 * D, MON + 2 * D + 4 * H, "override")  # erin takes Wednesday morning
    r = rota("chloe", "dev")
    assert turn_at(r, [sick, swap], MON + 2 * D + H).person == "erin"  # the latest planned wins
    now, nxt = now_and_next(r, [sick, swap], MON + D + H)
    assert (now.person, now.end) == ("dev", MON + 2 * D)  # until erin starts
    assert nxt.person == "erin"
