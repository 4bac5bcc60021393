"""Button payloads: ids are ASCII digits within an INTEGER column's range, or refused."""

from __future__ import annotations

import pytest

from bot import callback_data


@pytest.mark.parametrize(
    "field", ["²", "٣", "１", "-1", "+1", " 1", "1_0", "0x1", "", "2147483648", "9" * 30]
)
def test_an_id_that_int_or_the_database_would_refuse_is_no_payload(field: str) -> None:
    assert callback_data.decode_ints(f"ats:1:{field}", "ats", 1) is None
    assert callback_data.decode(f"rsvp:1:{field}:7:y", "rsvp", 3, ids=[0, 1]) is None


def test_ids_up_to_the_column_limit_decode() -> None:
    assert callback_data.decode_ints("atm:1:1:0:2147483647", "atm", 3) == [1, 0, 2147483647]
    assert callback_data.decode("rsvp:1:12:7:y", "rsvp", 3, ids=[0, 1]) == ["12", "7", "y"]


def test_codes_are_left_to_the_handler_and_ids_checked() -> None:
    assert callback_data.decode("lang:1:ar", "lang", 1) == ["ar"]
    assert callback_data.decode("lang:1:ar:²", "lang", 2, ids=[1]) is None
