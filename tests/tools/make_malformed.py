#!/usr/bin/env python3
"""Write a corpus of malformed GGUF files and a manifest of the status rocmforge must give each.

    python3 tests/tools/make_malformed.py OUTDIR

OUTDIR/manifest.tsv has one line per file: NAME <TAB> EXPECTED_STATUS <TAB> substring the error
detail must contain (may be empty). Every file derives from one small valid file (`valid`),
built field by field here so each field can be broken on its own. Files named sweep_N are the
valid file cut to its first N bytes (every N up to the end of the last tensor).
Python standard library only.
"""
import os
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
F32_T, F16_T, Q8_0_T, F64_T = 0, 1, 8, 28
TYPE_BYTES = {F32_T: (1, 4), F16_T: (1, 2), Q8_0_T: (32, 34), F64_T: (1, 8)}  # (block, bytes)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def gstr(b):
    return u64(len(b)) + b


def kv(key, vtype, payload):
    return gstr(key) + u32(vtype) + payload


def arr(elem_type, items, count=None):
    return u32(elem_type) + u64(len(items) if count is None else count) + b"".join(items)


def nested(depth):
    """An array nested `depth` levels deep around one u8 (depth 1 = a plain u8 array)."""
    inner = arr(U8, [b"\x2a"])
    for _ in range(depth - 1):
        inner = arr(ARR, [inner])
    return inner


def tinfo(name, dims, ttype, offset, n_dims=None):
    return (gstr(name) + u32(len(dims) if n_dims is None else n_dims) + b"".join(u64(d) for d in dims)
            + u32(ttype) + u64(offset))


def tensor_bytes(dims, ttype):
    block, size = TYPE_BYTES[ttype]
    n = 1
    for d in dims:
        n *= d
    return n // block * size


def base_kvs(alignment=32):
    return [
        kv(b"general.architecture", STR, gstr(b"llama")),
        kv(b"general.alignment", U32, u32(alignment)),
        kv(b"llama.block_count", U32, u32(1)),
        kv(b"llama.rope.freq_base", F32, struct.pack("<f", 10000.0)),
        kv(b"flag", BOOL, b"\x01"),
        kv(b"tokenizer.ggml.tokens", ARR, arr(STR, [gstr(b"a"), gstr(b"bc"), gstr(b"")])),
        kv(b"nested", ARR, arr(ARR, [arr(I32, [u32(1), u32(2)]), arr(I32, [u32(3)])])),
        kv(b"ints", ARR, arr(I32, [u32(5), u32(6), u32(7)])),
    ]


# Tensors of the valid file: name, dims, type. Offsets are assigned by layout().
BASE_TENSORS = [(b"a", [8, 2], F32_T), (b"b", [32, 2], Q8_0_T), (b"c", [16], F16_T)]


def layout(tensors, alignment=32):
    """(tensor info list, data bytes) with each tensor at the next aligned offset."""
    infos, data = [], b""
    for i, (name, dims, ttype) in enumerate(tensors):
        data += b"\0" * (-len(data) % alignment)
        infos.append(tinfo(name, dims, ttype, len(data)))
        data += bytes((i * 31 + k) & 0xFF for k in range(tensor_bytes(dims, ttype)))
    return infos, data


def build(kvs=None, infos=None, data=None, version=3, magic=b"GGUF", n_kv=None, n_tensors=None, alignment=32,
          marks=None):
    """The file's bytes. `marks` (a dict) receives the offsets of its sections."""
    if kvs is None:
        kvs = base_kvs(alignment)
    if infos is None:
        infos, data = layout(BASE_TENSORS, alignment)
    out = magic + u32(version) + u64(len(infos) if n_tensors is None else n_tensors)
    out += u64(len(kvs) if n_kv is None else n_kv)
    if marks is not None:
        marks["header"] = len(out)
    for i, k in enumerate(kvs):
        out += k
        if marks is not None:
            marks["kv%d" % i] = len(out)
    for i, t in enumerate(infos):
        out += t
        if marks is not None:
            marks["tinfo%d" % i] = len(out)
    out += b"\0" * (-len(out) % alignment)
    if marks is not None:
        marks["data"] = len(out)
    return out + (data or b"")


def replace_kv(i, new):
    kvs = base_kvs()
    kvs[i] = new
    return build(kvs=kvs)


def replace_tinfo(i, name=None, dims=None, ttype=None, offset=None, n_dims=None):
    infos, data = layout(BASE_TENSORS)
    n, d, t = BASE_TENSORS[i]
    offs = [0, 64, 160]
    infos[i] = tinfo(n if name is None else name, d if dims is None else dims, t if ttype is None else ttype,
                     offs[i] if offset is None else offset, n_dims)
    return build(infos=infos, data=data)


def corpus():
    """(name, bytes, expected status, detail substring) for every case."""
    cases = []
    add = lambda name, data, status, detail="": cases.append((name, data, status, detail))  # noqa: E731
    marks = {}
    valid = build(marks=marks)
    add("valid", valid, "RF_OK")
    add("valid_v2", build(version=2), "RF_OK")
    add("valid_no_tensors_no_padding", build(infos=[], data=b"")[:marks["kv7"]], "RF_OK")
    add("valid_empty", b"GGUF" + u32(3) + u64(0) + u64(0), "RF_OK")
    add("valid_bool_2", replace_kv(4, kv(b"flag", BOOL, b"\x02")), "RF_OK")
    add("valid_nested_depth_8", build(kvs=base_kvs() + [kv(b"deep", ARR, nested(8))]), "RF_OK")
    add("valid_empty_arrays", build(kvs=base_kvs() + [kv(b"e1", ARR, arr(STR, [])), kv(b"e2", ARR, arr(ARR, []))]),
        "RF_OK")
    infos64, data64 = layout(BASE_TENSORS, 64)
    add("valid_alignment_64", build(kvs=base_kvs(64), infos=infos64, data=data64, alignment=64), "RF_OK")

    # Truncation at each section boundary and inside fields.
    k0 = marks["header"]
    for cut, name in [(0, "empty_file"), (2, "mid_magic"), (4, "after_magic"), (6, "mid_version"),
                      (8, "after_version"), (12, "mid_n_tensors"), (20, "mid_n_kv"), (k0, "after_header"),
                      (k0 + 4, "mid_key_length"), (k0 + 10, "mid_key"), (k0 + 8 + 20 + 2, "mid_value_type"),
                      (marks["kv0"] - 2, "mid_string_value"), (marks["kv0"], "after_kv0"),
                      (marks["kv1"] - 1, "mid_u32_value"), (marks["kv4"], "after_kv4"),
                      (marks["kv4"] + 8 + 21 + 4 + 2, "mid_array_type"), (marks["kv4"] + 8 + 21 + 4 + 4 + 3, "mid_array_count"),
                      (marks["kv5"] - 3, "mid_string_array"), (marks["kv6"] - 2, "mid_nested_array"),
                      (marks["kv7"], "after_kvs"), (marks["kv7"] + 9, "after_tensor_name"),
                      (marks["kv7"] + 8 + 1 + 4 + 3, "mid_dims"), (marks["tinfo0"] - 4, "mid_offset"),
                      (marks["tinfo0"], "after_tensor_info0"), (marks["tinfo2"], "after_tensor_infos"),
                      (marks["data"] - 1, "mid_header_padding"), (marks["data"], "at_data_start"),
                      (marks["data"] + 30, "mid_tensor_a"), (marks["data"] + 64, "after_tensor_a"),
                      (marks["data"] + 140, "in_tensor_padding"), (len(valid) - 1, "last_byte")]:
        add("trunc_" + name, valid[:cut], "RF_ERR_TRUNCATED")

    add("bad_magic", b"GGUG" + valid[4:], "RF_ERR_BAD_MAGIC")
    add("bad_magic_ggml", b"ggml" + valid[4:], "RF_ERR_BAD_MAGIC")
    add("version_0", build(version=0), "RF_ERR_BAD_VERSION", "version 0")
    add("version_1", build(version=1), "RF_ERR_BAD_VERSION", "version 1")
    add("version_4", build(version=4), "RF_ERR_BAD_VERSION", "version 4")
    add("version_65535", build(version=65535), "RF_ERR_BAD_VERSION")
    add("big_endian_v3", valid[:4] + struct.pack(">I", 3) + valid[8:], "RF_ERR_BIG_ENDIAN", "big-endian")
    add("big_endian_v2", valid[:4] + struct.pack(">I", 2) + valid[8:], "RF_ERR_BIG_ENDIAN")
    add("big_endian_file", b"GGUF" + struct.pack(">IQQ", 3, 0, 1) + struct.pack(">Q", 4) + b"flag"
        + struct.pack(">I", BOOL) + b"\x01", "RF_ERR_BIG_ENDIAN")

    for v, tag in [(2**63, "2e63"), (2**64 - 1, "2e64m1")]:
        add("huge_n_kv_" + tag, build(n_kv=v), "RF_ERR_TOO_LARGE", "n_kv")
        add("huge_n_tensors_" + tag, build(n_tensors=v), "RF_ERR_TOO_LARGE", "n_tensors")
        add("huge_string_length_" + tag, replace_kv(0, kv(b"general.architecture", STR, u64(v) + b"llama")),
            "RF_ERR_TOO_LARGE", "general.architecture")
        add("huge_key_length_" + tag, b"GGUF" + u32(3) + u64(0) + u64(1) + u64(v) + b"key" + u32(U8) + b"\0",
            "RF_ERR_BAD_STRING")
        add("huge_u32_array_" + tag, replace_kv(7, kv(b"ints", ARR, arr(I32, [u32(5)], count=v))), "RF_ERR_TOO_LARGE")
        add("huge_string_array_" + tag, replace_kv(5, kv(b"tokenizer.ggml.tokens", ARR, arr(STR, [gstr(b"a")], count=v))),
            "RF_ERR_TOO_LARGE", "tokenizer.ggml.tokens")
        add("huge_nested_array_" + tag, replace_kv(6, kv(b"nested", ARR, arr(ARR, [arr(I32, [u32(1)])], count=v))),
            "RF_ERR_TOO_LARGE")
        add("huge_tensor_name_" + tag, b"GGUF" + u32(3) + u64(1) + u64(0) + u64(v) + b"a" * 40, "RF_ERR_BAD_STRING")
    add("n_kv_too_many", build(n_kv=1000), "RF_ERR_TRUNCATED", "n_kv")
    add("n_tensors_too_many", build(n_tensors=1000), "RF_ERR_TRUNCATED", "n_tensors")
    add("string_past_end", replace_kv(0, kv(b"general.architecture", STR, u64(100000) + b"llama")), "RF_ERR_TRUNCATED")
    add("array_past_end", replace_kv(7, kv(b"ints", ARR, arr(I32, [u32(5)], count=100000))), "RF_ERR_TRUNCATED")
    add("nested_past_end", replace_kv(6, kv(b"nested", ARR, arr(ARR, [arr(I32, [u32(1)], count=5000)]))),
        "RF_ERR_TRUNCATED")
    add("key_too_long", build(kvs=base_kvs() + [kv(b"k" * 70000, U8, b"\0")]), "RF_ERR_BAD_STRING", "70000")
    add("nested_depth_9", build(kvs=base_kvs() + [kv(b"deep", ARR, nested(9))]), "RF_ERR_TOO_LARGE", "deep")
    add("nested_depth_100", build(kvs=base_kvs() + [kv(b"deep", ARR, nested(100))]), "RF_ERR_TOO_LARGE")

    add("unknown_value_type_13", replace_kv(2, kv(b"llama.block_count", 13, u32(1))), "RF_ERR_BAD_TYPE", "13")
    add("unknown_value_type_max", replace_kv(2, kv(b"llama.block_count", 0xFFFFFFFF, u32(1))), "RF_ERR_BAD_TYPE")
    add("unknown_array_elem_type", replace_kv(7, kv(b"ints", ARR, u32(13) + u64(1) + u32(5))), "RF_ERR_BAD_TYPE")
    add("unknown_nested_elem_type", replace_kv(6, kv(b"nested", ARR, arr(ARR, [u32(99) + u64(0)]))), "RF_ERR_BAD_TYPE")

    for t in (40, 99, 0xFFFFFFFF):
        add("tensor_type_%d" % t, replace_tinfo(1, ttype=t), "RF_ERR_BAD_TYPE", "'b'")
    add("tensor_type_retired_4", replace_tinfo(1, ttype=4), "RF_ERR_BAD_TYPE")
    add("tensor_type_retired_31", replace_tinfo(1, ttype=31), "RF_ERR_BAD_TYPE")
    add("tensor_n_dims_0", replace_tinfo(0, dims=[], n_dims=0), "RF_ERR_BAD_SHAPE")
    add("tensor_n_dims_5", replace_tinfo(2, dims=[16, 1, 1, 1, 1]), "RF_ERR_BAD_SHAPE", "n_dims 5")
    add("tensor_dim_zero", replace_tinfo(0, dims=[8, 0]), "RF_ERR_BAD_SHAPE", "'a'")
    add("tensor_dims_overflow", replace_tinfo(0, dims=[2**32, 2**32]), "RF_ERR_BAD_SHAPE")
    add("tensor_dim_2e63", replace_tinfo(0, dims=[2**63]), "RF_ERR_BAD_SHAPE")
    add("tensor_dim_2e64m1", replace_tinfo(0, dims=[8, 2**64 - 1]), "RF_ERR_BAD_SHAPE")
    add("tensor_size_overflow", replace_tinfo(0, dims=[2**31, 2**31], ttype=F64_T), "RF_ERR_TOO_LARGE")
    add("tensor_row_not_blocks", replace_tinfo(1, dims=[33, 2]), "RF_ERR_BAD_SHAPE", "block size")
    add("tensor_row_half_block", replace_tinfo(1, dims=[16, 4]), "RF_ERR_BAD_SHAPE")

    add("offset_past_end", replace_tinfo(2, offset=1 << 20), "RF_ERR_BAD_OFFSET", "'c'")
    add("offset_overflow", replace_tinfo(2, offset=2**64 - 32), "RF_ERR_BAD_OFFSET")
    add("offset_misaligned", replace_tinfo(1, offset=68), "RF_ERR_BAD_ALIGNMENT", "68")
    add("offset_odd", replace_tinfo(2, offset=161), "RF_ERR_BAD_ALIGNMENT")
    add("tensor_overlap", replace_tinfo(1, offset=32), "RF_ERR_BAD_OFFSET", "overlaps")
    add("tensor_same_offset", replace_tinfo(2, offset=0), "RF_ERR_BAD_OFFSET")
    add("tensor_ends_past_end", replace_tinfo(2, dims=[32]), "RF_ERR_TRUNCATED", "past end of file")

    add("duplicate_key", build(kvs=base_kvs() + [kv(b"llama.block_count", U32, u32(2))]), "RF_ERR_DUPLICATE",
        "llama.block_count")
    add("duplicate_tensor", replace_tinfo(2, name=b"a"), "RF_ERR_DUPLICATE", "'a'")
    add("empty_key", replace_kv(4, kv(b"", BOOL, b"\x01")), "RF_ERR_BAD_STRING", "empty")
    add("key_with_nul", replace_kv(4, kv(b"fl\0g", BOOL, b"\x01")), "RF_ERR_BAD_STRING", "NUL")
    add("empty_tensor_name", replace_tinfo(1, name=b""), "RF_ERR_BAD_STRING")
    add("tensor_name_with_nul", replace_tinfo(1, name=b"b\0"), "RF_ERR_BAD_STRING")

    for a in (0, 3, 48, 2**31 + 1):
        add("alignment_%d" % a, replace_kv(1, kv(b"general.alignment", U32, u32(a))), "RF_ERR_BAD_ALIGNMENT",
            str(a))
    add("alignment_u64", replace_kv(1, kv(b"general.alignment", U64, u64(32))), "RF_ERR_BAD_ALIGNMENT", "u64")
    add("alignment_i32", replace_kv(1, kv(b"general.alignment", I32, u32(32))), "RF_ERR_BAD_ALIGNMENT")
    add("alignment_string", replace_kv(1, kv(b"general.alignment", STR, gstr(b"32"))), "RF_ERR_BAD_ALIGNMENT")
    infos32, data32 = layout(BASE_TENSORS, 32)
    add("alignment_64_offsets_32", build(kvs=base_kvs(64), infos=infos32, data=data32, alignment=64),
        "RF_ERR_BAD_ALIGNMENT", "'c'")

    # Every prefix of the valid file: nothing before the end of the last tensor is enough.
    for n in range(len(valid)):
        add("sweep_%d" % n, valid[:n], "RF_ERR_TRUNCATED")
    return cases


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_malformed.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    names = set()
    with open(os.path.join(out, "manifest.tsv"), "w") as m:
        for name, data, status, detail in corpus():
            assert name not in names, name
            names.add(name)
            with open(os.path.join(out, name + ".gguf"), "wb") as f:
                f.write(data)
            m.write("%s\t%s\t%s\n" % (name, status, detail))


if __name__ == "__main__":
    main()
