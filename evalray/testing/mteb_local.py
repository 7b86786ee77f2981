"""MTEB's own tasks fed local files instead of the hub (this machine has no hub): subclasses whose ``load_data``
hands mteb the data as its loaders would have built it, so ``mteb.evaluate`` runs its own evaluators on it."""

from __future__ import annotations

from typing import Any, Mapping


def local_retrieval_task(base: type, corpus: Mapping[str, Mapping[str, Any]], queries: Mapping[str, str],
                         qrels: Mapping[str, Mapping[str, int]], split: str = "test"):
    """An instance of the retrieval task class ``base`` (e.g. mteb's SciFact) over the given BEIR records: ``corpus``
    doc id -> {title, text} (mteb joins them itself), ``queries`` id -> text, ``qrels`` query -> {doc: grade}."""
    import datasets

    class Local(base):  # type: ignore[misc, valid-type]
        def load_data(self, **kwargs):
            docs = datasets.Dataset.from_list([{"id": d, "title": r.get("title") or "", "text": r["text"]}
                                               for d, r in corpus.items()])
            asked = datasets.Dataset.from_list([{"id": q, "text": t} for q, t in queries.items()])
            self.dataset = {"default": {split: {"corpus": docs, "queries": asked, "relevant_docs": dict(qrels),
                                                "top_ranked": None}}}
            self.data_loaded = True

    return Local()


def local_pair_task(base: type, rows: list[dict[str, Any]], split: str):
    """An instance of the STS / pair-classification task class ``base`` over ``rows`` (its own column names)."""
    import datasets

    class Local(base):  # type: ignore[misc, valid-type]
        def load_data(self, **kwargs):
            self.dataset = {"default": {split: datasets.Dataset.from_list(rows)}}
            self.data_loaded = True

    return Local()
