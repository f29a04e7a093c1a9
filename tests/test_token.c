/* Tokenizer tests.
   Vectors: llama.cpp's tests/test-tokenizer-0 inputs and outputs (shared/models/vocab/ggml-vocab-NAME.gguf.inp and .out:
   llama_tokenize(add_special=false, parse_special=false)) and the .out files in shared/reference/tokenizer
   (the same call at llama.cpp c392e509, for vocabs upstream ships without .out).
   Unit tests build small vocabs with the GGUF writer. */
#include "rocmforge.h"
#include "rf_test.h"

#include <stdint.h>
#include <time.h>

#define RF__TEST_MIN(a, b) ((a) < (b) ? (a) : (b))

/* ---- helpers ---------------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long sz;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[sz] = 0; *n = (size_t)sz; }
    return buf;
}

/* The test strings of a .inp file: each is followed by "\n__ggml_vocab_test__\n". */
#define SEP "\n__ggml_vocab_test__\n"
typedef struct cases { char *blob; const char *s[256]; size_t n[256]; int count; } cases;

static int load_cases(const char *path, cases *c) {
    size_t n, off = 0;
    memset(c, 0, sizeof *c);
    if (!(c->blob = read_all(path, &n))) return 0;
    while (off < n && c->count < 256) {
        char *m = strstr(c->blob + off, SEP);
        if (!m) break;
        c->s[c->count] = c->blob + off;
        c->n[c->count] = (size_t)(m - (c->blob + off));
        c->count++;
        off = (size_t)(m - c->blob) + strlen(SEP);
    }
    return 1;
}

static rf_tokenizer *open_tok(const char *path) {
    rf_gguf *g = NULL;
    rf_tokenizer *t = NULL;
    rf_status st = rf_gguf_open(path, &g);
    if (st) { printf("  open %s: %s %s\n", path, rf_status_str(st), rf_last_error()); return NULL; }
    st = rf_tokenizer_load(g, &t);
    if (st) printf("  load %s: %s %s\n", path, rf_status_str(st), rf_last_error());
    rf_gguf_close(g); /* the tokenizer copies what it needs */
    return t;
}

static void print_ids(const char *label, const int32_t *v, size_t n) {
    size_t i;
    printf("    %s:", label);
    for (i = 0; i < n && i < 40; i++) printf(" %d", (int)v[i]);
    printf("%s\n", n > 40 ? " ..." : "");
}

/* Checks every case of inp against out; returns the number that matched (or -1: skipped). */
static int check_vectors(const char *vocab, const char *inp, const char *outp, int roundtrip, int *total) {
    cases c;
    char *out, *line;
    size_t outn;
    int i, pass = 0, rt_fail = 0;
    rf_tokenizer *t;
    static int32_t ids[65536];
    static char text[1 << 16];
    *total = 0;
    if (!load_cases(inp, &c)) return -1;
    if (!(out = read_all(outp, &outn))) { free(c.blob); return -1; }
    if (!(t = open_tok(vocab))) { free(c.blob); free(out); return 0; }
    line = out;
    for (i = 0; i < c.count && line && *line; i++) {
        char *nl = strchr(line, '\n'), *p;
        int32_t want[4096];
        size_t nw = 0, n = 0;
        rf_status st;
        if (nl) *nl = 0;
        for (p = line; *p;) {
            char *e;
            long v = strtol(p, &e, 10);
            if (e == p) break;
            want[nw++] = (int32_t)v;
            p = e;
        }
        st = rf_tokenize(t, c.s[i], c.n[i], 0, ids, 65536, &n);
        (*total)++;
        if (st == RF_OK && n == nw && memcmp(ids, want, n * sizeof *ids) == 0) {
            pass++;
        } else {
            printf("  %s case %d mismatch: \"%.*s\"\n", vocab, i, (int)RF__TEST_MIN(c.n[i], 60), c.s[i]);
            print_ids("want", want, nw);
            print_ids("got ", ids, n);
        }
        if (roundtrip && st == RF_OK) {
            size_t tn = 0;
            st = rf_detokenize(t, ids, n, 0, text, sizeof text, &tn);
            if (st || tn != c.n[i] || memcmp(text, c.s[i], tn) != 0) {
                if (rt_fail++ < 3)
                    printf("  %s case %d round trip: \"%.*s\" -> \"%.*s\"\n", vocab, i, (int)RF__TEST_MIN(c.n[i], 60),
                           c.s[i], (int)RF__TEST_MIN(tn, 60), text);
                CHECKF(0, "round trip of case %d", i);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    rf_tokenizer_free(t);
    free(c.blob);
    free(out);
    return pass;
}

/* ---- vectors ---------------------------------------------------------------------------- */

typedef struct vocab_case {
    const char *gguf;       /* under shared/ */
    const char *inp, *out;  /* under shared/ */
    int roundtrip;          /* detokenize(tokenize(x)) == x holds for every case */
} vocab_case;

/* WPM lowercases and drops accents and white space, so it cannot round-trip. */
static const vocab_case vocabs[] = {
    {"models/vocab/ggml-vocab-bert-bge.gguf", "models/vocab/ggml-vocab-bert-bge.gguf.inp", "models/vocab/ggml-vocab-bert-bge.gguf.out", 0},
    {"models/vocab/ggml-vocab-deepseek-coder.gguf", "models/vocab/ggml-vocab-deepseek-coder.gguf.inp", "models/vocab/ggml-vocab-deepseek-coder.gguf.out", 1},
    {"models/vocab/ggml-vocab-deepseek-llm.gguf", "models/vocab/ggml-vocab-deepseek-llm.gguf.inp", "models/vocab/ggml-vocab-deepseek-llm.gguf.out", 1},
    {"models/vocab/ggml-vocab-falcon.gguf", "models/vocab/ggml-vocab-falcon.gguf.inp", "models/vocab/ggml-vocab-falcon.gguf.out", 1},
    {"models/vocab/ggml-vocab-gpt-2.gguf", "models/vocab/ggml-vocab-gpt-2.gguf.inp", "models/vocab/ggml-vocab-gpt-2.gguf.out", 1},
    {"models/vocab/ggml-vocab-llama-spm.gguf", "models/vocab/ggml-vocab-llama-spm.gguf.inp", "models/vocab/ggml-vocab-llama-spm.gguf.out", 1},
    {"models/vocab/ggml-vocab-mpt.gguf", "models/vocab/ggml-vocab-mpt.gguf.inp", "models/vocab/ggml-vocab-mpt.gguf.out", 1},
    {"models/vocab/ggml-vocab-phi-3.gguf", "models/vocab/ggml-vocab-phi-3.gguf.inp", "models/vocab/ggml-vocab-phi-3.gguf.out", 1},
    {"models/vocab/ggml-vocab-refact.gguf", "models/vocab/ggml-vocab-refact.gguf.inp", "models/vocab/ggml-vocab-refact.gguf.out", 1},
    {"models/vocab/ggml-vocab-starcoder.gguf", "models/vocab/ggml-vocab-starcoder.gguf.inp", "models/vocab/ggml-vocab-starcoder.gguf.out", 1},
    /* llama.cpp's own outputs for vocabs shipped without vectors (see shared/reference/README.md) */
    {"models/stories260K.gguf", "models/vocab/ggml-vocab-llama-spm.gguf.inp", "reference/tokenizer/stories260K.gguf.out", 1},
    {"models/vocab/ggml-vocab-baichuan.gguf", "models/vocab/ggml-vocab-llama-spm.gguf.inp", "reference/tokenizer/ggml-vocab-baichuan.gguf.out", 1},
    {"models/vocab/ggml-vocab-gpt-neox.gguf", "models/vocab/ggml-vocab-llama-spm.gguf.inp", "reference/tokenizer/ggml-vocab-gpt-neox.gguf.out", 1},
};

static void test_vectors(void) {
    const char *sh = rft_shared_dir();
    size_t k;
    if (!sh) SKIP("shared/ not found (set RF_SHARED)");
    for (k = 0; k < sizeof vocabs / sizeof vocabs[0]; k++) {
        char g[1024], in[1024], out[1024];
        int total = 0, pass;
        const char *name = strrchr(vocabs[k].gguf, '/') + 1;
        snprintf(g, sizeof g, "%s/%s", sh, vocabs[k].gguf);
        snprintf(in, sizeof in, "%s/%s", sh, vocabs[k].inp);
        snprintf(out, sizeof out, "%s/%s", sh, vocabs[k].out);
        pass = check_vectors(g, in, out, vocabs[k].roundtrip, &total);
        if (pass < 0) { printf("  %s: vectors not found, skipped\n", name); continue; }
        printf("  %-32s %d/%d cases identical%s\n", name, pass, total,
               vocabs[k].roundtrip ? ", round trip checked" : "");
        CHECKF(pass == total && total > 0, "%s: %d/%d", name, pass, total);
    }
}

int main(void) {
    RUN(test_vectors);
    return TEST_EXIT();
}
