"""The data of embedding tasks: retrieval (corpus, queries, graded qrels) and text pairs with gold scores.

Built-in tasks read the layout of ``../shared/data`` (``data_dir``) or their MTEB hub dataset; ``retrieval`` / ``sts``
read a user's files. Texts are formed as MTEB forms them: a document is ``(title + " " + text).strip()`` when it has a
title, else its text stripped; a query is its text. Only queries with qrels in the split are kept (MTEB evaluates
those); ids are kept verbatim as strings.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from evalray.errors import ConfigError
from evalray.job.embed_spec import EmbedBenchmarkSpec

TASK_KINDS = {"scifact": "retrieval", "stsb": "sts", "afqmc": "sts", "retrieval": "retrieval", "sts": "sts",
              "pair_classification": "pair_classification", "rag": "rag"}
HUB = {"scifact": "mteb/scifact", "stsb": "mteb/stsbenchmark-sts", "afqmc": "C-MTEB/AFQMC"}
DESCRIPTIONS = {
    "scifact": "BEIR SciFact (test: 5,183 docs, 300 queries, 339 qrels): retrieval, main score ndcg_at_10 [MTEB]",
    "stsb": "STS Benchmark (test: 1,379 pairs, gold 0-5): STS, main score cosine_spearman [MTEB]",
    "afqmc": "C-MTEB AFQMC (validation: 4,316 Chinese pairs, gold 0/1): STS, main score cosine_spearman [MTEB]",
    "retrieval": "your BEIR-layout corpus (corpus.jsonl, queries.jsonl, qrels/<split>.tsv): retrieval",
    "sts": "your text pairs with gold scores (CSV/TSV/JSONL): STS",
    "pair_classification": "your text pairs with a 0/1 label (or positive_labels): best-threshold accuracy, F1, AP "
                           "per similarity [MTEB PairClassification]",
    "rag": "your RAG rows (JSONL: question, answer, contexts, ground_truth) scored by an LLM judge: faithfulness, "
           "answer relevancy, context precision / recall, answer similarity [RAGAS 0.4 formulas]",
}
MAIN_SCORE = {"retrieval": "ndcg_at_10", "sts": "cosine_spearman", "pair_classification": "max_ap",
              "rag": "faithfulness"}
ITEMS = {"scifact": 300, "stsb": 1379, "afqmc": 4316}
METRICS = {"retrieval": ("ndcg_at_k", "map_at_k", "recall_at_k", "precision_at_k", "mrr_at_k", "hit_rate_at_k"),
           "sts": ("cosine_spearman", "cosine_pearson", "manhattan_*", "euclidean_*", "dot_*"),
           "pair_classification": ("max_accuracy", "max_f1", "max_ap", "cosine_*", "manhattan_*", "euclidean_*",
                                   "dot_*"),
           "rag": ("faithfulness", "answer_relevancy", "context_precision", "context_recall", "answer_similarity")}


def info(name: str) -> dict[str, Any]:
    """What ``evalray benchmarks`` shows for an embedding task (``kind: embed`` jobs)."""
    kind = TASK_KINDS[name]
    return {"name": name, "kind": f"embed/{kind}", "description": DESCRIPTIONS[name], "items": ITEMS.get(name),
            "metrics": list(METRICS[kind]), "main_score": MAIN_SCORE[kind], "source": HUB.get(name, "data_dir"),
            "license": {"scifact": "CC BY-NC 2.0", "stsb": "CC BY-SA 4.0 (scores)", "afqmc": "Apache-2.0"}.get(name, "")}


@dataclass
class RetrievalData:
    corpus: dict[str, str]  # doc id -> text as the model reads it
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


@dataclass
class RagData:
    ids: list[str]
    questions: list[str]
    answers: list[str]
    contexts: list[list[str]]
    references: list[str]


@dataclass
class PairData:
    ids: list[str]
    text1: list[str]
    text2: list[str]
    gold: list[float]
    info: dict[str, Any] = field(default_factory=dict)


def task_kind(spec: EmbedBenchmarkSpec) -> str:
    return TASK_KINDS[spec.name]


def load(spec: EmbedBenchmarkSpec) -> RetrievalData | PairData | RagData:
    """The task's data, from ``data_dir`` or the hub, with ``limit`` / ``corpus_limit`` applied."""
    if spec.name in ("retrieval", "sts", "rag") and not spec.data_dir:
        raise ConfigError(f"benchmark {spec.result_name}: a `{spec.name}` benchmark needs data_dir (your dataset)")
    if spec.name == "rag":
        return _rag(Path(spec.data_dir).expanduser(), spec)
    if task_kind(spec) == "retrieval":
        data = _beir(Path(spec.data_dir).expanduser(), spec) if spec.data_dir else _hub_retrieval(spec)
        return _limit_retrieval(data, spec.limit, spec.corpus_limit)
    if spec.name == "stsb":
        data = _stsb_file(_find(Path(spec.data_dir).expanduser(), "sts-test.csv")) if spec.data_dir else _hub_pairs(spec)
    elif spec.name == "afqmc":
        data = _jsonl_pairs(_find(Path(spec.data_dir).expanduser(), "dev.json", "CLUE/AFQMC/dev.json"),
                            "sentence1", "sentence2", "label") if spec.data_dir else _hub_pairs(spec)
    elif spec.name == "pair_classification":
        data = _labelled_pairs(Path(spec.data_dir).expanduser(), spec)
    else:
        data = _user_pairs(Path(spec.data_dir).expanduser(), spec)
    if spec.limit:
        data = PairData(data.ids[:spec.limit], data.text1[:spec.limit], data.text2[:spec.limit], data.gold[:spec.limit])
    return data


def document_text(record: dict[str, Any], title: str = "title", text: str = "text") -> str:
    body, head = str(record.get(text) or ""), str(record.get(title) or "")
    return f"{head} {body}".strip() if head else body.strip()


# ---- retrieval -----------------------------------------------------------------------------------------------------
def _beir(root: Path, spec: EmbedBenchmarkSpec) -> RetrievalData:
    if spec.name == "scifact" and not (root / "corpus.jsonl").is_file() and (root / "beir_scifact").is_dir():
        root = root / "beir_scifact"
    cols = spec.columns
    corpus = {str(r[cols.id]): document_text(r, cols.title, cols.text)
              for r in _read_jsonl(_need(root / "corpus.jsonl"), (cols.id, cols.text))}
    queries = {str(r[cols.id]): str(r[cols.text]) for r in _read_jsonl(_need(root / "queries.jsonl"),
                                                                       (cols.id, cols.text))}
    qrels = _read_qrels(_need(root / "qrels" / f"{spec.split}.tsv"))
    return _join(corpus, queries, qrels, str(root))


def _hub_retrieval(spec: EmbedBenchmarkSpec) -> RetrievalData:
    from datasets import load_dataset

    path = HUB[spec.name]
    corpus_rows = load_dataset(path, "corpus", split="corpus")
    query_rows = load_dataset(path, "queries", split="queries")
    qrel_rows = load_dataset(path, "default", split=spec.split)
    corpus = {str(r["_id"]): document_text(r) for r in corpus_rows}
    queries = {str(r["_id"]): str(r["text"]) for r in query_rows}
    qrels: dict[str, dict[str, int]] = {}
    for r in qrel_rows:
        qrels.setdefault(str(r["query-id"]), {})[str(r["corpus-id"])] = int(r["score"])
    return _join(corpus, queries, qrels, path)


def _join(corpus: dict[str, str], queries: dict[str, str], qrels: dict[str, dict[str, int]],
          where: str) -> RetrievalData:
    missing = sorted(q for q in qrels if q not in queries)
    if missing:
        raise ConfigError(f"{where}: qrels name queries missing from queries.jsonl (e.g. '{missing[0]}')")
    return RetrievalData(corpus, {q: queries[q] for q in sorted(qrels, key=_id_key)}, qrels)


def _limit_retrieval(data: RetrievalData, limit: int | None, corpus_limit: int | None) -> RetrievalData:
    queries = dict(list(data.queries.items())[:limit]) if limit else data.queries
    qrels = {q: data.qrels[q] for q in queries}
    corpus = data.corpus
    if corpus_limit:
        needed = {d for rel in qrels.values() for d in rel}
        others = [d for d in corpus if d not in needed][:corpus_limit]
        keep = needed | set(others)
        corpus = {d: t for d, t in corpus.items() if d in keep}
    return RetrievalData(corpus, queries, qrels)


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and parts[:2] == ["query-id", "corpus-id"]:
                continue
            if not line.strip():
                continue
            try:
                query, doc, grade = parts[0], parts[1], int(float(parts[2]))
            except (IndexError, ValueError):
                raise ConfigError(f"{path}: row {number}: expected query-id<TAB>corpus-id<TAB>score") from None
            qrels.setdefault(query, {})[doc] = grade
    return qrels


def _id_key(value: str) -> tuple[int, str]:
    return (0, f"{int(value):020d}") if value.isdigit() else (1, value)


# ---- RAG rows -----------------------------------------------------------------------------------------------------
def _rag(path: Path, spec: EmbedBenchmarkSpec) -> RagData:
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if len(files) != 1:
            raise ConfigError(f"benchmark {spec.result_name}: data_dir {path}: expected one .jsonl file, found "
                              f"{len(files)}")
        path = files[0]
    cols = spec.columns
    rows = _read_jsonl(_need(path), (cols.question, cols.answer))
    data = RagData([], [], [], [], [])
    for number, row in enumerate(rows[:spec.limit] if spec.limit else rows, 1):
        contexts = row.get(cols.contexts, row.get("context"))
        reference = row.get(cols.ground_truth, row.get("reference"))
        if not isinstance(contexts, list) or not all(isinstance(c, str) for c in contexts):
            raise ConfigError(f"{path}: row {number}: column '{cols.contexts}' must be a list of strings")
        if isinstance(reference, list):
            reference = "\n".join(str(r) for r in reference)
        if not isinstance(reference, str):
            raise ConfigError(f"{path}: row {number}: column '{cols.ground_truth}' is missing")
        data.ids.append(str(row.get("id", number - 1)))
        data.questions.append(str(row[cols.question]))
        data.answers.append(str(row[cols.answer]))
        data.contexts.append(list(contexts))
        data.references.append(reference)
    return data


# ---- pairs ---------------------------------------------------------------------------------------------------------
def _stsb_file(path: Path) -> PairData:
    """STS Benchmark's own TSV: genre, file, year, id, score, sentence1, sentence2 (extra fields: sources)."""
    ids, a, b, gold = [], [], [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            try:
                score = float(parts[4])
                a.append(parts[5])
                b.append(parts[6])
            except (IndexError, ValueError):
                raise ConfigError(f"{path}: row {number}: expected genre, file, year, id, score, sentence1, "
                                  "sentence2 separated by tabs") from None
            ids.append(str(number - 1))
            gold.append(score)
    return PairData(ids, a, b, gold)


def _jsonl_pairs(path: Path, first: str, second: str, score: str) -> PairData:
    rows = _read_jsonl(path, (first, second, score))
    return _pairs(rows, first, second, score, path)


def _pair_rows(path: Path, spec: EmbedBenchmarkSpec, what: str) -> tuple[list[dict[str, Any]], int]:
    """The rows of a user's pair file (JSONL, or CSV/TSV with a header), each with its text and score/label columns
    present and non-empty, and the file row number of the first (1 for JSONL, 2 after a CSV header)."""
    cols = spec.columns
    if not path.is_file():
        raise ConfigError(f"benchmark {spec.result_name}: data_dir {path} is not a file of {what}")
    required = (cols.text1, cols.text2, cols.score)
    if path.suffix in (".jsonl", ".json"):
        return _read_jsonl(path, required), 1
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ","))
    for number, row in enumerate(rows, 2):
        for column in required:
            if row.get(column) in (None, ""):
                raise ConfigError(f"{path}: row {number}: column '{column}' is missing or empty")
    return rows, 2


def _user_pairs(path: Path, spec: EmbedBenchmarkSpec) -> PairData:
    cols = spec.columns
    rows, _ = _pair_rows(path, spec, "text pairs")
    return _pairs(rows, cols.text1, cols.text2, cols.score, path)


def _labelled_pairs(path: Path, spec: EmbedBenchmarkSpec) -> PairData:
    """Pairs with a 0/1 label: ``positive_labels`` name the values that mean 1, ``skip_labels`` rows are dropped."""
    cols = spec.columns
    rows, first = _pair_rows(path, spec, "labelled pairs")
    ids, a, b, gold = [], [], [], []
    for number, row in enumerate(rows, first):
        label = str(row.get(cols.score))
        if label in spec.skip_labels:
            continue
        if spec.positive_labels is not None:
            value = 1.0 if label in spec.positive_labels else 0.0
        elif label in ("0", "1"):
            value = float(label)
        else:
            raise ConfigError(f"{path}: row {number}: column '{cols.score}' is {label!r}, not 0 or 1 (set "
                              "positive_labels / skip_labels)")
        ids.append(str(number - first))
        a.append(str(row[cols.text1]))
        b.append(str(row[cols.text2]))
        gold.append(value)
    return PairData(ids, a, b, gold)


def _pairs(rows: list[dict[str, Any]], first: str, second: str, score: str, where: Path | str) -> PairData:
    gold = []
    for number, row in enumerate(rows, 1):
        try:
            gold.append(float(row[score]))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: row {number}: column '{score}' is not a number ({row[score]!r})") from None
    return PairData([str(i) for i in range(len(rows))], [str(r[first]) for r in rows], [str(r[second]) for r in rows],
                    gold)


def _hub_pairs(spec: EmbedBenchmarkSpec) -> PairData:
    from datasets import load_dataset

    split = "validation" if spec.name == "afqmc" else "test"
    rows = [dict(r) for r in load_dataset(HUB[spec.name], split=split)]
    return _pairs(rows, "sentence1", "sentence2", "score", HUB[spec.name])


# ---- files ---------------------------------------------------------------------------------------------------------
def _read_jsonl(path: Path, required: Iterable[str]) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise ConfigError(f"{path}: row {number}: not a JSON object") from None
            for column in required:
                if not isinstance(row, dict) or column not in row:
                    raise ConfigError(f"{path}: row {number}: column '{column}' is missing")
            rows.append(row)
    return rows


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"data_dir: {path} not found")
    return path


def _find(root: Path, *names: str) -> Path:
    if root.is_file():
        return root
    for name in names:
        for candidate in (root / name, root / "opencompass" / "data" / name, root / "sts_benchmark" / name):
            if candidate.is_file():
                return candidate
    raise ConfigError(f"data_dir: none of {', '.join(names)} under {root}")
