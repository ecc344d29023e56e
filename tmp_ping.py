import asyncio, json, sys, time, os
import psutil
from fastapi import FastAPI, Header
from fastapi.responses import Response
from bench import api as B
from bots.http.app import http_server
from core import eventloop
from core.config import Settings

async def main():
    app = FastAPI()
    @app.get("/ping")
    async def ping() -> Response:
        return Response(b'{"data": 1}', media_type="application/json")
    @app.get("/ping2")
    async def ping2(type: str, x_api_key: str | None = Header(None)) -> Response:
        return Response(b'{"data": 1}', media_type="application/json")
    settings = Settings.model_validate({"api": {"port": 0}})
    async with http_server(app, settings.api) as port:
        for path in ("/ping", "/ping2?type=popular"):
            os.environ["IDKARR_BENCH_PATH"] = path
            before = sum(psutil.Process().cpu_times()[:2])
            r = await B._run_load(port, "k", "discovery", 5, 100, [])
            used = sum(psutil.Process().cpu_times()[:2]) - before
            print(path, r["count"] / r["elapsed"], "req/s", used / r["count"] * 1000, "ms cpu/call")
eventloop.run(main())
