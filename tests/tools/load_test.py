#!/usr/bin/env python3
"""A bounded loopback load test for rf serve: C clients send R requests in all (each a
/v1/completions with greedy sampling and max_tokens tokens), within a time limit. Prints one
JSON line: requests, failures, completion tokens, wall seconds, aggregate tokens/s.

    python3 tests/tools/load_test.py --port 8080 --clients 8 --requests 32 --max-tokens 64

Only 127.0.0.1 is ever contacted; every loop is bounded by --requests and --time-limit."""
import argparse
import http.client
import json
import threading
import time

PROMPTS = ["Once upon a time", "The little dog", "One day, a girl named", "The sun was", "Tom and his friend",
           "In the park there was", "A big red ball", "Mom said"]


def one(port, prompt, max_tokens, timeout):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", "/v1/completions", json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            return None
        return json.loads(body)["usage"]["completion_tokens"]
    finally:
        c.close()


def run(port, clients, requests, max_tokens, time_limit):
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "fail": 0, "tokens": 0}
    deadline = time.monotonic() + time_limit

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if state["next"] >= requests:
                    return
                i = state["next"]
                state["next"] += 1
            try:
                n = one(port, PROMPTS[i % len(PROMPTS)], max_tokens, max(1.0, deadline - time.monotonic()))
            except Exception:
                n = None
            with lock:
                if n is None:
                    state["fail"] += 1
                else:
                    state["ok"] += 1
                    state["tokens"] += n

    t0 = time.monotonic()
    th = [threading.Thread(target=worker) for _ in range(clients)]
    for t in th:
        t.start()
    for t in th:
        t.join(time_limit + 5)
    wall = time.monotonic() - t0
    return {"clients": clients, "requests": state["ok"] + state["fail"], "ok": state["ok"], "failed": state["fail"],
            "completion_tokens": state["tokens"], "wall_s": round(wall, 3),
            "tokens_per_s": round(state["tokens"] / wall, 1) if wall > 0 else 0.0}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--time-limit", type=float, default=120)
    a = ap.parse_args()
    print(json.dumps(run(a.port, a.clients, min(a.requests, 10000), a.max_tokens, min(a.time_limit, 3600))))
