"""What the codec writes, it reads back; what producers add, it ignores."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import orjson
import pytest
from wire_support import VALID_MISSED_PAYMENT, VALID_PAYMENT, schema_accepts

from domain.errors import CurrencyMismatch
from domain.events import MissedPayment, Payment, TierChange
from schemas.codec import (
    DEFAULT_CE_SOURCE,
    MAX_KEY_BYTES,
    TIER_CHANGE_CE_TYPE,
    decode_missed_payment,
    decode_payment,
    decode_tier_change,
    encode_dead_letter,
    encode_missed_payment,
    encode_payment,
    encode_tier_change,
    tier_change_headers,
)
from schemas.dead_letters import MIN_DEAD_LETTER_BYTES, dead_letter_key, decode_dead_letter
from schemas.errors import InvalidRecord, KeyMismatch, OutOfRange, UnsupportedVersion

AT = datetime(2024, 2, 15, 6, 0, 0, 123456, tzinfo=UTC)

TIER_CHANGE = TierChange(
    event_id="b1:3",
    borrower_id="b1",
    previous_tier=1,
    tier=2,
    tier_name="call",
    direction="escalation",
    days_past_due=31,
    overdue_amount=36000,
    currency="EUR",
    risk_score=0.42,
    reasons=("missed-installment", "late"),
    policy_version="2",
    occurred_at=AT,
    caused_by="miss-2",
    sequence=3,
)


class TestInputs:
    def test_a_payment_decodes_to_the_domain_type_in_utc(self):
        payment = decode_payment(orjson.dumps(VALID_PAYMENT), b"b1")
        assert payment == Payment(
            "pay-1",
            "b1",
            "L-1",
            2500,
            "EUR",
            datetime(2024, 1, 31, 9, 30, tzinfo=UTC),
            installment_id="L-1-I001",
        )
        assert payment.paid_at.tzinfo is UTC

    @pytest.mark.parametrize("absent", [{}, {"installment_id": None}], ids=["missing", "null"])
    def test_a_payment_without_an_installment_decodes_with_none(self, absent):
        record = {k: v for k, v in VALID_PAYMENT.items() if k != "installment_id"} | absent
        assert decode_payment(orjson.dumps(record), b"b1").installment_id is None

    def test_a_missed_payment_decodes_to_the_domain_type(self):
        missed = decode_missed_payment(orjson.dumps(VALID_MISSED_PAYMENT), b"b1")
        assert missed.due_date == date(2024, 1, 15)
        assert missed.observed_at == datetime(2024, 1, 16, 6, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2024-01-31T10:30:00.5-02:30", datetime(2024, 1, 31, 13, 0, 0, 500000, tzinfo=UTC)),
            (
                "2024-01-31T10:30:00.123456789Z",
                datetime(2024, 1, 31, 10, 30, 0, 123456, tzinfo=UTC),
            ),
            ("2024-01-31T10:30:00-00:00", datetime(2024, 1, 31, 10, 30, tzinfo=UTC)),
            ("2024-02-29T23:59:59+23:59", datetime(2024, 2, 29, 0, 0, 59, tzinfo=UTC)),
            ("2024-12-31T23:00:00-01:00", datetime(2025, 1, 1, tzinfo=UTC)),
        ],
    )
    def test_timestamps_keep_microseconds_and_are_normalised_to_utc(self, text, expected):
        payment = decode_payment(orjson.dumps({**VALID_PAYMENT, "paid_at": text}), b"b1")
        assert payment.paid_at == expected
        assert payment.paid_at.utcoffset() == timedelta(0)

    def test_unknown_fields_are_ignored_not_rejected(self):
        extra = {"channel": "sepa", "meta": {"nested": [1, None]}, "amount_minor": 1.5, "": None}
        value = orjson.dumps({**VALID_PAYMENT, **extra})
        assert decode_payment(value, b"b1") == decode_payment(orjson.dumps(VALID_PAYMENT), b"b1")
        assert schema_accepts("payments", orjson.loads(value))

    def test_identifier_limits_are_inclusive_and_count_characters(self):
        long_id = "é" * 128  # 256 bytes, 128 characters
        value = orjson.dumps({**VALID_PAYMENT, "borrower_id": long_id, "amount": 2**63 - 1})
        payment = decode_payment(value, long_id.encode())
        assert (payment.borrower_id, payment.amount) == (long_id, 2**63 - 1)

    def test_a_payment_round_trips_through_the_producer_encoder(self):
        payment = Payment("p", "b", "l", 1, "JPY", datetime(2024, 1, 1, 9, tzinfo=UTC))
        encoded = encode_payment(payment)
        assert decode_payment(encoded, b"b") == payment
        assert schema_accepts("payments", orjson.loads(encoded))

    def test_a_missed_payment_round_trips_through_the_producer_encoder(self):
        tz = timezone(timedelta(hours=-5))
        missed = MissedPayment(
            "m", "b", "l", "i", date(2024, 2, 29), 7, "USD", datetime(2024, 3, 1, tzinfo=tz)
        )
        encoded = encode_missed_payment(missed)
        assert decode_missed_payment(encoded, b"b") == missed
        assert orjson.loads(encoded)["observed_at"] == "2024-03-01T05:00:00.000000Z"
        assert schema_accepts("missed-payments", orjson.loads(encoded))

    def test_producers_cannot_encode_a_naive_time(self):
        payment = Payment("p", "b", "l", 1, "EUR", datetime(2024, 1, 1))
        with pytest.raises(ValueError, match="naive datetime"):
            encode_payment(payment)


class TestTierChanges:
    def test_a_tier_change_round_trips(self):
        assert decode_tier_change(encode_tier_change(TIER_CHANGE)) == TIER_CHANGE

    def test_the_record_carries_schema_version_and_fixed_width_utc_times(self):
        record = orjson.loads(encode_tier_change(TIER_CHANGE))
        assert record["schema_version"] == 1
        assert record["occurred_at"] == "2024-02-15T06:00:00.123456Z"
        assert record["reasons"] == ["missed-installment", "late"]
        assert schema_accepts("tier-changes", record)

    def test_an_aging_change_of_a_long_borrower_id_can_be_published(self):
        borrower_id = "b" * 128
        tc = replace(
            TIER_CHANGE,
            borrower_id=borrower_id,
            caused_by=f"aging:{borrower_id}:2024-02-14",
            reasons=("aging",),
        )
        assert schema_accepts("tier-changes", orjson.loads(encode_tier_change(tc)))
        assert decode_tier_change(encode_tier_change(tc)) == tc

    def test_a_missing_risk_score_is_written_as_null(self):
        tc = replace(TIER_CHANGE, risk_score=None, reasons=())
        record = orjson.loads(encode_tier_change(tc))
        assert record["risk_score"] is None
        assert schema_accepts("tier-changes", record)
        assert decode_tier_change(encode_tier_change(tc)) == tc

    def test_the_model_version_and_top_factors_round_trip(self):
        tc = replace(
            TIER_CHANGE,
            model_version="logistic-p3-l1200",
            risk_factors=(("dpd", 1.31), ("on_time_share", -0.42)),
        )
        record = orjson.loads(encode_tier_change(tc))
        assert record["risk_factors"] == [
            {"feature": "dpd", "contribution": 1.31},
            {"feature": "on_time_share", "contribution": -0.42},
        ]
        assert schema_accepts("tier-changes", record)
        assert decode_tier_change(encode_tier_change(tc)) == tc

    def test_a_record_from_before_risk_scoring_decodes_without_model_fields(self):
        record = orjson.loads(encode_tier_change(TIER_CHANGE))
        del record["model_version"], record["risk_factors"]
        assert schema_accepts("tier-changes", record)
        assert decode_tier_change(orjson.dumps(record)) == TIER_CHANGE

    @pytest.mark.parametrize(
        ("factors", "fragment"),
        [
            ("dpd", "must be an array of at most 5 objects"),
            ([["dpd", 1.0]], "must hold objects"),
            ([{"feature": "dpd"}], "field 'contribution' is required"),
            ([{"feature": "dpd", "contribution": None}], "'contribution' must be a number"),
            ([{"feature": "", "contribution": 1.0}], "field 'feature' must be a non-empty"),
        ],
    )
    def test_consumers_refuse_malformed_risk_factors(self, factors, fragment):
        record = orjson.loads(encode_tier_change(TIER_CHANGE)) | {"risk_factors": factors}
        with pytest.raises(InvalidRecord, match=re.escape(fragment)):
            decode_tier_change(orjson.dumps(record))

    def test_headers_follow_the_cloudevents_kafka_binding(self):
        headers = tier_change_headers(TIER_CHANGE)
        assert dict(headers) == {
            "ce_specversion": b"1.0",
            "ce_id": b"b1:3",
            "ce_source": DEFAULT_CE_SOURCE.encode(),
            "ce_type": TIER_CHANGE_CE_TYPE.encode(),
            "ce_subject": b"b1",
            "ce_time": b"2024-02-15T06:00:00.123456Z",
            "content-type": b"application/json",
        }
        assert len(headers) == len(dict(headers))

    def test_the_source_is_configurable_but_not_empty(self):
        assert dict(tier_change_headers(TIER_CHANGE, "urn:arrears:eu-1"))["ce_source"] == (
            b"urn:arrears:eu-1"
        )
        with pytest.raises(ValueError, match="ce_source"):
            tier_change_headers(TIER_CHANGE, "")

    def test_ce_time_and_ce_id_equal_the_data(self):
        headers = dict(tier_change_headers(TIER_CHANGE))
        record = orjson.loads(encode_tier_change(TIER_CHANGE))
        assert headers["ce_time"].decode() == record["occurred_at"]
        assert headers["ce_id"].decode() == record["event_id"]

    @pytest.mark.parametrize(
        ("changes", "fragment"),
        [
            ({"direction": "de-escalation"}, "contradicts tier 1 -> 2"),
            ({"tier": 1}, "equals previous_tier"),
            ({"direction": "up"}, "direction must be one of"),
            ({"sequence": 0}, "sequence must be an integer >= 1"),
            ({"overdue_amount": -1}, "overdue_amount must be an integer >= 0"),
            ({"days_past_due": 1.0}, "days_past_due must be an integer"),
            ({"risk_score": float("nan")}, "risk_score must be a finite number"),
            ({"risk_score": True}, "risk_score must be a finite number"),
            ({"reasons": ("",)}, "reasons must be"),
            ({"currency": "eur"}, "currency must be 3 upper-case letters"),
            ({"tier_name": ""}, "tier_name must be a 1..64-character string"),
            ({"event_id": "x" * 129}, "event_id must be a 1..128-character string"),
            ({"caused_by": "x" * 257}, "caused_by must be a 1..256-character string"),
            ({"model_version": ""}, "model_version must be a 1..64-character string"),
            ({"risk_factors": (("dpd", float("inf")),)}, "risk_factors must be at most 5"),
            ({"risk_factors": (("", 1.0),)}, "risk_factors must be at most 5"),
            ({"risk_factors": (("dpd", 1.0),) * 6}, "risk_factors must be at most 5"),
        ],
    )
    def test_a_tier_change_the_schema_forbids_is_not_encoded(self, changes, fragment):
        with pytest.raises(ValueError, match="breaks the v1 contract") as caught:
            encode_tier_change(replace(TIER_CHANGE, **changes))
        assert fragment in str(caught.value)

    def test_a_naive_occurred_at_is_not_encoded(self):
        with pytest.raises(ValueError, match="naive"):
            encode_tier_change(replace(TIER_CHANGE, occurred_at=datetime(2024, 1, 1)))

    def test_consumers_ignore_unknown_fields_and_refuse_other_versions(self):
        record = orjson.loads(encode_tier_change(TIER_CHANGE))
        assert decode_tier_change(orjson.dumps({**record, "added_in_v1_1": "x"})) == TIER_CHANGE
        with pytest.raises(UnsupportedVersion, match="must be 1 on a v1 topic, got 2"):
            decode_tier_change(orjson.dumps({**record, "schema_version": 2}))


class TestDeadLetters:
    def _letter(self, **overrides):
        arguments = {
            "source_topic": "payments",
            "partition": 3,
            "offset": 1042,
            "key": b"b2",
            "value": orjson.dumps(VALID_PAYMENT),
            "error": KeyMismatch("record key 'b2' does not match borrower_id 'b1'"),
            "at": datetime(2024, 1, 31, 10, 30, tzinfo=timezone(timedelta(hours=1))),
        }
        arguments.update(overrides)
        encoded = encode_dead_letter(**arguments)
        record = orjson.loads(encoded)
        assert schema_accepts("dead-letters", record), record
        return record, decode_dead_letter(encoded)

    def test_a_dead_letter_names_the_record_and_the_reason(self):
        record, letter = self._letter()
        assert record == {
            "schema_version": 1,
            "source_topic": "payments",
            "partition": 3,
            "offset": 1042,
            "key": "b2",
            "key_base64": "YjI=",
            "key_truncated": False,
            "error_code": "key_mismatch",
            "error": "record key 'b2' does not match borrower_id 'b1'",
            "payload": orjson.dumps(VALID_PAYMENT).decode(),
            "payload_base64": base64.b64encode(orjson.dumps(VALID_PAYMENT)).decode(),
            "payload_size": len(orjson.dumps(VALID_PAYMENT)),
            "payload_truncated": False,
            "dead_lettered_at": "2024-01-31T09:30:00.000000Z",
        }
        assert letter.original_value() == orjson.dumps(VALID_PAYMENT)
        assert letter.original_key() == b"b2"

    def test_bytes_that_are_not_utf8_survive_in_base64_only(self):
        record, letter = self._letter(key=b"\xff\x00", value=b"\x80garbage")
        assert (record["key"], record["payload"]) == (None, None)
        assert (letter.original_key(), letter.original_value()) == (b"\xff\x00", b"\x80garbage")

    def test_a_tombstone_without_a_key_is_recorded_as_nulls(self):
        record, _ = self._letter(key=None, value=None)
        assert (record["key"], record["key_base64"], record["payload"]) == (None, None, None)
        assert (record["payload_base64"], record["payload_size"]) == ("", 0)

    def test_an_empty_value_is_an_empty_payload_not_a_tombstone(self):
        record, _ = self._letter(value=b"")
        assert (record["payload"], record["payload_base64"]) == ("", "")

    def test_a_huge_value_is_truncated_to_keep_the_dead_letter_publishable(self):
        value = b"x" * 200_000
        record, letter = self._letter(value=value, max_payload_bytes=1000)
        assert (record["payload"], record["payload_size"], record["payload_truncated"]) == (
            None,
            200_000,
            True,
        )
        assert letter.original_value() == value[:1000]

    def test_a_key_longer_than_the_key_limit_is_cut_in_the_record_and_as_its_own_key(self):
        key = "é".encode() * 600  # 1200 bytes; the cut at 1024 falls between characters
        record, letter = self._letter(key=key)
        assert (record["key"], record["key_truncated"]) == (None, True)
        assert letter.original_key() == key[:MAX_KEY_BYTES] == dead_letter_key(key)
        assert letter.key_truncated

    def test_a_key_at_the_limit_is_kept_whole(self):
        key = b"k" * MAX_KEY_BYTES
        record, _ = self._letter(key=key)
        assert (record["key"], record["key_truncated"]) == (key.decode(), False)
        assert dead_letter_key(key) == key

    def test_a_dead_letter_written_before_key_truncated_existed_reads_as_not_truncated(self):
        record, _ = self._letter()
        del record["key_truncated"]
        assert schema_accepts("dead-letters", record)
        assert decode_dead_letter(orjson.dumps(record)).key_truncated is False

    def test_the_reported_crash_a_310_kb_key_now_makes_a_publishable_dead_letter(self):
        """A 310 KB key with a 152-byte value made a ~1 MB dead-letter the producer refused."""
        key, value = b"b" * 310_000, b"v" * 152
        with pytest.raises(InvalidRecord) as refused:
            decode_payment(value, key)
        refusal = refused.value
        assert refusal.code == "oversized_key"
        record, letter = self._letter(key=key, value=value, error=refusal)
        published = orjson.dumps(record)
        assert len(published) + len(dead_letter_key(key)) < 4000
        assert (letter.error_code, letter.original_value()) == ("oversized_key", value)

    def test_a_bound_too_small_for_any_dead_letter_is_a_programming_error(self):
        with pytest.raises(ValueError, match="max_record_bytes must be at least 32768"):
            self._letter(max_record_bytes=MIN_DEAD_LETTER_BYTES - 1)

    def test_a_domain_error_keeps_its_code(self):
        error = CurrencyMismatch("currency 'USD' differs from the borrower's 'EUR'")
        record, _ = self._letter(error=error)
        assert record["error_code"] == "currency_mismatch"
        assert record["error"] == "currency 'USD' differs from the borrower's 'EUR'"

    def test_an_exception_without_a_code_is_an_internal_error_named_by_type(self):
        record, _ = self._letter(error=KeyError("tier"))
        assert (record["error_code"], record["error"]) == ("internal_error", "KeyError: 'tier'")

    def test_a_malformed_code_is_not_trusted(self):
        error = OutOfRange("x")
        error.code = "Not A Code!"  # type: ignore[misc]
        record, _ = self._letter(error=error)
        assert record["error_code"] == "internal_error"

    def test_an_empty_message_falls_back_to_the_exception_type(self):
        record, _ = self._letter(error=RuntimeError())
        assert record["error"] == "RuntimeError"

    def test_a_naive_time_is_refused(self):
        with pytest.raises(ValueError, match="naive"):
            self._letter(at=datetime(2024, 1, 1))
