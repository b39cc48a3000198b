"""Ray Data: `map_batches(BerxitPredictor, ...)` on a local Ray, with one actor and with two, answers every row as
`berxit-predict` does (same columns, same values), the other columns kept."""

import pandas as pd
import pytest
import ray

from berxit.integrations.ray import BerxitPredictor
from berxit.scripts import predict as predict_cli

WORDS = "a good great fine bad awful dull film plot acting score long short".split()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, minilm_classifier):
    """200 texts, and berxit-predict's answers for them."""
    import random

    generator = random.Random(5)
    frame = pd.DataFrame(
        {
            "id": range(200),
            "text": [" ".join(generator.choices(WORDS, k=generator.randint(1, 40))) for _ in range(200)],
        }
    )
    folder = tmp_path_factory.mktemp("ray")
    frame.to_csv(folder / "in.csv", index=False)
    predict_cli.main(
        ["--model_dir", str(minilm_classifier), "--input", str(folder / "in.csv"), "--output", str(folder / "out.csv")]
    )
    return frame, pd.read_csv(folder / "out.csv")


@pytest.mark.parametrize("actors", [1, 2])
def test_map_batches_answers_as_berxit_predict(local_ray, minilm_classifier, reviews, actors):
    frame, expected = reviews
    answered = ray.data.from_pandas(frame).map_batches(
        BerxitPredictor,
        fn_constructor_kwargs={"model_dir": str(minilm_classifier), "runtime": "pytorch"},
        concurrency=actors,
        num_cpus=1,
        batch_size=64,
        batch_format="numpy",
    )
    got = answered.to_pandas().sort_values("id").reset_index(drop=True)
    assert list(got.columns) == ["id", "text", "predicted_label", "score", "exit_layer", "certainty"]
    assert got["text"].tolist() == frame["text"].tolist()
    assert got["predicted_label"].tolist() == expected["predicted_label"].tolist()
    assert got["exit_layer"].tolist() == expected["exit_layer"].tolist()
    assert expected["exit_layer"].nunique() > 1
    for column in ("score", "certainty"):
        assert got[column].to_numpy() == pytest.approx(expected[column].to_numpy(), abs=1e-5)


def test_a_missing_column_is_named(minilm_classifier):
    predictor = BerxitPredictor(str(minilm_classifier), runtime="pytorch", text_column="review")
    with pytest.raises(ValueError, match="text_column: the batch has no column 'review'"):
        predictor({"text": pd.Series(["a"]).to_numpy()})
