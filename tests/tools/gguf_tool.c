/* gguf_tool: the GGUF reader and writer from the command line, for the Python tests.

   gguf_tool dump FILE          status line, then one JSON line per kv and per tensor (tensor
                                bytes as a CRC-32, the same as Python's zlib.crc32); exit 1 on error
   gguf_tool check FILE...      "FILE<TAB>STATUS<TAB>detail" per file; on success every value,
                                array element and tensor byte is visited. The file is opened with
                                mmap, with read() and from memory, and the three must agree.
                                Exit 0 unless they disagree.
   gguf_tool write-sample FILE  a file with every value type, nested arrays and a few tensors
   gguf_tool copy IN OUT        IN's kv (rf_gguf_writer_copy_kv) and tensors into OUT

   JSON lines: {"key": K, "type": T, "value": V} where an array value is {"t": ELEM, "v": [...]},
   strings are raw UTF-8 bytes with JSON escapes for '"', '\\' and bytes < 0x20, and non-finite
   floats are the strings "nan", "inf", "-inf". */
#include "rocmforge.h"
#include "gguf_raw.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const vname[RF_GGUF_VTYPE_COUNT] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                                       "bool", "str", "arr", "u64", "i64", "f64"};

static uint32_t crc32_of(const unsigned char *p, uint64_t n) {
    uint32_t table[256], c, crc = 0xffffffffu;
    uint64_t i;
    int k;
    for (i = 0; i < 256; i++) {
        c = (uint32_t)i;
        for (k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

static void put_str(const char *s, uint64_t n) {
    uint64_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void put_float(double f) {
    if (isnan(f)) printf("\"nan\"");
    else if (isinf(f)) printf(f > 0 ? "\"inf\"" : "\"-inf\"");
    else printf("%.17g", f);
}

static rf_status put_value(const rf_gguf *g, const rf_gguf_value *v) {
    rf_gguf_value e;
    uint64_t i;
    rf_status st;
    switch (v->type) {
    case RF_GGUF_U8: case RF_GGUF_U16: case RF_GGUF_U32: case RF_GGUF_U64:
        printf("%llu", (unsigned long long)v->u);
        break;
    case RF_GGUF_I8: case RF_GGUF_I16: case RF_GGUF_I32: case RF_GGUF_I64:
        printf("%lld", (long long)v->i);
        break;
    case RF_GGUF_BOOL: printf(v->u ? "true" : "false"); break;
    case RF_GGUF_F32: case RF_GGUF_F64: put_float(v->f); break;
    case RF_GGUF_STRING: put_str(v->str, v->n); break;
    case RF_GGUF_ARRAY:
        printf("{\"t\": \"%s\", \"v\": [", vname[v->elem_type]);
        for (i = 0; i < v->n; i++) {
            if ((st = rf_gguf_array_get(g, v, i, &e))) return st;
            if (i) printf(", ");
            if ((st = put_value(g, &e))) return st;
        }
        printf("]}");
        break;
    default: return RF_ERR_BAD_TYPE;
    }
    return RF_OK;
}

static int cmd_dump(const char *path) {
    rf_gguf *g = NULL;
    rf_gguf_value v;
    rf_status st = rf_gguf_open(path, &g);
    int64_t i;
    uint32_t d;
    if (st) {
        printf("status %s: %s\n", rf_status_str(st), rf_last_error());
        return 1;
    }
    printf("status RF_OK\n");
    printf("header {\"version\": %u, \"alignment\": %llu, \"data_offset\": %llu, \"n_kv\": %lld, \"n_tensors\": %lld}\n",
           rf_gguf_version(g), (unsigned long long)rf_gguf_alignment(g), (unsigned long long)rf_gguf_data_offset(g),
           (long long)rf_gguf_n_kv(g), (long long)rf_gguf_n_tensors(g));
    for (i = 0; i < rf_gguf_n_kv(g) && !st; i++) {
        const char *key = rf_gguf_kv_key(g, i);
        st = rf_gguf_kv_value(g, i, &v);
        printf("kv {\"key\": ");
        put_str(key, strlen(key));
        printf(", \"type\": \"%s\", \"value\": ", vname[v.type]);
        if (!st) st = put_value(g, &v);
        printf("}\n");
    }
    for (i = 0; i < rf_gguf_n_tensors(g); i++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, i);
        printf("tensor {\"name\": ");
        put_str(t->name, strlen(t->name));
        printf(", \"type\": %d, \"ne\": [", (int)t->type);
        for (d = 0; d < t->n_dims; d++) printf("%s%lld", d ? ", " : "", (long long)t->ne[d]);
        printf("], \"offset\": %llu, \"size\": %llu, \"crc32\": %lu}\n", (unsigned long long)t->offset,
               (unsigned long long)t->size, (unsigned long)crc32_of((const unsigned char *)t->data, t->size));
    }
    rf_gguf_close(g);
    if (st) printf("status %s: %s\n", rf_status_str(st), rf_last_error());
    return st ? 1 : 0;
}

/* Visit every element of every array (and every byte of every string) so the sanitizers see
   each access the accessors make. Returns a checksum so the reads cannot be optimized out. */
static uint64_t visit(const rf_gguf *g, const rf_gguf_value *v) {
    rf_gguf_value e;
    uint64_t i, h = (uint64_t)v->type * 31 + v->u;
    if (v->type == RF_GGUF_STRING)
        for (i = 0; i < v->n; i++) h = h * 131 + (unsigned char)v->str[i];
    if (v->type == RF_GGUF_ARRAY)
        for (i = 0; i < v->n; i++)
            if (rf_gguf_array_get(g, v, i, &e) == RF_OK) h = h * 7 + visit(g, &e);
    return h;
}

static rf_status open_mode(const char *path, int mode, unsigned char **buf, rf_gguf **g) {
    FILE *f;
    long n;
    if (mode == 0) return rf_gguf_open(path, g);
    if (mode == 1) return rf_gguf_open_ex(path, RF_GGUF_NO_MMAP, g);
    if (!(f = fopen(path, "rb"))) return RF_ERR_IO;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* An exact-size buffer, so ASan catches any read one past the end. */
    *buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
    if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return RF_ERR_IO;
    }
    fclose(f);
    return rf_gguf_open_memory(*buf, (size_t)n, g);
}

static int cmd_check(int argc, char **argv) {
    int i, mode, bad = 0;
    for (i = 0; i < argc; i++) {
        rf_status st[3];
        char detail[512];
        uint64_t h = 0;
        for (mode = 0; mode < 3; mode++) {
            rf_gguf *g = NULL;
            unsigned char *buf = NULL;
            int64_t k;
            st[mode] = open_mode(argv[i], mode, &buf, &g);
            if (mode == 0) snprintf(detail, sizeof detail, "%s", st[0] ? rf_last_error() : "");
            for (k = 0; k < rf_gguf_n_kv(g); k++) {
                rf_gguf_value v;
                if (rf_gguf_kv_value(g, k, &v) == RF_OK) h += visit(g, &v) + strlen(rf_gguf_kv_key(g, k));
            }
            for (k = 0; k < rf_gguf_n_tensors(g); k++) {
                const rf_gguf_tensor *t = rf_gguf_tensor_at(g, k);
                h += crc32_of((const unsigned char *)t->data, t->size) + strlen(t->name);
            }
            rf_gguf_close(g);
            free(buf);
        }
        printf("%s\t%s\t%s\n", argv[i], rf_status_str(st[0]), detail);
        if (st[1] != st[0] || st[2] != st[0]) {
            printf("%s\tMISMATCH\tmmap %s, read %s, memory %s\n", argv[i], rf_status_str(st[0]), rf_status_str(st[1]),
                   rf_status_str(st[2]));
            bad = 1;
        }
        if (h == 1) printf(" ");  /* keeps h alive */
    }
    return bad;
}

/* ---- write-sample ---- */

static rf_status fill_i32(void *user, const rf_gguf_tensor *t, void *dst, uint64_t size) {
    uint64_t i;
    (void)user; (void)t;
    for (i = 0; i < size / 4; i++) {
        int32_t v = (int32_t)(i * 7) - 50;
        memcpy((char *)dst + i * 4, &v, 4);
    }
    return RF_OK;
}

static int cmd_write_sample(const char *path) {
    /* Values the writer has no setter for come from hand-built bytes through copy_kv. */
    static const uint8_t u8s[3] = {0, 7, 255};
    static const int8_t i8s[3] = {-128, 0, 127};
    static const uint16_t u16s[2] = {1, 65535};
    static const int16_t i16s[2] = {-32768, 32767};
    static const uint32_t u32s[2] = {3, 4294967295u};
    static const int32_t i32s[3] = {-1, 0, 1};
    static const float f32s[3] = {0.25f, -1.5f, 1e30f};
    static const uint8_t bools[2] = {0, 1};
    static const uint64_t u64s[2] = {0, 18446744073709551615ull};
    static const int64_t i64s[2] = {-9223372036854775807ll - 1, 9223372036854775807ll};
    static const double f64s[2] = {0.1, -1e-300};
    static const char *const strs[5] = {"<unk>", "", "\xe2\x96\x81the", "quote\" back\\slash", "tab\tnl\n"};
    static const int64_t ne_f32[2] = {8, 3}, ne_f16[1] = {16}, ne_q8[2] = {64, 2}, ne_q4k[1] = {256},
                         ne_bf16[3] = {4, 2, 2}, ne_i32[1] = {10};
    rb_buf b;
    rf_gguf *raw = NULL;
    rf_gguf_writer *w = NULL;
    unsigned char *data = NULL;
    rf_status st;
    int64_t i;
    memset(&b, 0, sizeof b);
    rb_header(&b, 0, 8);
    rb_kv(&b, "sample.u8", RF_GGUF_U8); rb_u8(&b, 250);
    rb_kv(&b, "sample.i8", RF_GGUF_I8); rb_u8(&b, (uint8_t)-5);
    rb_kv(&b, "sample.u16", RF_GGUF_U16); rb_u16(&b, 65000);
    rb_kv(&b, "sample.i16", RF_GGUF_I16); rb_u16(&b, (uint16_t)-1234);
    rb_kv(&b, "sample.i64", RF_GGUF_I64); rb_u64(&b, (uint64_t)-1234567890123ll);
    rb_kv(&b, "sample.f64", RF_GGUF_F64); rb_f64(&b, 3.141592653589793);
    rb_kv(&b, "sample.nested", RF_GGUF_ARRAY);
    rb_arr(&b, RF_GGUF_ARRAY, 3);
    rb_arr(&b, RF_GGUF_I32, 2); rb_u32(&b, 1); rb_u32(&b, 2);
    rb_arr(&b, RF_GGUF_I32, 1); rb_u32(&b, 3);
    rb_arr(&b, RF_GGUF_I32, 0);
    rb_kv(&b, "sample.nested_str", RF_GGUF_ARRAY);
    rb_arr(&b, RF_GGUF_ARRAY, 2);
    rb_arr(&b, RF_GGUF_STRING, 2); rb_str(&b, "a"); rb_str(&b, "bc");
    rb_arr(&b, RF_GGUF_ARRAY, 1);
    rb_arr(&b, RF_GGUF_F32, 1); rb_f32(&b, 2.5f);
    st = rf_gguf_open_memory(b.p, b.n, &raw);
    if (!st) st = rf_gguf_writer_new(&w);
    if (!st) st = rf_gguf_set_str(w, "general.architecture", "llama");
    if (!st) st = rf_gguf_set_u32(w, "sample.u32", 4000000000u);
    if (!st) st = rf_gguf_set_i32(w, "sample.i32", -7);
    if (!st) st = rf_gguf_set_u64(w, "sample.u64", 1ull << 60);
    if (!st) st = rf_gguf_set_f32(w, "sample.f32", 0.1f);
    if (!st) st = rf_gguf_set_bool(w, "sample.bool", 1);
    if (!st) st = rf_gguf_set_str(w, "sample.str", "h\xc3\xa9llo");
    if (!st) st = rf_gguf_set_str(w, "sample.empty_str", "");
    for (i = 0; !st && i < rf_gguf_n_kv(raw); i++) st = rf_gguf_writer_copy_kv(w, raw, i);
    if (!st) st = rf_gguf_set_array(w, "arr.u8", RF_GGUF_U8, u8s, 3);
    if (!st) st = rf_gguf_set_array(w, "arr.i8", RF_GGUF_I8, i8s, 3);
    if (!st) st = rf_gguf_set_array(w, "arr.u16", RF_GGUF_U16, u16s, 2);
    if (!st) st = rf_gguf_set_array(w, "arr.i16", RF_GGUF_I16, i16s, 2);
    if (!st) st = rf_gguf_set_array(w, "arr.u32", RF_GGUF_U32, u32s, 2);
    if (!st) st = rf_gguf_set_array(w, "arr.i32", RF_GGUF_I32, i32s, 3);
    if (!st) st = rf_gguf_set_array(w, "arr.f32", RF_GGUF_F32, f32s, 3);
    if (!st) st = rf_gguf_set_array(w, "arr.bool", RF_GGUF_BOOL, bools, 2);
    if (!st) st = rf_gguf_set_array(w, "arr.u64", RF_GGUF_U64, u64s, 2);
    if (!st) st = rf_gguf_set_array(w, "arr.i64", RF_GGUF_I64, i64s, 2);
    if (!st) st = rf_gguf_set_array(w, "arr.f64", RF_GGUF_F64, f64s, 2);
    if (!st) st = rf_gguf_set_str_array(w, "arr.str", strs, 5);
    /* Tensor bytes: one buffer, deterministic; each tensor takes a different slice. */
    if (!st && !(data = (unsigned char *)malloc(4096))) st = RF_ERR_OOM;
    for (i = 0; data && i < 4096; i++) data[i] = (unsigned char)(i * 37 + (i >> 8));
    if (!st) st = rf_gguf_add_tensor(w, "tok_embd.weight", RF_TYPE_F32, 2, ne_f32, data);
    if (!st) st = rf_gguf_add_tensor(w, "norm.weight", RF_TYPE_F16, 1, ne_f16, data + 100);
    if (!st) st = rf_gguf_add_tensor(w, "blk.0.attn_q.weight", RF_TYPE_Q8_0, 2, ne_q8, data + 200);
    if (!st) st = rf_gguf_add_tensor(w, "blk.0.ffn_up.weight", RF_TYPE_Q4_K, 1, ne_q4k, data + 400);
    if (!st) st = rf_gguf_add_tensor(w, "blk.0.bf16", RF_TYPE_BF16, 3, ne_bf16, data + 600);
    if (!st) st = rf_gguf_add_tensor_fn(w, "filled.i32", RF_TYPE_I32, 1, ne_i32, fill_i32, NULL);
    if (!st) st = rf_gguf_writer_write(w, path);
    if (st) printf("status %s: %s\n", rf_status_str(st), rf_last_error());
    rf_gguf_writer_free(w);
    rf_gguf_close(raw);
    free(data);
    free(b.p);
    return st ? 1 : 0;
}

static int cmd_copy(const char *in, const char *out) {
    rf_gguf *g = NULL;
    rf_gguf_writer *w = NULL;
    rf_status st = rf_gguf_open(in, &g);
    int64_t i;
    if (!st) st = rf_gguf_writer_new(&w);
    for (i = 0; !st && i < rf_gguf_n_kv(g); i++) st = rf_gguf_writer_copy_kv(w, g, i);
    for (i = 0; !st && i < rf_gguf_n_tensors(g); i++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, i);
        st = rf_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
    }
    if (!st) st = rf_gguf_writer_write(w, out);
    if (st) printf("status %s: %s\n", rf_status_str(st), rf_last_error());
    rf_gguf_writer_free(w);
    rf_gguf_close(g);
    return st ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "dump") == 0) return cmd_dump(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "check") == 0) return cmd_check(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "write-sample") == 0) return cmd_write_sample(argv[2]);
    if (argc == 4 && strcmp(argv[1], "copy") == 0) return cmd_copy(argv[2], argv[3]);
    fprintf(stderr, "usage: gguf_tool dump FILE | check FILE... | write-sample FILE | copy IN OUT\n");
    return 2;
}
