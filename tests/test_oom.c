/* Allocation-failure injection, SQLite style. This program is its own implementation TU: it
   points RF_MALLOC/RF_REALLOC/RF_FREE at a counting allocator before it includes rocmforge.h
   with ROCMFORGE_IMPLEMENTATION (so it is built without impl.o; see the Makefile). Each scenario
   first runs with no failure to count its allocations and record its result, then once for
   every N in 1..count with the N-th allocation failing. Every one of those runs must
     - return an error status (RF_ERR_OOM), or succeed with exactly the reference result (a
       failure the library may absorb, like a worker thread it could not start);
     - free everything it allocated: the allocator counts live blocks, and under `make asan`
       LeakSanitizer checks too;
     - never crash (ASan/UBSan in `make asan`).
   Scenarios: loading a model (stories260K from ../shared, else a small synthetic model written
   with the real allocator), creating a context and a sampler, tokenizing and generating a few
   tokens; the GGUF writer (rf_synth_write); loading each kind of tokenizer (SPM, BPE, WPM) and
   tokenizing with it; opening a GGUF without mmap. */
#include <stddef.h>
static void *oom_malloc(size_t n);
static void *oom_realloc(void *p, size_t n);
static void oom_free(void *p);
#define RF_MALLOC(n) oom_malloc(n)
#define RF_REALLOC(p, n) oom_realloc(p, n)
#define RF_FREE(p) oom_free(p)
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "rf_test.h"

/* The counting allocator: test code, so global state is fine. Atomic because the thread pool's
   workers free their start-up argument on their own thread. */
static long oom_calls;    /* allocations attempted since oom_arm() */
static long oom_fail_at;  /* fail the allocation with this number (1-based); 0: never */
static long oom_failed;   /* how many were failed */
static long oom_live;     /* blocks allocated and not yet freed */

static void oom_arm(long fail_at) {
    oom_calls = 0;
    oom_failed = 0;
    oom_fail_at = fail_at;
}
static int oom_should_fail(void) {
    long k = __atomic_add_fetch(&oom_calls, 1, __ATOMIC_SEQ_CST);
    if (k == oom_fail_at) {
        __atomic_add_fetch(&oom_failed, 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}
static void *oom_malloc(size_t n) {
    void *p;
    if (oom_should_fail()) return NULL;
    p = malloc(n);
    if (p) __atomic_add_fetch(&oom_live, 1, __ATOMIC_SEQ_CST);
    return p;
}
static void *oom_realloc(void *p, size_t n) {
    void *q;
    if (oom_should_fail()) return NULL;
    q = realloc(p, n);
    if (q && !p) __atomic_add_fetch(&oom_live, 1, __ATOMIC_SEQ_CST);
    return q;
}
static void oom_free(void *p) {
    if (p) __atomic_sub_fetch(&oom_live, 1, __ATOMIC_SEQ_CST);
    free(p);
}

/* A scenario runs once and fills `result` (text compared with the reference run). */
typedef rf_status (*scenario_fn)(const void *arg, char *result, size_t cap);

/* Runs fn with no failure, then with each allocation failing in turn. Returns the number of
   allocation points exercised (0 when the reference run itself failed). */
static long oom_sweep(const char *name, scenario_fn fn, const void *arg) {
    char ref[4096], got[4096];
    long total, n, absorbed = 0, bad_status = 0, leaks = 0;
    long live0 = oom_live;
    rf_status st;
    ref[0] = 0;
    oom_arm(0);
    st = fn(arg, ref, sizeof ref);
    total = oom_calls;
    CHECKF(st == RF_OK, "%s: reference run failed: %s: %s", name, rf_status_str(st), rf_last_error());
    CHECKF(oom_live == live0, "%s: reference run leaked %ld blocks", name, oom_live - live0);
    if (st != RF_OK) return 0;
    for (n = 1; n <= total; n++) {
        got[0] = 0;
        oom_arm(n);
        st = fn(arg, got, sizeof got);
        oom_arm(0);
        if (oom_live != live0) {
            if (leaks++ < 5) printf("  %s: allocation %ld failing leaks %ld blocks (%s)\n", name, n, oom_live - live0, rf_status_str(st));
            oom_live = live0;  /* count each leak once */
        }
        if (st == RF_OK) {
            if (strcmp(got, ref) != 0) {
                if (bad_status++ < 5) printf("  %s: allocation %ld failed, yet RF_OK with a different result\n", name, n);
            } else {
                absorbed++;
                if (getenv("RF_OOM_VERBOSE")) printf("  %s: allocation %ld failing is absorbed\n", name, n);
            }
        } else if (st != RF_ERR_OOM) {
            if (bad_status++ < 5) printf("  %s: allocation %ld failing gives %s, not RF_ERR_OOM: %s\n", name, n, rf_status_str(st), rf_last_error());
        } else if (!strstr(rf_last_error(), "memory")) {
            if (bad_status++ < 5) printf("  %s: allocation %ld: RF_ERR_OOM with detail '%s'\n", name, n, rf_last_error());
        }
    }
    printf("  %s: %ld allocation points failed one at a time, %ld absorbed with the same result\n", name, total, absorbed);
    CHECKF(leaks == 0, "%s: %ld failure points leak", name, leaks);
    CHECKF(bad_status == 0, "%s: %ld failure points give a wrong status", name, bad_status);
    return total;
}

/* ---- scenarios ---- */

static char model_path[512];

static int collect(void *user, const char *text, size_t len) {
    char *out = (char *)user;
    size_t have = strlen(out);
    if (have + len < 1024) {
        memcpy(out + have, text, len);
        out[have + len] = 0;
    }
    return 0;
}

/* load, context, sampler, generate 4 tokens, free */
static rf_status scenario_generate(const void *arg, char *result, size_t cap) {
    rf_model *m = NULL;
    rf_ctx *c = NULL;
    rf_sampler *s = NULL;
    rf_ctx_params cp;
    rf_sampler_params sp = rf_sampler_default_params();
    rf_gen_params gp;
    rf_gen_result gr;
    rf_status st;
    char text[1024];
    static const char prompt[] = "Once upon a time";
    (void)arg;
    text[0] = 0;
    memset(&cp, 0, sizeof cp);
    cp.n_ctx = 64;
    cp.n_threads = 1;
    sp.seed = 42;
    memset(&gp, 0, sizeof gp);
    gp.max_tokens = 4;
    gp.on_piece = collect;
    gp.user = text;
    if ((st = rf_model_load(model_path, NULL, &m)) != RF_OK) return st;
    if ((st = rf_ctx_new(m, &cp, &c)) != RF_OK) goto done;
    if ((st = rf_sampler_new(&sp, rf_model_n_vocab(m), &s)) != RF_OK) goto done;
    if ((st = rf_generate(c, s, prompt, sizeof prompt - 1, &gp, &gr)) != RF_OK) goto done;
    snprintf(result, cap, "n_prompt %d n_gen %d stop %d text '%s' pos %d", (int)gr.n_prompt, (int)gr.n_gen,
             (int)gr.stop, text, (int)rf_ctx_pos(c));
done:
    rf_sampler_free(s);
    rf_ctx_free(c);
    rf_model_free(m);
    return st;
}

/* a context with a worker thread: a worker that cannot start is absorbed (fewer threads) */
static rf_status scenario_threads(const void *arg, char *result, size_t cap) {
    const rf_model *m = (const rf_model *)arg;
    rf_ctx *c = NULL;
    rf_ctx_params cp;
    rf_status st;
    int32_t toks[3] = {1, 2, 3};
    memset(&cp, 0, sizeof cp);
    cp.n_ctx = 16;
    cp.n_threads = 3;
    if ((st = rf_ctx_new(m, &cp, &c)) != RF_OK) return st;
    st = rf_ctx_decode(c, toks, 3);
    if (st == RF_OK) snprintf(result, cap, "pos %d logit0 %.6f", (int)rf_ctx_pos(c), (double)rf_ctx_logits(c)[0]);
    rf_ctx_free(c);
    return st;
}

static char synth_out[512];

/* the GGUF writer: on failure no file, and no .tmp file, is left behind */
static rf_status scenario_synth(const void *arg, char *result, size_t cap) {
    rf_synth_params p;
    rf_status st;
    char tmp[600];
    FILE *f;
    (void)arg;
    memset(&p, 0, sizeof p);
    p.arch = "qwen2";
    p.type = "q8_0";
    p.dim = 32;
    p.n_layers = 1;
    p.n_heads = 2;
    p.ffn = 32;
    p.vocab = 300;
    remove(synth_out);
    st = rf_synth_write(&p, synth_out);
    snprintf(tmp, sizeof tmp, "%s.tmp", synth_out);
    if ((f = fopen(tmp, "rb")) != NULL) {
        fclose(f);
        snprintf(result, cap, "left %s behind", tmp);
        remove(tmp);
        return st == RF_OK ? RF_ERR_IO : st;
    }
    f = fopen(synth_out, "rb");
    if (st != RF_OK && f) {
        fclose(f);
        return RF_ERR_IO; /* a failed write left a file: reported as a wrong status */
    }
    if (f) { /* the result is the file's length and FNV-1a hash: an absorbed failure must not change a byte */
        unsigned long long h = 1469598103934665603ull;
        long len = 0;
        int ch;
        while ((ch = fgetc(f)) != EOF) {
            h = (h ^ (unsigned)ch) * 1099511628211ull;
            len++;
        }
        snprintf(result, cap, "%ld bytes, hash %016llx", len, h);
        fclose(f);
    }
    return st;
}

/* tokenizer load + tokenize + detokenize on one vocab file (opened with the real allocator) */
static rf_status scenario_tokenizer(const void *arg, char *result, size_t cap) {
    const rf_gguf *g = (const rf_gguf *)arg;
    rf_tokenizer *t = NULL;
    rf_status st;
    int32_t ids[256];
    size_t n = 0, nb = 0;
    char text[1024];
    static const char in[] = "Hello world! <|endoftext|> caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD 12345   tabs\tand\nnewlines";
    if ((st = rf_tokenizer_load(g, &t)) != RF_OK) return st;
    st = rf_tokenize(t, in, sizeof in - 1, RF_TOK_ADD_SPECIAL | RF_TOK_PARSE_SPECIAL, ids, 256, &n);
    if (st == RF_OK) st = rf_detokenize(t, ids, n, 0, text, sizeof text - 1, &nb);
    if (st == RF_OK) {
        text[nb] = 0;
        snprintf(result, cap, "%zu ids, text '%s'", n, text);
    }
    rf_tokenizer_free(t);
    return st;
}

/* rf_gguf_open without mmap (the read() path allocates the file buffer) */
static rf_status scenario_gguf_read(const void *arg, char *result, size_t cap) {
    rf_gguf *g = NULL;
    rf_status st = rf_gguf_open_ex((const char *)arg, RF_GGUF_NO_MMAP, &g);
    if (st == RF_OK) snprintf(result, cap, "%lld kv %lld tensors", (long long)rf_gguf_n_kv(g), (long long)rf_gguf_n_tensors(g));
    rf_gguf_close(g);
    return st;
}

/* ---- tests ---- */

static long total_points;

static void oom_model_generate(void) {
    const char *sh = rft_shared_dir();
    if (sh) {
        snprintf(model_path, sizeof model_path, "%s/models/stories260K.gguf", sh);
    } else {
        rf_synth_params p;
        memset(&p, 0, sizeof p);
        p.dim = 32;
        p.n_layers = 2;
        p.n_heads = 4;
        p.n_kv_heads = 2;
        p.ffn = 64;
        p.vocab = 320;
        snprintf(model_path, sizeof model_path, "%s/oom_model.gguf", getenv("RF_BUILD") ? getenv("RF_BUILD") : "build");
        REQUIRE(rf_synth_write(&p, model_path) == RF_OK);
    }
    printf("  model: %s\n", model_path);
    total_points += oom_sweep("load+ctx+sampler+generate", scenario_generate, NULL);
}

static void oom_ctx_threads(void) {
    rf_model *m = NULL;
    REQUIRE(model_path[0]);
    REQUIRE(rf_model_load(model_path, NULL, &m) == RF_OK);
    total_points += oom_sweep("ctx with 3 threads + decode", scenario_threads, m);
    rf_model_free(m);
}

static void oom_gguf_writer(void) {
    snprintf(synth_out, sizeof synth_out, "%s/oom_synth.gguf", getenv("RF_BUILD") ? getenv("RF_BUILD") : "build");
    total_points += oom_sweep("rf_synth_write (GGUF writer)", scenario_synth, NULL);
    {
        char r[64];
        oom_arm(0);
        REQUIRE(scenario_synth(NULL, r, sizeof r) == RF_OK); /* the sweep's last run left no file */
    }
    total_points += oom_sweep("rf_gguf_open_ex NO_MMAP", scenario_gguf_read, synth_out);
    remove(synth_out);
}

static void oom_tokenizers(void) {
    static const char *const vocabs[] = {"llama-spm", "gpt-2", "bert-bge", "phi-3", "deepseek-llm"};
    const char *sh = rft_shared_dir();
    char path[600];
    size_t i;
    int done = 0;
    for (i = 0; sh && i < sizeof vocabs / sizeof vocabs[0]; i++) {
        rf_gguf *g = NULL;
        snprintf(path, sizeof path, "%s/models/vocab/ggml-vocab-%s.gguf", sh, vocabs[i]);
        if (rf_gguf_open(path, &g) != RF_OK) continue;
        snprintf(path, sizeof path, "tokenizer %s", vocabs[i]);
        total_points += oom_sweep(path, scenario_tokenizer, g);
        rf_gguf_close(g);
        done++;
    }
    if (!done) { /* no shared vocabs: the synthetic model's SPM vocab */
        rf_gguf *g = NULL;
        REQUIRE(model_path[0] && rf_gguf_open(model_path, &g) == RF_OK);
        total_points += oom_sweep("tokenizer (synthetic SPM)", scenario_tokenizer, g);
        rf_gguf_close(g);
    }
}

int main(void) {
    RUN(oom_model_generate);
    RUN(oom_ctx_threads);
    RUN(oom_gguf_writer);
    RUN(oom_tokenizers);
    printf("  %ld allocation failure points exercised in all\n", total_points);
    if (!rft_shared_dir()) remove(model_path);
    return TEST_EXIT();
}
