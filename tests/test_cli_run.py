"""rf run and rf chat, end to end: tokenizer + forward pass + sampler + detokenizer.

The text check is against llama.cpp (../shared/reference): for each prompt, greedy `rf run`
prints the prompt followed by exactly llama.cpp's detokenized 64-token continuation (the
reference README: "<s> " + prompt + text equals llama-simple's stdout).
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

RF = os.path.join(rftest.BUILD, "rf")
TMP = tempfile.TemporaryDirectory()


def rf(*args, stdin=None, check=True):
    p = subprocess.run([RF, *args], capture_output=True, text=True, errors="replace", timeout=300, input=stdin)
    if check and p.returncode != 0:
        raise AssertionError("rf %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    return p


def stories():
    shared = rftest.shared_dir()
    if not shared:
        raise rftest.Skip("../shared not present (stories260K and llama.cpp's reference live there)")
    return shared, os.path.join(shared, "models", "stories260K.gguf")


def synth_model(arch="llama"):
    path = os.path.join(TMP.name, "synth-%s.gguf" % arch)
    if not os.path.exists(path):
        rf("synth", "--arch", arch, "--dim", "64", "--layers", "2", "--heads", "4", "--vocab", "400", path)
    return path


def run_text_equals_llamacpp():
    shared, model = stories()
    for ref_name, model_rel in (("stories260K.greedy.json", "stories260K.gguf"),
                                ("stories260K-F16.greedy.json", "derived/stories260K-F16.gguf")):
        ref = json.load(open(os.path.join(shared, "reference", ref_name)))
        for case in ref["cases"]:
            p = rf("run", "-m", os.path.join(shared, "models", model_rel), "-p", case["prompt"], "-n", "64", "--temp", "0")
            assert p.stdout == case["prompt"] + case["text"] + "\n", (case["prompt"], p.stdout, case["text"])
            assert "generation: 64 tokens" in p.stderr, p.stderr


def run_seed_is_deterministic():
    model = synth_model()
    args = ["run", "-m", model, "-p", "abc", "-n", "24", "--temp", "1.0", "--top-k", "0", "--top-p", "1", "--min-p", "0"]
    a = rf(*args, "--seed", "5").stdout
    b = rf(*args, "--seed", "5").stdout
    c = rf(*args, "--seed", "6").stdout
    assert a == b, "same seed, different text"
    assert a != c, "different seeds, same text"


def run_stops_before_stop_string():
    _, model = stories()
    full = rf("run", "-m", model, "-p", "Once upon a time", "-n", "64", "--temp", "0").stdout
    cut = full.index("Lily")
    p = rf("run", "-m", model, "-p", "Once upon a time", "-n", "64", "--temp", "0", "--stop", "Lily")
    assert p.stdout == full[:cut] + "\n", (p.stdout, full[:cut])


def run_context_limits_are_clear():
    _, model = stories()
    p = rf("run", "-m", model, "-p", "Once upon a time there was a dog and a cat", "-c", "8", check=False)
    assert p.returncode == 1 and "the context holds 8" in p.stderr, p.stderr
    p = rf("run", "-m", model, "-p", "Once upon a time", "-c", "16", "-n", "100", "--temp", "0")
    assert "context (16 tokens) is full" in p.stderr, p.stderr


def run_errors_are_named():
    p = rf("run", "-m", os.path.join(TMP.name, "missing.gguf"), "-p", "x", check=False)
    assert p.returncode == 1 and "RF_ERR_IO" in p.stderr, p.stderr
    shared = rftest.shared_dir()
    if shared:  # a vocab-only file of an architecture we do not run
        p = rf("run", "-m", os.path.join(shared, "models", "vocab", "ggml-vocab-gpt-2.gguf"), "-p", "x", check=False)
        assert p.returncode == 1 and "gpt2" in p.stderr and "RF_ERR_UNSUPPORTED" in p.stderr, p.stderr
    p = rf("run", "-p", "x", check=False)
    assert p.returncode == 2 and "no model" in p.stderr
    p = rf("run", "-m", synth_model(), "--temp", "hot", "-p", "x", check=False)
    assert p.returncode == 2 and "--temp needs a number" in p.stderr


def chat_answers_and_keeps_the_conversation():
    # qwen2 synth: a chatml vocab (<|im_start|> etc.); stdin is not a terminal, so no prompts
    model = synth_model("qwen2")
    p = rf("chat", "-m", model, "-n", "8", "--temp", "0", stdin="hello\nand again\n/quit\n")
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.strip().split("\n")) >= 1
    # stories260K has no template: a warning, then chatml
    _, stories_model = stories()
    p = rf("chat", "-m", stories_model, "-n", "8", "--temp", "0", stdin="Once upon a time\n")
    assert p.returncode == 0 and "using chatml" in p.stderr, p.stderr


if __name__ == "__main__":
    if not os.path.exists(RF):
        print("FAIL rf_binary: %s not built" % RF)
        sys.exit(1)
    for fn in (run_text_equals_llamacpp, run_seed_is_deterministic, run_stops_before_stop_string,
               run_context_limits_are_clear, run_errors_are_named, chat_answers_and_keeps_the_conversation):
        rftest.run(fn)
    TMP.cleanup()
    sys.exit(rftest.exit_code())
