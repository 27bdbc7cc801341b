"""Sampled answers are made storable and distinct before labelers see them (training/answers.py)."""

from training.answers import distinct_answers, storable


def test_nul_is_dropped_and_a_lone_surrogate_replaced():
    assert storable("a\x00b\ud800c") == "ab\ufffdc"


def test_duplicates_are_sampled_again_and_counted():
    calls = []
    fresh = {1: [["B", "C"], ["D"]], 2: [["x"], ["x"]]}

    def resample(ids, round_):
        calls.append((ids, round_))
        return [{"id": i, "responses": fresh[i][round_ - 1]} for i in ids]

    records = [{"id": 1, "responses": ["A", "A ", "A", "B"]}, {"id": 2, "responses": ["x", "y", "y", "z"]},
               {"id": 3, "responses": ["p", "q", "r", "s"]}]
    out, stats = distinct_answers(records, 4, resample, max_rounds=2)
    assert [r["responses"] for r in out] == [["A", "B", "C", "D"], ["x", "y", "z"], ["p", "q", "r", "s"]]
    assert calls == [([1, 2], 1), ([1, 2], 2)]
    assert stats == {"duplicate_answers": 3, "resampled_prompts": 4, "resample_rounds": 2, "tasks_with_fewer_answers": 1}


def test_nothing_is_resampled_when_every_answer_differs():
    out, stats = distinct_answers([{"id": 1, "responses": ["a", "b"]}], 2, lambda ids, r: 1 / 0)
    assert out[0]["responses"] == ["a", "b"] and stats["duplicate_answers"] == 0 and stats["resample_rounds"] == 0
