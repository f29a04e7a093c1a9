"""The malformed-file corpus (tests/tools/make_malformed.py): each file must give exactly its
expected status, with a detail naming the field, and never crash. `gguf_tool check` opens each
file with mmap, read() and from memory and fails if they disagree; under `make asan` every
file is parsed with the sanitizers on."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(rftest.BUILD, "tools", "gguf_tool")

with tempfile.TemporaryDirectory() as d:
    subprocess.run([sys.executable, os.path.join(HERE, "tools", "make_malformed.py"), d], check=True)
    with open(os.path.join(d, "manifest.tsv")) as f:
        manifest = [line.rstrip("\n").split("\t") for line in f]
    files = [os.path.join(d, name + ".gguf") for name, _, _ in manifest]
    r = subprocess.run([TOOL, "check"] + files, capture_output=True)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")

got, mismatch = {}, {}
for line in out.split("\n"):
    parts = line.split("\t")
    if len(parts) == 3:
        name = os.path.basename(parts[0])[:-len(".gguf")]
        if parts[1] == "MISMATCH":
            mismatch[name] = parts[2]
        else:
            got[name] = (parts[1], parts[2])


def check(name, expected, detail):
    def fn():
        assert name in got, "no result (crash?)"
        status, msg = got[name]
        assert status == expected, "got %s (%s), expected %s" % (status, msg, expected)
        assert name not in mismatch, "open modes disagree: " + mismatch[name]
        if expected != "RF_OK":
            assert msg, "empty error detail"
        assert detail in msg, "detail %r lacks %r" % (msg, detail)
    fn.__name__ = name
    return fn


def tool_ran_cleanly():
    assert r.returncode == 0 and not err.strip(), "gguf_tool check exited %d: %s" % (r.returncode, err[-3000:])


rftest.run(tool_ran_cleanly)
sweep = []
for name, expected, detail in manifest:
    if name.startswith("sweep_"):
        sweep.append((name, expected, detail))
    else:
        rftest.run(check(name, expected, detail))


def every_prefix_truncated():
    bad = []
    for name, expected, detail in sweep:
        try:
            check(name, expected, detail)()
        except AssertionError as e:
            bad.append("%s: %s" % (name, e))
    assert not bad, "%d of %d prefixes: %s" % (len(bad), len(sweep), "; ".join(bad[:5]))


every_prefix_truncated.__name__ = "every_prefix_truncated_%d_files" % len(sweep)
rftest.run(every_prefix_truncated)
sys.exit(rftest.exit_code())
