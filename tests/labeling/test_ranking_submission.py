"""The submit body's hand check (serializers.ranking_submission) answers exactly as
RankingSubmitSerializer does: for every body it takes by hand it returns the serializer's validated
data, and every other body (types to convert, whitespace to trim, out of range, errors) goes to the
serializer, so a bad one is still a 400 naming its field."""

import pytest
from django.test import override_settings
from rest_framework.exceptions import ValidationError

from labeling.serializers import RankingSubmitSerializer, _canonical_ranking, ranking_submission

ITEMS = [{"response": 11, "rank": 1, "score": 7, "flags": ["harmful", "made_up_facts"]},
         {"response": 12, "rank": 2, "score": None}, {"response": 13, "rank": 2}, {"response": 14, "rank": 4, "flags": []}]

BY_HAND = [
    {"ranks": ITEMS},
    {"ranks": ITEMS, "seconds_spent": 12, "comment": "close call", "idempotency_key": "k-1", "all_bad": False},
    {"ranks": ITEMS[:2], "seconds_spent": 0.5, "unrankable": False, "ignored": {"extra": 1}},
    {"ranks": [], "all_bad": True, "seconds_spent": None, "comment": ""},
    {"unrankable": True},
    {},
    {"ranks": [{"response": 2**63 - 1, "rank": -3}]},  # the serializer leaves the rank's range to the rules
]

TO_THE_SERIALIZER = [
    {"ranks": [{"response": "11", "rank": 1}]},          # a number as a string: converted
    {"ranks": [{"response": 11, "rank": 1.0}]},
    {"ranks": [{"response": 11, "rank": True}]},
    {"ranks": [{"response": 0, "rank": 1}]},
    {"ranks": [{"response": 2**63, "rank": 1}]},
    {"ranks": [{"response": 11, "rank": 1, "score": 8}]},
    {"ranks": [{"response": 11, "rank": 1, "flags": ["harmful", "harmful"]}]},
    {"ranks": [{"response": 11, "rank": 1, "flags": ["nonsense"]}]},
    {"ranks": [{"response": 11, "rank": 1, "flags": "harmful"}]},
    {"ranks": [{"response": i, "rank": 1} for i in range(1, 11)]},  # more than K items
    {"ranks": [[11, 1]]},
    {"ranks": None},
    {"ranks": "11"},
    {"all_bad": "true"},
    {"all_bad": None},
    {"comment": "  padded  "},
    {"comment": "x" * 101},
    {"comment": 5},
    {"comment": "nul\x00"},
    {"seconds_spent": True},
    {"seconds_spent": -1},
    {"seconds_spent": float("nan")},
    {"seconds_spent": float("inf")},
    {"seconds_spent": 10**9},
    {"seconds_spent": "12"},
    {"idempotency_key": ""},
    {"idempotency_key": " k "},
    {"idempotency_key": "k" * 101},
    {"idempotency_key": 7},
]


def serializer_answer(body):
    form = RankingSubmitSerializer(data=body)
    return form.validated_data if form.is_valid() else form.errors


@override_settings(MAX_TEXT_LENGTH=100)
@pytest.mark.parametrize("body", BY_HAND)
def test_a_canonical_body_is_checked_by_hand_with_the_serializers_answer(body):
    by_hand = _canonical_ranking(body)
    assert by_hand is not None
    assert by_hand == serializer_answer(body)


@override_settings(MAX_TEXT_LENGTH=100)
@pytest.mark.parametrize("body", TO_THE_SERIALIZER)
def test_any_other_body_goes_to_the_serializer(body):
    assert _canonical_ranking(body) is None
    form = RankingSubmitSerializer(data=body)
    if form.is_valid():
        assert ranking_submission(body) == form.validated_data
    else:
        with pytest.raises(ValidationError) as raised:
            ranking_submission(body)
        assert raised.value.detail == form.errors
