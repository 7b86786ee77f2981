"""CLUE and FewCLUE classification / multiple choice (Xu et al., 2020, 2021) with OpenCompass's prompts: AFQMC
(``clue_afqmc``: the bare name ``afqmc`` is C-MTEB's pair task in ``kind: embed`` jobs), CMNLI, OCNLI, C3 and the
FewCLUE test_public sets bustm, chid, cluewsc, csl, eprstmt, ocnli_fc, tnews. lm-evaluation-harness has none of them.

Generative: the OpenCompass ``_gen`` config's prompt verbatim (ends ``答：``), first capital letter.
Log-likelihood: the OpenCompass ``_ppl`` config's question (its HUMAN turn) as context and each label's answer text
(its BOT turn) as continuation, joined by the newline OpenCompass puts between turns for a base model; OpenCompass
ranks the whole sequences by perplexity, evalray by the answer's log-likelihood (``acc``) and per character
(``acc_norm``). Where the ppl config is not of that shape it says so in ``loglikelihood`` (chid, csl, ocnli_fc).
Items without a gold label (``-`` in CMNLI/OCNLI) are left out as OpenCompass does; ids stay the file's line index.
Hub defaults: ``clue/clue`` for the CLUE tasks; the FewCLUE sets have none (``data_dir``: the OpenCompass bundle).
"""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import read_json, read_jsonl
from evalray.benchmarks._opencompass import ChoiceTask, label_index, option_lines
from evalray.benchmarks.base import LETTERS, Source, Split
from evalray.benchmarks.registry import register
from evalray.types import Sample

LICENSE = "CLUE / FewCLUE upstream terms (CLUEbenchmark, Apache-2.0 per its repositories; unverified)"
NLI = ("entailment", "contradiction", "neutral")  # OpenCompass CMNLIDatasetV2: A/B/C
TNEWS_LABELS = (("news_agriculture", "农业新闻"), ("news_travel", "旅游新闻"), ("news_game", "游戏新闻"),
                ("news_tech", "科技类别公司新闻"), ("news_sports", "体育类别新闻"), ("news_edu", "初升高教育新闻"),
                ("news_entertainment", "娱乐圈新闻"), ("news_finance", "投资资讯"), ("news_military", "军事类别常识"),
                ("news_car", "车辆新闻"), ("news_house", "楼市新闻"), ("news_world", "环球不含中国类别新闻"),
                ("news_culture", "书籍文化历史类别新闻"), ("news_story", "故事类别新闻"), ("news_stock", "股票市场类别新闻"))


def _choose(letters: str, quote: str = "“”") -> str:
    """OpenCompass's ``请从“A”，“B”中进行选择。`` line (some configs open with ” and close with “)."""
    return "请从" + "，".join(f"{quote[0]}{c}{quote[1]}" for c in letters) + "中进行选择。"


def clue_source(config: str, files: tuple[str, ...]) -> Source:
    """CLUE tasks: the hub's ``clue/clue`` config (validation = the dev file of the bundle)."""
    return Source("clue/clue", config, id_field="_line", split=Split("validation", files))


def nli_label(value) -> str:
    """CMNLI/OCNLI labels: the files' names, or the hub's ints (clue/clue: neutral, entailment, contradiction; -1 none)."""
    if isinstance(value, int):
        return "-" if value < 0 else ("neutral", "entailment", "contradiction")[value]
    return str(value)


class _CLUE(ChoiceTask):
    license = LICENSE
    postprocess = "first_capital"  # the gen config's first_capital_postprocess
    target_delimiter = ""  # the answer follows the question's newline directly (Chinese text, no space)

    def read_file(self, path: Path) -> list[dict]:
        return read_jsonl(path)  # the CLUE/FewCLUE ".json" files are JSON Lines

    def _groups(self, spec, split, subsets):
        """Every record gets its line index (``_line``, the id) before unlabelled ones are left out."""
        return [(s, [{**r, "_line": str(i)} for i, r in enumerate(rows) if r.get("label") not in ("-", -1)])
                for s, rows in super()._groups(spec, split, subsets)]


@register
class AFQMC(_CLUE):
    name = "clue_afqmc"
    description = "CLUE AFQMC dev (4,316 Ant Financial question pairs): do the two questions ask the same thing?"
    source = clue_source("afqmc", ("CLUE/AFQMC/dev.json", "AFQMC/dev.json", "dev.json"))
    items = 4316
    loglikelihood_reference = "OpenCompass CLUE_afqmc_ppl_6507d7"
    generate_reference = "OpenCompass CLUE_afqmc_gen_901306"

    def parse(self, r: dict) -> Sample:
        q = f"语句一：“{r['sentence1']}”\n语句二：“{r['sentence2']}”\n语句一与语句二是关于蚂蚁金融产品的疑问，两者所询问的内容是否完全一致？"
        answers = ["不完全一致", "完全一致"]
        return self.choice_sample(q + "\n", answers, int(r["label"]), f"{q}\n{option_lines(answers)}\n{_choose('AB')}\n答：")


class _NLI(_CLUE):
    loglikelihood_reference = "OpenCompass CLUE_cmnli_ppl_fdc6de"
    options_sep = "\n"  # CLUE_ocnli_gen_c4cb6c indents its B/C lines by one space

    def parse(self, r: dict) -> Sample:
        q = f"语句一：“{r['sentence1']}”\n语句二：“{r['sentence2']}”\n请问这两句话是什么关系？"
        answers = ["蕴含", "矛盾", "无关"]
        options = self.options_sep.join(f"{LETTERS[i]}. {a}" for i, a in enumerate(answers))
        return self.choice_sample(q + "\n", answers, NLI.index(nli_label(r["label"])), f"{q}\n{options}\n{_choose('ABC')}\n答：")


@register
class CMNLI(_NLI):
    name = "cmnli"
    description = "CLUE CMNLI dev: Chinese MNLI (12,426 pairs; 185 without a gold label are left out: 12,241 scored)."
    source = clue_source("cmnli", ("CLUE/cmnli/cmnli_public/dev.json", "cmnli/cmnli_public/dev.json", "cmnli_public/dev.json", "dev.json"))
    items = 12241
    generate_reference = "OpenCompass CLUE_cmnli_gen_1abf97"


@register
class OCNLI(_NLI):
    name = "ocnli"
    description = "CLUE OCNLI dev: original Chinese NLI (3,000 pairs; 50 without a gold label are left out: 2,950 scored)."
    source = clue_source("ocnli", ("CLUE/OCNLI/dev.json", "OCNLI/dev.json", "dev.json"))
    items = 2950
    loglikelihood_reference = "OpenCompass CLUE_ocnli_ppl_fdc6de"
    generate_reference = "OpenCompass CLUE_ocnli_gen_c4cb6c"
    options_sep = "\n "


@register
class OCNLIFC(_CLUE):
    name = "ocnli_fc"
    description = "FewCLUE OCNLI-FC test_public (2,520 labelled pairs): entailment as 对 / 错 / 可能."
    source = Source("FewCLUE/ocnli_fc", None, id_field="_line",
                    split=Split("test_public", ("FewCLUE/ocnli/test_public.json", "ocnli/test_public.json", "test_public.json")))
    items = 2520
    loglikelihood_reference = ("OpenCompass FewCLUE_ocnli_fc_ppl_c08300's 阅读文章 template for all three labels "
                               "(its neutral label uses another sentence)")
    generate_reference = "OpenCompass FewCLUE_ocnli_fc_gen_f97a97"

    def parse(self, r: dict) -> Sample:
        answers = ["对", "错", "可能"]
        prompt = f"阅读文章：{r['sentence1']}\n根据上文，回答如下问题：{r['sentence2']}\n{option_lines(answers)}\n{_choose('ABC')}\n答："
        return self.choice_sample(f"阅读文章：{r['sentence1']}\n根据上文，回答如下问题： {r['sentence2']}？\n答：", answers,
                                  NLI.index(r["label"]), prompt)


@register
class C3(_CLUE):
    name = "c3"
    description = ("CLUE C3 dev: Chinese multiple-choice reading comprehension, subsets dev_0 (dialogues, 1,825 "
                   "questions; OpenCompass's C3) and m-dev (mixed genre, 1,991).")
    source = Source("clue/clue", "c3", subsets=("dev_0", "m-dev"), id_field="_line",
                    split=Split("validation", ("CLUE/C3/{subset}.json", "C3/{subset}.json", "{subset}.json")))
    items = 3816
    metrics = ("acc", "acc_norm")
    loglikelihood_reference = "OpenCompass CLUE_C3_ppl_e24a31"
    generate_reference = "OpenCompass CLUE_C3_gen_8c358f"

    def read_file(self, path: Path) -> list[dict]:
        """The original layout: [paragraphs, questions, doc id] per document; one row per question (the hub's)."""
        return [{"context": doc[0], "question": q["question"], "choice": q["choice"], "answer": q["answer"],
                 "doc_id": doc[2]} for doc in read_json(path) for q in doc[1]]

    def parse(self, r: dict) -> Sample:
        content = "".join("".join(p) for p in r["context"])
        choices = list(r["choice"])
        padded = (choices + ["[NULL]"] * 4)[:max(4, len(choices))]  # OpenCompass C3Dataset_V2 pads to four options
        prompt = f"{content}\n问：{r['question']}\n{option_lines(padded)}\n{_choose('ABCD')}\n答："
        return self.choice_sample(f"文章：{content}\n问题：{r['question']}\n", [f"答案：{c}" for c in choices],
                                  choices.index(r["answer"]), prompt, n_options=4)

    def _groups(self, spec, split, subsets):  # ids "<subset>/<question line>"
        return [(s, [{**r, "_line": f"{s}/{i}" if s else str(i)} for i, r in enumerate(rows)])
                for s, rows in super(_CLUE, self)._groups(spec, split, subsets)]


def fewclue_source(task: str) -> Source:
    """FewCLUE's labelled test_public split. It has no hub copy that evalray knows of (clue/clue holds the full CLUE
    versions, other splits and layouts): a run without data_dir fails with a one-line 'set data_dir' error."""
    return Source(f"FewCLUE/{task}", None, id_field="_line",
                  split=Split("test_public", (f"FewCLUE/{task}/test_public.json", f"{task}/test_public.json", "test_public.json")))


@register
class BUSTM(_CLUE):
    name = "bustm"
    description = "FewCLUE BUSTM test_public (1,772 dialogue short-text pairs): do they mean the same?"
    source = fewclue_source("bustm")
    items = 1772
    loglikelihood_reference = "OpenCompass FewCLUE_bustm_ppl_e53034"
    generate_reference = "OpenCompass FewCLUE_bustm_gen_634f41"

    def parse(self, r: dict) -> Sample:
        q = f"语句一：“{r['sentence1']}”\n语句二：“{r['sentence2']}”\n请判断语句一和语句二说的是否是一个意思？"
        prompt = f"{q}\n{option_lines(['无关', '相关'])}\n{_choose('AB')}\n答："
        return self.choice_sample(q + "\n", ["两句话说的毫不相关。", "两句话说是的一个意思。"], int(r["label"]), prompt)


@register
class CHID(_CLUE):
    name = "chid"
    description = "FewCLUE CHID test_public (2,002 passages): the idiom that fills the blank, 7 candidates."
    source = fewclue_source("chid")
    items = 2002
    metrics = ("acc", "acc_norm")
    loglikelihood_reference = ("OpenCompass FewCLUE_chid_ppl_8f2872: each candidate filled into the passage, after "
                               "its question, followed by its fixed answer (the filled passage is the continuation)")
    generate_reference = "OpenCompass FewCLUE_chid_gen_0a29a2"

    def parse(self, r: dict) -> Sample:
        candidates = list(r["candidates"])
        filled = [r["content"].replace("#idiom#", c) + "\n这个句子是通顺的。" for c in candidates]
        prompt = (f"{r['content'].replace('#idiom#', '______')}\n请选择______处所填的词\n{option_lines(candidates)}\n"
                  f"{_choose('ABCDEFG', '”“')}答：")
        return self.choice_sample("以下句子是否通顺？\n", filled, int(r["answer"]), prompt)


@register
class CLUEWSC(_CLUE):
    name = "cluewsc"
    description = "FewCLUE CLUEWSC2020 test_public (976): does the pronoun refer to the noun?"
    source = fewclue_source("cluewsc")
    items = 976
    loglikelihood_reference = "OpenCompass FewCLUE_cluewsc_ppl_868415"
    generate_reference = "OpenCompass FewCLUE_cluewsc_gen_c68933"

    def parse(self, r: dict) -> Sample:
        t, yes = r["target"], label_index(r["label"], ("false", "true"))
        prompt = f"{r['text']}\n此处，“{t['span2_text']}”是否指代“{t['span1_text']}“？\nA. 是\nB. 否\n{_choose('AB', '”“')}\n答："
        context = f"{r['text']}\n此处，代词“{t['span2_text']}“被用于指代“{t['span1_text']}“吗?\n"
        return self.choice_sample(context, ["否", "是"], yes, prompt, answer=1 - yes)


@register
class CSL(_CLUE):
    name = "csl"
    description = "FewCLUE CSL test_public (2,838 paper abstracts): do the keywords fit the abstract?"
    source = fewclue_source("csl")
    items = 2838
    loglikelihood_reference = ("evalray: the gen config's question with answers 否/是 (OpenCompass FewCLUE_csl_ppl_841b62 "
                               "compares the abstract's perplexity with and without the keywords)")
    generate_reference = "OpenCompass FewCLUE_csl_gen_28b223"
    intro = ("摘要是对论文内容不加注释和评论的简短陈述，要求扼要地说明研究工作的目的、研究方法和最终结论等。\n"
             "关键词是一篇学术论文的核心词汇，一般由一系列名词组成。关键词在全文中应有较高出现频率，且能起到帮助文献检索的作用。\n")

    def parse(self, r: dict) -> Sample:
        q = f"{self.intro}摘要：{r['abst']}\n关键词：{'，'.join(r['keyword'])}\n请问上述关键词是否匹配摘要且符合要求？"
        return self.choice_sample(q + "\n", ["否", "是"], int(r["label"]),
                                  f"{q}\nA. 否\nB. 是\n{_choose('AB', '”“')}\n答：")


@register
class EPRSTMT(_CLUE):
    name = "eprstmt"
    description = "FewCLUE EPRSTMT test_public (610 e-commerce reviews): positive or negative."
    source = fewclue_source("eprstmt")
    items = 610
    loglikelihood_reference = "OpenCompass FewCLUE_eprstmt_ppl_f1e631"
    generate_reference = "OpenCompass FewCLUE_eprstmt_gen_740ea0"

    def parse(self, r: dict) -> Sample:
        gold = ("Positive", "Negative").index(r["label"])
        prompt = f"内容： \"{r['sentence']}\"。请对上述内容进行情绪分类。\nA. 积极\nB. 消极\n{_choose('AB', '”“')}\n答："
        return self.choice_sample(f"内容： \"{r['sentence']}\"。情绪分类：\n", ["积极。", "消极。"], gold, prompt)


@register
class TNEWS(_CLUE):
    name = "tnews"
    description = "FewCLUE TNEWS test_public (926 news titles): one of 15 news categories."
    source = fewclue_source("tnews")
    items = 926
    metrics = ("acc", "acc_norm")
    loglikelihood_reference = "OpenCompass FewCLUE_tnews_ppl_d10e8a"
    generate_reference = "OpenCompass FewCLUE_tnews_gen_b90e4a"

    def parse(self, r: dict) -> Sample:
        names = [zh for _, zh in TNEWS_LABELS]
        gold = [en for en, _ in TNEWS_LABELS].index(r["label_desc"])
        prompt = f"{r['sentence']}\n请判断上述内容属于什么新闻？\n{option_lines(names)}\n{_choose(LETTERS[:15])}\n答："
        return self.choice_sample(f"{r['sentence']}\n上述内容属于什么新闻？\n", names, gold, prompt)
