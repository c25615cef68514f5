"""A dead-letter is always publishable: key and value stay under the producer's request limit.

A dead-letter the producer refuses (``MessageSizeTooLarge``) fails the flush,
and the worker re-reads and re-refuses the same record forever. The input's
key and value can each be up to the broker's message limit, and the
dead-letter repeats them (as text and base64, JSON escapes taking up to six
bytes a character), so the encoder cuts them; these properties hold it to the
bound for keys and values at and beyond every limit.
"""

from __future__ import annotations

import orjson
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_support import validator

from domain.calendar import LATEST
from schemas.codec import MAX_KEY_BYTES
from schemas.dead_letters import (
    MAX_DEAD_LETTER_BYTES,
    MIN_DEAD_LETTER_BYTES,
    PRODUCER_MAX_REQUEST_SIZE,
    dead_letter_key,
    decode_dead_letter,
    encode_dead_letter,
)
from schemas.errors import OversizedKey

# Byte patterns that grow differently once in JSON: ASCII (1 byte), multi-byte
# UTF-8 (kept as is), controls and quotes (escaped to 2 or 6 bytes), bytes that
# are not UTF-8 (base64 only), and a multi-byte character cut by the size.
_FILLS = st.sampled_from(
    [b"k", "é".encode(), "😀".encode(), b"\x01", b'"', b"\xff", b"a\x00\xe2\x80\xae"]
)
_SIZES = st.one_of(
    st.integers(0, 2_000_000),
    st.sampled_from([0, 1, MAX_KEY_BYTES, MAX_KEY_BYTES + 1, 65_536, 65_537, 1_048_576]),
)


@st.composite
def blobs(draw: st.DrawFn) -> bytes:
    """``size`` bytes repeating a pattern: large sizes without drawing every byte."""
    fill, size = draw(_FILLS), draw(_SIZES)
    return (fill * (size // len(fill) + 1))[:size]


@settings(max_examples=80, deadline=None)
@given(
    key=st.none() | blobs(),
    value=st.none() | blobs(),
    max_payload_bytes=st.sampled_from([65_536, 2_000_000]),
    max_record_bytes=st.sampled_from([MIN_DEAD_LETTER_BYTES, 100_000, MAX_DEAD_LETTER_BYTES]),
    reason=st.sampled_from(["x", "\x01" * 5000, "é" * 5000]),
)
def test_a_dead_letter_never_exceeds_its_bound_and_says_what_it_cut(
    *, key, value, max_payload_bytes, max_record_bytes, reason
):
    encoded = encode_dead_letter(
        source_topic="payments",
        partition=7,
        offset=2**63 - 1,
        key=key,
        value=value,
        error=OversizedKey(reason),
        at=LATEST,
        max_payload_bytes=max_payload_bytes,
        max_record_bytes=max_record_bytes,
    )
    published_key = dead_letter_key(key)
    assert len(encoded) + len(published_key or b"") <= max_record_bytes
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(published_key, encoded, [])
    assert size <= PRODUCER_MAX_REQUEST_SIZE  # what aiokafka checks before sending

    assert validator("dead-letters").is_valid(orjson.loads(encoded))
    letter = decode_dead_letter(encoded)
    assert letter.key_truncated == (key is not None and len(key) > MAX_KEY_BYTES)
    assert letter.original_key() == published_key
    kept, raw = letter.original_value(), value or b""
    assert raw.startswith(kept)
    assert letter.payload_truncated == (len(kept) < len(raw))
    assert letter.payload_size == len(raw)
    if letter.payload is not None:
        assert letter.payload.encode() == raw


def test_the_bound_leaves_room_for_the_record_framing():
    assert MAX_DEAD_LETTER_BYTES + 64 < PRODUCER_MAX_REQUEST_SIZE


@given(key=blobs())
def test_the_dead_letter_key_is_the_original_key_cut_deterministically(key):
    assert dead_letter_key(key) == key[:MAX_KEY_BYTES] == dead_letter_key(bytes(key))
    assert dead_letter_key(None) is None
