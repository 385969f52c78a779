"""A small but real OpenAI-compatible server for tests and benchmarks, and a helper to run apps on loopback.

* :class:`TinyLM`: a GPT-2 built from its config with random weights (no hub) and a byte-level
  tokenizer (UTF-8 bytes are token ids 0..255), generating token by token with a KV cache. End-of-text
  is masked so a request generates exactly ``max_tokens`` tokens.
* :func:`build_model_app`: ``/v1/models``, ``/v1/chat/completions`` and ``/v1/completions`` (streamed
  SSE or not, ``usage`` in both, ``stream_options.include_usage`` honoured), ``/v1/embeddings``. Requests
  share the model step by step (one step at a time), as a server without batching would.
* :func:`build_echo_app`: a trivial upstream answering at once (for measuring the proxy's own overhead).
* :func:`serve_in_thread`: run an ASGI app with uvicorn on 127.0.0.1 and an OS-assigned port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

GPT2_LARGE = dict(n_layer=36, n_embd=1280, n_head=20, vocab_size=50257, n_positions=1024)  # HF gpt2-large config


@dataclass(frozen=True)
class TinyModelConfig:
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 2
    n_positions: int = 512
    vocab_size: int = 257  # 256 bytes + end-of-text
    device: str = "cpu"
    dtype: str = "float32"
    seed: int = 0
    name: str = "wattprint-tiny-gpt2"


class TinyLM:
    """GPT-2 with random weights and a byte tokenizer. Not thread-safe: the app serialises its calls."""

    def __init__(self, config: TinyModelConfig | None = None) -> None:
        import torch
        from transformers import GPT2Config, GPT2LMHeadModel

        self.config = c = config or TinyModelConfig()
        torch.manual_seed(c.seed)
        eos = c.vocab_size - 1
        hf = GPT2Config(vocab_size=c.vocab_size, n_positions=c.n_positions, n_embd=c.n_embd,
                        n_layer=c.n_layer, n_head=c.n_head, bos_token_id=eos, eos_token_id=eos)
        self.torch = torch
        with torch.device(c.device):  # initialise the random weights where they will run
            model = GPT2LMHeadModel(hf)
        # transformers wraps `to` in a decorator whose type stub mypy reads as needing `self` again
        self.model = model.to(dtype=getattr(torch, c.dtype)).eval()  # type: ignore[call-arg]
        self.eos = eos

    @staticmethod
    def encode(text: str) -> list[int]:
        return list(text.encode("utf-8")) or [0]

    @staticmethod
    def decode_one(token: int) -> str:
        return bytes([token % 256]).decode("latin-1")

    def _next(self, logits: Any) -> int:
        logits = logits[0, -1].float()
        logits[self.eos] = -float("inf")  # exactly max_tokens, always
        return int(logits.argmax())

    def prefill(self, ids: list[int]) -> tuple[int, Any]:
        with self.torch.inference_mode():
            x = self.torch.tensor([ids], device=self.config.device)
            out = self.model(input_ids=x, use_cache=True)
            return self._next(out.logits), _cache_of(out)

    def step(self, token: int, past: Any) -> tuple[int, Any]:
        with self.torch.inference_mode():
            x = self.torch.tensor([[token]], device=self.config.device)
            kw = {past[0]: past[1]}  # transformers >= 5.2x names it "cache", older "past_key_values"
            out = self.model(input_ids=x, use_cache=True, **kw)
            return self._next(out.logits), _cache_of(out)

    def embed(self, ids: list[int]) -> list[float]:
        with self.torch.inference_mode():
            x = self.torch.tensor([ids], device=self.config.device)
            hidden = self.model.transformer(input_ids=x).last_hidden_state
            return [float(v) for v in hidden[0].float().mean(dim=0).cpu()]

    def synchronize(self) -> None:
        if self.config.device.startswith("cuda"):
            self.torch.cuda.synchronize()


def _cache_of(out: Any) -> tuple[str, Any]:
    if "cache" in out.keys():
        return "cache", out["cache"]
    return "past_key_values", out.past_key_values


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def _prompt_text(route: str, body: dict[str, Any]) -> str:
    if route == "chat":
        parts = []
        for m in body.get("messages") or []:
            content = m.get("content", "") if isinstance(m, dict) else ""
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            parts.append(f"{m.get('role', 'user')}: {content}\n")
        return "".join(parts)
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else "".join(map(str, prompt))


def _usage(p: int, c: int) -> dict[str, int]:
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


class _ModelServer:
    """The handlers of :func:`build_model_app`. Model calls run in a worker thread, one at a time."""

    def __init__(self, lm: TinyLM) -> None:
        import anyio

        self.lm = lm
        self.name = lm.config.name
        self.limiter = anyio.CapacityLimiter(1)

    async def run(self, fn: Any, *args: Any) -> Any:
        import anyio

        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    async def tokens(self, ids: list[int], n: int) -> AsyncIterator[int]:
        tok, past = await self.run(self.lm.prefill, ids)
        for i in range(n):
            yield tok
            if i + 1 < n:
                tok, past = await self.run(self.lm.step, tok, past)

    async def parse(self, request: Any, route: str) -> Any:
        """(body, prompt ids, max tokens), or an error response as the OpenAI API gives it."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object")
        ids = self.lm.encode(_prompt_text(route, body))
        n = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        if n < 1 or len(ids) + n > self.lm.config.n_positions:
            return _error(400, f"This model's maximum context length is {self.lm.config.n_positions} tokens; "
                               f"the request asks for {len(ids)} prompt + {n} completion tokens")
        return body, ids, n

    async def complete(self, request: Any, route: str) -> Any:
        from starlette.responses import JSONResponse, StreamingResponse

        parsed = await self.parse(request, route)
        if not isinstance(parsed, tuple):
            return parsed
        body, ids, n = parsed
        rid, created = f"cmpl-{time.time_ns():x}", int(time.time())
        if body.get("stream") is True:
            want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(self.sse(route, rid, created, ids, n, want_usage),
                                     media_type="text/event-stream")
        text = "".join([self.lm.decode_one(t) async for t in self.tokens(ids, n)])
        choice = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
                  if route == "chat" else {"index": 0, "text": text, "finish_reason": "length"})
        obj = "chat.completion" if route == "chat" else "text_completion"
        return JSONResponse({"id": rid, "object": obj, "created": created, "model": self.name,
                             "choices": [choice], "usage": _usage(len(ids), n)})

    async def sse(self, route: str, rid: str, created: int, ids: list[int], n: int,
                  want_usage: bool) -> AsyncIterator[bytes]:
        obj = "chat.completion.chunk" if route == "chat" else "text_completion"

        def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            d = {"id": rid, "object": obj, "created": created, "model": self.name, "choices": choices, **extra}
            return b"data: " + json.dumps(d).encode() + b"\n\n"

        def choice(text: str, finish: str | None = None) -> dict[str, Any]:
            if route == "chat":
                return {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
            return {"index": 0, "text": text, "finish_reason": finish}

        if route == "chat":
            yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        async for tok in self.tokens(ids, n):
            yield event([choice(self.lm.decode_one(tok))])
        yield event([choice("", "length")])
        if want_usage:
            yield event([], usage=_usage(len(ids), n))
        yield b"data: [DONE]\n\n"

    async def chat(self, request: Any) -> Any:
        return await self.complete(request, "chat")

    async def completions(self, request: Any) -> Any:
        return await self.complete(request, "completions")

    async def embeddings(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "request body is not valid JSON")
        inputs = body.get("input", "") if isinstance(body, dict) else ""
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        data, total = [], 0
        for i, text in enumerate(inputs):
            ids = self.lm.encode(str(text))[: self.lm.config.n_positions]
            total += len(ids)
            data.append({"object": "embedding", "index": i, "embedding": await self.run(self.lm.embed, ids)})
        return JSONResponse({"object": "list", "data": data, "model": self.name,
                             "usage": {"prompt_tokens": total, "total_tokens": total}})

    async def models(self, request: Any) -> Any:
        from starlette.responses import JSONResponse

        return JSONResponse({"object": "list",
                             "data": [{"id": self.name, "object": "model", "owned_by": "wattprint"}]})


def build_model_app(lm: TinyLM) -> Any:
    """An OpenAI-compatible Starlette app serving ``lm``."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    srv = _ModelServer(lm)
    return Starlette(routes=[
        Route("/v1/models", srv.models, methods=["GET"]),
        Route("/v1/chat/completions", srv.chat, methods=["POST"]),
        Route("/v1/completions", srv.completions, methods=["POST"]),
        Route("/v1/embeddings", srv.embeddings, methods=["POST"]),
    ])


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"n_positions": 1024},
    "gpt2-large": GPT2_LARGE,  # 774 M parameters with its 50,257-token vocabulary
}


def model_app_from_env() -> Any:
    """A model app configured by environment variables, for ``uvicorn --factory`` in another process:
    ``WATTPRINT_TEST_MODEL`` (a key of PRESETS, default tiny), ``WATTPRINT_TEST_DEVICE`` (cpu, cuda...),
    ``WATTPRINT_TEST_DTYPE`` (float32, float16, bfloat16)."""
    import os

    preset = os.environ.get("WATTPRINT_TEST_MODEL", "tiny")
    if preset not in PRESETS:
        from wattprint.core.errors import UnknownNameError

        raise UnknownNameError("test model", preset, PRESETS)
    config = TinyModelConfig(**PRESETS[preset], device=os.environ.get("WATTPRINT_TEST_DEVICE", "cpu"),
                             dtype=os.environ.get("WATTPRINT_TEST_DTYPE", "float32"),
                             name=f"wattprint-{preset}-random")
    return build_model_app(TinyLM(config))


def build_echo_app(tokens: int = 16) -> Any:
    """An upstream that answers at once with a fixed completion (JSON or SSE, ``tokens`` chunks)."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    usage = {"prompt_tokens": 8, "completion_tokens": tokens, "total_tokens": 8 + tokens}
    body = json.dumps({"id": "echo", "object": "chat.completion", "model": "echo", "usage": usage,
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": "x" * tokens},
                                    "finish_reason": "length"}]}).encode()
    chunk = json.dumps({"id": "echo", "object": "chat.completion.chunk", "model": "echo",
                        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]})
    stream = (f"data: {chunk}\n\n" * tokens + "data: [DONE]\n\n").encode()

    async def chat(request: Any) -> Any:
        raw = await request.body()
        if b'"stream": true' in raw or b'"stream":true' in raw:
            return Response(stream, media_type="text/event-stream")
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", timeout_s: float = 20.0,
                    proxy: bool = False) -> Iterator[str]:
    """Run ``app`` with uvicorn in an owned thread on ``host`` and an OS-assigned port; yields its URL.

    ``proxy``: run it as ``wattprint proxy`` does (:func:`wattprint.serve.proxy.server_options`, from the
    app's config when it is the proxy), or at least without uvicorn's own ``server`` and ``date`` headers
    (the upstream's pass through).
    """
    import uvicorn

    from wattprint.serve.proxy import ProxyApp, server_options

    options: dict[str, Any] = {"server_header": not proxy, "date_header": not proxy}
    if proxy and isinstance(app, ProxyApp):
        options = server_options(app.config)
    config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="auto", access_log=False,
                            **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="wattprint-serve-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)


def sim_gpu_meter(trace: Any, clock: Any = None, sampler_thread: bool = True, noise_w: float | None = None) -> Any:
    """A Meter over one simulated H100 (``wattprint.meter.sim``) drawing ``trace`` (a power trace).

    ``noise_w``: the simulated power field's jitter (None: the simulator's default; 0: exact plateaus)."""
    from wattprint.core.clock import SystemClock
    from wattprint.meter.backends.nvml import NvmlBackend
    from wattprint.meter.meter import Meter
    from wattprint.meter.sim.nvml import SimGpu, SimNvml

    clock = clock or SystemClock()
    gpu = SimGpu(trace=trace) if noise_w is None else SimGpu(trace=trace, noise_w=noise_w)
    backend = NvmlBackend(SimNvml([gpu], clock), gpus=[0], env={}, clock=clock)
    return Meter(backends=[backend], clock=clock, sampler_thread=sampler_thread)


@contextmanager
def running_proxy(upstream: str, meter: Any, config: Any = None, location: Any = None,
                  idle_power_w: dict[str, float] | None = None) -> Iterator[tuple[str, Any, Any]]:
    """The proxy on loopback in front of ``upstream``, accounting with ``meter``; yields (url, accountant,
    metrics). The accountant is closed (everything settled) on exit; the meter stays the caller's."""
    from wattprint.serve.accountant import Accountant
    from wattprint.serve.metrics import ServeMetrics
    from wattprint.serve.proxy import ProxyConfig, build_app

    metrics = ServeMetrics()
    acct = Accountant.from_meter(meter, config, idle_power_w=idle_power_w, location=location,
                                 metrics=metrics).start(wait_first_interval=2.0)
    # (a deployed proxy runs long before its first request; here requests follow at once)
    try:
        with serve_in_thread(build_app(acct, ProxyConfig(upstream), metrics), proxy=True) as url:
            yield url, acct, metrics
    finally:
        acct.close()


# ---- subprocess start-up shared by the proxy benchmarks (benchmarks/proxy_*.py) ---------------------
def free_port() -> int:
    """A free TCP port on loopback (asked of the OS; free when returned)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upstream_command(factory: str, port: int) -> list[str]:
    """uvicorn serving ``factory`` (``module:function`` returning an ASGI app) on loopback ``port``."""
    import sys

    return [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port), "--log-level", "warning",
            "--no-access-log"]


def proxy_command(upstream: str, port: int, *options: str) -> list[str]:
    """The real ``wattprint proxy`` command in front of ``upstream`` on loopback ``port``."""
    import sys

    return [sys.executable, "-m", "wattprint", "proxy", "--upstream", upstream, "--listen", f"127.0.0.1:{port}",
            *options]


@contextmanager
def running_process(args: list[str], ready_url: str, env: dict[str, str] | None = None,
                    timeout_s: float = 120.0) -> Iterator[Any]:
    """``args`` as a subprocess (output to a log file in $TMPDIR), yielded once ``ready_url`` answers;
    terminated on exit. Raises with the log's tail when it does not start within ``timeout_s``."""
    import os
    import subprocess
    from pathlib import Path

    import httpx

    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"wattprint-{Path(args[2]).name}-{os.getpid()}.log", "w+")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                httpx.get(ready_url, timeout=2.0, trust_env=False)  # loopback: never via an HTTP(S)_PROXY
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"{' '.join(args[:5])} did not start:\n{log.read()[-3000:]}") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
