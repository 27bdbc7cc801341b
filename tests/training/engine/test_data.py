from training.engine.bootstrap import train_tokenizer
from training.engine.data import (Truncation, bucketed_batches, encode_prompt_answer, normalise_prompt, parse_hh_dialogue,
                                  render_prompt, sft_example, to_ranking)
from training.engine.reward import RMConfig, train_reward_model
from training.engine.sft import SFTConfig, train_sft

TOK = train_tokenizer(["User: hello there\nAssistant: general kenobi, you are a bold one"] * 5, vocab_size=300)


def test_over_length_examples_are_truncated_and_counted_not_dropped():
    trunc = Truncation()
    short = sft_example(TOK, {"prompt": "hi", "completion": "yo"}, 64, trunc)
    long = sft_example(TOK, {"prompt": "hello there " * 20, "completion": "general kenobi " * 20}, 64, trunc)
    assert len(long["input_ids"]) == 64 and len(short["input_ids"]) < 64
    assert any(label != -100 for label in long["labels"])  # the answer keeps tokens
    assert trunc.as_dict()["examples"] == 2 and trunc.truncated == 1 and trunc.tokens_cut > 0


def test_trainers_report_truncation(tiny_model, tmp_path):
    demos = [{"prompt": "Tell me about the bird.", "completion": "The bird is good. " * 30},
             {"prompt": "Tell me about the road.", "completion": "The road is bad."}]
    r = train_sft(tiny_model, demos, tmp_path / "sft", SFTConfig(max_length=32, batch_size=2, eval_fraction=0.0))
    assert (r.metrics["truncation_examples"], r.metrics["truncation_truncated"]) == (2, 1)
    ranking = {"prompt": "Tell me about the bird.", "responses": ["The bird is good. " * 30, "The bird is bad."],
               "ranks": [1, 2]}
    r = train_reward_model(tiny_model, [ranking] * 2, tmp_path / "rm", RMConfig(max_length=32, eval_fraction=0.0))
    assert (r.metrics["truncation_examples"], r.metrics["truncation_truncated"]) == (4, 2)
    assert r.steps == 1


def test_prompt_and_answer_layouts():
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "ok?"}]
    assert normalise_prompt("hi") == [{"role": "user", "content": "hi"}]
    assert render_prompt(TOK, msgs) == "User: hi\nAssistant: yo\nUser: ok?\nAssistant:"
    r = to_ranking({"prompt": msgs, "responses": [[{"role": "assistant", "content": "a"}], "b"], "ranks": [2, 1]})
    assert r.responses == ["a", "b"] and r.pairs() == [(1, 0)]
    pair = to_ranking({"prompt": "p", "chosen": "c", "rejected": "r"})
    assert pair.responses == ["c", "r"] and pair.pairs() == [(0, 1)]
    tie = to_ranking({"prompt": "p", "responses": ["a", "b", "c"], "ranks": [1, 1, 2]})
    assert tie.pairs() == [(0, 2), (1, 2)]


def test_hh_rlhf_dialogue_is_split_into_prompt_and_answer():
    prompt, answer = parse_hh_dialogue("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how?\n\nAssistant: like this")
    assert prompt == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                      {"role": "user", "content": "how?"}]
    assert answer == "like this"
    r = to_ranking({"chosen": "\n\nHuman: q\n\nAssistant: good", "rejected": "\n\nHuman: q\n\nAssistant: bad"})
    assert r.prompt == [{"role": "user", "content": "q"}] and r.responses == ["good", "bad"]


def test_answer_follows_prompt_with_one_space_and_eos():
    ids, n_prompt = encode_prompt_answer(TOK, "hello there", "general kenobi", 64)
    assert TOK.decode(ids[n_prompt:]) == " general kenobi<|endoftext|>"


def test_length_bucketing_covers_every_example_once():
    lengths = [5, 50, 6, 49, 7, 48, 8, 47]
    batches = bucketed_batches(lengths, 2, seed=0, bucket_factor=4)
    assert sorted(i for b in batches for i in b) == list(range(8))
    assert all(abs(lengths[b[0]] - lengths[b[-1]]) < 10 for b in batches)


# ---- strict reading: a bad record is an error naming the file and the line ------------------------------

import json  # noqa: E402

import pytest  # noqa: E402

from training.engine.data import RANKINGS, DataError, load_records  # noqa: E402

GOOD_RANKING = {"prompt": "Tell me about the bird.", "responses": ["The bird is good.", "The bird is bad."], "ranks": [1, 2]}


@pytest.mark.parametrize("bad, words", [
    ({"prompt": "p", "responses": ["a", "b"]}, "no 'ranks'"),
    ({"prompt": "p", "responses": ["a", "b"], "response_tokens": [3, 4]}, "sampling output"),
    ({"prompt": "p", "responses": ["a", "b", "c"], "ranks": [1, 2]}, "one rank per answer"),
    ({"prompt": "p", "responses": ["a", "b"], "ranks": [1, "2"]}, "integers from 1 to 2"),
    ({"prompt": "p", "responses": ["a", "b"], "ranks": [0, 1]}, "integers from 1 to 2"),
    ({"question": "p", "answers": ["a", "b"]}, "unknown format"),
])
def test_bad_ranking_is_an_error_naming_file_and_line(tmp_path, bad, words):
    path = tmp_path / "rankings.jsonl"
    path.write_text(json.dumps(GOOD_RANKING) + "\n\n" + json.dumps(GOOD_RANKING) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError) as e:
        load_records(path, RANKINGS)
    assert e.value.line == 4 and e.value.source == str(path)  # blank lines count: the line an editor shows
    assert words in e.value.message and str(e.value).startswith(f"{path}, line 4: ")


def test_broken_json_names_its_line(tmp_path):
    path = tmp_path / "rankings.jsonl"
    path.write_text(json.dumps(GOOD_RANKING) + "\n{not json\n")
    with pytest.raises(DataError) as e:
        load_records(path, RANKINGS)
    assert e.value.line == 2 and "not JSON" in e.value.message


def test_good_rankings_and_pairs_still_load(tmp_path):
    records = [GOOD_RANKING, {"prompt": "p", "chosen": "a", "rejected": "b"},
               {"chosen": "\n\nHuman: hi\n\nAssistant: yo", "rejected": "\n\nHuman: hi\n\nAssistant: no"},
               {"prompt": "p", "responses": ["a", "b", "c", "d"], "ranks": [1, 2, 2, 4]}]  # ties as the platform stores them
    assert len(load_records(records, RANKINGS)) == 4
