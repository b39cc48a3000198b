"""berxit-serve through its real clients: the real server (uvicorn, its own process) on loopback, called by
`huggingface_hub.InferenceClient` and plain HTTP. Every answer equals `berxit-predict`'s under 64 concurrent
clients; every bad request is a 4xx naming the field; a full queue is a 429 with Retry-After; a client that goes
away leaves nothing behind; SIGTERM answers what is in flight, then exits."""

import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from server_process import serve_slowly
from tiny_models import tiny_model
from transformers import AutoTokenizer

from berxit import BerxitForSequenceClassification
from berxit.lab.benchmarking.server_process import berxit_serve as serve
from berxit.serving.predictions import predict

WORDS = "a good great fine bad awful dull film plot acting score long short".split()


def texts(count: int, seed: int = 0) -> list[str]:
    generator = random.Random(seed)
    return [" ".join(generator.choices(WORDS, k=generator.randint(1, 60))) for _ in range(count)]


@pytest.fixture(scope="module")
def server(minilm_classifier):
    options = ["--max_batch_size", "8", "--max_inputs_per_request", "8", "--max_input_length", "64"]
    with serve(minilm_classifier, *options) as server_:
        yield server_.url


@pytest.fixture(scope="module")
def expected(minilm_classifier):
    """`berxit-predict`'s answers (`predict`, the same scheduler over a file) for the texts the clients send."""
    model = BerxitForSequenceClassification.from_pretrained(minilm_classifier).eval()
    tokenizer = AutoTokenizer.from_pretrained(minilm_classifier)
    sent = texts(320)
    return sent, predict(model, tokenizer, sent, max_length=64, show_progress=False)


def test_inference_client_gets_every_label_best_first_with_the_exit(server, expected):
    sent, answers = expected
    client = InferenceClient(base_url=server)
    labels = client.text_classification(sent[0])
    assert [label.label for label in labels][0] == answers[0]["label"]
    assert sorted(label.label for label in labels) == ["fresh", "rotten"]
    assert labels[0].score == pytest.approx(answers[0]["score"], abs=1e-5)
    assert labels[0].score >= labels[1].score
    assert labels[0]["exit_layer"] == answers[0]["exit_layer"]
    assert [label.label for label in client.text_classification(sent[1], top_k=1)] == [answers[1]["label"]]


def test_tei_predict_answers_one_list_for_a_text_and_a_list_per_input_for_a_batch(server, expected):
    sent, answers = expected
    one = requests.post(f"{server}/predict", json={"inputs": sent[0]}).json()
    assert one[0]["label"] == answers[0]["label"] and one[0]["exit_layer"] == answers[0]["exit_layer"]
    many = requests.post(f"{server}/predict", json={"inputs": [[text] for text in sent[:3]]}).json()
    assert [answer[0]["label"] for answer in many] == [answer["label"] for answer in answers[:3]]
    raw = requests.post(f"{server}/predict", json={"inputs": sent[0], "raw_scores": True}).json()
    assert raw[0]["label"] == answers[0]["label"] and raw[0]["score"] > 1.0  # a logit, not a probability


def test_64_concurrent_clients_get_berxit_predicts_answers(server, expected):
    sent, answers = expected
    generator = random.Random(1)
    requests_, start = [], 0
    while start < len(sent):  # requests of 1 to 8 inputs, over every text
        size = generator.randint(1, 8)
        requests_.append((start, sent[start : start + size]))
        start += size

    def ask(request):
        begin, batch = request
        with requests.Session() as session:
            response = session.post(f"{server}/predict", json={"inputs": batch}, timeout=120)
        return begin, response.status_code, response.json()

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(ask, requests_))
    assert {status for _, status, _ in results} == {200}
    got = {}
    for begin, _, body in results:
        for offset, labels in enumerate(body):
            got[begin + offset] = labels[0]
    assert [got[i]["label"] for i in range(len(sent))] == [answer["label"] for answer in answers]
    assert [got[i]["exit_layer"] for i in range(len(sent))] == [answer["exit_layer"] for answer in answers]
    assert len({answer["exit_layer"] for answer in answers}) > 1
    for i, answer in enumerate(answers):
        assert got[i]["score"] == pytest.approx(answer["score"], abs=1e-4)
        assert got[i]["certainty"] == pytest.approx(answer["certainty"], abs=1e-4)
    assert requests.get(f"{server}/health").json()["queued"] == 0


def test_info_and_metrics(server):
    info = requests.get(f"{server}/info").json()
    assert info["labels"] == ["rotten", "fresh"] and info["exit_rule"] == "certainty"
    assert info["max_input_length"] == 64 and info["max_inputs_per_request"] == 8 and info["runtime"] == "pytorch"
    requests.post(f"{server}/predict", json={"inputs": "a good film"})
    metrics = requests.get(f"{server}/metrics").text
    assert 'berxit_requests_total{route="/predict",status="200"}' in metrics
    assert "berxit_exits_total" in metrics and "berxit_batch_fill_ratio" in metrics
    assert "berxit_request_seconds_bucket" in metrics and "berxit_queue_inputs 0.0" in metrics
    assert requests.get(f"{server}/openapi.json").json()["paths"].keys() >= {"/predict", "/", "/info"}


LONG = " ".join(["film"] * 200)
BAD_REQUESTS = [
    ("not JSON", "/predict", b"{inputs", 400, "body: expected a JSON object"),
    ("a JSON list", "/predict", [1, 2], 400, "body: expected a JSON object"),
    ("no inputs", "/predict", {}, 422, "inputs: required."),
    ("a number", "/predict", {"inputs": 3}, 422, "inputs: expected a text, or a list"),
    ("a list of numbers", "/predict", {"inputs": [1]}, 422, "inputs: expected a text, or a list"),
    ("an empty list", "/predict", {"inputs": []}, 422, "inputs: expected at least one input"),
    ("an empty text", "/predict", {"inputs": ["ok", " "]}, 422, "inputs[1]: expected non-empty text"),
    ("three texts in one item", "/predict", {"inputs": [["a", "b", "c"]]}, 422, "inputs[0]: expected a text, [text]"),
    ("texts and pairs mixed", "/predict", {"inputs": [["a", "b"], "c"]}, 422, "inputs: expected every input"),
    ("too many inputs", "/predict", {"inputs": ["a"] * 9}, 413, "inputs: expected at most 8 inputs"),
    ("a text past the limit", "/predict", {"inputs": ["ok", LONG]}, 413, "inputs[1]: "),
    ("a misspelt option", "/predict", {"inputs": "a", "raw_score": True}, 422, "raw_score: unknown field."),
    ("a string for a bool", "/predict", {"inputs": "a", "truncate": "yes"}, 422, "truncate: expected true or false."),
    ("top_k 0", "/", {"inputs": "a", "parameters": {"top_k": 0}}, 422, "top_k: expected a whole number >= 1."),
    ("a bad function", "/", {"inputs": "a", "parameters": {"function_to_apply": "relu"}}, 422, "function_to_apply"),
    ("parameters not an object", "/", {"inputs": "a", "parameters": 3}, 422, "parameters: expected an object"),
    ("a long text via the API", "/", {"inputs": LONG}, 413, "set parameters.truncation to true"),
    ("an unknown route", "/embed", {"inputs": "a"}, 404, "Not Found"),
]


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[case[0] for case in BAD_REQUESTS])
def test_a_bad_request_is_a_4xx_naming_the_field(server, case):
    _, route, body, status, message = case
    if isinstance(body, bytes):
        response = requests.post(f"{server}{route}", data=body, headers={"Content-Type": "application/json"})
    else:
        response = requests.post(f"{server}{route}", json=body)
    assert response.status_code == status
    error = response.json()
    assert message in error["error"] and "\n" not in error["error"] and "Traceback" not in response.text
    assert requests.get(f"{server}/health").status_code == 200  # still serving


def test_a_long_text_is_answered_when_the_request_asks_to_truncate(server):
    response = requests.post(f"{server}/predict", json={"inputs": LONG, "truncate": True})
    assert response.status_code == 200 and response.json()[0]["label"] in ("rotten", "fresh")


def test_the_api_key_guards_every_route_but_health(text_model_dir):
    with serve(text_model_dir, "--api_key", "s3cret") as server_:
        url = server_.url
        assert requests.post(f"{url}/predict", json={"inputs": "a"}).status_code == 401
        wrong = requests.get(f"{url}/info", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"].startswith("authorization:")
        assert requests.get(f"{url}/health").status_code == 200
        with pytest.raises(HfHubHTTPError):
            InferenceClient(base_url=url).text_classification("a good film")
        assert InferenceClient(base_url=url, api_key="s3cret").text_classification("a good film")[0].label


def test_a_regression_model_answers_its_value(tmp_path, minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = tiny_model(cls=BerxitForSequenceClassification, num_labels=1, seed=4, exit_threshold=0.5)
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    expected = predict(model, tokenizer, ["a good film"], show_progress=False)[0]
    with serve(tmp_path) as server_:
        url = server_.url
        (answer,) = requests.post(f"{url}/predict", json={"inputs": "a good film"}).json()
    assert answer["score"] == pytest.approx(expected["label"], abs=1e-5)
    assert answer["exit_layer"] == expected["exit_layer"]


def test_a_full_queue_is_a_429_with_retry_after_and_the_server_serves_on(text_model_dir):
    settings = dict(max_batch_size=4, max_queue=8, max_inputs_per_request=8, rule="none")  # every layer
    with serve_slowly(text_model_dir, 0.3, **settings) as server_:
        url = server_.url
        first = threading.Thread(target=requests.post, args=(f"{url}/predict",), kwargs={"json": {"inputs": ["a"] * 8}})
        first.start()
        time.sleep(0.5)  # its 8 inputs fill the queue while layer calls sleep
        refused = requests.post(f"{url}/predict", json={"inputs": "b"})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"].startswith("queue: full")
        first.join()
        assert requests.post(f"{url}/predict", json={"inputs": "b"}).status_code == 200


def test_a_client_that_goes_away_leaves_no_work_behind(text_model_dir):
    with serve_slowly(text_model_dir, 0.3, max_batch_size=2, max_inputs_per_request=32, rule="none") as server_:
        url = server_.url
        with pytest.raises(requests.Timeout):
            requests.post(f"{url}/predict", json={"inputs": ["a good film"] * 32}, timeout=0.5)
        deadline = time.monotonic() + 10
        while requests.get(f"{url}/health").json()["queued"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert requests.get(f"{url}/health").json()["queued"] == 0
        metrics = requests.get(f"{url}/metrics").text
        rows = sum(
            float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("berxit_layer_rows_total")
        )
        assert rows < 32 * 4 / 2  # far from every input through every layer


def test_sigterm_answers_the_requests_in_flight_then_exits(text_model_dir):
    with serve_slowly(text_model_dir, 0.2, max_batch_size=4, rule="none") as server_:
        url, process = server_.url, server_.process
        answers = []
        asking = threading.Thread(
            target=lambda: answers.append(requests.post(f"{url}/predict", json={"inputs": ["a good film"] * 4}))
        )
        asking.start()
        time.sleep(0.3)  # inside its first layer call
        process.send_signal(signal.SIGTERM)
        asking.join(timeout=30)
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    (answer,) = answers
    assert answer.status_code == 200 and len(answer.json()) == 4
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=2)


def test_berxit_serve_refuses_bad_arguments_in_one_line(text_model_dir, capsys):
    from cli_helpers import one_line_error

    from berxit.scripts import serve as serve_cli

    base = ["--model_dir", str(text_model_dir)]
    assert "max_queue: expected at least max_batch_size" in one_line_error(
        capsys, serve_cli.main, [*base, "--max_batch_size", "64", "--max_queue", "8"]
    )
    assert "port: expected" in one_line_error(capsys, serve_cli.main, [*base, "--port", "70000"])
    assert "max_input_length: the model embeds at most" in one_line_error(
        capsys, serve_cli.main, [*base, "--max_input_length", str(10**6)]
    )
    assert "quantized:" in one_line_error(capsys, serve_cli.main, [*base, "--quantized"])


def test_an_onnx_export_is_served_as_predict_answers_it(tmp_path, minilm_classifier):
    from berxit.onnx_runtime.export_graphs import export_onnx
    from berxit.onnx_runtime.runner import OnnxBerxitModel

    model = BerxitForSequenceClassification.from_pretrained(minilm_classifier).eval()
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(minilm_classifier).save_pretrained(tmp_path)
    export_onnx(model, tmp_path / "onnx")
    sent = texts(24, seed=3)
    expected = predict(OnnxBerxitModel(tmp_path), AutoTokenizer.from_pretrained(tmp_path), sent, show_progress=False)
    with serve(tmp_path, "--runtime", "onnxruntime") as server_:
        got = requests.post(f"{server_.url}/predict", json={"inputs": sent[:8]}).json()
        got += requests.post(f"{server_.url}/predict", json={"inputs": sent[8:][:8]}).json()
        got += requests.post(f"{server_.url}/predict", json={"inputs": sent[16:]}).json()
        assert requests.get(f"{server_.url}/info").json()["runtime"] == "onnxruntime"
    assert [labels[0]["label"] for labels in got] == [answer["label"] for answer in expected]
    assert [labels[0]["exit_layer"] for labels in got] == [answer["exit_layer"] for answer in expected]
