/* Allocation failures in the tokenizer: the k-th allocation fails, for every k, while loading
   a vocab and tokenizing; each call must return RF_OK or RF_ERR_OOM and leave nothing allocated.
   This program has its own copy of the implementation (RF_STATIC, so it does not clash with
   build/impl.o) built with a counting allocator. */
/* the allocator below needs stdlib.h before rocmforge.h, which wants _GNU_SOURCE first */
#define _GNU_SOURCE
#define RF_STATIC
#define RF_MALLOC(n) oom_malloc(n)
#define RF_REALLOC(p, n) oom_realloc(p, n)
#define RF_FREE(p) oom_free(p)
#include <stdlib.h>
static long oom_live, oom_count, oom_fail_at = -1;
static void *oom_malloc(size_t n) {
    void *p;
    if (oom_count++ == oom_fail_at) return NULL;
    if ((p = malloc(n ? n : 1)) != NULL) oom_live++;
    return p;
}
static void *oom_realloc(void *p, size_t n) {
    void *q;
    if (oom_count++ == oom_fail_at) return NULL;
    q = realloc(p, n ? n : 1);
    if (q && !p) oom_live++;
    return q;
}
static void oom_free(void *p) {
    if (p) oom_live--;
    free(p);
}
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wunused-function"  /* RF_STATIC: most of the API is unused here */
#endif
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "rf_test.h"
#include <unistd.h>

static char path[256];

/* A small vocab of each kind, written once with the GGUF writer (while allocations succeed). */
static int write_vocab(const char *model, const char *file) {
    static char bytes[256][8];
    const char *toks[300];
    int32_t types[300];
    float scores[300];
    static const char *const merges[3] = {"h e", "l l", "he ll"};
    rf_gguf_writer *w = NULL;
    int b, n = 0, m = 0;
    rf_status st;
    if (rf_gguf_writer_new(&w)) return 0;
    for (b = 0; b < 256; b++) {
        if (model[0] == 'g') {  /* GPT-2 byte -> character table */
            int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            unsigned cp = printable ? (unsigned)b : 0x100u + (unsigned)m++;
            if (cp < 0x80) { bytes[b][0] = (char)cp; bytes[b][1] = 0; }
            else { bytes[b][0] = (char)(0xC0 | (cp >> 6)); bytes[b][1] = (char)(0x80 | (cp & 0x3F)); bytes[b][2] = 0; }
            types[n] = 1;
        } else {
            snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
            types[n] = 6;
        }
        scores[n] = 0;
        toks[n++] = bytes[b];
    }
    toks[n] = "he"; toks[n + 1] = "ll"; toks[n + 2] = "hell"; toks[n + 3] = "<|im_start|>";
    toks[n + 4] = "\xE2\x96\x81h"; toks[n + 5] = "<tool>";
    scores[n] = -1; scores[n + 1] = -1; scores[n + 2] = -0.5f; scores[n + 3] = 0; scores[n + 4] = -2; scores[n + 5] = 0;
    types[n] = types[n + 1] = types[n + 2] = types[n + 4] = 1;
    types[n + 3] = 3;
    types[n + 5] = 4;
    n += 6;
    rf_gguf_set_str(w, "tokenizer.ggml.model", model);
    rf_gguf_set_str_array(w, "tokenizer.ggml.tokens", toks, (uint64_t)n);
    rf_gguf_set_array(w, "tokenizer.ggml.token_type", RF_GGUF_I32, types, (uint64_t)n);
    rf_gguf_set_array(w, "tokenizer.ggml.scores", RF_GGUF_F32, scores, (uint64_t)n);
    if (model[0] == 'g') {
        rf_gguf_set_str(w, "tokenizer.ggml.pre", "llama-bpe");
        rf_gguf_set_str_array(w, "tokenizer.ggml.merges", merges, 3);
    }
    st = rf_gguf_writer_write(w, file);
    rf_gguf_writer_free(w);
    return st == RF_OK;
}

static void run_with_failures(const char *model) {
    static const char text[] = "<|im_start|>hello <tool> h\xC3\xA9llo, world!!  \n 123";
    long k, total;
    rf_gguf *g = NULL;
    snprintf(path, sizeof path, "%s/rf_test_token_oom_%ld.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    if (!write_vocab(model, path)) { CHECK(0); return; }
    if (rf_gguf_open(path, &g)) { remove(path); CHECK(0); return; }
    /* count the allocations of one successful run, then fail each of them in turn */
    for (k = -1, total = 0; k < total; k++) {
        rf_tokenizer *t = NULL;
        int32_t ids[256];
        char buf[256];
        size_t n = 0;
        rf_status st;
        long live0 = oom_live;
        oom_count = 0;
        oom_fail_at = k;
        st = rf_tokenizer_load(g, &t);
        if (st == RF_OK) {
            st = rf_tokenize(t, text, sizeof text - 1, RF_TOK_PARSE_SPECIAL | RF_TOK_ADD_SPECIAL, ids, 256, &n);
            if (st == RF_OK) st = rf_detokenize(t, ids, n, 0, buf, sizeof buf, &n);
        }
        if (k < 0) {
            CHECKF(st == RF_OK, "%s: %s", model, rf_last_error());
            total = oom_count;
        } else {
            CHECKF(st == RF_OK || st == RF_ERR_OOM, "%s: allocation %ld failed: %s %s", model, k, rf_status_str(st),
                   rf_last_error());
        }
        rf_tokenizer_free(t);
        CHECKF(oom_live == live0, "%s: allocation %ld failed: %ld blocks leaked", model, k, oom_live - live0);
    }
    oom_fail_at = -1;
    rf_gguf_close(g);
    remove(path);
    CHECK(total > 10);
}

static void test_oom_spm(void) { run_with_failures("llama"); }
static void test_oom_bpe(void) { run_with_failures("gpt2"); }
static void test_oom_wpm(void) { run_with_failures("bert"); }

int main(void) {
    RUN(test_oom_spm);
    RUN(test_oom_bpe);
    RUN(test_oom_wpm);
    return TEST_EXIT();
}
