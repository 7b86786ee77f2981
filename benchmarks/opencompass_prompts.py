"""Check evalray's prompts of the OpenCompass-list benchmarks against OpenCompass's own dataset configs.

    python benchmarks/opencompass_prompts.py --opencompass PATH [--data ../shared/data/opencompass/data]

PATH is an OpenCompass git checkout or bare mirror (read with ``git show HEAD:...``). The configs are Python files
that import OpenCompass; they are executed here with stand-in modules (every OpenCompass name is a placeholder), so
only their literal templates are used. For every item of the bundle, evalray's generative prompt must equal the
``_gen`` config's HUMAN template formatted with the fields OpenCompass's dataset class derives, and for the CLUE /
FewCLUE tasks each log-likelihood context + continuation must equal the ``_ppl`` config's text of that label (HUMAN
and BOT turns joined by a newline, as OpenCompass's LMTemplateParser does for a base model).

Recorded 2026-12-02 against open-compass/opencompass a5acc4b (2026-08-19), exit status 0: the generative prompts
of obqa, siqa, race, storycloze, copa, rte, axb, axg, cb, wic, multirc, clue_afqmc, cmnli, ocnli, ocnli_fc, bustm,
chid, cluewsc, csl, eprstmt, tnews, c3, lambada, cmrc, drcd, lcsts, the 21 agieval subsets and the 14 gaokao sets
identical on every item of the bundle; the ppl texts of clue_afqmc, cmnli, ocnli, bustm, cluewsc, eprstmt, tnews,
chid and c3 identical on every item (4 s). tests/data/test_benchmarks_opencompass_prompts.py pins the checked prompts
by hash.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import json
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = "opencompass/configs/datasets"


class _Placeholder(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return f"<{name}>"


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("opencompass", "mmengine"):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Placeholder(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def config_datasets(repo: Path, path: str) -> list[dict]:
    source = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{CONFIGS}/{path}"], capture_output=True, text=True,
                            check=True).stdout
    scope: dict = {"__name__": "config"}
    exec(compile(source, path, "exec"), scope)  # noqa: S102 - the literal templates of a config file
    return [d for k, v in scope.items() if k.endswith("_datasets") for d in v]


def template(repo: Path, path: str, abbr: str | None = None):
    for d in config_datasets(repo, path):
        if abbr is None or d.get("abbr") == abbr:
            cfg = d["infer_cfg"]
            return (cfg.get("prompt_template") or cfg["ice_template"])["template"]
    raise KeyError(abbr)


def turns(t, fields: dict) -> str:
    return t.format(**fields) if isinstance(t, str) else "\n".join(r["prompt"] for r in t["round"]).format(**fields)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opencompass", required=True, type=Path)
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data" / "opencompass" / "data")
    args = parser.parse_args()
    sys.meta_path.insert(0, _StandIns())
    sys.path.insert(0, str(ROOT))
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    data, repo = args.data, args.opencompass

    def jl(path: str) -> list[dict]:
        return [json.loads(line) for line in open(data / path, encoding="utf-8") if line.strip()]

    def labelled(path: str) -> list[dict]:
        return [r for r in jl(path) if r["label"] != "-"]

    def letters(options) -> dict:
        return dict(zip("ABCDEFG", options))

    def squad(path: str) -> list[dict]:
        return [{"context": p["context"], "question": qa["question"]} for a in json.load(open(data / path, encoding="utf-8"))["data"]
                for p in a["paragraphs"] for qa in p["qas"]]

    def agieval(subset: str) -> list[dict]:
        return [r for r in jl(f"AGIEval/data/v1/{subset}.jsonl") if r["label"] or r["answer"]]

    def gaokao(subset: str) -> list[dict]:
        path = data / "GAOKAO-BENCH/data/Multiple-choice_Questions" / f"{subset}.json"
        return json.load(open(path, encoding="utf-8"))["example"]

    from evalray.benchmarks.agieval import SUBSETS as AGIEVAL
    from evalray.benchmarks.gaokao import PROMPTS as GAOKAO

    c3 = [{"content": "".join("".join(p) for p in doc[0]), "question": q["question"], "n": len(q["choice"]),
           **{f"choice{i}": c for i, c in enumerate((q["choice"] + ["[NULL]"] * 4)[:4])}}
          for doc in json.loads((data / "CLUE/C3/dev_0.json").read_text(encoding="utf-8")) for q in doc[1]]
    multirc = [{"text": d["passage"]["text"], "question": q["question"], "answer": a["text"]}
               for d in jl("SuperGLUE/MultiRC/val.jsonl") for q in d["passage"]["questions"] for a in q["answers"]]
    wsc_fields = lambda r: {"text": r["text"], "span1": r["target"]["span1_text"], "span2": r["target"]["span2_text"]}
    same = lambda r: r
    gen = [  # (benchmark, config, abbr, rows, fields, spec)
        ("obqa", "obqa/obqa_gen_9069e4.py", "openbookqa", jl("openbookqa/Main/test.jsonl"),
         lambda r: {"question_stem": r["question"]["stem"], **letters([c["text"] for c in r["question"]["choices"]])}, {}),
        ("siqa", "siqa/siqa_gen_18632c.py", None, jl("siqa/dev.jsonl"),
         lambda r: {**r, "A": r["answerA"], "B": r["answerB"], "C": r["answerC"]}, {}),
        ("race", "race/race_gen_69ee4f.py", "race-middle", jl("race/test/middle.jsonl"),
         lambda r: {**r, **letters(r["options"])}, {}),
        ("storycloze", "storycloze/storycloze_gen_7f656a.py", None, jl("xstory_cloze/en_eval.jsonl"),
         lambda r: {**r, "context": " ".join(r[f"input_sentence_{i}"] for i in range(1, 5))}, {"subsets": ["en"]}),
        ("copa", "SuperGLUE_COPA/SuperGLUE_COPA_gen_91ca53.py", None, jl("SuperGLUE/COPA/val.jsonl"), same, {}),
        ("rte", "SuperGLUE_RTE/SuperGLUE_RTE_gen_68aac7.py", None, jl("SuperGLUE/RTE/val.jsonl"), same, {}),
        ("axb", "SuperGLUE_AX_b/SuperGLUE_AX_b_gen_4dfefa.py", None, jl("SuperGLUE/AX-b/AX-b.jsonl"), same, {}),
        ("axg", "SuperGLUE_AX_g/SuperGLUE_AX_g_gen_68aac7.py", None, jl("SuperGLUE/AX-g/AX-g.jsonl"), same, {}),
        ("cb", "SuperGLUE_CB/SuperGLUE_CB_gen_854c6c.py", None, jl("SuperGLUE/CB/val.jsonl"), same, {}),
        ("wic", "SuperGLUE_WiC/SuperGLUE_WiC_gen_d06864.py", None, jl("SuperGLUE/WiC/val.jsonl"), same, {}),
        ("multirc", "SuperGLUE_MultiRC/SuperGLUE_MultiRC_gen_27071f.py", None, multirc, same, {}),
        ("clue_afqmc", "CLUE_afqmc/CLUE_afqmc_gen_901306.py", None, jl("CLUE/AFQMC/dev.json"), same, {}),
        ("cmnli", "CLUE_cmnli/CLUE_cmnli_gen_1abf97.py", None, labelled("CLUE/cmnli/cmnli_public/dev.json"), same, {}),
        ("ocnli", "CLUE_ocnli/CLUE_ocnli_gen_c4cb6c.py", None, labelled("CLUE/OCNLI/dev.json"), same, {}),
        ("ocnli_fc", "FewCLUE_ocnli_fc/FewCLUE_ocnli_fc_gen_f97a97.py", "ocnli_fc-test", jl("FewCLUE/ocnli/test_public.json"), same, {}),
        ("bustm", "FewCLUE_bustm/FewCLUE_bustm_gen_634f41.py", "bustm-test", jl("FewCLUE/bustm/test_public.json"), same, {}),
        ("chid", "FewCLUE_chid/FewCLUE_chid_gen_0a29a2.py", "chid-test", jl("FewCLUE/chid/test_public.json"),
         lambda r: {"content": r["content"].replace("#idiom#", "______"), **letters(r["candidates"])}, {}),
        ("cluewsc", "FewCLUE_cluewsc/FewCLUE_cluewsc_gen_c68933.py", "cluewsc-test", jl("FewCLUE/cluewsc/test_public.json"), wsc_fields, {}),
        ("csl", "FewCLUE_csl/FewCLUE_csl_gen_28b223.py", "csl_test", jl("FewCLUE/csl/test_public.json"),
         lambda r: {"abst": r["abst"], "keywords": "，".join(r["keyword"])}, {}),
        ("eprstmt", "FewCLUE_eprstmt/FewCLUE_eprstmt_gen_740ea0.py", "eprstmt-test", jl("FewCLUE/eprstmt/test_public.json"), same, {}),
        ("tnews", "FewCLUE_tnews/FewCLUE_tnews_gen_b90e4a.py", "tnews-test", jl("FewCLUE/tnews/test_public.json"), same, {}),
        ("c3", "CLUE_C3/CLUE_C3_gen_8c358f.py", None, c3, same, {"subsets": ["dev_0"]}),
        ("lambada", "lambada/lambada_gen_217e11.py", None, jl("lambada/test.jsonl"), same, {}),
        *[(name, f"CLUE_{name.upper()}/CLUE_{name.upper()}_gen_1bd3c8.py", None, squad(f"CLUE/{name.upper()}/dev.json"), same, {})
          for name in ("cmrc", "drcd")],
        ("lcsts", "lcsts/lcsts_gen_8ee1fe.py", None,
         [{"content": line.strip()} for line in (data / "LCSTS/test.src.txt").read_text(encoding="utf-8").splitlines()], same, {}),
        *[("agieval", "agieval/agieval_gen_5c79b4.py", f"agieval-{subset}", agieval(subset),
           lambda r: {"question": (r["passage"] or "") + r["question"], "options": "\n".join(r["options"] or [])},
           {"subsets": [subset]}) for subset in AGIEVAL],
    ]
    tnews = [zh for zh in template(repo, "FewCLUE_tnews/FewCLUE_tnews_ppl_d10e8a.py", "tnews-test")]
    ppl = [  # (benchmark, config, abbr, rows, fields, label keys in evalray's choice order, spec)
        ("clue_afqmc", "CLUE_afqmc/CLUE_afqmc_ppl_6507d7.py", None, jl("CLUE/AFQMC/dev.json"), same, [0, 1], {}),
        ("cmnli", "CLUE_cmnli/CLUE_cmnli_ppl_fdc6de.py", None, labelled("CLUE/cmnli/cmnli_public/dev.json"), same,
         ["entailment", "contradiction", "neutral"], {}),
        ("ocnli", "CLUE_ocnli/CLUE_ocnli_ppl_fdc6de.py", None, labelled("CLUE/OCNLI/dev.json"), same,
         ["entailment", "contradiction", "neutral"], {}),
        ("bustm", "FewCLUE_bustm/FewCLUE_bustm_ppl_e53034.py", "bustm-test", jl("FewCLUE/bustm/test_public.json"), same, [0, 1], {}),
        ("cluewsc", "FewCLUE_cluewsc/FewCLUE_cluewsc_ppl_868415.py", "cluewsc-test", jl("FewCLUE/cluewsc/test_public.json"),
         wsc_fields, [0, 1], {}),
        ("eprstmt", "FewCLUE_eprstmt/FewCLUE_eprstmt_ppl_f1e631.py", "eprstmt-test", jl("FewCLUE/eprstmt/test_public.json"),
         same, ["Positive", "Negative"], {}),
        ("tnews", "FewCLUE_tnews/FewCLUE_tnews_ppl_d10e8a.py", "tnews-test", jl("FewCLUE/tnews/test_public.json"), same, tnews, {}),
        ("chid", "FewCLUE_chid/FewCLUE_chid_ppl_8f2872.py", "chid-test", jl("FewCLUE/chid/test_public.json"),
         lambda r: {f"content{i}": r["content"].replace("#idiom#", c) for i, c in enumerate(r["candidates"])}, list(range(7)), {}),
        ("c3", "CLUE_C3/CLUE_C3_ppl_e24a31.py", None, c3, same, list(range(4)), {"subsets": ["dev_0"]}),
    ]
    failed = 0
    for name, path, abbr, rows, fields, spec in gen:
        human = template(repo, path, abbr)["round"][-1]["prompt"]
        bench = registry.get(name)
        requests = list(bench.requests(BenchmarkSpec(name=name, data_dir=str(data), **spec), chat=False, seed=0,
                                       force_generate=True))
        same_count = sum(request.prompt == human.format(**fields(row)) for (_, request, _), row in zip(requests, rows))
        failed += same_count != len(rows) or len(requests) != len(rows)
        print(f"{name:11s} generate  {same_count}/{len(rows)} identical to {path}{f' ({abbr})' if abbr else ''}")
    # GAOKAO-Bench's config reads its prefix prompts from GaokaoBench_prompts.py (MCQ_prompts) with read_base()
    scope: dict = {}
    exec(subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{CONFIGS}/GaokaoBench/GaokaoBench_prompts.py"],  # noqa: S102
                        capture_output=True, text=True, check=True).stdout, scope)
    mcq = {p["keyword"]: (p["type"], p["prefix_prompt"]) for p in scope["MCQ_prompts"]}
    for subset in GAOKAO:
        requests = list(registry.get("gaokao").requests(
            BenchmarkSpec(name="gaokao", data_dir=str(data), subsets=[subset]), chat=False, seed=0))
        rows = gaokao(subset)
        ok = sum(r.prompt == mcq[subset][1] + row["question"] for (_, r, _), row in zip(requests, rows))
        ok *= GAOKAO[subset] == mcq[subset]
        failed += ok != len(rows)
        print(f"gaokao      generate  {ok}/{len(rows)} identical to GaokaoBench_prompts.py MCQ_prompts ({subset})")
    for name, path, abbr, rows, fields, keys, spec in ppl:
        t = template(repo, path, abbr)
        bench = registry.get(name)
        samples = bench.load(BenchmarkSpec(name=name, data_dir=str(data), **spec))
        ok = 0
        for sample, row in zip(samples, rows):
            ours = [bench.context(sample) + bench.target_delimiter + c for c in bench.continuations(sample)]
            theirs = [turns(t[k] if k in t else t[str(k)], fields(row)) for k in keys[:len(ours)]]
            ok += ours == theirs
        failed += ok != len(rows)
        print(f"{name:11s} ppl texts {ok}/{len(rows)} identical to {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
