"""GGUF interop with gguf-py (the reference Python implementation in llama.cpp's repository):
files gguf-py writes read the same in rocmforge, and files rocmforge writes read the same in
gguf-py. rocmforge's side is tests/tools/gguf_tool (dump / write-sample / copy)."""
import json
import math
import os
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

TOOL = os.path.join(rftest.BUILD, "tools", "gguf_tool")
VNAME = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"]


def tool(*args):
    r = subprocess.run([TOOL] + list(args), capture_output=True)
    out = r.stdout.decode("utf-8", "surrogateescape")
    assert r.returncode == 0 and not r.stderr, "gguf_tool %s failed (%d): %s %s" % (
        " ".join(args), r.returncode, out[-2000:], r.stderr.decode(errors="replace")[-2000:])
    return out


def dump(path):
    """gguf_tool dump as (header, {key: (type, value)} in order, [tensor dicts])."""
    lines = tool("dump", path).rstrip("\n").split("\n")  # not splitlines(): tokens hold U+2028 etc.
    assert lines[0] == "status RF_OK", lines[0]
    header, kv, tensors = None, [], []
    for line in lines[1:]:
        tag, _, body = line.partition(" ")
        d = json.loads(body)
        if tag == "header":
            header = d
        elif tag == "kv":
            kv.append((d["key"], d["type"], d["value"]))
        elif tag == "tensor":
            tensors.append(d)
    return header, kv, tensors


def _walk(t, it):
    """One value from a gguf-py ReaderField's parts: nested arrays are flattened there, so the
    structure is rebuilt from the element type and count parts that precede each array."""
    from gguf import GGUFValueType as V
    if t == V.ARRAY:
        et = int(next(it)[0])
        n = int(next(it)[0])
        return {"t": VNAME[et], "v": [_walk(V(et), it) for _ in range(n)]}
    if t == V.STRING:
        next(it)  # length
        return bytes(next(it)).decode("utf-8", "surrogateescape")
    x = next(it)[0]
    if t == V.BOOL:
        return bool(x)
    if t in (V.FLOAT32, V.FLOAT64):
        f = float(x)
        return "nan" if math.isnan(f) else ("inf" if f == math.inf else ("-inf" if f == -math.inf else f))
    return int(x)


def reference(path):
    """The same triple as dump(), from gguf-py's GGUFReader."""
    import gguf
    r = gguf.GGUFReader(path)
    kv = []
    for name, field in r.fields.items():
        if name.startswith("GGUF."):  # the reader's own header pseudo-fields
            continue
        it = iter(field.parts[3:])  # after key length, key, value type
        kv.append((name, VNAME[field.types[0]], _walk(field.types[0], it)))
    tensors = []
    for t in r.tensors:
        tensors.append({"name": t.name, "type": int(t.tensor_type), "ne": [int(x) for x in t.shape],
                        "offset": int(t.data_offset) - r.data_offset, "size": int(t.n_bytes),
                        "crc32": zlib.crc32(t.data.tobytes())})
    version = int(r.fields["GGUF.version"].parts[-1][0])
    header = {"version": version, "alignment": r.alignment, "data_offset": r.data_offset,
              "n_kv": len(kv), "n_tensors": len(tensors)}
    return header, kv, tensors


def assert_same(path):
    h, kv, ts = dump(path)
    rh, rkv, rts = reference(path)
    if not ts and h["data_offset"] == os.path.getsize(path):
        # No tensors and no padding at the end (llama.cpp's vocab files): gguf-py reports the
        # aligned offset past the end of the file, rocmforge clamps it to the file size.
        rh["data_offset"] = h["data_offset"]
    assert h == rh, (h, rh)
    assert len(kv) == len(rkv), (len(kv), len(rkv))
    for a, b in zip(kv, rkv):
        assert a == b, "kv differs:\n  rocmforge %r\n  gguf-py   %r" % (str(a)[:300], str(b)[:300])
    assert ts == rts, "tensors differ"
    return h, kv, ts


def write_pyfile(path):
    """A file from gguf-py's GGUFWriter with every value type, arrays, and tensors."""
    import gguf
    import numpy as np
    V = gguf.GGUFValueType
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.1)
    w.add_uint64("t.u64", 2**64 - 1)
    w.add_int64("t.i64", -2**63)
    w.add_float64("t.f64", 1e-300)
    w.add_bool("t.true", True)
    w.add_bool("t.false", False)
    w.add_string("t.str", "h\u00e9llo \u2713")
    w.add_string("t.empty", "")  # gguf-py drops empty strings: add_string() returns when `not val`
    for vt, vals in [(V.UINT8, [0, 255]), (V.INT8, [-128, 127]), (V.UINT16, [1, 65535]),
                     (V.INT16, [-32768, 5]), (V.UINT32, [0, 2**32 - 1]), (V.INT32, [-1, 2**31 - 1]),
                     (V.FLOAT32, [0.5, -2.25]), (V.BOOL, [True, False, True]), (V.UINT64, [2**64 - 1]),
                     (V.INT64, [-2**63, 0]), (V.FLOAT64, [0.1, -3.5])]:
        w.add_key_value("arr." + VNAME[vt], vals, V.ARRAY, sub_type=vt)
    w.add_array("arr.str", ["<s>", "", "\u2581the", "tab\t\"q\"\\"])
    w.add_array("arr.nested", [[1, 2], [3]])
    w.add_array("arr.nested_str", [["a"], ["b", "c"]])
    rng = np.random.default_rng(1)
    w.add_tensor("t.f32", np.arange(24, dtype=np.float32).reshape(3, 8))
    w.add_tensor("t.f16", rng.standard_normal(16).astype(np.float16))
    w.add_tensor("t.q8_0", rng.integers(0, 256, (2, 68), dtype=np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("t.q4_k", rng.integers(0, 256, (1, 144), dtype=np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    w.add_tensor("t.q4_0", rng.integers(0, 256, (3, 18), dtype=np.uint8), raw_dtype=gguf.GGMLQuantizationType.Q4_0)
    w.add_tensor("t.i8", rng.integers(-128, 128, (5,), dtype=np.int8))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_read_gguf_py_file():
    rftest.need_gguf()
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "py.gguf")
        write_pyfile(p)
        h, kv, ts = assert_same(p)
        got = {k: (t, v) for k, t, v in kv}
        # What was written, independent of gguf-py's reader:
        assert got["t.u8"] == ("u8", 200) and got["t.i16"] == ("i16", -30000)
        assert got["t.u64"] == ("u64", 2**64 - 1) and got["t.i64"] == ("i64", -2**63)
        assert got["t.f64"] == ("f64", 1e-300) and got["t.true"] == ("bool", True)
        assert got["t.str"] == ("str", "h\u00e9llo \u2713") and "t.empty" not in got
        assert got["arr.nested"] == ("arr", {"t": "arr", "v": [{"t": "i32", "v": [1, 2]}, {"t": "i32", "v": [3]}]})
        assert got["arr.str"][1]["v"] == ["<s>", "", "\u2581the", "tab\t\"q\"\\"]
        assert [t["ne"] for t in ts] == [[8, 3], [16], [64, 2], [256, 1], [32, 3], [5]]
        assert all(t["offset"] % 32 == 0 for t in ts)


def test_gguf_py_reads_ours():
    rftest.need_gguf()
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "ours.gguf")
        tool("write-sample", p)
        h, kv, ts = assert_same(p)
        got = {k: (t, v) for k, t, v in kv}
        assert got["sample.f64"] == ("f64", 3.141592653589793)
        assert got["sample.nested_str"] == ("arr", {"t": "arr", "v": [
            {"t": "str", "v": ["a", "bc"]}, {"t": "arr", "v": [{"t": "f32", "v": [2.5]}]}]})
        assert got["arr.str"][1]["v"][4] == "tab\tnl\n"
        filled = [t for t in ts if t["name"] == "filled.i32"][0]
        import numpy as np
        want = (np.arange(10, dtype=np.int64) * 7 - 50).astype(np.int32).tobytes()
        assert filled["crc32"] == zlib.crc32(want)


def test_copy_of_gguf_py_file():
    rftest.need_gguf()
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "py.gguf"), os.path.join(d, "copy.gguf")
        write_pyfile(src)
        tool("copy", src, dst)
        assert reference(dst) == reference(src)
        # Same layout rules as gguf-py (offsets, padding after every tensor): the same bytes.
        with open(src, "rb") as a, open(dst, "rb") as b:
            assert a.read() == b.read(), "copy is not byte-identical to the gguf-py original"


def test_real_models():
    """Every real .gguf in ../shared/models reads the same as in gguf-py. GGUFReader takes
    seconds on a 100k-token vocab, so by default the vocab files over 1 MB are only opened
    (all three ways, by gguf_tool check); RF_GGUF_FULL=1 compares them all."""
    rftest.need_gguf()
    shared = rftest.shared_dir()
    if not shared:
        raise rftest.Skip("../shared/models not found")
    m = os.path.join(shared, "models")
    paths = [os.path.join(m, "stories260K.gguf"), os.path.join(m, "derived", "stories260K-F16.gguf")]
    vocab = os.path.join(m, "vocab")
    if os.path.isdir(vocab):
        paths += sorted(os.path.join(vocab, f) for f in os.listdir(vocab) if f.endswith(".gguf"))
    paths = [p for p in paths if os.path.exists(p)]
    assert paths
    for line in tool("check", *paths).rstrip("\n").split("\n"):
        assert line.split("\t")[1] == "RF_OK", line
    full = os.environ.get("RF_GGUF_FULL") == "1"
    for p in paths:
        if full or "vocab" not in p or os.path.getsize(p) < 1 << 20:
            assert_same(p)


for fn in (test_read_gguf_py_file, test_gguf_py_reads_ours, test_copy_of_gguf_py_file, test_real_models):
    rftest.run(fn)
sys.exit(rftest.exit_code())
