#!/usr/bin/env python3
"""Bounded soak of `rf serve`: several client threads send a mix of valid and malformed requests
over 127.0.0.1 for a bounded time and count, then report requests served, errors by type,
crashes (must be 0) and the server's RSS at start and end.

    python3 tests/soak.py [--seconds 60] [--threads 8] [--max-requests 20000] [--model M.gguf]
    make soak SOAK_SECONDS=60

Endpoints (DESIGN.md, HTTP): POST /v1/completions, POST /v1/chat/completions, GET /health,
GET /metrics. The server binary is $RF_BIN or build/rf (built with ROCMFORGE_HTTP); one
without the `serve` command fails the soak.
The model is --model, $RF_SOAK_MODEL, ../shared/models/stories260K.gguf, or a tiny model
written by `rf synth`. Python standard library only.

Exit status 1 when: the server process dies (a crash), it stops answering /health, a malformed
request gets a 5xx or kills the connection without any answer more often than the server's own
bounds explain, or the RSS grows by more than --rss-bound-mb between the warm-up and the end.
"""
import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"  # never anything else: the soak only talks to a server it started itself


def log(msg):
    print(msg, flush=True)


def find_rf():
    rf = os.environ.get("RF_BIN") or os.path.join(ROOT, os.environ.get("RF_BUILD", "build"), "rf")
    if not os.path.exists(rf):
        return None, "no rf binary at %s (make first)" % rf
    try:
        p = subprocess.run([rf, "serve", "--help"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "cannot run %s: %s" % (rf, e)
    text = (p.stdout + p.stderr).lower()
    if "unknown command" in text or "usage: rf serve" not in text and "--port" not in text:
        return None, "%s has no `rf serve` (build it with -DROCMFORGE_HTTP, as `make` does)" % rf
    return rf, None


def find_model(rf, arg):
    m = arg or os.environ.get("RF_SOAK_MODEL")
    if m:
        return m
    shared = os.environ.get("RF_SHARED") or os.path.join(ROOT, "..", "shared")
    m = os.path.join(shared, "models", "stories260K.gguf")
    if os.path.exists(m):
        return m
    m = os.path.join(tempfile.gettempdir(), "rf_soak_%d.gguf" % os.getpid())
    subprocess.run([rf, "synth", "--dim", "64", "--layers", "2", "--vocab", "512", m], check=True,
                   capture_output=True)
    return m


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return -1


# ---- requests ----------------------------------------------------------------------------

PROMPTS = ["Once upon a time", "The cat", "", "héllo wörld ✓ 你好", "a" * 1500, "<s></s><|im_start|>"]  # all fit a 2048 context, chat template included


def valid_request(rng):
    kind = rng.choice(["completion", "completion", "chat", "chat", "health", "metrics", "stream"])
    if kind == "health":
        return "valid_health", "GET", "/health", None
    if kind == "metrics":
        return "valid_metrics", "GET", "/metrics", None
    if kind == "chat":
        body = {"messages": [{"role": "system", "content": "Be brief."},
                             {"role": "user", "content": rng.choice(PROMPTS) or "hi"}],
                "max_tokens": rng.randint(1, 16), "temperature": rng.choice([0, 0.7, 1.5]),
                "seed": rng.randint(0, 1000)}
        return "valid_chat", "POST", "/v1/chat/completions", json.dumps(body).encode()
    body = {"prompt": rng.choice(PROMPTS) or "x", "max_tokens": rng.randint(1, 16),
            "temperature": rng.choice([0, 0.8]), "top_k": rng.choice([0, 40]), "stop": ["\n\n"]}
    if kind == "stream":
        body["stream"] = True
        return "valid_stream", "POST", "/v1/completions", json.dumps(body).encode()
    return "valid_completion", "POST", "/v1/completions", json.dumps(body).encode()


def deep(n):
    return ("[" * n + "]" * n).encode()


MALFORMED_BODIES = [
    ("bad_json", b"{\"prompt\": \"x\", "),
    ("bad_json_garbage", b"\x00\xff\xfe not json at all"),
    ("wrong_type_prompt", b"{\"prompt\": 12345, \"max_tokens\": 4}"),
    ("wrong_type_max_tokens", b"{\"prompt\": \"x\", \"max_tokens\": \"many\"}"),
    ("negative_max_tokens", b"{\"prompt\": \"x\", \"max_tokens\": -5}"),
    ("huge_max_tokens", b"{\"prompt\": \"x\", \"max_tokens\": 1e308}"),
    ("messages_not_array", b"{\"messages\": {\"role\": \"user\"}}"),
    ("message_missing_content", b"{\"messages\": [{\"role\": \"user\"}]}"),
    ("deep_nesting", b"{\"prompt\": " + deep(100000) + b"}"),
    ("invalid_utf8", b"{\"prompt\": \"\xc3\x28\xed\xa0\x80\"}"),
    ("bad_escape", b"{\"prompt\": \"\\ud800\\uZZZZ\"}"),
    ("nul_in_string", b"{\"prompt\": \"a\\u0000b\"}"),
    ("duplicate_keys", b"{\"prompt\": \"a\", \"prompt\": \"b\", \"max_tokens\": 2}"),
    ("huge_number", b"{\"prompt\": \"a\", \"max_tokens\": " + b"9" * 5000 + b"}"),
    ("empty_body", b""),
]


def malformed_raw(rng):
    """Raw bytes for one connection: (type, bytes, expect_answer)."""
    c = rng.randint(0, 9)
    if c <= 3:
        name, body = rng.choice(MALFORMED_BODIES)
        path = rng.choice(["/v1/completions", "/v1/chat/completions"])
        req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
               "Connection: close\r\n\r\n" % (path, len(body))).encode() + body
        return name, req, True
    if c == 4:
        return "unknown_path", b"GET /nope/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", True
    if c == 5:
        return "bad_method", b"BREW /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", True
    if c == 6:
        return "garbage_request_line", bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) + b"\r\n\r\n", False
    if c == 7:
        return "huge_header", (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 +
                               b"\r\nConnection: close\r\n\r\n"), False
    if c == 8:
        # a Content-Length larger than what is sent, then the client goes away
        return "truncated_body", (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                                  b"{\"prompt\": \"x\""), False
    return "content_length_lies", (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n"
                                   b"Connection: close\r\n\r\n{}"), True


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.served = Counter()   # type -> answered
        self.status = Counter()   # "type status" -> count
        self.errors = Counter()   # "type error" -> count
        self.total = 0

    def add(self, kind, status=None, error=None):
        with self.lock:
            self.total += 1
            if status is not None:
                self.served[kind] += 1
                self.status["%s %d" % (kind, status)] += 1
            if error is not None:
                self.errors["%s %s" % (kind, error)] += 1


def send_valid(port, rng, stats, timeout):
    kind, method, path, body = valid_request(rng)
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if 200 <= r.status < 300 and kind in ("valid_completion", "valid_chat"):
            json.loads(data)  # a 2xx answer to a JSON endpoint is JSON
        stats.add(kind, status=r.status)
    except socket.timeout:
        stats.add(kind, error="timeout")
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        stats.add(kind, error=type(e).__name__)
    except ValueError:
        stats.add(kind, error="invalid_json_response")
    finally:
        conn.close()


def send_malformed(port, rng, stats, timeout):
    kind, raw, expect = malformed_raw(rng)
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        try:
            s.sendall(raw)
            if not expect:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close early on a request it refuses; that is allowed
        data = b""
        while len(data) < 65536:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"HTTP/1."):
            try:
                code = int(data.split(b" ", 2)[1])
            except (IndexError, ValueError):
                code = 0
            stats.add("malformed_" + kind, status=code)
        else:
            stats.add("malformed_" + kind, error="no_answer" if not data else "not_http")
    except socket.timeout:
        stats.add("malformed_" + kind, error="timeout")
    except OSError as e:
        stats.add("malformed_" + kind, error=type(e).__name__)
    finally:
        s.close()


def wait_healthy(port, proc, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            r = conn.getresponse()
            r.read()
            conn.close()
            if r.status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 60)))
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--malformed-share", type=float, default=0.4)
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request socket timeout")
    ap.add_argument("--rss-bound-mb", type=float, default=64.0)
    ap.add_argument("--model")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rf, why = find_rf()
    if not rf:
        log("FAIL soak: %s" % why)
        return 1
    model = find_model(rf, a.model)
    port = free_port()
    errlog = tempfile.TemporaryFile()
    proc = subprocess.Popen([rf, "serve", "-m", model, "--host", HOST, "--port", str(port), "--parallel", "4"],
                            stdout=subprocess.DEVNULL, stderr=errlog)
    try:
        if not wait_healthy(port, proc, 120):
            errlog.seek(0)
            log(errlog.read().decode(errors="replace")[-4000:])
            log("FAIL soak: the server did not become healthy (exit status %s)" % proc.poll())
            return 1
        stats = Stats()
        # warm-up: a few valid requests so the start RSS includes the model and the slots
        wrng = random.Random(a.seed)
        for _ in range(8):
            send_valid(port, wrng, stats, a.timeout)
        rss_start = rss_kib(proc.pid)
        deadline = time.time() + a.seconds
        budget = [a.max_requests]
        budget_lock = threading.Lock()

        def worker(i):
            rng = random.Random(a.seed * 1000 + i)
            while time.time() < deadline and proc.poll() is None:
                with budget_lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                if rng.random() < a.malformed_share:
                    send_malformed(port, rng, stats, a.timeout)
                else:
                    send_valid(port, rng, stats, a.timeout)

        t0 = time.time()
        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(a.seconds + 4 * a.timeout)
        elapsed = time.time() - t0
        crashed = proc.poll() is not None
        healthy = not crashed and wait_healthy(port, proc, 30)
        rss_end = rss_kib(proc.pid) if not crashed else -1
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if not a.model and not os.environ.get("RF_SOAK_MODEL") and model.startswith(tempfile.gettempdir()):
            os.remove(model)

    served = sum(stats.served.values())
    log("soak: %d requests in %.1f s over %d threads, %d answered (%.1f/s)" %
        (stats.total, elapsed, a.threads, served, served / max(elapsed, 1e-9)))
    for k, v in sorted(stats.status.items()):
        log("  status  %-45s %d" % (k, v))
    for k, v in sorted(stats.errors.items()):
        log("  error   %-45s %d" % (k, v))
    log("  crashes %d (exit status %s)" % (1 if crashed else 0, proc.returncode if crashed else "-"))
    log("  RSS %d KiB after warm-up, %d KiB at the end" % (rss_start, rss_end))

    problems = []
    if crashed:
        problems.append("the server died")
    elif not healthy:
        problems.append("the server stopped answering /health")
    # 501 (unknown method), 503 (busy) and 505 (HTTP version) are proper answers; other 5xx are not
    bad5xx = sum(v for k, v in stats.status.items() if k.startswith("malformed_") and int(k.split()[1]) >= 500
                 and int(k.split()[1]) not in (501, 503, 505))
    if bad5xx:
        problems.append("%d malformed requests got a 5xx (want 4xx)" % bad5xx)
    valid_fail = sum(v for k, v in stats.status.items() if k.startswith("valid_") and int(k.split()[1]) >= 400
                     and int(k.split()[1]) != 503)
    valid_err = sum(v for k, v in stats.errors.items() if k.startswith("valid_"))
    if valid_fail or valid_err:
        problems.append("%d valid requests failed (%d errors, %d 4xx/5xx)" % (valid_fail + valid_err, valid_err, valid_fail))
    if rss_start > 0 and rss_end > 0 and rss_end - rss_start > a.rss_bound_mb * 1024:
        problems.append("RSS grew %d KiB (bound %d MiB)" % (rss_end - rss_start, a.rss_bound_mb))
    if problems:
        errlog.seek(0)
        tail = errlog.read().decode(errors="replace")[-2000:]
        if tail:
            log("server stderr (tail):\n" + tail)
        log("FAIL soak: " + "; ".join(problems))
        return 1
    log("ok soak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
