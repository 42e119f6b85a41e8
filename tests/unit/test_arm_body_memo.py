"""BodyMemo: a body seen again byte for byte is answered with the dict parsed the first time."""

from __future__ import annotations

import pytest

from scanner.sources.arm import BodyMemo


def test_the_same_bytes_give_the_same_dict_and_other_bytes_their_own():
    memo = BodyMemo()
    a = memo(b'{"value": [{"name": "Standard_D2s_v5"}]}')
    again = memo(bytearray(b'{"value": [{"name": "Standard_D2s_v5"}]}'))
    other = memo(b'{"value": [{"name": "Standard_D4s_v5"}]}')
    assert again is a and memo.hits == 1
    assert other is not a and other["value"][0]["name"] == "Standard_D4s_v5"


def test_past_its_limit_it_parses_without_keeping():
    memo = BodyMemo(limit=1)
    memo(b'{"a": 1}')
    first = memo(b'{"b": 2}')
    assert memo(b'{"b": 2}') == first and memo(b'{"b": 2}') is not first  # not kept: parsed again
    assert memo(b'{"a": 1}') is memo(b'{"a": 1}')  # the first one stays


def test_bad_json_raises_as_json_loads_does():
    with pytest.raises(ValueError):
        BodyMemo()(b'{"value": [')
