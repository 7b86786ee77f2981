"""ROUGE and BLEU of general_qa: rouge-score / sacrebleu defaults on English, per-character tokens on CJK text
(rouge-score's own tokenizer keeps only [a-z0-9] and would score Chinese 0), best over the references."""

from __future__ import annotations

import pytest

from evalray.scoring import text_metrics


def test_english_rouge_and_bleu_are_the_libraries_defaults():
    from rouge_score import rouge_scorer

    reference = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"]).score("the cat sat on the mat", "the cat sat")
    assert text_metrics.rouge("the cat sat", ["the cat sat on the mat"]) == {
        k: pytest.approx(v.fmeasure) for k, v in reference.items()}
    assert text_metrics.rouge("the cat sat", ["a dog", "the cat sat on the mat"])["rouge1"] == pytest.approx(2 / 3)
    assert text_metrics.bleu("the cat sat on the mat", ["the cat sat on the mat"]) == 1.0
    assert text_metrics.bleu("completely different words here", ["the cat sat on the mat"]) < 0.1


def test_chinese_is_scored_per_character():
    scores = text_metrics.rouge("北京是首都", ["北京是中国的首都"])  # 5 of 8 characters, all 5 right
    assert scores["rouge1"] == pytest.approx(2 * 1 * (5 / 8) / (1 + 5 / 8))
    assert scores["rougeL"] == pytest.approx(scores["rouge1"])
    assert text_metrics.rouge("北京是中国的首都", ["北京是中国的首都"]) == {k: 1.0 for k in text_metrics.ROUGE}
    assert 0 < text_metrics.bleu("北京是首都", ["北京是中国的首都"]) < 1
    assert text_metrics.CharacterTokenizer().tokenize("GPT-4 是大模型") == ["gpt", "4", "是", "大", "模", "型"]
