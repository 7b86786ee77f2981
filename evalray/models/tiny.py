"""Built-in tiny random-weight checkpoints with their own BPE tokenizers, for the quickstart and the tests:

* ``builtin:tiny-llama``: Llama-style; its tokenizer adds ``<s>`` in front of every text (a ``TemplateProcessing``
  post-processor, as Llama's tokenizer does) and has a chat template;
* ``builtin:tiny-gpt2``: GPT-2-style; its tokenizer adds no special tokens (``<|endoftext|>`` is BOS, EOS and UNK,
  and there is no pad token).

Each is built locally on first use (no network) through ``save_pretrained``, cached under ``$EVALRAY_CACHE`` (default
``~/.cache/evalray``) and then loaded through the same ``hf`` path as any real checkpoint. Their scores are chance
level.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

BUILTIN_PREFIX = "builtin:"
TINY_NAME = "tiny-llama"
GPT2_NAME = "tiny-gpt2"
TINY_VERSION = "v2"  # v2: tiny-llama's tokenizer adds <s> (as Llama's does)
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]
GPT2_EOT = "<|endoftext|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def cache_dir() -> Path:
    return Path(os.environ.get("EVALRAY_CACHE", Path.home() / ".cache" / "evalray")).expanduser()


def resolve_source(source: str) -> str:
    """A local directory or hub id for ``source``; a ``builtin:`` checkpoint is built on first use."""
    if not source.startswith(BUILTIN_PREFIX):
        return os.path.expanduser(source)
    name = source[len(BUILTIN_PREFIX):]
    if name not in BUILDERS:
        from evalray.errors import ConfigError

        known = ", ".join(BUILTIN_PREFIX + n for n in BUILDERS)
        raise ConfigError(f"unknown builtin model '{source}'; the builtin models are {known}")
    return str(ensure_builtin(name))


def ensure_tiny_llama() -> Path:
    return ensure_builtin(TINY_NAME)


def ensure_builtin(name: str) -> Path:
    """Build the checkpoint once (under a file lock, atomically renamed into place) and return its directory."""
    target = cache_dir() / f"{name}-{TINY_VERSION}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "config.json").is_file():
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".build-"))
            try:
                BUILDERS[name](staging)
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


def _train_bpe(special_tokens: list[str], unk: str | None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=unk))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024, special_tokens=special_tokens, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    return tokenizer


def build_tokenizer():
    """tiny-llama's tokenizer: ``<s>`` is prepended to every encoded text (``add_special_tokens=True``)."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tokenizer = _train_bpe(SPECIAL_TOKENS, "<unk>")
    bos = tokenizer.token_to_id("<s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        model_max_length=2048,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_gpt2_tokenizer():
    """tiny-gpt2's tokenizer: byte-level BPE that adds no special tokens; ``<|endoftext|>`` is BOS/EOS/UNK."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = _train_bpe([GPT2_EOT], None)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token=GPT2_EOT, bos_token=GPT2_EOT,
                                   eos_token=GPT2_EOT, model_max_length=1024)


def _seeded(factory: Callable[[], object]):
    import torch

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        return factory()
    finally:
        torch.random.set_rng_state(generator_state)


def build_tiny_llama(directory: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False, torch_dtype="float32",
    )
    model = _seeded(lambda: LlamaForCausalLM(config))
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)


def build_tiny_gpt2(directory: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = build_gpt2_tokenizer()
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=128, n_inner=256, n_layer=2, n_head=4, n_positions=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, torch_dtype="float32",
    )
    model = _seeded(lambda: GPT2LMHeadModel(config))
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)


BUILDERS: dict[str, Callable[[Path], None]] = {TINY_NAME: build_tiny_llama, GPT2_NAME: build_tiny_gpt2}
