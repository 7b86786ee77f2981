"""IFEval instruction checkers: the maintained implementation shipped with lm-evaluation-harness
(``lm_eval.tasks.ifeval``, a port of google-research/instruction_following_eval), used unchanged.

Offline machines lack NLTK's ``punkt`` data, which three checks need (sentence count, and word tokenisation for
the capital-word frequency). Where the data is missing we never try to download it at run time: the sentence
tokenizer falls back to NLTK's Punkt algorithm with default (untrained) parameters and words are split with the
Treebank tokenizer over those sentences. With the data installed (``python -m nltk.downloader punkt_tab``) the
checks are exactly lm-evaluation-harness's.
"""

from __future__ import annotations

import contextlib
import io
import types
from dataclasses import dataclass
from functools import lru_cache

INSTALL_HINT = "IFEval scoring needs lm-eval's checkers: pip install 'lm-eval>=0.4.9' langdetect immutabledict nltk"


@dataclass
class IFEvalResult:
    prompt_strict: bool
    inst_strict: list[bool]
    prompt_loose: bool
    inst_loose: list[bool]


def _punkt_available() -> bool:
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        return True
    except LookupError:
        return False


@lru_cache(maxsize=1)
def _modules():
    try:
        import nltk
    except ImportError as exc:  # pragma: no cover
        raise ImportError(INSTALL_HINT) from exc
    has_punkt = _punkt_available()
    download = nltk.download
    if not has_punkt:
        nltk.download = lambda *args, **kwargs: False  # the module tries to download punkt at import: not offline
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Downloaded punkt_tab" even when it did not
            from lm_eval.tasks.ifeval import instructions_util, utils
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    finally:
        nltk.download = download
    if has_punkt:
        from nltk.tokenize import PunktTokenizer

        sentence_tokenizer = PunktTokenizer("english")
        word_tokenize = nltk.word_tokenize
    else:
        from nltk.tokenize import TreebankWordTokenizer
        from nltk.tokenize.punkt import PunktSentenceTokenizer

        sentence_tokenizer = PunktSentenceTokenizer()
        treebank = TreebankWordTokenizer()

        def word_tokenize(text, language="english", preserve_line=False):
            sentences = [text] if preserve_line else sentence_tokenizer.tokenize(text)
            return [token for sentence in sentences for token in treebank.tokenize(sentence)]

    # nltk>=3.9 no longer loads the pickled punkt model the checker asks for: give it the tokenizer chosen above
    instructions_util._get_sentence_tokenizer = lambda: sentence_tokenizer
    proxy = types.SimpleNamespace(**{name: getattr(nltk, name) for name in ("tokenize", "data")})
    proxy.word_tokenize = word_tokenize
    instructions_util.nltk = proxy
    return utils


def check(key: int, prompt: str, instruction_ids: list[str], kwargs: list[dict], response: str) -> IFEvalResult:
    """Strict and loose (response with first/last line removed, asterisks dropped) results of every instruction."""
    utils = _modules()
    example = utils.InputExample(key=key, instruction_id_list=list(instruction_ids), prompt=prompt,
                                 kwargs=[dict(k or {}) for k in kwargs])
    strict = utils.test_instruction_following_strict(example, response)
    loose = utils.test_instruction_following_loose(example, response)
    return IFEvalResult(strict.follow_all_instructions, list(strict.follow_instruction_list),
                        loose.follow_all_instructions, list(loose.follow_instruction_list))
