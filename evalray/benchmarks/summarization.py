"""English summarisation benchmarks of the OpenCompass list that have no local copy here (every copy found is over
4 MiB, see ../shared/data/MANIFEST-2.md): registered with their hub defaults only. A ``data_dir`` is read in the
OpenCompass bundle layout (``Xsum/dev.jsonl``, ``summedits/summedits.jsonl``) where a user has the files.

* ``xsum``: OpenCompass ``Xsum_gen_31397e`` (``Document：{dialogue}\\nBased on the previous text, provide a brief
  single summary:``; first line of the answer), ROUGE-1/2/L F1 through ``rouge-score`` (OpenCompass's RougeEvaluator
  uses the same scorer through ``evaluate``).
* ``summedits``: OpenCompass ``summedits_gen_315438``: is the summary factually consistent (A. Yes / B. No).
"""

from __future__ import annotations

from evalray.benchmarks._opencompass import ChoiceTask
from evalray.benchmarks.base import (
    Benchmark,
    Source,
    Split,
    chat_request,
    completion_request,
)
from evalray.benchmarks.registry import register
from evalray.scoring import text_metrics
from evalray.types import Generation, Request, Sample, Score


@register
class XSum(Benchmark):
    name = "xsum"
    description = ("XSum (Narayan et al., 2018) validation, 11,332 BBC articles: a one-sentence summary, ROUGE F1; "
                   "hub only here (no local copy).")
    source = Source("EdinburghNLP/xsum", None, id_field="id",
                    split=Split("validation", ("Xsum/dev.jsonl", "dev.jsonl")))
    license = "MIT (EdinburghNLP/xsum); articles: BBC terms"
    items = 11332
    metrics = text_metrics.ROUGE
    generate_reference = "OpenCompass Xsum_gen_31397e (RougeEvaluator)"

    def parse(self, record: dict) -> Sample:
        return self.sample(record.get("document", record.get("dialogue", "")), target=record["summary"])

    def request(self, sample, mode, chat, shots, spec) -> Request:
        text = f"Document：{sample.input}\nBased on the previous text, provide a brief single summary:"
        return chat_request(text, max_tokens=128) if chat else completion_request(text, max_tokens=64, stop=("\n",))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        summary = (generation.text or "").strip().split("\n")[0].strip()  # Xsum_postprocess
        return Score(values=text_metrics.rouge(summary, [sample.target]), extracted=summary)

    def info(self) -> dict:
        return {**super().info(), "loglikelihood": "- (generative only)", "generate": self.generate_reference}


@register
class SummEdits(ChoiceTask):
    postprocess = "first_capital"  # the gen config's first_capital_postprocess
    name = "summedits"
    description = ("SummEdits (Laban et al., 2023): is an edited summary factually consistent with its document "
                   "(6,348 pairs, 10 domains); hub only here (no local copy; hub id as OpenCompass's ModelScope copy "
                   "names it: set data_dir to the bundle's summedits/summedits.jsonl).")
    source = Source("Salesforce/summedits", None, split=Split("train", ("summedits/summedits.jsonl", "summedits.jsonl")))
    license = "CC BY 4.0 (SummEdits, unverified)"
    items = 6348
    loglikelihood_reference = "evalray: the gen prompt without its options, continuations Yes / No"
    generate_reference = "OpenCompass summedits_gen_315438"

    def parse(self, r: dict) -> Sample:
        question = (f"Given the document below, you have to determine if \"Yes\" or \"No\", the summary is factually "
                    f"consistent with the document.\n\nDocument:\n{r['doc']}\n\nSummary:\n{r['summary']}\n\nQuestion:\n"
                    "Is the summary factually consistent with the document?")
        consistent = int(r["label"])  # 1: consistent ("A. Yes" in SummeditsDataset_V2)
        return self.choice_sample(question + "\nAnswer:", ["Yes", "No"], 1 - consistent,
                                  question + "\nA. Yes\nB. No\n\nAnswer:")
