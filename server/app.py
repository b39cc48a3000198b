"""berxit's HTTP server as an ASGI app (FastAPI on uvicorn): TEI's `POST /predict`, the Inference API's `POST /`
(what `huggingface_hub.InferenceClient(base_url=...).text_classification` posts), `GET /health`, `GET /info` and
`GET /metrics`, over one continuous layer-batching engine (`server.engine`).

Each request is checked and tokenized off the event loop, its inputs join the engine's first layer, and the request
is answered once its last input exits; a client that goes away has its waiting inputs dropped. Every refusal is a
4xx with TEI's error body, one line naming the field; a failure inside is a 500 with one line, logged here.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import __version__
from ..data.tokenizer import CHARACTERS_PER_TOKEN, shortened
from ..serving.answers import input_length
from .engine import Answer, EngineFull, EngineStopped, LayerBatchingEngine, Ticket
from .guard import RequestGuard
from .metrics import ServerMetrics
from .schema import (
    ErrorBody,
    InferenceRequest,
    InputError,
    LabelScore,
    PredictRequest,
    Texts,
    unpack_inputs,
)
from .settings import ServerSettings

logger = logging.getLogger(__name__)

# Requests this short are tokenized on the event loop: handing them to a thread would cost more than they do.
INLINE_CHARACTERS = 4096
REFUSALS = {status: {"model": ErrorBody} for status in (400, 401, 413, 422, 429)}
# What a wrong field's value should have been, for the one-line 422 (pydantic's own words list every union member).
EXPECTED = {
    "inputs": "a text, or a list whose items are each a text, [text], [text, pair] or [[text, pair]]",
    "raw_scores": "true or false",
    "truncate": "true or false",
    "parameters": "an object of function_to_apply, top_k and truncation",
    "function_to_apply": "one of 'softmax', 'sigmoid', 'none'",
    "top_k": "a whole number >= 1",
    "truncation": "true or false",
}


class ServedModel:
    """The engine and what a request needs before and after it: limits, tokenizing, scores."""

    def __init__(self, model, tokenizer, settings: ServerSettings):
        self.engine = LayerBatchingEngine(model, settings)
        self.tokenizer, self.settings = tokenizer, settings
        self.config = self.engine.config
        limit = input_length(tokenizer, None, self.engine.steps.max_length)
        if settings.max_input_length is not None:
            if limit is not None and settings.max_input_length > limit:
                raise ValueError(
                    f"max_input_length: the model embeds at most {limit} tokens, got {settings.max_input_length}."
                )
            limit = settings.max_input_length
        self.max_input_length = limit
        # A request at the limits, texts and pairs of up to CHARACTERS_PER_TOKEN 4-byte characters a token.
        self.max_body_bytes = settings.max_inputs_per_request * 2 * limit * CHARACTERS_PER_TOKEN * 4 + 4096

    def encode(self, texts: Texts, *, truncate: bool, truncate_field: str) -> dict:
        """The tokenizer's padded batch; without truncation an input past the length limit is refused."""
        limit, tokenizer = self.max_input_length, self.tokenizer
        encoded = tokenizer(
            shortened(tokenizer, texts.texts, limit),
            shortened(tokenizer, texts.pairs, limit),
            truncation=truncate,
            max_length=limit if truncate else None,
        )
        if not truncate:
            for position, ids in enumerate(encoded["input_ids"]):
                if len(ids) > limit:
                    name = f"inputs[{position}]" if texts.batched else "inputs"
                    raise InputError(
                        413,
                        f"{name}: {len(ids)} tokens or more, past max_input_length ({limit}); send a shorter text or "
                        f"set {truncate_field} to true.",
                    )
        return tokenizer.pad(encoded, return_tensors=self.engine.steps.tensors)

    async def answer(self, request: Request, texts: Texts, *, truncate: bool, truncate_field: str) -> list[Answer]:
        """Each input's answer, once the last one exits; the inputs are dropped if the client goes away."""
        if sum(map(len, texts.texts)) + sum(map(len, texts.pairs or [])) <= INLINE_CHARACTERS:
            batch = self.encode(texts, truncate=truncate, truncate_field=truncate_field)
        else:
            batch = await run_in_threadpool(self.encode, texts, truncate=truncate, truncate_field=truncate_field)
        loop = asyncio.get_running_loop()
        answers = [loop.create_future() for _ in texts.texts]

        def settle(row: int, answer: Answer | Exception) -> None:
            if not answers[row].done():
                if isinstance(answer, Exception):
                    answers[row].set_exception(answer)
                else:
                    answers[row].set_result(answer)

        ticket = Ticket(len(answers), lambda row, answer: loop.call_soon_threadsafe(settle, row, answer))
        self.engine.submit(batch, ticket)
        everything = asyncio.gather(*answers)
        gone = asyncio.ensure_future(client_gone(request))
        try:
            await asyncio.wait([everything, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not everything.done():
            self.engine.cancel(ticket)
            everything.cancel()
            raise ClientGone()
        return everything.result()

    def scores(self, answer: Answer, function: str | None, top_k: int | None) -> list[dict]:
        """One input's labels with their scores, best first (for regression: its value)."""
        extra = {"exit_layer": answer.exit_layer, "certainty": answer.certainty}
        logits = answer.logits.astype(np.float64)  # (labels,)
        if self.config.is_regression:
            return [{"label": self.config.id2label.get(0, "LABEL_0"), "score": float(logits[0]), **extra}]
        if function in (None, "softmax"):
            shifted = np.exp(logits - logits.max())
            values = shifted / shifted.sum()
        elif function == "sigmoid":
            values = 1 / (1 + np.exp(-logits))
        else:
            values = logits
        order = np.argsort(-values, kind="stable")[:top_k]
        return [
            {"label": self.config.id2label.get(int(k), f"LABEL_{k}"), "score": float(values[k]), **extra} for k in order
        ]

    def info(self, model_id: str, runtime: str) -> dict:
        config, settings = self.config, self.settings
        rule = self.engine.scheduler.exit_rule
        return {
            "model_id": model_id,
            "berxit_version": __version__,
            "runtime": runtime,
            "labels": None if config.is_regression else [config.id2label[k] for k in sorted(config.id2label)],
            "is_regression": bool(config.is_regression),
            "num_hidden_layers": config.num_hidden_layers,
            "exit_rule": rule.name,
            "exit_setting": rule.setting,
            "exit_promise": config.exit_promise,
            "max_batch_size": settings.max_batch_size,
            "max_batch_delay_ms": settings.max_batch_delay_ms,
            "max_queue": settings.max_queue,
            "max_input_length": self.max_input_length,
            "max_inputs_per_request": settings.max_inputs_per_request,
        }


class ClientGone(Exception):
    """The client disconnected before its answer."""


async def client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body is read already, so the next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def error(status: int, message: str, error_type: str = "validation", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "error_type": error_type}, status_code=status, headers=headers)


def validation_message(exc: RequestValidationError) -> tuple[int, str]:
    """One line naming the first wrong field, and the status (400 for a body that is not JSON)."""
    first = exc.errors()[0]
    location = [str(part) for part in first["loc"] if part != "body" and not isinstance(part, int)]
    if first["type"] == "json_invalid" or not location:
        return 400, "body: expected a JSON object (sent with Content-Type: application/json)."
    field = next((part for part in reversed(location) if part in EXPECTED), location[0] if location else "body")
    if first["type"] == "missing":
        return 422, f"{field}: required."
    if first["type"] == "extra_forbidden":
        return 422, f"{'.'.join(location)}: unknown field."
    return 422, f"{field}: expected {EXPECTED.get(field, first['msg'])}."


def create_app(
    model, tokenizer, settings: ServerSettings | None = None, *, model_id: str = "berxit", runtime: str = "pytorch"
) -> FastAPI:
    """The server's app for `model` (a BERxiT model in eval mode or an `OnnxBerxitModel`) and its tokenizer; run
    it with uvicorn (`berxit-serve` does). The engine's thread starts and stops with the app's lifespan, answering
    the requests it holds before it stops."""
    settings = settings or ServerSettings()
    served = ServedModel(model, tokenizer, settings)
    metrics = ServerMetrics(served.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        served.engine.start()
        yield
        await run_in_threadpool(served.engine.stop)

    app = FastAPI(
        title="berxit",
        version=__version__,
        description="Early-exit text classification: each input answered by as few layers as it needs.",
        lifespan=lifespan,
    )
    app.state.served = served

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return error(*validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail), "validation" if exc.status_code < 500 else "backend")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception):
        logger.exception("A request failed.")
        return error(500, "internal error: the server logged it.", "backend")

    @app.exception_handler(InputError)
    async def refused(request: Request, exc: InputError):
        return error(exc.status, str(exc), exc.error_type)

    @app.exception_handler(EngineFull)
    async def full(request: Request, exc: EngineFull):
        retry = str(max(1, math.ceil(settings.max_batch_delay_ms / 1000)))
        return error(429, f"queue: full, {exc} Retry later.", "overloaded", {"Retry-After": retry})

    @app.exception_handler(EngineStopped)
    async def stopping(request: Request, exc: EngineStopped):
        return error(503, f"server: {exc}", "unhealthy")

    @app.exception_handler(ClientGone)
    async def gone(request: Request, exc: ClientGone):
        return error(499, "client: disconnected.")

    async def answered(request: Request, inputs, *, truncate: bool, truncate_field: str, route: str):
        started = time.perf_counter()
        texts = unpack_inputs(inputs, settings.max_inputs_per_request)
        answers = await served.answer(request, texts, truncate=truncate, truncate_field=truncate_field)
        metrics.latency.labels(route).observe(time.perf_counter() - started)
        return texts, answers

    @app.post(
        "/predict",
        response_model=list[LabelScore] | list[list[LabelScore]],
        responses=REFUSALS,
        summary="TEI's predict: each input's labels with their scores, best first",
    )
    async def predict(body: PredictRequest, request: Request):
        texts, answers = await answered(
            request, body.inputs, truncate=body.truncate, truncate_field="truncate", route="/predict"
        )
        scored = [served.scores(answer, "none" if body.raw_scores else None, None) for answer in answers]
        return JSONResponse(scored if texts.batched else scored[0])

    @app.post(
        "/",
        response_model=list[list[LabelScore]],
        responses=REFUSALS,
        summary="The Inference API's text classification: one list of labels per input",
    )
    async def inference(body: InferenceRequest, request: Request):
        parameters = body.parameters
        _, answers = await answered(
            request, body.inputs, truncate=parameters.truncation, truncate_field="parameters.truncation", route="/"
        )
        return JSONResponse(
            [served.scores(answer, parameters.function_to_apply, parameters.top_k) for answer in answers]
        )

    @app.get("/health", summary="200 while the engine serves")
    async def health():
        return {"status": "ok", "queued": served.engine.held}

    @app.get("/info", summary="The model, its labels, its exit rule and operating point, the runtime and the limits")
    async def info():
        return served.info(model_id, runtime)

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def prometheus():
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def count(path: str, status: int) -> None:
        route = path if path in ("/", "/predict", "/health", "/info", "/metrics") else "other"
        metrics.requests.labels(route, str(status)).inc()

    app.add_middleware(RequestGuard, api_key=settings.api_key, max_body_bytes=served.max_body_bytes, on_answer=count)
    return app
