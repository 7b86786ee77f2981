"""``builtin:tiny-llama``: a deterministic tiny random-weight Llama-style checkpoint with its own BPE tokenizer.

It is built locally on first use (no network), cached under ``$EVALRAY_CACHE`` (default ``~/.cache/evalray``) and
then loaded through the same ``hf`` path as any real checkpoint. Its scores are chance level: it exists for the
quickstart and the tests.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

BUILTIN_PREFIX = "builtin:"
TINY_NAME = "tiny-llama"
TINY_VERSION = "v1"
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def cache_dir() -> Path:
    return Path(os.environ.get("EVALRAY_CACHE", Path.home() / ".cache" / "evalray")).expanduser()


def resolve_source(source: str) -> str:
    """A local directory or hub id for ``source``; ``builtin:tiny-llama`` is built on first use."""
    if not source.startswith(BUILTIN_PREFIX):
        return os.path.expanduser(source)
    name = source[len(BUILTIN_PREFIX):]
    if name != TINY_NAME:
        from evalray.errors import ConfigError

        raise ConfigError(f"unknown builtin model '{source}'; the only one is builtin:{TINY_NAME}")
    return str(ensure_tiny_llama())


def ensure_tiny_llama() -> Path:
    """Build the checkpoint once (under a file lock, atomically renamed into place) and return its directory."""
    target = cache_dir() / f"{TINY_NAME}-{TINY_VERSION}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{TINY_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "config.json").is_file():
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".build-"))
            try:
                build_tiny_llama(staging)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return target


def _corpus() -> list[str]:
    """Training text for the tokenizer: the quickstart samples shipped in the package, plus every byte value."""
    from importlib import resources

    texts = [bytes(range(32, 127)).decode("ascii")]
    root = resources.files("evalray") / "data" / "quickstart"
    for path in sorted(_walk(root)):
        texts.append(path.read_text(encoding="utf-8"))
    return texts


def _walk(root):
    for child in root.iterdir():
        if child.is_dir():
            yield from _walk(child)
        elif child.name.endswith((".jsonl", ".csv")):
            yield child


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        model_max_length=2048,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_llama(directory: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False, torch_dtype="float32",
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
