"""Life of the embedded llama.cpp OpenAI-compatible server (llama-cpp-python's ``llama_cpp.server``)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from core.settings import LLMSettings

log = logging.getLogger(__name__)


class LlamaServerError(RuntimeError):
    """The embedded server could not start or stay up."""


class EmbeddedLlamaServer:
    """Starts the server as a child process, waits until it answers, restarts it if it dies."""

    def __init__(self, settings: LLMSettings, model_path: Path, log_path: Path | None = None) -> None:
        self._settings = settings
        self._model_path = model_path
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._private_dir: Path | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._settings.port

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible endpoint (``…/v1``)."""
        return f"http://{self._settings.host}:{self._settings.port}/v1"

    def lora_models(self) -> dict[str, Path]:
        """Adapters the server loads (``llm.adapters`` with a ``path``): served model name → GGUF LoRA."""
        s = self._settings
        return {s.served_model(name): a.path for name, a in sorted(s.adapters.items()) if a.path is not None}

    def models_config(self) -> dict[str, object]:
        """llama-cpp-python's ``--config_file``: the base model and, under its own alias, the base with each
        adapter applied (the server loads the one a request's ``model`` names, the base for others)."""
        s = self._settings
        base: dict[str, object] = {
            "model": str(self._model_path),
            "model_alias": s.model,
            "n_ctx": s.context_size,
            "n_threads": s.threads,
        }
        if s.chat_format:
            base["chat_format"] = s.chat_format
        models = [base]
        models += [
            {**base, "model_alias": alias, "lora_path": str(path)}
            for alias, path in self.lora_models().items()
        ]
        return {"host": s.host, "port": s.port, "models": models}

    def _config_path(self) -> Path:
        if self._log_path is not None:
            return self._log_path.parent / f"llama-models-{self._settings.port}.json"
        if self._private_dir is None:  # never a guessable name in the shared temp folder (symlink planting)
            self._private_dir = Path(tempfile.mkdtemp(prefix="jikji-llama-"))
        return self._private_dir / f"llama-models-{self._settings.port}.json"

    def command(self) -> list[str]:
        """The command line that starts the server (with adapters: through a models config file)."""
        s = self._settings
        if self.lora_models():
            return [sys.executable, "-m", "llama_cpp.server", "--config_file", str(self._config_path())]
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self._model_path),
            "--model_alias", s.model,
            "--host", s.host,
            "--port", str(s.port),
            "--n_ctx", str(s.context_size),
            "--n_threads", str(s.threads),
        ]  # fmt: skip
        if s.chat_format:  # empty: the GGUF's own template
            cmd += ["--chat_format", s.chat_format]
        return cmd

    def start(self, *, watch: bool = True) -> None:
        """Start the server and block until it serves ``/v1/models``."""
        if not self._model_path.exists():
            msg = f"Model file not found: {self._model_path}"
            raise LlamaServerError(msg)
        for alias, path in self.lora_models().items():
            if not path.is_file():
                msg = f"LoRA adapter file of {alias!r} not found: {path} (a GGUF LoRA, see jikji finetune)"
                raise LlamaServerError(msg)
        if self.lora_models():
            self._config_path().write_text(
                json.dumps(self.models_config(), ensure_ascii=False), encoding="utf-8"
            )
        if self.is_healthy():
            msg = (
                f"Port {self._settings.port} already serves an LLM; stop it or set JIKJI_LLM__BASE_URL "
                f"to use it / 포트 {self._settings.port}에서 이미 다른 서버가 실행 중입니다."
            )
            raise LlamaServerError(msg)
        self._spawn()
        self.wait_ready()
        if watch:
            self._watchdog = threading.Thread(target=self._watch, name="llama-watchdog", daemon=True)
            self._watchdog.start()

    def _spawn(self) -> None:
        output = self._log_path.open("ab") if self._log_path else subprocess.DEVNULL
        # Unbuffered, so the log shows requests (and client disconnects) as they happen.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(self.command(), stdout=output, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self) -> None:
        """Poll the server until it answers or the start-up timeout passes."""
        deadline = time.monotonic() + self._settings.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                msg = f"llama.cpp server exited with code {self._process.returncode} (see its log)"
                raise LlamaServerError(msg)
            if self.is_healthy():
                return
            time.sleep(0.3)
        self.stop()
        msg = f"llama.cpp server did not answer within {self._settings.startup_timeout_s:.0f}s"
        raise LlamaServerError(msg)

    def is_healthy(self) -> bool:
        """Whether the server answers ``GET /v1/models``."""
        try:
            return httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _watch(self) -> None:
        while not self._stopping.wait(2.0):
            process = self._process
            if process is not None and process.poll() is not None:
                log.warning("llama.cpp server died (code %s); restarting", process.returncode)
                try:
                    self._spawn()
                    self.wait_ready()
                except LlamaServerError:
                    log.exception("llama.cpp server restart failed")

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        self._stopping.set()
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
