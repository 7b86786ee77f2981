"""Your own datasets (type: general_mcq | general_qa): reading CSV/JSONL/Parquet files and directories, column
mapping, templates, system prompts, few-shot dev files, scoring, and one-line errors naming file, row and column."""

from __future__ import annotations

import json
import re

import pytest

from evalray.benchmarks import registry
from evalray.errors import ConfigError
from evalray.job.loader import build_job
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation

MCQ_CSV = ('id,question,A,B,C,D,answer,topic\n'
           'q1,"What is 1+1?",1,2,3,4,B,math\n'
           'q2,Capital of France?,Paris,Rome,,,0,geo\n'
           'q3,"Largest planet, by mass?",Mars,Jupiter,Venus,,1,geo\n')


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def bench(**spec):
    entry = BenchmarkSpec(**{"name": "mine", **spec})
    return registry.for_entry(entry), entry


def test_general_mcq_csv_letters_indices_ids_subsets_and_prompts(tmp_path):
    b, entry = bench(type="general_mcq", path=str(write(tmp_path / "quiz.csv", MCQ_CSV)), columns={"subset": "topic"})
    items = list(b.requests(entry, chat=False, seed=0))
    assert [(s.id, s.subset, s.target, s.choices) for s, _, _ in items] == [
        ("q1", "math", "1", ("1", "2", "3", "4")), ("q2", "geo", "0", ("Paris", "Rome")),
        ("q3", "geo", "1", ("Mars", "Jupiter", "Venus"))]
    sample, request, mode = items[0]
    assert mode == "loglikelihood" and request.kind == "loglikelihood"
    assert request.prompt == "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer:"  # lm-eval's MMLU layout
    assert request.continuations == (" A", " B", " C", " D") and request.uid == "mine::q1"
    assert b.score(sample, Generation(loglikelihoods=[-3.0, -1.0, -2.0, -4.0]), mode).values == {"acc": 1.0}
    assert b.score(sample, Generation(loglikelihoods=[-1.0, -3.0, -2.0, -4.0]), mode).values == {"acc": 0.0}
    # generate mode (chat models): the ANSWER: X prompt, tolerant extraction
    sample, request, mode = next(b.requests(entry, chat=True, seed=0))
    assert mode == "generate" and "ANSWER: $LETTER" in request.messages[-1]["content"]
    assert b.score(sample, Generation(texts=["so... ANSWER: B"]), mode).values == {"acc": 1.0}
    assert b.score(sample, Generation(texts=["ANSWER: C"]), mode).values == {"acc": 0.0}


def test_general_mcq_jsonl_list_column_template_system_prompt_and_row_ids(tmp_path):
    rows = [{"q": "Pick the even one", "opts": ["3", "4"], "gold": "B", "ctx": "Numbers."},
            {"q": "Pick the odd one", "opts": ["3", "4"], "gold": 0, "ctx": "More numbers."}]
    path = write(tmp_path / "quiz.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    b, entry = bench(type="general_mcq", path=str(path), columns={"question": "q", "choices": "opts", "answer": "gold"},
                     template="{ctx}\nQ: {question}\n{choices}\nA:", system_prompt="You are a careful student.")
    (s0, r0, _), (s1, _, _) = b.requests(entry, chat=False, seed=0)
    assert (s0.id, s1.id, s0.target, s1.target) == ("0", "1", "1", "0")  # no id column: row indices
    assert r0.prompt == "You are a careful student.\n\nNumbers.\nQ: Pick the even one\nA. 3\nB. 4\nA:"
    _, chat, _ = next(b.requests(entry, chat=True, seed=0))
    assert chat.messages[0] == {"role": "system", "content": "You are a careful student."}
    jinja, entry = bench(type="general_mcq", path=str(path), columns={"question": "q", "choices": "opts", "answer": "gold"},
                         template="{{ ctx | upper }} {{ question }}\n{{ choices }}\nAnswer:")
    assert next(jinja.requests(entry, chat=False, seed=0))[1].prompt == "NUMBERS. Pick the even one\nA. 3\nB. 4\nAnswer:"


def test_general_mcq_directory_subsets_and_few_shot_from_dev_files(tmp_path):
    folder = tmp_path / "exam"
    folder.mkdir()
    write(folder / "algebra_test.csv", "question,A,B,answer\n1+1?,2,3,A\n2+2?,5,4,B\n")
    write(folder / "algebra_dev.csv", "question,A,B,answer\n0+1?,1,0,A\n")
    write(folder / "biology_test.csv", "question,A,B,answer\nCells?,yes,no,A\n")
    write(folder / "biology_dev.csv", "question,A,B,answer\nDNA?,no,yes,B\n")
    b, entry = bench(type="general_mcq", path=str(folder), few_shot=1, limit=1)
    items = list(b.requests(entry, chat=False, seed=0))
    assert [(s.id, s.subset) for s, _, _ in items] == [("algebra/0", "algebra"), ("biology/0", "biology")]
    assert items[0][1].prompt == "0+1?\nA. 1\nB. 0\nAnswer: A\n\n1+1?\nA. 2\nB. 3\nAnswer:"  # the subset's own shot
    assert items[1][1].prompt.startswith("DNA?\nA. no\nB. yes\nAnswer: B\n\n")
    b, entry = bench(type="general_mcq", path=str(folder / "algebra_test.csv"), few_shot=1)
    with pytest.raises(ConfigError, match="benchmark mine: few_shot: 1 needs examples: <subset>_dev files"):
        list(b.requests(entry, chat=False, seed=0))
    b, entry = bench(type="general_mcq", path=str(folder / "algebra_test.csv"), dev_path=str(folder / "biology_dev.csv"),
                     few_shot=1, mode="generate")
    _, request, _ = next(b.requests(entry, chat=False, seed=0))
    assert "DNA?" in request.prompt and "ANSWER: B\n\n" in request.prompt and request.prompt.endswith("ANSWER:")


def test_general_qa_metrics_aliases_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "qa.parquet"
    pq.write_table(pa.table({"question": ["Two plus two?", "Half of one?", "Say hello"],
                             "answers": [["4", "four"], ["1/2"], ["hello there friend"]]}), path)
    b, entry = bench(type="general_qa", path=str(path), columns={"answer": "answers"},
                     metrics=["exact_match", "f1", "rouge1", "rougeL", "bleu", "math_equiv"])
    items = list(b.requests(entry, chat=False, seed=0))
    assert [s.metadata["answers"] for s, _, _ in items][0] == ["4", "four"]
    assert items[0][1].prompt == "Question: Two plus two?\nAnswer:"
    for sample, _, mode in items:  # the gold answer scores 1 on every metric
        assert b.score(sample, Generation(texts=[sample.target]), mode).values == pytest.approx(
            {m: 1.0 for m in b.metrics})
    four, half, hello = (s for s, _, _ in items)
    assert b.score(four, Generation(texts=["It is four."]), "generate").values["exact_match"] == 0.0
    assert b.score(four, Generation(texts=["Let me think.\nANSWER: Four"]), "generate").values["exact_match"] == 1.0
    assert b.score(half, Generation(texts=["ANSWER: 0.5"]), "generate").values["math_equiv"] == 1.0
    assert b.score(half, Generation(texts=["ANSWER: 0.25"]), "generate").values["math_equiv"] == 0.0
    partial = b.score(hello, Generation(texts=["hello friend"]), "generate").values
    assert 0 < partial["rouge1"] < 1 and 0 < partial["f1"] < 1 and partial["exact_match"] == 0.0
    _, chat, _ = next(b.requests(entry, chat=True, seed=0))
    assert "ANSWER: <answer>" in chat.messages[-1]["content"]  # short answers are asked for on the last line


@pytest.mark.parametrize("name, text, expected", [
    ("bad.csv", "question,A,B,answer\nok?,1,2,A\nbroken?,1,2\n", r"bad\.csv: row 2 \(line 3\), column 'answer': 3 fields where the header has 4"),
    ("bad.csv", "question,A,B,answer\nok?,1,2,E\n", r"bad\.csv: row 1, column 'answer': 'E' is out of range for 2 choices"),
    ("bad.csv", "question,A,B,answer\nok?,1,2,yes\n", r"bad\.csv: row 1, column 'answer': 'yes' is neither a letter"),
    ("bad.csv", "question,A,B,answer\n ,1,2,A\n", r"bad\.csv: row 1, column 'question': empty"),
    ("bad.csv", "q,A,B,answer\nok?,1,2,A\n", r"bad\.csv: row 1, column 'question': no such column \(the row has: q, A, B, answer\)"),
    ("bad.csv", "question,A,B,answer\nok?,1,,A\nfine?,x,y,B\n", r"bad\.csv: row 1, column 'A': 1 choice\(s\)"),
    ("bad.jsonl", '{"question": "a?", "A": "1", "B": "2", "answer": "A"}\n{"question": "b?", "A": 1,\n',
     r"bad\.jsonl: row 2, column 27: not valid JSON \(Expecting property name"),
    ("bad.jsonl", '{"question": "a?", "choices": "not a list", "answer": 0}\n', r"bad\.jsonl: row 1, column 'choices': 1 choice\(s\)"),
])
def test_a_malformed_file_is_one_line_naming_file_row_and_column(tmp_path, name, text, expected):
    b, entry = bench(type="general_mcq", path=str(write(tmp_path / name, text)))
    with pytest.raises(ConfigError) as error:
        b.load(entry)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(tmp_path)), message
    assert re.search(expected, message), message


def test_general_qa_row_errors_and_duplicate_ids(tmp_path):
    b, entry = bench(type="general_qa", path=str(write(tmp_path / "qa.jsonl", '{"question": "a?", "answer": []}\n')))
    with pytest.raises(ConfigError, match=r"qa\.jsonl: row 1, column 'answer': no reference answer"):
        b.load(entry)
    path = write(tmp_path / "ids.csv", "key,question,answer\nk1,a?,x\nk1,b?,y\n")
    b, entry = bench(type="general_qa", path=str(path), columns={"id": "key"})
    with pytest.raises(ConfigError, match=r"ids\.csv: row 2, column 'key': id 'k1' repeats .*row 1"):
        b.load(entry)
    path = write(tmp_path / "ok.jsonl", '{"question": "a?", "answer": "x"}\n')
    b, entry = bench(type="general_qa", path=str(path), template="{question} {context}")
    with pytest.raises(ConfigError, match=r"row 1, column 'context': no such column"):
        b.load(entry)


@pytest.mark.parametrize("entry, expected", [
    ({"name": "gsm8k", "path": "x.csv"}, "benchmarks.0.path: `path` applies to your own datasets"),
    ({"name": "mine", "type": "general_mcq"}, "benchmarks.0.path: type: general_mcq needs `path`"),
    ({"name": "mmlu", "type": "general_mcq", "path": "x.csv"}, "benchmarks.0.name: 'mmlu' is a built-in benchmark"),
    ({"name": "my/set", "type": "general_qa", "path": "x.csv"}, "benchmarks.0.name: must be a name"),
    ({"name": "mine", "type": "general_mcq", "path": "x.csv", "metrics": ["f1"]}, "benchmarks.0.metrics: metrics apply to type: general_qa"),
    ({"name": "mine", "type": "general_qa", "path": "x.csv", "metrics": ["rouge9"]}, "benchmarks.0.metrics.0: Input should be"),
    ({"name": "mine", "type": "general_qa", "path": "x.csv", "template": "{question} {0}"}, "benchmarks.0.template: not a valid str.format"),
    ({"name": "mine", "type": "general_qa", "path": "x.csv", "template": "{{ question "}, "benchmarks.0.template: not a valid Jinja2"),
    ({"name": "mine", "type": "general_qa", "path": "x.csv", "columns": {"questoin": "q"}}, "benchmarks.0.columns.questoin: unknown key 'questoin' (did you mean 'question'?)"),
    ({"name": "mine", "type": "general_qa", "path": "x.csv", "mode": "loglikelihood"}, "benchmarks.0.mode: general_qa is generative"),
    ({"name": "mine", "type": "general_mcp", "path": "x.csv"}, "benchmarks.0.type: Input should be 'general_mcq' or 'general_qa'"),
])
def test_entry_mistakes_are_one_line_naming_the_key(entry, expected):
    job = {"name": "j", "models": [{"name": "m", "source": "builtin:tiny-llama"}], "benchmarks": [entry]}
    with pytest.raises(ConfigError) as error:
        build_job(job)
    assert str(error.value).startswith("job: " + expected), str(error.value)


def test_every_new_field_has_a_description():
    from evalray.job import spec

    for model in (spec.BenchmarkSpec, spec.ColumnsSpec, spec.CollectionSpec):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
