/* Fuzz target body: GGUF from memory. Parses the input with rf_gguf_open_memory and, when it
   opens, walks everything a caller can reach -- every kv with every typed getter, every array
   element (nested arrays included), every tensor's bytes -- then copies every kv into a writer
   and loads a tokenizer from it (so tokenizer.ggml.* validation is fuzzed too). The walk checks
   the reader's promises with rff_check (abort on a broken one: libFuzzer reports it).
   Shared by tests/fuzz/fuzz_gguf.c (libFuzzer) and tests/test_fuzz_replay.c (make test). */
#ifndef RF_FUZZ_GGUF_H
#define RF_FUZZ_GGUF_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* Touches every byte a value claims, so ASan sees any read past the input. */
static unsigned rff_touch(const void *p, uint64_t n) {
    const unsigned char *b = (const unsigned char *)p;
    unsigned acc = 0;
    uint64_t i;
    for (i = 0; i < n; i++) acc += b[i];
    return acc;
}

static unsigned rff_gguf_walk_value(const rf_gguf *g, const rf_gguf_value *v, const uint8_t *lo, const uint8_t *hi,
                                    int depth) {
    unsigned acc = 0;
    uint64_t i;
    rff_check(depth <= 16);
    rff_check((unsigned)v->type < RF_GGUF_VTYPE_COUNT);
    if (v->type == RF_GGUF_STRING) {
        rff_check(v->str != NULL || v->n == 0);
        if (v->n) rff_check((const uint8_t *)v->str >= lo && (const uint8_t *)v->str + v->n <= hi);
        acc += rff_touch(v->str, v->n);
    } else if (v->type == RF_GGUF_ARRAY) {
        rf_gguf_value e;
        rff_check((unsigned)v->elem_type < RF_GGUF_VTYPE_COUNT);
        for (i = 0; i < v->n; i++) {
            rff_check(rf_gguf_array_get(g, v, i, &e) == RF_OK);
            rff_check(e.type == v->elem_type);
            acc += rff_gguf_walk_value(g, &e, lo, hi, depth + 1);
        }
        rff_check(rf_gguf_array_get(g, v, v->n, &e) != RF_OK); /* one past the end is refused */
    }
    return acc;
}

static int rf_fuzz_gguf(const uint8_t *data, size_t size) {
    rf_gguf *g = NULL;
    rf_gguf_writer *w = NULL;
    rf_tokenizer *tok = NULL;
    rf_gguf_value v;
    int64_t i, nkv, nt;
    unsigned acc = 0;
    rf_status st = rf_gguf_open_memory(data, size, &g);
    const uint8_t *lo = data, *hi = data + size;
    if (st != RF_OK) {
        rff_check(g == NULL);
        rff_check(rf_last_error()[0] != 0); /* every failure says why */
        return 0;
    }
    rff_check(g != NULL);
    rff_check(rf_gguf_version(g) == 2 || rf_gguf_version(g) == 3);
    rff_check(rf_gguf_data_offset(g) <= size);
    nkv = rf_gguf_n_kv(g);
    nt = rf_gguf_n_tensors(g);
    rff_check(nkv >= 0 && nt >= 0);
    for (i = 0; i < nkv; i++) {
        const char *key = rf_gguf_kv_key(g, i);
        uint64_t u;
        int64_t s64;
        uint32_t u32;
        double f64;
        float f32;
        int b;
        const char *str;
        size_t len;
        rff_check(key != NULL && key[0] != 0);
        rff_check(rf_gguf_find_kv(g, key) == i); /* keys are unique */
        rff_check(rf_gguf_kv_value(g, i, &v) == RF_OK);
        acc += rff_gguf_walk_value(g, &v, lo, hi, 0);
        /* typed getters: each either succeeds or says why, never reads out of bounds */
        (void)rf_gguf_get_u64(g, key, &u);
        (void)rf_gguf_get_i64(g, key, &s64);
        (void)rf_gguf_get_u32(g, key, &u32);
        (void)rf_gguf_get_f64(g, key, &f64);
        (void)rf_gguf_get_f32(g, key, &f32);
        (void)rf_gguf_get_bool(g, key, &b);
        if (rf_gguf_get_str(g, key, &str, &len) == RF_OK) acc += rff_touch(str, len);
        if (rf_gguf_get_array(g, key, &v) == RF_OK) rff_check(v.type == RF_GGUF_ARRAY);
    }
    rff_check(rf_gguf_kv_key(g, nkv) == NULL);
    for (i = 0; i < nt; i++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, i);
        uint64_t row;
        rff_check(t != NULL && t->name && t->name[0]);
        rff_check(rf_gguf_find_tensor(g, t->name) == t);
        rff_check(t->n_dims >= 1 && t->n_dims <= 4);
        rff_check(rf_type_get((uint32_t)t->type) != NULL);
        rff_check((const uint8_t *)t->data >= lo && t->size <= (uint64_t)(hi - (const uint8_t *)t->data));
        rff_check(rf_type_row_bytes(t->type, t->ne[0], &row) == RF_OK);
        acc += rff_touch(t->data, t->size < 4096 ? t->size : 4096);
        if (t->size) acc += ((const uint8_t *)t->data)[t->size - 1];
    }
    rff_check(rf_gguf_tensor_at(g, nt) == NULL);
    /* copying every kv into a writer re-walks the encoded values */
    if (rf_gguf_writer_new(&w) == RF_OK) {
        for (i = 0; i < nkv; i++) rff_check(rf_gguf_writer_copy_kv(w, g, i) == RF_OK);
        rf_gguf_writer_free(w);
    }
    /* a tokenizer from whatever tokenizer.ggml.* keys the input holds */
    if (rf_tokenizer_load(g, &tok) == RF_OK) {
        int32_t ids[64], id;
        size_t n = 0, k;
        char buf[256];
        int32_t nv = rf_tokenizer_n_vocab(tok);
        static const char text[] = "Hello world! <s> 123 \xC3\xA9\xE2\x96\x81 \n\t <|im_start|>";
        rff_check(nv > 0);
        st = rf_tokenize(tok, text, sizeof text - 1, RF_TOK_ADD_SPECIAL | RF_TOK_PARSE_SPECIAL, ids, 64, &n);
        if (st == RF_OK || st == RF_ERR_TOO_LARGE)
            for (k = 0; k < n && k < 64; k++) rff_check(ids[k] >= 0 && ids[k] < nv);
        for (id = 0; id < nv && id < 4096; id++) (void)rf_token_to_piece(tok, id, RF_TOK_RENDER_SPECIAL, buf, sizeof buf, &n);
        rf_tokenizer_free(tok);
    } else {
        rff_check(tok == NULL);
    }
    rf_gguf_close(g);
    return (int)(acc & 1);
}
#endif
