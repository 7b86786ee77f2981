"""Reference-based text metrics of ``general_qa``: ROUGE through Google's ``rouge-score`` and BLEU through
``sacrebleu`` (both installed with lm-evaluation-harness: ``pip install rouge-score sacrebleu``), each the best over
the reference answers. Imported on first use.

Texts with Chinese, Japanese or Korean characters are tokenised per character (rouge-score's own tokenizer keeps
only ``[a-z0-9]`` and would score them 0; sacrebleu's ``zh`` tokenizer); other texts use each library's default."""

from __future__ import annotations

from collections.abc import Sequence
import re
from functools import lru_cache

ROUGE = ("rouge1", "rouge2", "rougeL")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_CJK_TOKEN = re.compile(f"[{_CJK}]|[^\\W_]+")


def has_cjk(*texts: str) -> bool:
    return any(_HAS_CJK.search(t or "") for t in texts)


class CharacterTokenizer:
    """rouge-score tokenizer for CJK text: each CJK character a token, other runs of letters and digits a word."""

    def tokenize(self, text: str) -> list[str]:
        return _CJK_TOKEN.findall((text or "").lower())


PACKAGES = {"rouge1": ("rouge_score", "rouge-score"), "rouge2": ("rouge_score", "rouge-score"),
            "rougeL": ("rouge_score", "rouge-score"), "bleu": ("sacrebleu", "sacrebleu")}


def require(metrics: Sequence[str]) -> None:
    """A one-line ConfigError, before anything runs, when a metric's package is not installed."""
    import importlib.util

    for metric in metrics:
        if metric in PACKAGES and importlib.util.find_spec(PACKAGES[metric][0]) is None:
            raise _missing(PACKAGES[metric][1], metric)


def _missing(package: str, metric: str) -> Exception:
    from evalray.errors import ConfigError

    return ConfigError(f"metric {metric} needs the {package} package (pip install {package})")


@lru_cache(maxsize=2)
def _rouge_scorer(cjk: bool):
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise _missing("rouge-score", "rouge") from None
    return rouge_scorer.RougeScorer(list(ROUGE), use_stemmer=False, tokenizer=CharacterTokenizer() if cjk else None)


def rouge(prediction: str, references: Sequence[str]) -> dict[str, float]:
    """rouge1, rouge2 and rougeL F1 of ``prediction``, each the best over ``references``."""
    scorer = _rouge_scorer(has_cjk(prediction, *references))
    best = {name: 0.0 for name in ROUGE}
    for reference in references:
        scores = scorer.score(reference, prediction or "")
        for name in ROUGE:
            best[name] = max(best[name], float(scores[name].fmeasure))
    return best


def bleu(prediction: str, references: Sequence[str]) -> float:
    """Sentence BLEU of ``prediction`` against all ``references`` (sacrebleu's defaults, exponential smoothing),
    scaled to 0-1."""
    try:
        import sacrebleu
    except ImportError:
        raise _missing("sacrebleu", "bleu") from None
    tokenize = "zh" if has_cjk(prediction, *references) else "13a"
    return min(1.0, float(sacrebleu.sentence_bleu(prediction or "", list(references), tokenize=tokenize).score) / 100.0)
