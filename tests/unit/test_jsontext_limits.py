"""What core.jsontext reads and writes differently from the stdlib, as its docstring says."""

from __future__ import annotations

import json

import pytest

from scanner.core import jsontext


@pytest.mark.skipif(not jsontext.fast(), reason="orjson not installed: the stdlib reads everything")
def test_an_integer_past_64_bits_is_read_as_a_float_as_documented_and_nan_is_written_as_null():
    assert jsontext.loads(b'{"n": 123456789012345678901234567890}') == {"n": 1.2345678901234568e29}
    assert jsontext.loads(b'{"n": 18446744073709551615}') == {"n": 18446744073709551615}  # 64 bits: an int
    assert jsontext.dumps({"x": float("nan"), "y": float("inf")}) == '{"x":null,"y":null}'


def test_what_orjson_refuses_is_read_by_the_stdlib():
    assert jsontext.loads(b'{"a": NaN, "b": 1e400, "c": "\\ud800"}')["c"] == "\ud800"
    assert jsontext.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(ValueError):
        jsontext.loads(b'{"a": ')


def test_output_is_ascii_and_parses_to_the_same_document():
    doc = {"name": "caf\u00e9 \u2603", "lone": "\ud800", "n": 10**30, "f": 1e-05}
    text = jsontext.dumps(doc)
    assert text.isascii() and json.loads(text) == doc
