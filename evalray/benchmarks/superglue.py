"""SuperGLUE (Wang et al., 2019) beyond BoolQ: COPA, RTE, CB, WiC, WSC, MultiRC and the diagnostics AX-b / AX-g.

Log-likelihood: lm-evaluation-harness's ``super_glue/<task>/default.yaml`` (AX-b / AX-g: lm-eval has no task, so RTE's
prompt, which they are diagnostics of). Generative: OpenCompass's ``SuperGLUE_<task>_gen`` prompts. Local files: the
OpenCompass bundle (``data/SuperGLUE/<Task>/val.jsonl``, the original SuperGLUE jsonl); hub: ``aps/super_glue``.
ReCoRD has no local copy (>4 MiB): hub only.
"""

from __future__ import annotations

import re
from pathlib import Path

from evalray.benchmarks._io import read_jsonl
from evalray.benchmarks._opencompass import ChoiceTask, label_index
from evalray.benchmarks.base import Source, Split
from evalray.benchmarks.registry import register
from evalray.types import Sample

YES_NO = "\nA. Yes\nB. No\nAnswer:"


def superglue_source(config: str, folder: str, file: str = "val.jsonl", hub_split: str = "validation") -> Source:
    return Source("aps/super_glue", config, id_field="idx",
                  split=Split(hub_split, (f"data/SuperGLUE/{folder}/{file}", f"SuperGLUE/{folder}/{file}",
                                          f"{folder}/{file}", file)),
                  fewshot=Split("train", (f"data/SuperGLUE/{folder}/train.jsonl", f"SuperGLUE/{folder}/train.jsonl")))


class _SuperGLUE(ChoiceTask):
    shuffle_fewshot = True


@register
class COPA(_SuperGLUE):
    name = "copa"
    description = "COPA: choice of plausible alternatives (cause/effect), SuperGLUE validation, 2 choices."
    source = superglue_source("copa", "COPA")
    license = "BSD-2-Clause (COPA)"
    items = 100
    loglikelihood_reference = "lm-eval super_glue/copa/default.yaml (premise + because/therefore, lower-cased choice)"
    generate_reference = "OpenCompass SuperGLUE_COPA_gen_91ca53"

    def parse(self, r: dict) -> Sample:
        # lm-eval copa/utils.py: the premise without its final period + connector; its doc_to_choice already starts
        # each choice with a space, so with the default target delimiter the continuation begins with two spaces
        connector = {"cause": "because", "effect": "therefore"}[r["question"]]
        choices = [" " + c[0].lower() + c[1:] for c in (r["choice1"], r["choice2"])]
        prompt = f"{r['premise']}\nQuestion: Which may be the {r['question']}?\nA. {r['choice1']}\nB. {r['choice2']}\nAnswer:"
        return self.choice_sample(r["premise"].strip()[:-1] + f" {connector}", choices, int(r["label"]), prompt)


class _Entailment(_SuperGLUE):
    """RTE and the AX diagnostics: lm-eval's RTE prompt, choices True/False; OpenCompass's Yes/No question."""

    loglikelihood_reference = "lm-eval super_glue/rte/default.yaml"
    first, second = "premise", "hypothesis"

    def parse(self, r: dict) -> Sample:
        gold = label_index(r["label"], ("entailment", "not_entailment"))
        a, b = r[self.first], r[self.second]
        prompt = f"{a}\n{b}\nIs the sentence below entailed by the sentence above?{YES_NO}"
        return self.choice_sample(f"{a}\nQuestion: {b} True or False?\nAnswer:", ["True", "False"], gold, prompt)


@register
class RTE(_Entailment):
    name = "rte"
    description = "RTE: recognising textual entailment, SuperGLUE validation (entailment / not_entailment)."
    source = superglue_source("rte", "RTE")
    license = "research use (RTE, PASCAL/TAC terms)"
    items = 277
    generate_reference = "OpenCompass SuperGLUE_RTE_gen_68aac7"


@register
class AXb(_Entailment):
    name = "axb"
    description = ("SuperGLUE broad-coverage diagnostic AX-b (1,104 sentence pairs with logic categories); "
                   "lm-eval has no AX task, so its log-likelihood form is RTE's prompt.")
    source = superglue_source("axb", "AX-b", "AX-b.jsonl", hub_split="test")
    license = "research use (SuperGLUE diagnostics)"
    items = 1104
    loglikelihood_reference = "lm-eval super_glue/rte/default.yaml prompt (lm-eval has no AX-b task)"
    generate_reference = "OpenCompass SuperGLUE_AX_b_gen_4dfefa"
    first, second = "sentence1", "sentence2"


@register
class AXg(_Entailment):
    name = "axg"
    description = ("SuperGLUE Winogender diagnostic AX-g (356 premise/hypothesis pairs); lm-eval has no AX task, so "
                   "its log-likelihood form is RTE's prompt.")
    source = superglue_source("axg", "AX-g", "AX-g.jsonl", hub_split="test")
    license = "research use (SuperGLUE diagnostics)"
    items = 356
    loglikelihood_reference = "lm-eval super_glue/rte/default.yaml prompt (lm-eval has no AX-g task)"
    generate_reference = "OpenCompass SuperGLUE_AX_g_gen_68aac7"


@register
class CB(_SuperGLUE):
    name = "cb"
    description = "CommitmentBank: three-way entailment, SuperGLUE validation (acc; lm-eval's macro F1 is corpus-level)."
    source = superglue_source("cb", "CB")
    license = "CC BY-SA 3.0 (CommitmentBank, unverified)"
    items = 56
    loglikelihood_reference = "lm-eval super_glue/cb/default.yaml"
    generate_reference = "OpenCompass SuperGLUE_CB_gen_854c6c"

    def parse(self, r: dict) -> Sample:
        label = ("entailment", "contradiction", "neutral")[label_index(r["label"], ("entailment", "contradiction", "neutral"))]
        gold = ("entailment", "contradiction", "neutral").index(label)
        answer = ("contradiction", "entailment", "neutral").index(label)  # OpenCompass CBDatasetV2: A/B/C
        prompt = (f"{r['premise']}\n{r['hypothesis']}\nWhat is the relation between the two sentences?\n"
                  "A. Contradiction\nB. Entailment\nC. Neutral\nAnswer:")
        return self.choice_sample(f"{r['premise']}\nQuestion: {r['hypothesis']}. True, False, or Neither?\nAnswer:",
                                  ["True", "False", "Neither"], gold, prompt, answer=answer)


@register
class WiC(_SuperGLUE):
    postprocess = "first_capital"  # the gen config's first_capital_postprocess
    name = "wic"
    description = "WiC: is a word used in the same sense in two sentences, SuperGLUE validation."
    source = superglue_source("wic", "WiC")
    license = "CC BY-NC 4.0 (WiC)"
    items = 638
    loglikelihood_reference = "lm-eval super_glue/wic/default.yaml"
    generate_reference = "OpenCompass SuperGLUE_WiC_gen_d06864"

    def parse(self, r: dict) -> Sample:
        same = label_index(r["label"], ("false", "true"))
        word = r["sentence1"][r["start1"]:r["end1"]]
        context = (f"Sentence 1: {r['sentence1']}\nSentence 2: {r['sentence2']}\nQuestion: Is the word '{word}' used in "
                   "the same way in the two sentences above?\nAnswer:")
        prompt = (f"Sentence 1: {r['sentence1']}\nSentence 2: {r['sentence2']}\nAre '{r['word']}' in the above two "
                  f"sentenses the same?{YES_NO}")
        return self.choice_sample(context, ["no", "yes"], same, prompt, answer=1 - same)


def _detokenize(text: str) -> str:
    """lm_eval.utils.general_detokenize."""
    for a, b in ((" n't", "n't"), (" )", ")"), ("( ", "("), ('" ', '"'), (' "', '"')):
        text = text.replace(a, b)
    return re.sub(r" (['.,])", r"\1", text)


@register
class WSC(_SuperGLUE):
    postprocess = "first_capital"  # the gen config's first_capital_postprocess
    name = "wsc"
    description = "WSC: Winograd schema coreference (does the pronoun refer to the noun?), SuperGLUE validation."
    source = superglue_source("wsc.fixed", "WSC")
    license = "CC BY 4.0 (WSC)"
    items = 104
    loglikelihood_reference = "lm-eval super_glue/wsc/default.yaml (preprocess_wsc.default_doc_to_text)"
    generate_reference = "OpenCompass SuperGLUE_WSC_gen_fe4bf3 (WSCDatasetV3 span marking)"

    def parse(self, r: dict) -> Sample:
        t = r.get("target", r)  # the original jsonl nests the spans under "target"; the hub has them flat
        s1, s2, i1, i2 = t["span1_text"], t["span2_text"], t["span1_index"], t["span2_index"]
        yes = label_index(r["label"], ("false", "true"))
        text = r["text"]
        pre = " ".join(text.split()[:i2])  # lm-eval: word-based span index
        passage = _detokenize(pre + f" *{s2}*" + text[len(pre) + len(s2) + 1:])
        context = (f"Passage: {passage}\nQuestion: In the passage above, does the pronoun \"*{s2}*\" refer to "
                   f"\"*{s1}*\"?\nAnswer:")
        words, n1, n2 = text.split(" "), len(s1.split(" ")), len(s2.split(" "))  # OpenCompass WSCDatasetV3
        marked = []
        for i, w in enumerate(words):
            if i1 <= i < i1 + n1:
                marked += [f"* {s1} *"] if i == i1 else []
            elif i2 <= i < i2 + n2:
                marked += [f"# {s2} #"] if i == i2 else []
            else:
                marked.append(w)
        prompt = f"Passage: {' '.join(marked)}\nDoes the pronoun # {s2} # refer to * {s1} *?{YES_NO}"
        return self.choice_sample(context, ["no", "yes"], yes, prompt, answer=1 - yes)


@register
class MultiRC(_SuperGLUE):
    name = "multirc"
    description = ("MultiRC: is a candidate answer to a question about a paragraph correct; SuperGLUE validation, "
                   "83 paragraphs, 4,848 (paragraph, question, answer) items scored one by one (acc).")
    source = superglue_source("multirc", "MultiRC")
    license = "research use (MultiRC terms)"
    items = 4848
    loglikelihood_reference = ("lm-eval super_glue/multirc/default.yaml contexts and choices; gold 'yes' for a "
                               "correct answer (lm-eval's doc_to_target maps label 1 to its 'no' choice)")
    generate_reference = "OpenCompass SuperGLUE_MultiRC_gen_27071f"

    def read_file(self, path: Path) -> list[dict]:
        """The original layout nests questions and answers in each paragraph: flattened into the hub's rows."""
        rows = []
        for doc in read_jsonl(path):
            for q in doc["passage"]["questions"]:
                for a in q["answers"]:
                    rows.append({"paragraph": doc["passage"]["text"], "question": q["question"], "answer": a["text"],
                                 "label": a["label"], "idx": f"{doc['idx']}/{q['idx']}/{a['idx']}"})
        return rows

    def parse(self, r: dict) -> Sample:
        correct = label_index(r["label"], ("false", "true"))
        # the local paragraphs carry HTML line markup ("<b>Sent 1: </b>...<br>") as the hub's do; kept verbatim
        choices = [f"{r['answer']}\nIs the answer correct? yes", f"{r['answer']}\nIs the answer correct? no"]
        prompt = f"{r['paragraph']}\nQuestion: {r['question']}\nAnswer: {r['answer']}\nIs it true?{YES_NO}"
        return self.choice_sample(f"{r['paragraph']}\nQuestion: {r['question']}\nAnswer:", choices, 1 - correct,
                                  prompt, answer=1 - correct)


@register
class ReCoRD(_SuperGLUE):
    name = "record"
    description = ("ReCoRD: cloze-style entity answers over news passages (SuperGLUE validation); hub only: no local "
                   "copy in the OpenCompass bundle here (15 MB); acc over lm-eval's entity choices (not its F1/EM).")
    source = Source("aps/super_glue", "record", split=Split("validation"), id_field=None)
    items = 10000
    license = "research use (SuperGLUE ReCoRD)"
    loglikelihood_reference = "lm-eval super_glue/record/default.yaml (each entity substituted into the query)"
    generate_reference = ("evalray: the passage, the query and its entities as lettered options (OpenCompass's ReCoRD "
                          "gen config is not reproduced)")
    metrics = ("acc",)

    def parse(self, r: dict) -> Sample:
        # lm-eval record/util.py: passage with "@highlight" lines as bullet points; each entity into "@placeholder"
        initial, *highlights = r["passage"].strip().split("\n@highlight\n")
        context = initial + "\n\n" + "".join(f"  - {h}.\n" for h in highlights)
        entities = sorted(set(r["entities"]))
        choices = [f"  - {r['query']}".replace("@placeholder", e) for e in entities]
        gold = entities.index(min(r["answers"]))  # lm-eval scores the first correct entity
        options = "\n".join(f"{chr(65 + i)}. {e}" for i, e in enumerate(entities[:26]))
        prompt = f"{context}\n{r['query']}\nWhich entity fills @placeholder?\n{options}\nAnswer:"
        return self.choice_sample(context, choices, gold, prompt, n_options=min(26, len(entities)))
