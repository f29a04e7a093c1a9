/* Fuzz target body: tokenizer encode/decode on real vocabularies. The vocabs are loaded once:
   llama.cpp's ggml-vocab-*.gguf from ../shared/models/vocab (or $RF_FUZZ_VOCAB_DIR) when
   present, else two written by rf_synth_write (an SPM llama and a BPE qwen2 vocab).
   Input: byte 0 picks the vocab, byte 1 the flags, the rest is the text (and, read as 16-bit
   numbers, a sequence of ids for detokenize). Shared by tests/fuzz/fuzz_token.c (libFuzzer)
   and tests/test_fuzz_replay.c (make test). */
#ifndef RF_FUZZ_TOKEN_H
#define RF_FUZZ_TOKEN_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"

#define RFF_MAX_VOCABS 16
static rf_gguf *rff_vocab_g[RFF_MAX_VOCABS];
static rf_tokenizer *rff_vocab_t[RFF_MAX_VOCABS];
static char rff_vocab_name[RFF_MAX_VOCABS][64];
static int rff_n_vocabs = -1;

static void rff_vocab_add(const char *path, const char *name) {
    rf_gguf *g = NULL;
    rf_tokenizer *t = NULL;
    if (rff_n_vocabs >= RFF_MAX_VOCABS) return;
    if (rf_gguf_open(path, &g) != RF_OK) return;
    if (rf_tokenizer_load(g, &t) != RF_OK) {
        rf_gguf_close(g);
        return;
    }
    rff_vocab_g[rff_n_vocabs] = g;
    rff_vocab_t[rff_n_vocabs] = t;
    snprintf(rff_vocab_name[rff_n_vocabs], sizeof rff_vocab_name[0], "%s", name);
    rff_n_vocabs++;
}

/* Loads the vocabs once; returns how many there are. */
static int rff_token_init(void) {
    static const char *const names[] = {"llama-spm", "gpt-2", "bert-bge", "phi-3", "deepseek-llm", "falcon",
                                        "starcoder", "mpt", "baichuan", "refact", "deepseek-coder", "gpt-neox"};
    static const char *const dirs[] = {"../shared/models/vocab", "../../shared/models/vocab",
                                       "../../../shared/models/vocab"};
    const char *env = getenv("RF_FUZZ_VOCAB_DIR");
    char path[512];
    size_t i, d;
    if (rff_n_vocabs >= 0) return rff_n_vocabs;
    rff_n_vocabs = 0;
    for (d = 0; d < (env && *env ? 1 : sizeof dirs / sizeof dirs[0]); d++) {
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", env && *env ? env : dirs[d], names[i]);
            rff_vocab_add(path, names[i]);
        }
        if (rff_n_vocabs) break;
    }
    if (rff_n_vocabs == 0) { /* no shared folder: synthetic SPM and BPE vocabs */
        static const char *const archs[] = {"llama", "qwen2"};
        for (i = 0; i < 2; i++) {
            rf_synth_params p;
            memset(&p, 0, sizeof p);
            p.arch = archs[i];
            p.dim = 8;
            p.n_layers = 1;
            p.n_heads = 2;
            p.ffn = 8;
            p.vocab = 1000;
            snprintf(path, sizeof path, "/tmp/rf_fuzz_vocab_%s_%ld.gguf", archs[i], (long)getpid());
            if (rf_synth_write(&p, path) == RF_OK) rff_vocab_add(path, archs[i]);
            remove(path); /* the tokenizer copied what it needs; the mapping stays valid */
        }
    }
    return rff_n_vocabs;
}

static void rff_token_fini(void) {
    int i;
    for (i = 0; i < rff_n_vocabs; i++) {
        rf_tokenizer_free(rff_vocab_t[i]);
        rf_gguf_close(rff_vocab_g[i]);
    }
    rff_n_vocabs = -1;
}

static int rf_fuzz_token(const uint8_t *data, size_t size) {
    const rf_tokenizer *t;
    const char *text;
    size_t len, n = 0, n2 = 0, k, nb = 0, nb2 = 0;
    unsigned flags;
    int32_t *ids, *ids2, nv;
    char *buf, piece[64];
    rf_status st;
    if (rff_token_init() == 0 || size < 2) return 0;
    t = rff_vocab_t[data[0] % rff_n_vocabs];
    flags = data[1] & (RF_TOK_ADD_SPECIAL | RF_TOK_PARSE_SPECIAL);
    text = (const char *)data + 2;
    len = size - 2;
    nv = rf_tokenizer_n_vocab(t);

    /* encode: a size query (no buffer), a small buffer, then the size it asked for; all agree */
    st = rf_tokenize(t, text, len, flags, NULL, 0, &n2);
    rff_check(st == RF_OK ? n2 == 0 : st == RF_ERR_TOO_LARGE);
    ids = (int32_t *)malloc(sizeof(int32_t) * 8);
    rff_check(ids != NULL);
    st = rf_tokenize(t, text, len, flags, ids, 8, &n);
    rff_check(st == RF_OK || st == RF_ERR_TOO_LARGE);
    rff_check((st == RF_ERR_TOO_LARGE) == (n > 8));
    rff_check(n == n2);
    ids2 = (int32_t *)malloc(sizeof(int32_t) * (n ? n : 1));
    rff_check(ids2 != NULL);
    st = rf_tokenize(t, text, len, flags, ids2, n, &n2);
    rff_check(st == RF_OK && n2 == n);
    rff_check(memcmp(ids, ids2, sizeof(int32_t) * (n < 8 ? n : 8)) == 0);
    for (k = 0; k < n; k++) rff_check(ids2[k] >= 0 && ids2[k] < nv);

    /* decode: a size query with no buffer, then the exact buffer; the same length both times */
    st = rf_detokenize(t, ids2, n, data[1] >> 2 & RF_TOK_RENDER_SPECIAL, NULL, 0, &nb);
    rff_check(st == RF_OK ? nb == 0 : st == RF_ERR_TOO_LARGE);
    buf = (char *)malloc(nb ? nb : 1);
    rff_check(buf != NULL);
    st = rf_detokenize(t, ids2, n, data[1] >> 2 & RF_TOK_RENDER_SPECIAL, buf, nb, &nb2);
    rff_check(st == RF_OK && nb2 == nb);
    for (k = 0; k < n; k++) {
        st = rf_token_to_piece(t, ids2[k], RF_TOK_RENDER_SPECIAL, piece, sizeof piece, &nb2);
        rff_check(st == RF_OK || (st == RF_ERR_TOO_LARGE && nb2 > sizeof piece));
    }
    free(buf);
    free(ids);
    free(ids2);

    /* arbitrary ids: the input read as little-endian 16-bit numbers (and a few out of range) */
    n = len / 2;
    ids = (int32_t *)calloc(n ? n : 1, sizeof(int32_t)); /* calloc: gcc -O2 warns on a 0-length read otherwise */
    rff_check(ids != NULL);
    for (k = 0; k < n; k++) ids[k] = (int32_t)(((uint32_t)(uint8_t)text[2 * k] | (uint32_t)(uint8_t)text[2 * k + 1] << 8) % (uint32_t)nv);
    st = rf_detokenize(t, ids, n, RF_TOK_RENDER_SPECIAL, piece, sizeof piece, &nb);
    rff_check(st == RF_OK || (st == RF_ERR_TOO_LARGE && nb > sizeof piece));
    if (n) {
        ids[n - 1] = nv; /* one past the vocab: refused, nothing read */
        rff_check(rf_detokenize(t, ids, n, 0, piece, sizeof piece, &nb) == RF_ERR_INVALID_ARG);
        rff_check(rf_token_to_piece(t, -1, 0, piece, sizeof piece, &nb) == RF_ERR_INVALID_ARG);
    }
    free(ids);
    return 0;
}
#endif
