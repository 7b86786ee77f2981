"""``kind: opencompass`` jobs: the spec, the loader's one-line errors, and the conversion of OpenCompass's results
into result.json rows (no OpenCompass needed)."""

from __future__ import annotations

import pytest

from evalray.errors import ConfigError
from evalray.job.loader import build_job
from evalray.job.opencompass_spec import OpenCompassJobSpec, OpenCompassSpec
from evalray.pipeline.opencompass_runner import convert
from evalray.pipeline.opencompass_task import CONFIG, data_cache
from evalray.results.schema import CountRow, ScoreRow

MODEL = {"name": "m", "backend": "openai", "source": "http://127.0.0.1:9/v1"}


def job(**opencompass):
    return {"name": "oc", "kind": "opencompass", "models": [MODEL],
            "opencompass": {"datasets": ["siqa_gen", "obqa_gen"], **opencompass}}


def test_job_parses_with_defaults():
    spec = build_job(job(limit=20, data_dir="/data"))
    assert isinstance(spec, OpenCompassJobSpec)
    assert spec.opencompass.datasets == ["siqa_gen", "obqa_gen"] and spec.opencompass.limit == 20


def test_every_field_is_described():
    for cls in (OpenCompassSpec, OpenCompassJobSpec):
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name}"


@pytest.mark.parametrize("change, words", [
    ({"models": [{**MODEL, "backend": "hf", "source": "builtin:tiny-llama"}]}, "use backend openai or serve"),
    ({"opencompass": {"datasets": ["siqa_gen", "siqa_gen"]}}, "appears twice"),
    ({"opencompass": {"datasets": ["../x"]}}, "is not an OpenCompass dataset config name"),
    ({"opencompass": {"datasets": []}}, "datasets"),
    ({"opencompass": {"datasets": ["siqa_gen"], "limits": 3}}, "limits"),
])
def test_bad_jobs_are_one_line(change, words):
    with pytest.raises(ConfigError) as info:
        build_job({**job(), **change})
    message = str(info.value)
    assert words in message and "\n" not in message.strip()


def test_convert_percentages_to_fractions_with_counts():
    outcome = {"results": {"siqa": {"accuracy": 35.0, "details": {"0": {}}}, "openbookqa": {"accuracy": 12.5}},
               "counts": {"siqa": 20, "openbookqa": 8}}
    scores, counts = convert("m", outcome)
    by = {r["benchmark"]: r for r in scores}
    assert by["opencompass:siqa"]["value"] == pytest.approx(0.35) and by["opencompass:siqa"]["n"] == 20
    assert by["opencompass:openbookqa"]["value"] == pytest.approx(0.125)
    assert {c["benchmark"]: c["samples"] for c in counts} == {"opencompass:siqa": 20, "opencompass:openbookqa": 8}
    for row in scores:
        ScoreRow(**row)
    for row in counts:
        CountRow(**row)


def test_accuracy_interval_from_the_per_item_verdicts():
    from evalray.pipeline.opencompass_task import item_verdicts
    from evalray.scoring.metrics import mean_stderr

    details = {"type": "GEN", **{str(i): {"pred": "A", "correct": i < 3} for i in range(8)}}
    verdicts = item_verdicts(details)
    assert verdicts == [True] * 3 + [False] * 5 and item_verdicts({"type": "GEN"}) is None
    acc_details = {"type": "GEN", "0": {"predictions": "A", "references": "A"}, "1": {"predictions": "",
                                                                                    "references": "C"}}
    assert item_verdicts(acc_details) == [True, False]
    outcome = {"results": {"CB": {"accuracy": 37.5}}, "counts": {"CB": 8}, "correct": {"CB": verdicts}}
    [row], _ = convert("m", outcome)
    assert row["stderr"] == pytest.approx(mean_stderr([1.0] * 3 + [0.0] * 5)[1])
    assert row["ci_low"] < 0.375 < row["ci_high"]
    disagreeing = {**outcome, "correct": {"CB": [True] * 8}}  # verdicts that are not OpenCompass's number: none
    assert convert("m", disagreeing)[0][0]["stderr"] is None


def test_data_cache_links_a_bundle_not_named_data(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    assert data_cache(str(tmp_path / "bundle"), tmp_path / "scratch") == str(tmp_path / "scratch")
    assert (tmp_path / "scratch" / "data").resolve() == bundle.resolve()
    named = tmp_path / "data"
    named.mkdir()
    assert data_cache(str(named), tmp_path / "other") == str(tmp_path)


def test_config_template_is_python():
    text = CONFIG.format(module="opencompass.configs.datasets.siqa.siqa_gen", limit=5, abbr="m", model_id="mock",
                         url="http://h/v1/chat/completions", tokenizer="/tok", qps=4.0, max_out_len=8, max_seq_len=2048,
                         batch_size=2, temperature=0.0, retry=2)
    compile(text, "config.py", "exec")
    assert "'[0:%d]' % _limit" in text and "key='ENV'" in text
