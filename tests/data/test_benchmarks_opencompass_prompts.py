"""The prompts of the OpenCompass-list benchmarks are pinned: a sha256 (first 16 hex digits) over every item's
generative completion prompt and over every log-likelihood (contexts, continuations) pair, on the bundle. The pinned
values are those that ``benchmarks/opencompass_prompts.py`` found identical to OpenCompass's own ``_gen`` and ``_ppl``
configs (open-compass/opencompass a5acc4b) and that tests/data/test_benchmarks_lmeval_requests.py found identical to
lm-evaluation-harness's tasks; a prompt change fails here until it is checked again and the hash updated."""

from __future__ import annotations

import hashlib

import pytest

from evalray.benchmarks import registry
from evalray.job.spec import BenchmarkSpec
from tests.conftest import shared_data

GENERATIVE_ONLY = {"agieval", "gaokao", "cmrc", "drcd", "lcsts", "strategyqa"}  # agieval: mixed, pinned by its prompts
PINNED = {  # benchmark: (generate prompts, log-likelihood pairs)
    "obqa": ("bb722f944b75bfa1", "78f7732e2977a308"), "siqa": ("f901747a1615e7a1", "d422b827266dc65d"),
    "race": ("96ed6c47e586b9b1", "0de6cd375fdd0d7a"), "storycloze": ("eafdbfe1c7e6d647", "56dc84555b2e56e0"),
    "copa": ("184c17eb1c40f261", "84e3e19caf01aed2"), "rte": ("b6650c300568560c", "b2cc58465c77609c"),
    "axb": ("4b38666c9f42d43a", "c4fee6cd12f753a2"), "axg": ("4c65c693e7fc3266", "1d34e90e3be3477a"),
    "cb": ("3a11ec658cc24329", "ca412f899407e43c"), "wic": ("4320a9e990e36dc6", "bf208f04e106ec8f"),
    "wsc": ("c9070cf23af54a5f", "da9eb1a7be7b62d0"), "multirc": ("eb9ef19fa4f47c4d", "76fa0dc64ccd864d"),
    "clue_afqmc": ("75affeb3decd198a", "23b488d701e578b6"), "cmnli": ("b7589b50564eebdd", "5eb436ba17f16dce"),
    "ocnli": ("5fbda97d9c7f7ccb", "496f919af8fbcc75"), "ocnli_fc": ("16a15b8eb92398bd", "d75f281fb1ab2e92"),
    "bustm": ("c1beb215c11a44ff", "d81781965db5f91d"), "chid": ("7871c926fb873407", "eacd82fde096d562"),
    "cluewsc": ("b657b9dbc9e17dfa", "8391303181a601b9"), "csl": ("39ff6d62e7c0cb14", "8706c98ba63a607a"),
    "eprstmt": ("3b1dcac8cd8b55e5", "18f053faf57c00c8"), "tnews": ("d6fc4615eebba9b7", "62661046f98bc271"),
    "c3": ("419eb6a163e38f38", "5c441019eb413766"), "lambada": ("717b982f9a82c770", "66c0fea78c961018"),
    "agieval": ("1057f97d6559f6a0", None), "gaokao": ("29c0708a77c318fa", None), "cmrc": ("4816eb53e9e24759", None),
    "drcd": ("77acd9c1a814b6c4", None), "lcsts": ("6fba5e8f793480bf", None), "strategyqa": ("22d4ae9c67a4c0dd", None),
}


def digests(name: str) -> tuple[str, str | None]:
    data_dir = str(shared_data("opencompass") / "data")
    bench = registry.get(name)
    generate = hashlib.sha256()
    for _, request, _ in bench.requests(BenchmarkSpec(name=name, data_dir=data_dir), chat=False, seed=0, force_generate=True):
        generate.update((request.prompt + "\x00").encode())
    if name in GENERATIVE_ONLY:
        return generate.hexdigest()[:16], None
    pairs = hashlib.sha256()
    for _, request, _ in bench.requests(BenchmarkSpec(name=name, data_dir=data_dir, mode="loglikelihood"), chat=False, seed=0):
        contexts = request.contexts or (request.prompt,)
        pairs.update(("\x01".join(contexts) + "\x02" + "\x01".join(request.continuations) + "\x00").encode())
    return generate.hexdigest()[:16], pairs.hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_prompts_are_the_checked_ones(name):
    assert digests(name) == PINNED[name]
