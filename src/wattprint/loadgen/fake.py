"""A fake OpenAI-compatible engine, for tests and for measuring the load generator itself.

It answers ``/v1/models``, ``/v1/chat/completions`` and ``/v1/completions`` (streamed, with usage) with
``max_tokens`` one-word tokens after ``token_s`` each (0: instantly). Knobs make it misbehave the ways an
engine can: ``ignore_length`` (always ``fixed_tokens``), ``fail_every`` (every k-th request breaks off
part-way with an error event), ``drop_every`` (every k-th request's connection is cut mid-stream).
A plain ASGI app (no framework): ``python -m wattprint.loadgen.fake --port P`` runs it under uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
from dataclasses import dataclass
from typing import Any

MODEL = "fake-model"


@dataclass(frozen=True)
class FakeConfig:
    token_s: float = 0.0
    ignore_length: bool = False
    fixed_tokens: int = 7
    fail_every: int = 0
    drop_every: int = 0
    model: str = MODEL


def _chunk(route: str, text: str) -> bytes:
    choice = {"index": 0, "delta": {"content": text}} if route == "chat" else {"index": 0, "text": text}
    return b"data: " + json.dumps({"object": "chunk", "choices": [choice]}).encode() + b"\n\n"


async def _json(send: Any, status: int, obj: Any) -> None:
    body = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read(receive: Any) -> dict[str, Any]:
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            return json.loads(body or b"{}")


class FakeEngine:
    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self._n = itertools.count(1)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path == "/v1/models":
            await _json(send, 200, {"object": "list", "data": [{"id": self.config.model, "object": "model"}]})
        elif path in ("/v1/chat/completions", "/v1/completions"):
            await self._generate(await _read(receive), "chat" if "chat" in path else "completions", send)
        else:
            await _json(send, 404, {"detail": "Not Found"})

    async def _generate(self, body: dict[str, Any], route: str, send: Any) -> None:
        c = self.config
        if body.get("model") != c.model:
            await _json(send, 404, {"error": {"message": f"model {body.get('model')!r} not found"}})
            return
        n = c.fixed_tokens if c.ignore_length else int(body.get("max_tokens") or 16)
        k = next(self._n)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for i in range(n):
            if c.token_s:
                await asyncio.sleep(c.token_s)
            if i == n // 2 and c.fail_every and k % c.fail_every == 0:
                err = {"error": {"message": "engine failed part-way (fake)"}}
                await send({"type": "http.response.body", "body": b"data: " + json.dumps(err).encode() + b"\n\n"})
                await send({"type": "http.response.body", "body": b""})
                return
            if i == n // 2 and c.drop_every and k % c.drop_every == 0:
                raise ConnectionResetError("fake engine dropped the connection part-way")
            await send({"type": "http.response.body", "body": _chunk(route, f" w{i}"), "more_body": True})
        prompt = body.get("prompt") or " ".join(m.get("content", "") for m in body.get("messages", []))
        usage = {"prompt_tokens": len(str(prompt).split()), "completion_tokens": n,
                 "total_tokens": len(str(prompt).split()) + n}
        last = json.dumps({"object": "chunk", "choices": [], "usage": usage}).encode()
        tail = b"data: " + last + b"\n\ndata: [DONE]\n\n"
        await send({"type": "http.response.body", "body": tail})


ENV = "WATTPRINT_FAKE_ENGINE"


def app_from_env() -> FakeEngine:
    """The app for uvicorn's worker processes (``--workers``), configured by a JSON environment variable."""
    return FakeEngine(FakeConfig(**json.loads(os.environ.get(ENV, "{}"))))


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    p = argparse.ArgumentParser(description="A fake OpenAI-compatible engine (wattprint's tests and benchmarks).")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token-s", type=float, default=0.0)
    p.add_argument("--ignore-length", action="store_true")
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (to outpace one client core)")
    a = p.parse_args(argv)
    os.environ[ENV] = json.dumps({"token_s": a.token_s, "ignore_length": a.ignore_length, "fail_every": a.fail_every})
    uvicorn.run("wattprint.loadgen.fake:app_from_env", factory=True, host="127.0.0.1", port=a.port,
                workers=a.workers, log_level="warning", access_log=False)


if __name__ == "__main__":  # pragma: no cover
    main()
