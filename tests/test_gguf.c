/* GGUF reader and writer: round trips through the public API. The malformed-file corpus is in
   tests/test_gguf_malformed.py and gguf-py interop in tests/test_gguf_interop.py. */
#define _POSIX_C_SOURCE 200809L
#include "rocmforge.h"
#include "rf_test.h"
#include "gguf_raw.h"
#include <math.h>
#include <unistd.h>

/* REQUIRE evaluates its condition twice; calls that allocate go through this instead. */
#define REQUIRE_OK(expr)                                                            \
    do {                                                                            \
        rf_status s_ = (expr);                                                      \
        CHECKF(s_ == RF_OK, "%s: %s", rf_status_str(s_), rf_last_error());          \
        if (s_ != RF_OK) return;                                                    \
    } while (0)

static char tmp_path_[512];
static const char *tmp_path(const char *tag) {
    const char *dir = getenv("TMPDIR");
    snprintf(tmp_path_, sizeof tmp_path_, "%s/rf_test_gguf_%d_%s.gguf", dir && *dir ? dir : "/tmp", (int)getpid(), tag);
    return tmp_path_;
}

static int file_exists(const char *p) {
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Deterministic bytes for tensor data. */
static void fill_bytes(unsigned char *p, uint64_t n, uint32_t seed) {
    uint64_t i;
    uint32_t x = seed * 2654435761u + 1;
    for (i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/* Copy every kv of g into a new writer, write it, and reopen it. */
static rf_status copy_all(const rf_gguf *g, const char *path, rf_gguf **out) {
    rf_gguf_writer *w = NULL;
    rf_status st = rf_gguf_writer_new(&w);
    int64_t i;
    for (i = 0; !st && i < rf_gguf_n_kv(g); i++) st = rf_gguf_writer_copy_kv(w, g, i);
    if (!st) st = rf_gguf_writer_write(w, path);
    rf_gguf_writer_free(w);
    if (!st) st = rf_gguf_open(path, out);
    return st;
}

/* The bytes of a file with one kv of every scalar type (the writer has setters for only some,
   so the others come in through rf_gguf_writer_copy_kv). Values from the type's edges. */
static void build_scalars(rb_buf *b) {
    rb_header(b, 0, 12);
    rb_kv(b, "u8", RF_GGUF_U8); rb_u8(b, 200);
    rb_kv(b, "i8", RF_GGUF_I8); rb_u8(b, (uint8_t)-100);
    rb_kv(b, "u16", RF_GGUF_U16); rb_u16(b, 60000);
    rb_kv(b, "i16", RF_GGUF_I16); rb_u16(b, (uint16_t)-30000);
    rb_kv(b, "u32", RF_GGUF_U32); rb_u32(b, 4000000000u);
    rb_kv(b, "i32", RF_GGUF_I32); rb_u32(b, (uint32_t)-2000000000);
    rb_kv(b, "f32", RF_GGUF_F32); rb_f32(b, 1.5f);
    rb_kv(b, "bool", RF_GGUF_BOOL); rb_u8(b, 1);
    rb_kv(b, "str", RF_GGUF_STRING); rb_str(b, "h\xc3\xa9llo \xe2\x9c\x93");
    rb_kv(b, "u64", RF_GGUF_U64); rb_u64(b, 18000000000000000000ull);
    rb_kv(b, "i64", RF_GGUF_I64); rb_u64(b, (uint64_t)(-9000000000000000000ll));
    rb_kv(b, "f64", RF_GGUF_F64); rb_f64(b, -2.25e300);
}

static void check_scalars(const rf_gguf *g) {
    rf_gguf_value v;
    const char *s;
    size_t n;
    CHECK(rf_gguf_n_kv(g) == 12);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "u8"), &v) == RF_OK && v.type == RF_GGUF_U8 && v.u == 200 && v.i == 200);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "i8"), &v) == RF_OK && v.type == RF_GGUF_I8 && v.i == -100);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "u16"), &v) == RF_OK && v.type == RF_GGUF_U16 && v.u == 60000);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "i16"), &v) == RF_OK && v.type == RF_GGUF_I16 && v.i == -30000);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "u32"), &v) == RF_OK && v.type == RF_GGUF_U32 && v.u == 4000000000u);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "i32"), &v) == RF_OK && v.type == RF_GGUF_I32 && v.i == -2000000000);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "f32"), &v) == RF_OK && v.type == RF_GGUF_F32 && v.f == 1.5);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "bool"), &v) == RF_OK && v.type == RF_GGUF_BOOL && v.u == 1);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "u64"), &v) == RF_OK && v.type == RF_GGUF_U64 &&
          v.u == 18000000000000000000ull);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "i64"), &v) == RF_OK && v.type == RF_GGUF_I64 &&
          v.i == -9000000000000000000ll);
    CHECK(rf_gguf_kv_value(g, rf_gguf_find_kv(g, "f64"), &v) == RF_OK && v.type == RF_GGUF_F64 && v.f == -2.25e300);
    CHECK(rf_gguf_get_str(g, "str", &s, &n) == RF_OK && n == 10 && memcmp(s, "h\xc3\xa9llo \xe2\x9c\x93", 10) == 0);
    CHECK(strcmp(rf_gguf_kv_key(g, 0), "u8") == 0 && strcmp(rf_gguf_kv_key(g, 11), "f64") == 0);
    CHECK(rf_gguf_kv_key(g, 12) == NULL && rf_gguf_kv_key(g, -1) == NULL);
}

static void test_scalars_roundtrip(void) {
    rb_buf b;
    rf_gguf *g = NULL, *g2 = NULL;
    memset(&b, 0, sizeof b);
    build_scalars(&b);
    REQUIRE_OK(rf_gguf_open_memory(b.p, b.n, &g));
    check_scalars(g);
    CHECK(rf_gguf_version(g) == 3 && rf_gguf_alignment(g) == 32 && rf_gguf_n_tensors(g) == 0);
    CHECKF(copy_all(g, tmp_path("scalars"), &g2) == RF_OK, "%s", rf_last_error());
    if (g2) check_scalars(g2);
    rf_gguf_close(g);
    rf_gguf_close(g2);
    remove(tmp_path("scalars"));
    free(b.p);
}

static void test_strings(void) {
    rf_gguf_writer *w = NULL;
    rf_gguf *g = NULL;
    const char *s;
    size_t n;
    const char *path = tmp_path("strings");
    REQUIRE_OK(rf_gguf_writer_new(&w));
    CHECK(rf_gguf_set_str(w, "empty", "") == RF_OK);
    CHECK(rf_gguf_set_str(w, "utf8", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80") == RF_OK);
    CHECK(rf_gguf_set_str(w, "general.name", "tiny") == RF_OK);
    CHECK(rf_gguf_writer_write(w, path) == RF_OK);
    rf_gguf_writer_free(w);
    REQUIRE_OK(rf_gguf_open(path, &g));
    CHECK(rf_gguf_get_str(g, "empty", &s, &n) == RF_OK && n == 0);
    CHECK(rf_gguf_get_str(g, "utf8", &s, &n) == RF_OK && n == 11 && memcmp(s, "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 11) == 0);
    CHECK(rf_gguf_get_str(g, "general.name", &s, NULL) == RF_OK && memcmp(s, "tiny", 4) == 0);
    {
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        CHECK(!file_exists(tmp));
    }
    rf_gguf_close(g);
    remove(path);
}

static void test_arrays(void) {
    /* Three elements of every fixed-size type, as native little-endian values. */
    uint8_t u8[3] = {0, 128, 255};
    int8_t i8[3] = {-128, 0, 127};
    uint16_t u16[3] = {0, 1, 65535};
    int16_t i16[3] = {-32768, 5, 32767};
    uint32_t u32[3] = {0, 7, 4294967295u};
    int32_t i32[3] = {-2147483647 - 1, 0, 2147483647};
    float f32[3] = {-1.0f, 0.5f, 3.25f};
    uint8_t bools[3] = {1, 0, 1};
    uint64_t u64[3] = {0, 1, 18446744073709551615ull};
    int64_t i64[3] = {-9223372036854775807ll - 1, 0, 9223372036854775807ll};
    double f64[3] = {1e-300, -0.0, 1e300};
    const char *strs[4] = {"", "a", "\xc3\xa9t\xc3\xa9", "end"};
    rf_gguf_writer *w = NULL;
    rf_gguf *g = NULL;
    rf_gguf_value a, e;
    const char *path = tmp_path("arrays");
    uint64_t k;
    REQUIRE_OK(rf_gguf_writer_new(&w));
    CHECK(rf_gguf_set_array(w, "u8", RF_GGUF_U8, u8, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "i8", RF_GGUF_I8, i8, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "u16", RF_GGUF_U16, u16, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "i16", RF_GGUF_I16, i16, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "u32", RF_GGUF_U32, u32, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "i32", RF_GGUF_I32, i32, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "f32", RF_GGUF_F32, f32, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "bool", RF_GGUF_BOOL, bools, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "u64", RF_GGUF_U64, u64, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "i64", RF_GGUF_I64, i64, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "f64", RF_GGUF_F64, f64, 3) == RF_OK);
    CHECK(rf_gguf_set_array(w, "empty", RF_GGUF_I32, NULL, 0) == RF_OK);
    CHECK(rf_gguf_set_str_array(w, "strs", strs, 4) == RF_OK);
    CHECK(rf_gguf_set_array(w, "bad", RF_GGUF_STRING, strs, 1) == RF_ERR_INVALID_ARG);
    CHECK(rf_gguf_set_array(w, "bad", RF_GGUF_ARRAY, u8, 1) == RF_ERR_INVALID_ARG);
    REQUIRE_OK(rf_gguf_writer_write(w, path));
    rf_gguf_writer_free(w);
    REQUIRE_OK(rf_gguf_open(path, &g));
    CHECK(rf_gguf_n_kv(g) == 13);
#define ARR(key, T, src, field)                                                                  \
    do {                                                                                         \
        CHECK(rf_gguf_get_array(g, key, &a) == RF_OK && a.n == 3 && a.data != NULL);             \
        for (k = 0; k < 3 && a.n == 3; k++) {                                                    \
            CHECK(rf_gguf_array_get(g, &a, k, &e) == RF_OK && e.type == T && e.field == src[k]); \
        }                                                                                        \
        CHECK(a.data && memcmp(a.data, src, sizeof src) == 0);                                   \
        CHECK(a.elem_type == T);                                                                 \
    } while (0)
    ARR("u8", RF_GGUF_U8, u8, u);
    ARR("i8", RF_GGUF_I8, i8, i);
    ARR("u16", RF_GGUF_U16, u16, u);
    ARR("i16", RF_GGUF_I16, i16, i);
    ARR("u32", RF_GGUF_U32, u32, u);
    ARR("i32", RF_GGUF_I32, i32, i);
    ARR("f32", RF_GGUF_F32, f32, f);
    ARR("bool", RF_GGUF_BOOL, bools, u);
    ARR("u64", RF_GGUF_U64, u64, u);
    ARR("i64", RF_GGUF_I64, i64, i);
    ARR("f64", RF_GGUF_F64, f64, f);
#undef ARR
    CHECK(rf_gguf_get_array(g, "empty", &a) == RF_OK && a.n == 0 && a.elem_type == RF_GGUF_I32);
    CHECK(rf_gguf_array_get(g, &a, 0, &e) == RF_ERR_INVALID_ARG);
    CHECK(rf_gguf_get_array(g, "strs", &a) == RF_OK && a.n == 4 && a.elem_type == RF_GGUF_STRING);
    for (k = 0; k < 4 && a.n == 4; k++) {
        CHECK(rf_gguf_array_get(g, &a, k, &e) == RF_OK && e.type == RF_GGUF_STRING && e.n == strlen(strs[k]) &&
              memcmp(e.str, strs[k], e.n) == 0);
    }
    CHECK(rf_gguf_array_get(g, &a, 4, &e) == RF_ERR_INVALID_ARG);
    rf_gguf_close(g);
    remove(path);
}

/* [[1, 2], [3], []] of i32, [["x", ""], ["yz"]], and an array nested 8 deep. */
static void build_nested(rb_buf *b) {
    int d;
    rb_header(b, 0, 3);
    rb_kv(b, "ints", RF_GGUF_ARRAY);
    rb_arr(b, RF_GGUF_ARRAY, 3);
    rb_arr(b, RF_GGUF_I32, 2); rb_u32(b, 1); rb_u32(b, 2);
    rb_arr(b, RF_GGUF_I32, 1); rb_u32(b, 3);
    rb_arr(b, RF_GGUF_I32, 0);
    rb_kv(b, "strs", RF_GGUF_ARRAY);
    rb_arr(b, RF_GGUF_ARRAY, 2);
    rb_arr(b, RF_GGUF_STRING, 2); rb_str(b, "x"); rb_str(b, "");
    rb_arr(b, RF_GGUF_STRING, 1); rb_str(b, "yz");
    rb_kv(b, "deep", RF_GGUF_ARRAY);
    for (d = 0; d < 7; d++) rb_arr(b, RF_GGUF_ARRAY, 1);
    rb_arr(b, RF_GGUF_U8, 1); rb_u8(b, 42);
}

static void check_nested(const rf_gguf *g) {
    rf_gguf_value a, e, x;
    int d;
    REQUIRE(rf_gguf_get_array(g, "ints", &a) == RF_OK && a.elem_type == RF_GGUF_ARRAY && a.n == 3 && a.data == NULL);
    CHECK(rf_gguf_array_get(g, &a, 0, &e) == RF_OK && e.type == RF_GGUF_ARRAY && e.elem_type == RF_GGUF_I32 && e.n == 2);
    CHECK(rf_gguf_array_get(g, &e, 1, &x) == RF_OK && x.type == RF_GGUF_I32 && x.i == 2);
    CHECK(rf_gguf_array_get(g, &a, 1, &e) == RF_OK && e.n == 1);
    CHECK(rf_gguf_array_get(g, &e, 0, &x) == RF_OK && x.i == 3);
    CHECK(rf_gguf_array_get(g, &a, 2, &e) == RF_OK && e.n == 0 && e.elem_type == RF_GGUF_I32);
    REQUIRE(rf_gguf_get_array(g, "strs", &a) == RF_OK && a.n == 2);
    CHECK(rf_gguf_array_get(g, &a, 0, &e) == RF_OK && e.elem_type == RF_GGUF_STRING && e.n == 2);
    CHECK(rf_gguf_array_get(g, &e, 0, &x) == RF_OK && x.n == 1 && x.str[0] == 'x');
    CHECK(rf_gguf_array_get(g, &e, 1, &x) == RF_OK && x.n == 0);
    CHECK(rf_gguf_array_get(g, &a, 1, &e) == RF_OK && e.n == 1);
    CHECK(rf_gguf_array_get(g, &e, 0, &x) == RF_OK && x.n == 2 && memcmp(x.str, "yz", 2) == 0);
    CHECK(rf_gguf_array_get(g, &x, 0, &e) == RF_ERR_WRONG_TYPE);
    REQUIRE(rf_gguf_get_array(g, "deep", &a) == RF_OK);
    for (d = 0; d < 7; d++) {
        REQUIRE(rf_gguf_array_get(g, &a, 0, &e) == RF_OK && e.type == RF_GGUF_ARRAY);
        a = e;
    }
    CHECK(a.elem_type == RF_GGUF_U8 && rf_gguf_array_get(g, &a, 0, &e) == RF_OK && e.u == 42);
}

static void test_nested_arrays(void) {
    rb_buf b;
    rf_gguf *g = NULL, *g2 = NULL;
    memset(&b, 0, sizeof b);
    build_nested(&b);
    REQUIRE_OK(rf_gguf_open_memory(b.p, b.n, &g));
    check_nested(g);
    CHECKF(copy_all(g, tmp_path("nested"), &g2) == RF_OK, "%s", rf_last_error());
    if (g2) check_nested(g2);
    rf_gguf_close(g);
    rf_gguf_close(g2);
    remove(tmp_path("nested"));
    free(b.p);
}

/* Tensors: several types and shapes, one produced by a fill callback. */
#define NT 40
typedef struct tensor_spec {
    char name[32];
    rf_type type;
    uint32_t n_dims;
    int64_t ne[4];
    uint64_t size;
    unsigned char *data;
} tensor_spec;

static rf_status fill_cb(void *user, const rf_gguf_tensor *t, void *dst, uint64_t size) {
    tensor_spec *s = (tensor_spec *)user;
    if (size != s->size || strcmp(t->name, s->name) != 0) return RF_ERR_INVALID_ARG;
    memcpy(dst, s->data, size);
    return RF_OK;
}

static rf_status fail_cb(void *user, const rf_gguf_tensor *t, void *dst, uint64_t size) {
    (void)user; (void)t; (void)dst; (void)size;
    return RF_ERR_UNSUPPORTED;
}

static void make_specs(tensor_spec *s) {
    static const rf_type types[] = {RF_TYPE_F32, RF_TYPE_F16, RF_TYPE_Q8_0, RF_TYPE_Q4_0, RF_TYPE_Q4_K,
                                    RF_TYPE_BF16, RF_TYPE_I8, RF_TYPE_Q6_K};
    int i;
    for (i = 0; i < NT; i++) {
        const rf_type_traits *tt;
        uint64_t row = 0;
        s[i].type = types[i % 8];
        tt = rf_type_get((uint32_t)s[i].type);
        snprintf(s[i].name, sizeof s[i].name, "blk.%d.w", i);
        s[i].n_dims = (uint32_t)(i % 4) + 1;
        s[i].ne[0] = (int64_t)tt->block_size * (1 + i % 3);
        s[i].ne[1] = s[i].n_dims > 1 ? 1 + i % 5 : 1;
        s[i].ne[2] = s[i].n_dims > 2 ? 2 : 1;
        s[i].ne[3] = s[i].n_dims > 3 ? 3 : 1;
        rf_type_row_bytes(s[i].type, s[i].ne[0], &row);
        s[i].size = row * (uint64_t)(s[i].ne[1] * s[i].ne[2] * s[i].ne[3]);
        s[i].data = (unsigned char *)malloc(s[i].size);
        fill_bytes(s[i].data, s[i].size, (uint32_t)i);
    }
}

static void check_tensors(const rf_gguf *g, const tensor_spec *s, uint64_t align) {
    int i;
    CHECK(rf_gguf_n_tensors(g) == NT);
    CHECK(rf_gguf_alignment(g) == align && rf_gguf_data_offset(g) % align == 0);
    for (i = 0; i < NT; i++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, i);
        REQUIRE(t != NULL);
        CHECK(rf_gguf_find_tensor(g, s[i].name) == t);
        CHECKF(strcmp(t->name, s[i].name) == 0 && t->type == s[i].type && t->n_dims == s[i].n_dims &&
                   t->ne[0] == s[i].ne[0] && t->ne[1] == s[i].ne[1] && t->ne[2] == s[i].ne[2] && t->ne[3] == s[i].ne[3],
               "tensor %d", i);
        CHECK(t->size == s[i].size && t->offset % align == 0);
        CHECK(t->data == (const unsigned char *)rf_gguf_tensor_at(g, 0)->data - rf_gguf_tensor_at(g, 0)->offset + t->offset);
        CHECKF(memcmp(t->data, s[i].data, s[i].size) == 0, "tensor %d bytes", i);
    }
    CHECK(rf_gguf_tensor_at(g, NT) == NULL && rf_gguf_find_tensor(g, "nope") == NULL);
}

static rf_status write_tensors(const char *path, tensor_spec *s, uint32_t align) {
    rf_gguf_writer *w = NULL;
    rf_status st = rf_gguf_writer_new(&w);
    int i;
    if (!st && align) st = rf_gguf_set_u32(w, "general.alignment", align);
    if (!st) st = rf_gguf_set_str(w, "general.architecture", "llama");
    for (i = 0; !st && i < NT; i++)
        st = i == 7 ? rf_gguf_add_tensor_fn(w, s[i].name, s[i].type, s[i].n_dims, s[i].ne, fill_cb, &s[i])
                    : rf_gguf_add_tensor(w, s[i].name, s[i].type, s[i].n_dims, s[i].ne, s[i].data);
    if (!st) st = rf_gguf_writer_write(w, path);
    rf_gguf_writer_free(w);
    return st;
}

static void test_tensors(void) {
    tensor_spec s[NT];
    rf_gguf *g = NULL;
    const char *path = tmp_path("tensors");
    int i;
    make_specs(s);
    CHECKF(write_tensors(path, s, 0) == RF_OK, "%s", rf_last_error());
    CHECKF(rf_gguf_open(path, &g) == RF_OK, "%s", rf_last_error());
    if (g) check_tensors(g, s, 32);
    rf_gguf_close(g);
    remove(path);
    for (i = 0; i < NT; i++) free(s[i].data);
}

static void test_alignment_64(void) {
    tensor_spec s[NT];
    rf_gguf *g = NULL;
    uint32_t a = 0;
    const char *path = tmp_path("align64");
    int i;
    make_specs(s);
    CHECKF(write_tensors(path, s, 64) == RF_OK, "%s", rf_last_error());
    CHECKF(rf_gguf_open(path, &g) == RF_OK, "%s", rf_last_error());
    if (g) {
        check_tensors(g, s, 64);
        CHECK(rf_gguf_get_u32(g, "general.alignment", &a) == RF_OK && a == 64);
    }
    rf_gguf_close(g);
    remove(path);
    for (i = 0; i < NT; i++) free(s[i].data);
}

/* mmap, read() and a caller buffer must give the same handle contents. */
static void test_open_modes(void) {
    tensor_spec s[NT];
    rf_gguf *g[3] = {NULL, NULL, NULL};
    const char *path = tmp_path("modes");
    unsigned char *buf = NULL;
    long n = 0;
    FILE *f;
    int i, m;
    make_specs(s);
    REQUIRE_OK(write_tensors(path, s, 0));
    f = fopen(path, "rb");
    REQUIRE(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (unsigned char *)malloc((size_t)n);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    CHECK(rf_gguf_open(path, &g[0]) == RF_OK);
    CHECK(rf_gguf_open_ex(path, RF_GGUF_NO_MMAP, &g[1]) == RF_OK);
    CHECK(rf_gguf_open_memory(buf, (size_t)n, &g[2]) == RF_OK);
    for (m = 0; m < 3; m++) {
        if (!g[m]) continue;
        check_tensors(g[m], s, 32);
        CHECK(rf_gguf_file_size(g[m]) == (uint64_t)n && rf_gguf_data_offset(g[m]) == rf_gguf_data_offset(g[0]));
        CHECK(rf_gguf_n_kv(g[m]) == 1 && strcmp(rf_gguf_kv_key(g[m], 0), "general.architecture") == 0);
    }
    CHECK(g[2] && (const unsigned char *)rf_gguf_tensor_at(g[2], 0)->data == buf + rf_gguf_data_offset(g[2]));
    for (m = 0; m < 3; m++) rf_gguf_close(g[m]);
    free(buf);
    remove(path);
    for (i = 0; i < NT; i++) free(s[i].data);
}

static void test_getters(void) {
    rb_buf b;
    rf_gguf *g = NULL;
    uint64_t u = 0;
    int64_t i = 0;
    uint32_t u32 = 0;
    double d = 0;
    float f = 0;
    int bo = 0;
    const char *s;
    rf_gguf_value a;
    memset(&b, 0, sizeof b);
    build_scalars(&b);
    REQUIRE_OK(rf_gguf_open_memory(b.p, b.n, &g));
    /* Integers convert when the value fits. */
    CHECK(rf_gguf_get_u64(g, "u8", &u) == RF_OK && u == 200);
    CHECK(rf_gguf_get_i64(g, "u32", &i) == RF_OK && i == 4000000000ll);
    CHECK(rf_gguf_get_u32(g, "u16", &u32) == RF_OK && u32 == 60000);
    CHECK(rf_gguf_get_i64(g, "i8", &i) == RF_OK && i == -100);
    CHECK(rf_gguf_get_f64(g, "i32", &d) == RF_OK && d == -2000000000.0);
    CHECK(rf_gguf_get_f32(g, "f64", &f) == RF_OK && isinf(f));
    CHECK(rf_gguf_get_f32(g, "f32", &f) == RF_OK && f == 1.5f);
    CHECK(rf_gguf_get_f64(g, "f64", &d) == RF_OK && d == -2.25e300);
    CHECK(rf_gguf_get_bool(g, "bool", &bo) == RF_OK && bo == 1);
    /* ... and do not when it does not. */
    CHECK(rf_gguf_get_u64(g, "i8", &u) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_u32(g, "u64", &u32) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_i64(g, "u64", &i) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_u32(g, "i32", &u32) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_u64(g, "f32", &u) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_u64(g, "bool", &u) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_bool(g, "u8", &bo) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_str(g, "u8", &s, NULL) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_f64(g, "str", &d) == RF_ERR_WRONG_TYPE);
    CHECK(rf_gguf_get_array(g, "str", &a) == RF_ERR_WRONG_TYPE);
    CHECK(strstr(rf_last_error(), "str") != NULL);
    /* Absent keys. */
    CHECK(rf_gguf_get_u64(g, "nope", &u) == RF_ERR_NOT_FOUND);
    CHECK(rf_gguf_get_str(g, "nope", &s, NULL) == RF_ERR_NOT_FOUND);
    CHECK(rf_gguf_get_array(g, "nope", &a) == RF_ERR_NOT_FOUND);
    CHECK(strstr(rf_last_error(), "nope") != NULL);
    CHECK(rf_gguf_find_kv(g, "nope") == -1 && rf_gguf_find_kv(g, "f64") == 11);
    CHECK(rf_gguf_get_u64(NULL, "u8", &u) == RF_ERR_INVALID_ARG);
    rf_gguf_close(g);
    free(b.p);
}

static void test_replace_key(void) {
    rf_gguf_writer *w = NULL;
    rf_gguf *g = NULL;
    uint32_t v = 0;
    const char *s;
    size_t n;
    const char *path = tmp_path("replace");
    REQUIRE_OK(rf_gguf_writer_new(&w));
    CHECK(rf_gguf_set_u32(w, "a", 1) == RF_OK);
    CHECK(rf_gguf_set_str(w, "b", "first") == RF_OK);
    CHECK(rf_gguf_set_u32(w, "c", 3) == RF_OK);
    CHECK(rf_gguf_set_u32(w, "a", 2) == RF_OK);
    CHECK(rf_gguf_set_str(w, "c", "now a string") == RF_OK);
    CHECK(rf_gguf_writer_write(w, path) == RF_OK);
    rf_gguf_writer_free(w);
    REQUIRE_OK(rf_gguf_open(path, &g));
    CHECK(rf_gguf_n_kv(g) == 3);
    CHECK(rf_gguf_find_kv(g, "a") == 0 && rf_gguf_find_kv(g, "b") == 1 && rf_gguf_find_kv(g, "c") == 2);
    CHECK(rf_gguf_get_u32(g, "a", &v) == RF_OK && v == 2);
    CHECK(rf_gguf_get_str(g, "c", &s, &n) == RF_OK && n == 12 && memcmp(s, "now a string", 12) == 0);
    rf_gguf_close(g);
    remove(path);
}

static void test_writer_rejects(void) {
    rf_gguf_writer *w = NULL;
    int64_t ne[5] = {32, 2, 1, 1, 1}, zero[2] = {32, 0}, neg[1] = {-32}, odd[1] = {33}, big[4] = {1ll << 32, 1ll << 32, 1, 1};
    float data[64];
    char tmp[600];
    const char *path = tmp_path("rejects");
    memset(data, 0, sizeof data);
    REQUIRE_OK(rf_gguf_writer_new(&w));
    CHECK(rf_gguf_add_tensor(w, "", RF_TYPE_F32, 1, ne, data) == RF_ERR_BAD_STRING);
    CHECK(rf_gguf_add_tensor(w, NULL, RF_TYPE_F32, 1, ne, data) == RF_ERR_INVALID_ARG);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 0, ne, data) == RF_ERR_BAD_SHAPE);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 5, ne, data) == RF_ERR_BAD_SHAPE);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 2, zero, data) == RF_ERR_BAD_SHAPE);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 1, neg, data) == RF_ERR_BAD_SHAPE);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 4, big, data) == RF_ERR_BAD_SHAPE);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_Q8_0, 1, odd, data) == RF_ERR_BAD_SHAPE);
    CHECK(strstr(rf_last_error(), "block size") != NULL);
    CHECK(rf_gguf_add_tensor(w, "t", (rf_type)4, 1, ne, data) == RF_ERR_BAD_TYPE);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 1, ne, NULL) == RF_ERR_INVALID_ARG);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 2, ne, data) == RF_OK);
    CHECK(rf_gguf_add_tensor(w, "t", RF_TYPE_F32, 1, ne, data) == RF_ERR_DUPLICATE);
    CHECK(rf_gguf_set_u32(w, "", 1) == RF_ERR_BAD_STRING);
    CHECK(rf_gguf_set_u32(w, "general.alignment", 0) == RF_ERR_BAD_ALIGNMENT);
    CHECK(rf_gguf_set_u32(w, "general.alignment", 3) == RF_ERR_BAD_ALIGNMENT);
    CHECK(rf_gguf_set_i32(w, "general.alignment", 32) == RF_ERR_BAD_ALIGNMENT);
    CHECK(rf_gguf_set_u64(w, "general.alignment", 32) == RF_ERR_BAD_ALIGNMENT);
    /* A failing fill callback fails the write and leaves neither the file nor the .tmp. */
    CHECK(rf_gguf_add_tensor_fn(w, "f", RF_TYPE_F32, 1, ne, fail_cb, NULL) == RF_OK);
    remove(path);
    CHECK(rf_gguf_writer_write(w, path) == RF_ERR_UNSUPPORTED);
    CHECK(strstr(rf_last_error(), "'f'") != NULL);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(!file_exists(path) && !file_exists(tmp));
    CHECK(rf_gguf_writer_write(w, "/nonexistent-dir/x.gguf") == RF_ERR_IO);
    rf_gguf_writer_free(w);
}

static void test_open_errors(void) {
    rf_gguf *g = (rf_gguf *)&g;
    unsigned char bad[24];
    CHECK(rf_gguf_open("/nonexistent.gguf", &g) == RF_ERR_IO && g == NULL);
    CHECK(strstr(rf_last_error(), "/nonexistent.gguf") != NULL);
    CHECK(rf_gguf_open(".", &g) == RF_ERR_IO);
    memset(bad, 0, sizeof bad);
    CHECK(rf_gguf_open_memory(bad, 0, &g) == RF_ERR_TRUNCATED);
    CHECK(rf_gguf_open_memory(bad, sizeof bad, &g) == RF_ERR_BAD_MAGIC);
    memcpy(bad, "GGUF\0\0\0\3", 8);
    CHECK(rf_gguf_open_memory(bad, sizeof bad, &g) == RF_ERR_BIG_ENDIAN);
    memcpy(bad, "GGUF\1\0\0\0", 8);
    CHECK(rf_gguf_open_memory(bad, sizeof bad, &g) == RF_ERR_BAD_VERSION && strstr(rf_last_error(), "1") != NULL);
    memcpy(bad, "GGUF\2\0\0\0", 8);
    CHECK(rf_gguf_open_memory(bad, sizeof bad, &g) == RF_OK && rf_gguf_version(g) == 2);
    rf_gguf_close(g);
    rf_gguf_close(NULL);
    rf_gguf_writer_free(NULL);
}

int main(void) {
    (void)rft_shared_dir;
    RUN(test_scalars_roundtrip);
    RUN(test_strings);
    RUN(test_arrays);
    RUN(test_nested_arrays);
    RUN(test_tensors);
    RUN(test_alignment_64);
    RUN(test_open_modes);
    RUN(test_getters);
    RUN(test_replace_key);
    RUN(test_writer_rejects);
    RUN(test_open_errors);
    return TEST_EXIT();
}
