"""Peers the API benchmark measures beside ours: LiteLLM's proxy, in its own virtual environment.

``ensure_litellm()`` installs ``litellm[proxy]`` (an exact version) into ``.bench/litellm`` with
that environment's own pip, never into the project's; ``litellm_proxy()`` runs it on 127.0.0.1
in front of the fake provider (``bench.stream_server``) until the block ends. Both raise
:class:`PeerUnavailable` with the reason (pip's or the proxy's last lines) when they cannot, so
``bench.api_bench --peers litellm`` says why and goes on with ours and the relay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
LITELLM_VENV = ROOT / ".bench" / "litellm"
#: An exact release, not "the latest": LiteLLM releases have been compromised on PyPI before,
#: and this is the newest one whose ``[proxy]`` extra resolves from PyPI here (1.108 and later
#: require ``litellm-proxy`` / ``litellm-proxy-extras`` releases that are not published).
LITELLM_VERSION = "1.106.12"
#: Nothing phones home: the model cost map is read from the package (not fetched from GitHub at
#: import), telemetry off, only errors logged. The proxy runs without a master key, as our server
#: runs with auth off: it listens on 127.0.0.1 only.
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
    "NO_PROXY": "*",
}


class PeerUnavailable(RuntimeError):
    """A peer could not be installed or started; the message says why."""


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def ensure_litellm() -> Path:
    """The ``litellm`` executable of ``.bench/litellm``, installing it there first if needed."""
    executable = LITELLM_VENV / "bin" / "litellm"
    site = LITELLM_VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    installed = site / "site-packages" / f"litellm-{LITELLM_VERSION}.dist-info"
    if executable.exists() and installed.exists():
        return executable
    base = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    )
    print(f"  installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} ...", flush=True)
    steps = [
        [str(base), "-m", "venv", str(LITELLM_VENV)],
        [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
    ]
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=900, cwd=tempfile.gettempdir()
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PeerUnavailable(f"{' '.join(step[:3])}: {error}") from error
        if done.returncode != 0:
            raise PeerUnavailable(
                f"{' '.join(step[:3])} failed:\n{_tail(done.stderr + done.stdout)}"
            )
    if not executable.exists():
        raise PeerUnavailable(f"installed, but {executable} is missing")
    return executable


def litellm_config(provider_url: str, models: Sequence[str]) -> dict[str, object]:
    """Each benchmark model served as ``openai/<model>`` from the fake provider."""
    return {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"openai/{model}",
                    "api_base": provider_url,
                    "api_key": "k",
                },
            }
            for model in models
        ],
        "litellm_settings": {"telemetry": False, "callbacks": [], "success_callback": []},
    }


@contextmanager
def litellm_proxy(
    provider_url: str, models: Sequence[str], port: int, pin: Sequence[str] = ()
) -> Iterator[tuple[str, int]]:
    """LiteLLM's proxy (one worker, as installed) until the block ends: its base URL and pid."""
    executable = ensure_litellm()
    with tempfile.TemporaryDirectory(prefix="litellm-bench-") as work:
        config = Path(work) / "config.yaml"
        # JSON is YAML: no YAML writer needed on our side.
        config.write_text(json.dumps(litellm_config(provider_url, models)))
        log_path = Path(work) / "proxy.log"
        command = [
            *pin,
            str(executable),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ]
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                command,
                cwd=work,
                env={**os.environ, **LITELLM_ENV},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise PeerUnavailable(
                        f"litellm exited with {proc.returncode}:\n{_tail(log_path.read_text())}"
                    )
                if time.monotonic() > deadline:
                    raise PeerUnavailable(
                        f"litellm did not answer /health/liveliness within 120 s:\n"
                        f"{_tail(log_path.read_text())}"
                    )
                try:
                    if httpx2.get(f"{base}/health/liveliness", timeout=1).status_code == 200:
                        break
                except httpx2.HTTPError:
                    pass
                time.sleep(0.2)
            yield base, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
