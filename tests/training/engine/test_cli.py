import json

from tests.training.engine.synthetic import demonstrations, prompt_for
from training.engine.__main__ import main
from training.engine.data import read_jsonl, write_jsonl


def test_cli_bootstrap_sft_sample(tmp_path, capsys):
    (tmp_path / "corpus.txt").write_text("User: hi\nAssistant: The bird is good.\n" * 30)
    assert main(["bootstrap", "--text", str(tmp_path / "corpus.txt"), "--out", str(tmp_path / "base"),
                 "--vocab-size", "300", "--max-steps", "4", "--n-embd", "32", "--log-every", "2"]) == 0
    write_jsonl(tmp_path / "demos.jsonl", demonstrations()[:8])
    (tmp_path / "cfg.json").write_text(json.dumps({"batch_size": 4, "learning_rate": 1e-3}))
    assert main(["sft", "--model", str(tmp_path / "base"), "--data", str(tmp_path / "demos.jsonl"),
                 "--out", str(tmp_path / "sft"), "--config", str(tmp_path / "cfg.json"), "--epochs", "1",
                 "--eval-fraction", "0.25"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out)["steps"] == 2 and "eval_loss" in json.loads(out)["metrics"]
    write_jsonl(tmp_path / "prompts.jsonl", [{"text": prompt_for("bird")}])
    assert main(["sample", "--model", str(tmp_path / "sft"), "--data", str(tmp_path / "prompts.jsonl"),
                 "--out", str(tmp_path / "answers.jsonl"), "--k", "2", "--max-new-tokens", "4"]) == 0
    assert len(read_jsonl(tmp_path / "answers.jsonl")[0]["responses"]) == 2


def test_cli_config_error_names_field(tmp_path, capsys):
    code = main(["sample", "--model", str(tmp_path), "--data", "x.jsonl", "--out", "y.jsonl", "--top-p", "2"])
    assert code == 2
    assert json.loads(capsys.readouterr().err.strip().splitlines()[-1])["field"] == "top_p"


def test_cli_rm_refuses_a_sampling_output(sft_model, tmp_path, capsys):
    from training.engine.sampling import SamplingConfig, sample

    sample(sft_model, [{"text": prompt_for("bird")}, {"text": prompt_for("ship")}], tmp_path / "answers.jsonl",
           SamplingConfig(k=2, max_new_tokens=4))
    code = main(["rm", "--model", str(sft_model), "--data", str(tmp_path / "answers.jsonl"), "--out", str(tmp_path / "rm")])
    assert code == 2 and not (tmp_path / "rm").exists()
    err = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert err["error"] == "data" and err["file"] == str(tmp_path / "answers.jsonl") and err["line"] == 1
    assert "sampling output" in err["message"]
