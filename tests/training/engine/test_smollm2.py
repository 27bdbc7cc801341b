import pytest


@pytest.mark.slow
def test_convert_gguf_and_answer():
    """Convert once into the cache (var/models, git-ignored; reused afterwards) and answer a question."""
    import torch

    from training.engine.sampling import SamplingConfig, sample
    from training.engine.smollm2 import convert

    try:
        path = convert()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    assert convert() == path  # idempotent
    torch.set_num_threads(2)
    result = sample(path, [{"text": "What is the capital of France?"}], None,
                    SamplingConfig(k=1, max_new_tokens=12, do_sample=False))
    answer = result.records[0]["responses"][0]
    print("SmolLM2:", answer)
    assert "Paris" in answer
