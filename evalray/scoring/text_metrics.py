"""Reference-based text metrics of ``general_qa``: ROUGE through Google's ``rouge-score`` and BLEU through
``sacrebleu`` (both installed with lm-evaluation-harness: ``pip install rouge-score sacrebleu``), each the best over
the reference answers. Imported on first use."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

ROUGE = ("rouge1", "rouge2", "rougeL")


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


@lru_cache(maxsize=1)
def _rouge_scorer():
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise _missing("rouge-score", "rouge") from None
    return rouge_scorer.RougeScorer(list(ROUGE), use_stemmer=False)


def rouge(prediction: str, references: Sequence[str]) -> dict[str, float]:
    """rouge1, rouge2 and rougeL F1 of ``prediction``, each the best over ``references``."""
    scorer = _rouge_scorer()
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
    return min(1.0, float(sacrebleu.sentence_bleu(prediction or "", list(references)).score) / 100.0)
