"""examples/embed.c, the README's embedding example, runs: it prints its prompt-token count, the
prompt, a continuation, and a speed line, and exits 0; and it fails cleanly on a missing file."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

EMBED = os.path.join(rftest.BUILD, "embed")
RF = os.path.join(rftest.BUILD, "rf")


def embed_generates():
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "tiny.gguf")
        subprocess.run([RF, "synth", "--dim", "64", "--vocab", "400", model], check=True, capture_output=True)
        p = subprocess.run([EMBED, model, "Once upon a time"], capture_output=True, timeout=120)
        out = p.stdout.decode("utf-8", "replace")
        assert p.returncode == 0, p.stderr
        assert out.startswith("[") and "prompt tokens]\nOnce upon a time" in out, out
        m = re.search(r"\n\[(\d+) tokens, [0-9.]+ tokens/s\]\n$", out)
        assert m and 1 <= int(m.group(1)) <= 48, out  # 48 unless the model samples its end token
        p = subprocess.run([EMBED, os.path.join(d, "missing.gguf"), "x"], capture_output=True, timeout=60)
        assert p.returncode == 1 and b"RF_ERR_IO" in p.stderr, p.stderr


if __name__ == "__main__":
    rftest.run(embed_generates)
    sys.exit(rftest.exit_code())
