"""rf_ctx_decode_batch on the architectures of tests/tools/hf_fixtures.py: every fixture GGUF
(mixtral MoE, mistral and gemma3 with 8-position sliding windows, qwen2/3, phi3, ...) decoded in
a batch of contexts at different positions against each context alone (tests/test_batch.c does
the comparing; its header states the tolerance)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
import rftest  # noqa: E402

TOOL = os.path.join(rftest.BUILD, "tests", "test_batch")

if __name__ == "__main__":
    try:
        rftest.need_gguf()
    except rftest.Skip as e:
        print("skip batch_decode_hf_fixtures: %s" % e)
        sys.exit(0)
    import hf_fixtures
    with tempfile.TemporaryDirectory() as d:
        paths = hf_fixtures.write_all(d)
        p = subprocess.run([TOOL] + [paths[k] for k in sorted(paths)], capture_output=True, text=True, timeout=600)
        sys.stdout.write(p.stdout.replace(d + "/", ""))
        if p.returncode != 0 and "FAIL" not in p.stdout:
            print("FAIL batch_decode_hf_fixtures: exit %d %s" % (p.returncode, p.stderr[-500:]))
    sys.exit(0 if p.returncode == 0 else 1)
