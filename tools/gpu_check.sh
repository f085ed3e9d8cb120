#!/usr/bin/env bash
# The GPU check: on a machine with a real NVIDIA GPU, run vumeter's GPU tests and the demo with
# NVML polling, and check that gpu_memory_usage_bytes and gpu_memory_total_bytes are non-zero.
#
#   tools/gpu_check.sh            # from the repository root; a few minutes; exit 0 = PASS
#
# It sets itself up: it uses .venv if vumeter is built there (or python3, if that has vumeter
# and the test dependencies), else runs `make build-dev` (creates .venv, installs the Python
# dependencies, builds the extension: needs PyPI and a Rust toolchain, a few minutes). On a
# host without network, point VUMETER_WHEELHOUSE at a directory of wheels (vumeter's, built
# with `maturin build --release`, and its dependencies', from `pip download -r` of
# tools/requirements.py's output) and it installs from there.
# Logs go to $OUT when set (the device runner brings that folder back), else a temporary
# directory; the summary at the end says PASS or FAIL for each step.
#
# Without a GPU it stops after the first step with a FAIL saying so. GPU_CHECK_ALL_STEPS=1 runs
# every step anyway, to see each one's failure message on a machine without a GPU.
#
# Nothing in CI depends on this script (CI has no GPU); tests/tools/test_gpu_check.py checks
# its syntax, shellcheck, and that it fails clearly without a GPU.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 2
LOGS="${OUT:-$(mktemp -d -t vumeter-gpu-check.XXXXXX)}"
mkdir -p "$LOGS"
SETUP_TIMEOUT_S="${GPU_CHECK_SETUP_TIMEOUT_S:-600}"
DEMO_SECONDS="${GPU_CHECK_DEMO_SECONDS:-60}"
declare -a SUMMARY=()
FAILED=0

say() { printf '[gpu_check] %s\n' "$*"; }

record() { # record STATUS STEP MESSAGE
    SUMMARY+=("$(printf '%-4s %-10s %s' "$1" "$2" "$3")")
    say "$1 $2: $3"
    if [ "$1" = FAIL ]; then FAILED=1; fi
}

finish() {
    echo
    echo "================ vumeter GPU check ================"
    printf '%s\n' "${SUMMARY[@]}"
    echo "logs: $LOGS"
    if [ "$FAILED" -eq 0 ]; then
        echo "RESULT: PASS"
        exit 0
    fi
    echo "RESULT: FAIL"
    exit 1
}

continue_without_gpu() {
    [ "${GPU_CHECK_ALL_STEPS:-0}" = 1 ]
}

# -- 1. the GPU and its driver, as the system sees them -----------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1; then
    record FAIL gpu "nvidia-smi not found: no NVIDIA driver on this machine (needs a GPU host)"
elif ! nvidia-smi -L >"$LOGS/nvidia-smi.txt" 2>&1; then
    record FAIL gpu "nvidia-smi -L failed: $(head -c 300 "$LOGS/nvidia-smi.txt")"
elif ! grep -q '^GPU ' "$LOGS/nvidia-smi.txt"; then
    record FAIL gpu "nvidia-smi lists no GPU"
else
    record PASS gpu "$(grep -c '^GPU ' "$LOGS/nvidia-smi.txt") GPU(s): $(head -n 1 "$LOGS/nvidia-smi.txt")"
fi
if [ "$FAILED" -ne 0 ] && ! continue_without_gpu; then
    record SKIP rest "setup, NVML, GPU tests and demo need a GPU (GPU_CHECK_ALL_STEPS=1 runs them)"
    finish
fi

# -- 2. a Python environment with vumeter built ---------------------------------------------
PY=.venv/bin/python
ready() {
    [ -x "$PY" ] && "$PY" -c 'import vumeter._native, pynvml, pytest, aiohttp' >/dev/null 2>&1
}
if ready; then
    record PASS setup "using the existing .venv ($("$PY" --version 2>&1))"
elif PY="$(command -v python3)" && ready; then
    record PASS setup "using $PY, which has vumeter and the test dependencies"
elif PY=.venv/bin/python && [ -n "${VUMETER_WHEELHOUSE:-}" ]; then
    say "installing from the wheelhouse $VUMETER_WHEELHOUSE (log: $LOGS/setup.log)"
    # Every requirement the tests import (tools/requirements.py reads pyproject.toml), then
    # vumeter itself.
    if { python3 -m venv .venv &&
        python3 tools/requirements.py >"$LOGS/requirements.txt" &&
        timeout "$SETUP_TIMEOUT_S" "$PY" -m pip install --no-index \
            --find-links "$VUMETER_WHEELHOUSE" -r "$LOGS/requirements.txt" vumeter; } \
        >"$LOGS/setup.log" 2>&1 && ready; then
        record PASS setup "installed from $VUMETER_WHEELHOUSE"
    else
        record FAIL setup "installing from $VUMETER_WHEELHOUSE failed: $(tail -n 3 "$LOGS/setup.log")"
    fi
else
    say "building with make build-dev, up to ${SETUP_TIMEOUT_S} s (log: $LOGS/setup.log)"
    if timeout "$SETUP_TIMEOUT_S" make build-dev >"$LOGS/setup.log" 2>&1 && ready; then
        record PASS setup "built with make build-dev"
    else
        record FAIL setup "make build-dev failed or timed out (offline? set VUMETER_WHEELHOUSE): $(tail -n 3 "$LOGS/setup.log")"
    fi
fi
if ! ready; then
    record SKIP rest "no Python environment with vumeter: NVML, GPU tests and demo not run"
    finish
fi

# -- 3. NVML through nvidia-ml-py, as vumeter uses it ----------------------------------------
if "$PY" - >"$LOGS/nvml.txt" 2>&1 <<'EOF'; then
import pynvml

pynvml.nvmlInit()
try:
    count = pynvml.nvmlDeviceGetCount()
    assert count > 0, "NVML sees no GPU"
    for index in range(count):
        memory = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
        print(f"gpu {index}: {memory.used} of {memory.total} bytes used")
finally:
    pynvml.nvmlShutdown()
EOF
    record PASS nvml "$(tr '\n' ';' <"$LOGS/nvml.txt")"
else
    record FAIL nvml "$(tail -n 1 "$LOGS/nvml.txt")"
fi

# -- 4. vumeter's tests that need a real GPU (they skip elsewhere; here a skip is a failure) -----
GPU_TESTS="test_real_gpu_readings or test_gpu_check_passes_on_a_gpu_machine"
timeout 300 "$PY" -m pytest tests -q -p no:cacheprovider -k "$GPU_TESTS" \
    --junitxml="$LOGS/gpu-tests.xml" >"$LOGS/gpu-tests.log" 2>&1
if "$PY" - "$LOGS/gpu-tests.xml" >>"$LOGS/gpu-tests.log" 2>&1 <<'EOF'; then
import sys
import xml.etree.ElementTree as ET

suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
tests, failed, errors, skipped = (
    int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")
)
passed = tests - failed - errors - skipped
print(
    f"{passed} passed, {failed} failed, {errors} errors, {skipped} skipped of {tests}"
    + (" (they skip when NVML sees no GPU)" if skipped else "")
)
sys.exit(0 if passed >= 2 and passed == tests else 1)
EOF
    record PASS tests "GPU tests: $(tail -n 1 "$LOGS/gpu-tests.log")"
else
    record FAIL tests "GPU tests: $(tail -n 1 "$LOGS/gpu-tests.log") (log: $LOGS/gpu-tests.log)"
fi

# -- 5. the demo with NVML polling: the GPU series in its /metrics -------------------------------
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$PY" -m vumeter.cli demo --host 127.0.0.1 --port "$PORT" --duration 0 --workers 2 \
    --gpu-poll-interval 1 --grace-period 1 >"$LOGS/demo.out" 2>"$LOGS/demo.err" &
DEMO=$!
if "$PY" - "http://127.0.0.1:$PORT/metrics" "$DEMO_SECONDS" >"$LOGS/demo-metrics.txt" 2>&1 <<'EOF'; then
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

url, seconds = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + seconds
problem = "the demo never answered"
while time.monotonic() < deadline:
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError as error:
        problem = f"/metrics did not answer: {error}"
        time.sleep(1)
        continue
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in ("gpu_memory_usage_bytes", "gpu_memory_total_bytes"):
                values.setdefault(sample.name, {})[sample.labels.get("gpu_id")] = sample.value
            if sample.name == "vumeter_gpu_monitor_up":
                values["up"] = {None: sample.value}
    usage = values.get("gpu_memory_usage_bytes", {})
    total = values.get("gpu_memory_total_bytes", {})
    if usage and total and all(v > 0 for v in [*usage.values(), *total.values()]):
        for gpu in sorted(total):
            print(f"gpu_id={gpu}: usage {usage.get(gpu)} of total {total[gpu]} bytes")
        sys.exit(0)
    problem = (
        f"gpu_memory_usage_bytes={usage or 'absent'}, gpu_memory_total_bytes={total or 'absent'}, "
        f"vumeter_gpu_monitor_up={values.get('up', {}).get(None, 'absent')}"
    )
    time.sleep(1)
print(f"within {seconds:g} s: {problem}")
sys.exit(1)
EOF
    record PASS demo "$(tr '\n' ';' <"$LOGS/demo-metrics.txt")"
else
    record FAIL demo "$(tail -n 1 "$LOGS/demo-metrics.txt") (demo log: $LOGS/demo.err)"
fi
kill -TERM "$DEMO" 2>/dev/null
if timeout 30 tail --pid="$DEMO" -f /dev/null; then
    wait "$DEMO"
    CODE=$?
    if [ "$CODE" -eq 0 ]; then
        record PASS drain "the demo exited 0 after SIGTERM"
    else
        record FAIL drain "the demo exited $CODE after SIGTERM (log: $LOGS/demo.err)"
    fi
else
    kill -KILL "$DEMO" 2>/dev/null
    record FAIL drain "the demo did not exit within 30 s of SIGTERM"
fi

finish
