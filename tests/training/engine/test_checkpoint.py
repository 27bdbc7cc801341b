"""Resume: a run stopped midway (should_stop) and started again equals an uninterrupted run."""

from tests.support.engine import assert_same_weights, metrics_lines, stop_after
from tests.training.engine.synthetic import TRAIN_NOUNS, demonstrations, prompt_for
from training.engine.checkpoint import checkpoint_dirs
from training.engine.ppo import PPOConfig, train_ppo
from training.engine.sft import SFTConfig, train_sft


def test_sft_resume_matches_uninterrupted_run(tiny_model, tmp_path):
    cfg = SFTConfig(epochs=2, batch_size=8, learning_rate=2e-3, log_every=3, save_every=4, eval_fraction=0.1)
    data = demonstrations(TRAIN_NOUNS[:8])
    full = train_sft(tiny_model, data, tmp_path / "full", cfg)

    progress = []
    part = train_sft(tiny_model, data, tmp_path / "part", cfg, should_stop=stop_after(5),
                     on_progress=lambda s, t, m: progress.append((s, t)))
    assert part.stopped and part.steps == 5 and not (tmp_path / "part" / "model.safetensors").exists()
    assert progress == [(3, full.total_steps)]
    assert checkpoint_dirs(tmp_path / "part")[-1].name == "step-0000005"
    resumed = train_sft(tiny_model, data, tmp_path / "part", cfg)
    assert not resumed.stopped and resumed.steps == full.steps
    assert_same_weights(tmp_path / "full", tmp_path / "part")
    assert metrics_lines(tmp_path / "full") == metrics_lines(tmp_path / "part")
    assert resumed.metrics == full.metrics


def test_ppo_resume_matches_uninterrupted_run(sft_model, synthetic_rm, tmp_path):
    prompts = [{"text": prompt_for(n)} for n in TRAIN_NOUNS]
    cfg = PPOConfig(iterations=4, batch_size=8, mini_batch_size=4, ppo_epochs=2, max_new_tokens=8, save_every=10)
    full = train_ppo(sft_model, synthetic_rm[0], prompts, tmp_path / "full", cfg)
    part = train_ppo(sft_model, synthetic_rm[0], prompts, tmp_path / "part", cfg, should_stop=stop_after(2))
    assert part.stopped and part.steps == 2
    train_ppo(sft_model, synthetic_rm[0], prompts, tmp_path / "part", cfg)
    assert_same_weights(tmp_path / "full", tmp_path / "part")
    assert metrics_lines(tmp_path / "full") == metrics_lines(tmp_path / "part")
