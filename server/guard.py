"""What every request passes before a route sees it: the API key, a cap on the body's size (so that memory stays
bounded whatever clients send), and the count of answers by route and status for `/metrics`.

Plain ASGI middleware, so that a client going away still reaches the route (Starlette's `BaseHTTPMiddleware`
would hide it)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.exceptions import HTTPException

OPEN_PATHS = ("/health",)  # answered without the key, for load balancers


def error_bytes(message: str, error_type: str) -> bytes:
    return json.dumps({"error": message, "error_type": error_type}).encode()


class RequestGuard:
    """Wraps an ASGI app: 401 without `Authorization: Bearer <api_key>` (if a key is set), 413 for a body past
    `max_body_bytes`, and `on_answer(path, status)` for every response."""

    def __init__(self, app, *, api_key: str | None, max_body_bytes: int, on_answer: Callable[[str, int], None]):
        self.app, self.api_key, self.max_body_bytes, self.on_answer = app, api_key, max_body_bytes, on_answer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]

        async def counted_send(message):
            if message["type"] == "http.response.start":
                self.on_answer(path, message["status"])
            await send(message)

        headers = dict(scope["headers"])
        if self.api_key is not None and path not in OPEN_PATHS:
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
                return await reply(counted_send, 401, "authorization: expected the header 'Bearer <api key>'.", "auth")
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return await reply(counted_send, 413, self.too_large(), "validation")
        received = 0

        async def capped_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:  # a body sent without its length: the app answers 413
                    raise HTTPException(413, self.too_large())
            return message

        await self.app(scope, capped_receive, counted_send)

    def too_large(self) -> str:
        return f"body: expected at most {self.max_body_bytes} bytes (max_inputs_per_request texts at the length limit)."


async def reply(send, status: int, message: str, error_type: str, headers: list | None = None) -> None:
    body = error_bytes(message, error_type)
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
