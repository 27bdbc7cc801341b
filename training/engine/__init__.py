"""RLHF training engine (no Django): bootstrap → SFT → K-wise reward model → PPO(-ptx), plus sampling.

One module per step, each with its config dataclass at the top and one train function:

- ``bootstrap.bootstrap(out_dir, texts|text_files, BootstrapConfig)``  tokenizer + tiny base model
- ``smollm2.convert(out_dir=None)``                                    SmolLM2-135M-Instruct GGUF → HF dir
- ``sft.train_sft(model, data, out_dir, SFTConfig)``
- ``reward.train_reward_model(model, data, out_dir, RMConfig)``, ``reward.load_reward_model(path).score(texts)``
- ``ppo.train_ppo(policy, reward_model, prompts, out_dir, PPOConfig)`` (``PPOConfig.from_preset("instructgpt")``)
- ``sampling.sample(model, prompts, out_path, SamplingConfig)``

Every train function takes ``on_progress(step, total, metrics)`` and ``should_stop()``, writes
``metrics.jsonl`` and checkpoints into ``out_dir``, resumes from the last checkpoint, and returns a
``config.TrainResult``. ``config.from_dict(Cls, d)`` validates untrusted JSON (``ConfigError.field``).
Several processes (``torchrun``/``accelerate launch``): ``parallel.py`` splits each global batch so N
processes take the same step as one (docs/distributed.md). LoRA: ``lora_r`` > 0 in the SFT, RM and PPO
configs (``device.apply_lora``); the output directory holds the merged model and ``adapter/``.
CLI: ``python -m training.engine --help``. Heavy imports (torch, transformers) happen in the submodules.
"""
