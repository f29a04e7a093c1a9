/* rf -- the rocmforge command line.

     rf run   -m model.gguf -p "prompt" [-n 128] [sampling options]    stream a continuation
     rf chat  -m model.gguf                                            talk, with the chat template
     rf info  model.gguf [--json] [--all]                              metadata, tensors, totals
     rf synth [options] out.gguf                                       random-weight model
     rf serve -m model.gguf [--port 8080 --parallel 4]                 OpenAI-compatible server
                                                                       (built with -DROCMFORGE_HTTP)

   bench / serve / quantize arrive with the issues that build them. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef ROCMFORGE_HIP
#define DEFAULT_NGL RF_GPU_LAYERS_AUTO /* a GPU build uses the GPU when there is one */
#else
#define DEFAULT_NGL 0
#endif

static const char *usage_main =
    "rf " RF_VERSION " -- the rocmforge command line\n"
    "\n"
    "usage: rf COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run    -m model.gguf -p PROMPT       generate a continuation, streamed, with tokens/s\n"
    "  chat   -m model.gguf                 a conversation using the model's chat template\n"
    "  info   model.gguf [--json] [--all]   architecture, hyperparameters, tokenizer, tensor table\n"
    "  synth  [options] out.gguf            write a random-weight model (llama, qwen2, gemma3)\n"
    "  serve  -m model.gguf [--port 8080]   OpenAI-compatible HTTP server (builds with ROCMFORGE_HTTP)\n"
    "  quantize in.gguf out.gguf TYPE       requantize a model (q8_0, q4_0, q4_k, q4_k_m, ...)\n"
    "  bench  -m model.gguf [-p 512 -n 128] prompt and generation tokens/s, GB/s, % of memory bandwidth\n"
    "  help   [COMMAND]                     this text, or a command's\n"
    "\n"
    "examples:\n"
    "  rf run -m model.gguf -p \"Once upon a time\" -n 64\n"
    "  rf chat -m model.gguf\n"
    "  rf info model.gguf\n"
    "  rf synth --preset 7b --type q4_0 llama7b-q4_0.gguf\n"
    "  rf bench -m model.gguf -t 2\n"
    "  rf info --cpu\n";

static const char *usage_bench =
    "usage: rf bench -m model.gguf [options]\n"
    "\n"
    "Prompt processing (pp: one batch of P tokens) and token generation (tg: N tokens one at a\n"
    "time), each test in a context of its own size, as llama-bench runs them: one untimed warm-up\n"
    "run, then the repetitions, each from an empty cache; tokens/s as min / median over them.\n"
    "tg also as GB/s (weight bytes read per token / time) and as a share of the memory bandwidth\n"
    "measured here by a streaming read with the same threads (of the GPU's memory when every\n"
    "layer is on the GPU). The host's is probed before every tg repetition and after the last\n"
    "(each probe the best of 5 passes over 512 MiB, far beyond the caches); the roof is the median\n"
    "of the probes, so it is measured under the same conditions as the tg median it is compared\n"
    "with -- on a shared machine a single probe can land in or out of a burst of other work.\n"
    "Progress goes to stderr.\n"
    "\n"
    "options:\n"
    "  -m, --model PATH   the GGUF model\n"
    "  -p N               prompt tokens (default 512; 0 skips pp)\n"
    "  -n N               generated tokens (default 128; 0 skips tg)\n"
    "  -t N               threads (default: one per core)\n"
    "  -r N               repetitions (default 3)\n"
    "  --cpu NAME         kernels: scalar, avx2, avx512-vnni, neon, neon-dotprod (default: the best)\n"
    "  -ngl N|all|auto    layers on the GPU, the last N (builds with ROCMFORGE_HIP; default auto there)\n"
    "  --moe-cpu          MoE experts in host memory, run by the CPU\n"
    "\n"
    "examples:\n"
    "  rf bench -m model.gguf\n"
    "  rf bench -m model.gguf -ngl all\n"
    "  rf bench -m model.gguf -p 128 -n 32 -t 2 -r 5\n"
    "  rf bench -m model.gguf --cpu scalar -p 64 -n 16\n";

static const char *usage_run =
    "usage: rf run -m model.gguf -p PROMPT [options]\n"
    "       rf chat -m model.gguf [options]\n"
    "\n"
    "run streams the model's continuation of PROMPT to stdout and ends with prompt and generation\n"
    "speed on stderr. chat reads your messages from stdin and answers with the model's chat\n"
    "template (tokenizer.chat_template; chatml if unknown); Ctrl-C stops a reply, Ctrl-D or /quit ends.\n"
    "\n"
    "  -m, --model FILE     the GGUF model\n"
    "  -p, --prompt TEXT    the prompt (run); -f FILE reads it from a file\n"
    "  -n, --max-tokens N   stop after N tokens (default 128 for run, 1024 per chat reply; 0 = no limit)\n"
    "  -c, --ctx N          context size (default: the model's, at most 4096)\n"
    "  -ngl N|all|auto      layers on the GPU, the last N (builds with ROCMFORGE_HIP; default auto there:\n"
    "                       as many as fit the free GPU memory, RF_GPU_VRAM_BUDGET=2G caps it; else 0)\n"
    "  --moe-cpu            MoE experts stay in host memory and run on the CPU (attention on the GPU)\n"
    "  --temp T             temperature (default 0.8; 0 = greedy)\n"
    "  --top-k K --top-p P --min-p P --typical P\n"
    "  --repeat-penalty R --presence-penalty P --frequency-penalty F --penalty-last-n N\n"
    "  --seed S             sampling seed (same seed, same text)\n"
    "  --stop TEXT          stop before TEXT (repeatable)\n"
    "  --kv f16|q8_0|f32    KV cache type (default f16)\n"
    "  --system TEXT        chat: a system message\n"
    "  --special            run: parse special-token text in the prompt (\"<|im_start|>\" etc.)\n"
    "\n"
    "examples:\n"
    "  rf run -m model.gguf -p \"The capital of France is\" -n 32 --temp 0\n"
    "  rf chat -m model.gguf --system \"You answer in one sentence.\"\n";

static const char *usage_info =
    "usage: rf info model.gguf [--json] [--all]\n"
    "       rf info --cpu     the CPU's features and the kernel path rf picks for it\n"
    "\n"
    "Print what a GGUF file holds: architecture, hyperparameters, tokenizer kind and vocab size,\n"
    "whether it has a chat template, every tensor (name, type, shape, bytes) and the totals.\n"
    "The file is validated completely first; a damaged file gets an error naming what is wrong.\n"
    "\n"
    "  --json   one JSON object on stdout instead of text\n"
    "  --all    every metadata key (arrays summarized), not only general.* and the architecture's\n"
    "\n"
    "examples:\n"
    "  rf info model.gguf\n"
    "  rf info --json model.gguf | python3 -m json.tool\n";

static const char *usage_synth =
    "usage: rf synth [options] out.gguf\n"
    "\n"
    "Write a random-weight model with a valid tokenizer section; it loads in rocmforge and in\n"
    "llama.cpp. The same options and seed always give the same bytes.\n"
    "\n"
    "  --arch A        llama (default), qwen2, gemma3\n"
    "  --preset P      a shape: tiny (default), 1b (Llama-3.2-1B dims), 7b (Llama-2-7B),\n"
    "                  8b (Llama-3-8B dims); all with a 32000 vocab except tiny (512).\n"
    "                  Options after --preset override its fields.\n"
    "  --type T        f32 (default) f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k\n"
    "                  iq4_nl iq4_xs mxfp4, or q4_k_m (Q4_K with Q6_K for output, and attn_v and\n"
    "                  ffn_down in some layers)\n"
    "  --dim N  --layers N  --heads N  --kv-heads N  --head-dim N  --ffn N  --vocab N  --ctx N\n"
    "  --tied          no output.weight: the output reuses token_embd (gemma3 always does)\n"
    "  --experts N --experts-used K   a Mixtral-style MoE FFN: N experts, K per token\n"
    "  --seed N        default 1\n"
    "\n"
    "examples:\n"
    "  rf synth --arch qwen2 --dim 128 --layers 4 --heads 8 --kv-heads 2 tiny-qwen2.gguf\n"
    "  rf synth --preset 8b --type q4_k_m llama8b-q4_k_m.gguf\n";

static const char *usage_quantize =
    "usage: rf quantize in.gguf out.gguf TYPE\n"
    "\n"
    "Write a copy of a model with its matrices in TYPE: f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0\n"
    "q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs mxfp4, or q4_k_m (Q4_K, with Q6_K for output.weight and\n"
    "for attn_v / ffn_down in the first and last eighth of the layers and every third between).\n"
    "Norms, biases and MoE routers are copied as they are; rows that are not whole blocks of TYPE\n"
    "fall back to q8_0 or f16 with a warning. out.gguf appears only when it is complete.\n"
    "\n"
    "examples:\n"
    "  rf quantize model-f16.gguf model-q4_k_m.gguf q4_k_m\n"
    "  rf quantize model-f32.gguf model-q8_0.gguf q8_0\n";

/* ---------------------------------------------------------------------------------------------
   Progress: on a terminal, tensor-by-tensor progress rewrites one line; piped, only warnings. */

static void log_to_terminal(void *user, rf_log_level level, const char *msg) {
    (void)user;
    if (level >= RF_LOG_INFO && (strncmp(msg, "synth: tensor", 13) == 0 || strncmp(msg, "quantize: tensor", 16) == 0)) {
        fprintf(stderr, "\r%s\033[K", msg);
    } else {
        fprintf(stderr, "\r%s%s\n", level == RF_LOG_ERROR ? "error: " : level == RF_LOG_WARN ? "warning: " : "", msg);
    }
    fflush(stderr);
}

static int fail(rf_status s, const char *what) {
    fprintf(stderr, "rf: %s: %s: %s\n", what, rf_status_str(s), rf_last_error());
    return 1;
}

/* ---------------------------------------------------------------------------------------------
   rf info */

static void json_str(const char *s, size_t n) {
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c == '\r') printf("\\r");
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static const char *vtype_name(rf_gguf_vtype t) {
    static const char *n[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
    return (unsigned)t < RF_GGUF_VTYPE_COUNT ? n[t] : "?";
}

/* A value as text (json = 1: as JSON; arrays as a summary object unless short). */
static void print_value(const rf_gguf *g, const rf_gguf_value *v, int json) {
    switch (v->type) {
    case RF_GGUF_STRING:
        if (json) json_str(v->str, (size_t)v->n);
        else if (v->n > 100) printf("\"%.*s\"... (%llu bytes)", 80, v->str, (unsigned long long)v->n);
        else printf("\"%.*s\"", (int)v->n, v->str);
        break;
    case RF_GGUF_BOOL: printf("%s", v->u ? "true" : "false"); break;
    case RF_GGUF_F32: case RF_GGUF_F64: printf("%.9g", v->f); break;
    case RF_GGUF_I8: case RF_GGUF_I16: case RF_GGUF_I32: case RF_GGUF_I64: printf("%lld", (long long)v->i); break;
    case RF_GGUF_ARRAY: {
        uint64_t i, shown = v->n < 8 ? v->n : 0;
        rf_gguf_value e;
        if (json) printf("{\"array\": \"%s\", \"n\": %llu, \"head\": [", vtype_name(v->elem_type), (unsigned long long)v->n);
        else printf("[%s x %llu]%s", vtype_name(v->elem_type), (unsigned long long)v->n, shown ? " " : "");
        if (json) shown = v->n < 8 ? v->n : 8;
        for (i = 0; i < shown && rf_gguf_array_get(g, v, i, &e) == RF_OK; i++) {
            printf("%s", i ? ", " : (json ? "" : "["));
            print_value(g, &e, json);
        }
        printf(json ? "]}" : (shown ? "]" : ""));
        break;
    }
    default: printf("%llu", (unsigned long long)v->u); break;
    }
}

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static void human_bytes(char *buf, size_t n, double b) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) b /= 1024, i++;
    snprintf(buf, n, i ? "%.2f %s" : "%.0f %s", b, u[i]);
}

static int cmd_info(int argc, char **argv) {
    const char *path = NULL, *arch = "", *tok_model = "none";
    int json = 0, all = 0, i, has_template;
    rf_gguf *g;
    rf_status s;
    rf_gguf_value tokens;
    uint64_t n_vocab = 0, total = 0, n_params = 0, by_type_bytes[RF_TYPE_COUNT], by_type_n[RF_TYPE_COUNT];
    int64_t k, nt;
    size_t alen = 0, tlen = 0;
    char prefix[96], hb[32];

    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--cpu")) {
            char buf[1024];
            rf_cpu_describe(buf, sizeof buf);
            return printf("%s", buf), 0;
        }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--all")) all = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return printf("%s", usage_info), 0;
        else if (argv[i][0] == '-') return fprintf(stderr, "rf info: unknown option %s\n\n%s", argv[i], usage_info), 2;
        else path = argv[i];
    }
    if (!path) return fprintf(stderr, "%s", usage_info), 2;
    if ((s = rf_gguf_open(path, &g)) != RF_OK) return fail(s, path);

    if (rf_gguf_get_str(g, "general.architecture", &arch, &alen) != RF_OK) arch = "", alen = 0;
    snprintf(prefix, sizeof prefix, "%.*s.", (int)alen, arch);
    if (rf_gguf_get_str(g, "tokenizer.ggml.model", &tok_model, &tlen) != RF_OK) tok_model = "none", tlen = 4;
    if (rf_gguf_get_array(g, "tokenizer.ggml.tokens", &tokens) == RF_OK) n_vocab = tokens.n;
    has_template = rf_gguf_find_kv(g, "tokenizer.chat_template") >= 0;
    memset(by_type_bytes, 0, sizeof by_type_bytes);
    memset(by_type_n, 0, sizeof by_type_n);
    nt = rf_gguf_n_tensors(g);
    for (k = 0; k < nt; k++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, k);
        total += t->size;
        n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        by_type_bytes[t->type] += t->size;
        by_type_n[t->type]++;
    }

    if (json) {
        printf("{\"file\": ");
        json_str(path, strlen(path));
        printf(", \"gguf_version\": %u, \"file_size\": %llu, \"alignment\": %llu, \"architecture\": ",
               rf_gguf_version(g), (unsigned long long)rf_gguf_file_size(g), (unsigned long long)rf_gguf_alignment(g));
        json_str(arch, alen);
        printf(", \"tokenizer\": {\"model\": ");
        json_str(tok_model, tlen);
        printf(", \"vocab_size\": %llu, \"chat_template\": %s}, \"metadata\": {", (unsigned long long)n_vocab,
               has_template ? "true" : "false");
        for (k = 0, i = 0; k < rf_gguf_n_kv(g); k++) {
            const char *key = rf_gguf_kv_key(g, k);
            rf_gguf_value v;
            if (!all && !starts_with(key, "general.") && !starts_with(key, prefix)) continue;
            if (rf_gguf_kv_value(g, k, &v) != RF_OK) continue;
            printf("%s", i++ ? ", " : "");
            json_str(key, strlen(key));
            printf(": ");
            print_value(g, &v, 1);
        }
        printf("}, \"tensors\": [");
        for (k = 0; k < nt; k++) {
            const rf_gguf_tensor *t = rf_gguf_tensor_at(g, k);
            uint32_t d;
            printf("%s{\"name\": ", k ? ", " : "");
            json_str(t->name, strlen(t->name));
            printf(", \"type\": \"%s\", \"shape\": [", rf_type_name(t->type));
            for (d = 0; d < t->n_dims; d++) printf("%s%lld", d ? ", " : "", (long long)t->ne[d]);
            printf("], \"offset\": %llu, \"bytes\": %llu}", (unsigned long long)t->offset, (unsigned long long)t->size);
        }
        printf("], \"n_tensors\": %lld, \"n_params\": %llu, \"tensor_bytes\": %llu}\n", (long long)nt,
               (unsigned long long)n_params, (unsigned long long)total);
        rf_gguf_close(g);
        return 0;
    }

    human_bytes(hb, sizeof hb, (double)rf_gguf_file_size(g));
    printf("file:          %s (%s, GGUF v%u, alignment %llu)\n", path, hb, rf_gguf_version(g),
           (unsigned long long)rf_gguf_alignment(g));
    printf("architecture:  %.*s\n", (int)alen, alen ? arch : "(none: general.architecture missing)");
    printf("tokenizer:     %.*s, %llu tokens, chat template: %s\n", (int)tlen, tok_model,
           (unsigned long long)n_vocab, has_template ? "yes" : "no");
    printf("\nmetadata:\n");
    for (k = 0; k < rf_gguf_n_kv(g); k++) {
        const char *key = rf_gguf_kv_key(g, k);
        rf_gguf_value v;
        if (!all && !starts_with(key, "general.") && !starts_with(key, prefix)) continue;
        if (rf_gguf_kv_value(g, k, &v) != RF_OK) continue;
        printf("  %-44s ", key);
        print_value(g, &v, 0);
        printf("\n");
    }
    printf("\ntensors:\n  %-40s %-8s %-24s %12s\n", "name", "type", "shape", "bytes");
    for (k = 0; k < nt; k++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, k);
        char shape[64];
        int off = 0;
        uint32_t d;
        for (d = 0; d < t->n_dims; d++)
            off += snprintf(shape + off, sizeof shape - (size_t)off, "%s%lld", d ? " x " : "", (long long)t->ne[d]);
        printf("  %-40s %-8s %-24s %12llu\n", t->name, rf_type_name(t->type), shape, (unsigned long long)t->size);
    }
    human_bytes(hb, sizeof hb, (double)total);
    printf("\ntotals: %lld tensors, %llu parameters, %s of tensor data (%.2f bits per weight)\n", (long long)nt,
           (unsigned long long)n_params, hb, n_params ? 8.0 * (double)total / (double)n_params : 0.0);
    for (i = 0; i < RF_TYPE_COUNT; i++) {
        if (!by_type_n[i]) continue;
        human_bytes(hb, sizeof hb, (double)by_type_bytes[i]);
        printf("  %-8s %4llu tensors  %s\n", rf_type_name((uint32_t)i), (unsigned long long)by_type_n[i], hb);
    }
    rf_gguf_close(g);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   rf synth */

/* An integer option value of at least min (0 or 1); on a bad value, say so and return 0. */
static int parse_int(const char *opt, const char *s, int min, int64_t *out) {
    char *end;
    long long v = strtoll(s ? s : "", &end, 10);
    if (!s || !*s || *end || v < min) {
        fprintf(stderr, "rf: %s needs a %s integer, got '%s'\n", opt, min > 0 ? "positive" : "non-negative", s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

/* -ngl N, all or auto (RF_GPU_LAYERS_*). */
static int parse_ngl(const char *opt, const char *s, int32_t *out) {
    int64_t v;
    if (s && !strcmp(s, "all")) return *out = RF_GPU_LAYERS_ALL, 1;
    if (s && !strcmp(s, "auto")) return *out = RF_GPU_LAYERS_AUTO, 1;
    if (!parse_int(opt, s, 0, &v)) return 0;
    *out = (int32_t)RF__MIN(v, INT32_MAX);
    return 1;
}

static int apply_preset(rf_synth_params *p, const char *name) {
    /* Shapes of public models (their config.json), with a 32000 vocab (ANCHORS.md's benchmarks). */
    if (!strcmp(name, "tiny")) {
        p->dim = 64, p->n_layers = 2, p->n_heads = 4, p->n_kv_heads = 2, p->head_dim = 16, p->ffn = 256, p->vocab = 512;
    } else if (!strcmp(name, "1b")) { /* Llama-3.2-1B, tied embeddings */
        p->dim = 2048, p->n_layers = 16, p->n_heads = 32, p->n_kv_heads = 8, p->head_dim = 64, p->ffn = 8192;
        p->vocab = 32000, p->ctx = 4096, p->tied_embeddings = 1;
    } else if (!strcmp(name, "7b")) { /* Llama-2-7B */
        p->dim = 4096, p->n_layers = 32, p->n_heads = 32, p->n_kv_heads = 32, p->head_dim = 128, p->ffn = 11008;
        p->vocab = 32000, p->ctx = 4096;
    } else if (!strcmp(name, "8b")) { /* Llama-3-8B */
        p->dim = 4096, p->n_layers = 32, p->n_heads = 32, p->n_kv_heads = 8, p->head_dim = 128, p->ffn = 14336;
        p->vocab = 32000, p->ctx = 8192;
    } else {
        fprintf(stderr, "rf synth: unknown preset '%s' (tiny, 1b, 7b, 8b)\n", name);
        return 0;
    }
    return 1;
}

static int cmd_synth(int argc, char **argv) {
    rf_synth_params p;
    rf_logger lg;
    const char *out = NULL;
    rf_status s;
    int i, ok = 1;
    memset(&p, 0, sizeof p);
    memset(&lg, 0, sizeof lg);
    lg.level = isatty(2) ? RF_LOG_INFO : RF_LOG_WARN;
    lg.fn = log_to_terminal;
    p.log = &lg;
    for (i = 0; i < argc && ok; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage_synth), 0;
        else if (!strcmp(a, "--tied")) p.tied_embeddings = 1;
        else if (a[0] != '-') out = a;
        else if (!v) return fprintf(stderr, "rf synth: %s needs a value\n", a), 2;
        else if (!strcmp(a, "--arch")) p.arch = v, i++;
        else if (!strcmp(a, "--type")) p.type = v, i++;
        else if (!strcmp(a, "--preset")) ok = apply_preset(&p, v), i++;
        else if (!strcmp(a, "--dim")) ok = parse_int(a, v, 1, &p.dim), i++;
        else if (!strcmp(a, "--layers")) ok = parse_int(a, v, 1, &p.n_layers), i++;
        else if (!strcmp(a, "--heads")) ok = parse_int(a, v, 1, &p.n_heads), i++;
        else if (!strcmp(a, "--kv-heads")) ok = parse_int(a, v, 1, &p.n_kv_heads), i++;
        else if (!strcmp(a, "--head-dim")) ok = parse_int(a, v, 1, &p.head_dim), i++;
        else if (!strcmp(a, "--ffn")) ok = parse_int(a, v, 1, &p.ffn), i++;
        else if (!strcmp(a, "--vocab")) ok = parse_int(a, v, 1, &p.vocab), i++;
        else if (!strcmp(a, "--ctx")) ok = parse_int(a, v, 1, &p.ctx), i++;
        else if (!strcmp(a, "--experts")) ok = parse_int(a, v, 1, &p.n_experts), i++;
        else if (!strcmp(a, "--experts-used")) ok = parse_int(a, v, 1, &p.n_experts_used), i++;
        else if (!strcmp(a, "--seed")) {
            int64_t seed;
            ok = parse_int(a, v, 1, &seed), i++;
            p.seed = (uint64_t)seed;
        } else return fprintf(stderr, "rf synth: unknown option %s\n\n%s", a, usage_synth), 2;
    }
    if (!ok) return 2;
    if (!out) return fprintf(stderr, "rf synth: no output file\n\n%s", usage_synth), 2;
    if ((s = rf_synth_write(&p, out)) != RF_OK) {
        if (isatty(2)) fprintf(stderr, "\n");
        return fail(s, out);
    }
    if (isatty(2)) fprintf(stderr, "\n");
    fprintf(stderr, "rf synth: wrote %s\n", out);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   rf run, rf chat */

typedef struct gen_opts {
    const char *model, *prompt, *prompt_file, *system;
    int32_t max_tokens, n_gpu_layers;
    int max_set, special, moe_cpu;
    rf_ctx_params cp;
    rf_sampler_params sp;
    const char *stops[16];
    size_t n_stops;
} gen_opts;

static int parse_f32(const char *opt, const char *s, float *out) {
    char *end;
    double v = strtod(s ? s : "", &end);
    if (!s || !*s || *end) {
        fprintf(stderr, "rf: %s needs a number, got '%s'\n", opt, s ? s : "");
        return 0;
    }
    *out = (float)v;
    return 1;
}

/* 0 on success, else the exit code. */
static int parse_gen_opts(int argc, char **argv, gen_opts *o) {
    int i, ok = 1;
    int64_t v = 0;
    memset(o, 0, sizeof *o);
    o->n_gpu_layers = DEFAULT_NGL;
    o->sp = rf_sampler_default_params();
    for (i = 0; i < argc && ok; i++) {
        const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage_run), -1;
        if (!strcmp(a, "--special")) { o->special = 1; continue; }
        if (!strcmp(a, "--moe-cpu")) { o->moe_cpu = 1; continue; }
        if (a[0] != '-' || !n) {
            fprintf(stderr, "rf: %s %s\n\n%s", a[0] != '-' ? "unexpected argument" : "missing value for", a, usage_run);
            return 2;
        }
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = n;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) o->prompt = n;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) o->prompt_file = n;
        else if (!strcmp(a, "--system")) o->system = n;
        else if (!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) ok = parse_int(a, n, 0, &v), o->max_tokens = (int32_t)v, o->max_set = 1;
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) ok = parse_int(a, n, 0, &v), o->cp.n_ctx = (int32_t)v;
        else if (!strcmp(a, "-ngl") || !strcmp(a, "--gpu-layers")) ok = parse_ngl(a, n, &o->n_gpu_layers);
        else if (!strcmp(a, "--temp")) ok = parse_f32(a, n, &o->sp.temperature);
        else if (!strcmp(a, "--top-k")) ok = parse_int(a, n, 0, &v), o->sp.top_k = (int32_t)v;
        else if (!strcmp(a, "--top-p")) ok = parse_f32(a, n, &o->sp.top_p);
        else if (!strcmp(a, "--min-p")) ok = parse_f32(a, n, &o->sp.min_p);
        else if (!strcmp(a, "--typical")) ok = parse_f32(a, n, &o->sp.typical_p);
        else if (!strcmp(a, "--repeat-penalty")) ok = parse_f32(a, n, &o->sp.repeat_penalty);
        else if (!strcmp(a, "--presence-penalty")) ok = parse_f32(a, n, &o->sp.presence_penalty);
        else if (!strcmp(a, "--frequency-penalty")) ok = parse_f32(a, n, &o->sp.frequency_penalty);
        else if (!strcmp(a, "--penalty-last-n")) ok = parse_int(a, n, 0, &v), o->sp.penalty_last_n = (int32_t)v;
        else if (!strcmp(a, "--seed")) ok = parse_int(a, n, 0, &v), o->sp.seed = (uint64_t)v;
        else if (!strcmp(a, "--stop")) {
            if (o->n_stops == sizeof o->stops / sizeof o->stops[0]) return fprintf(stderr, "rf: at most 16 --stop\n"), 2;
            o->stops[o->n_stops++] = n;
        } else if (!strcmp(a, "--kv")) {
            if (!strcmp(n, "f16")) o->cp.kv_type = RF_KV_F16;
            else if (!strcmp(n, "q8_0")) o->cp.kv_type = RF_KV_Q8_0;
            else if (!strcmp(n, "f32")) o->cp.kv_type = RF_KV_F32;
            else return fprintf(stderr, "rf: --kv takes f16, q8_0 or f32\n"), 2;
        } else return fprintf(stderr, "rf: unknown option %s\n\n%s", a, usage_run), 2;
    }
    if (!ok) return 2;
    if (!o->model) return fprintf(stderr, "rf: no model (-m model.gguf)\n\n%s", usage_run), 2;
    return 0;
}

/* GPU layers go to the model; n_ctx is what -ngl auto reserves KV cache for. The plan and the
   upload's progress are logged (info) when a GPU may be used. */
static int load_model(const char *path, int32_t n_gpu_layers, int moe_cpu, int32_t n_ctx, rf_model **m) {
    rf_logger lg;
    rf_model_params mp;
    rf_status s;
    memset(&lg, 0, sizeof lg);
    memset(&mp, 0, sizeof mp);
    lg.level = n_gpu_layers ? RF_LOG_INFO : RF_LOG_WARN;
    lg.fn = log_to_terminal;
    mp.log = &lg;
    mp.n_gpu_layers = n_gpu_layers;
    mp.moe_cpu = moe_cpu;
    mp.n_ctx = n_ctx;
    if ((s = rf_model_load(path, &mp, m)) != RF_OK) return fail(s, path);
    return 0;
}

static int write_piece(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static void print_speed(const rf_gen_result *r) {
    fprintf(stderr, "[prompt: %d tokens (%d reused), %.1f tokens/s | generation: %d tokens, %.1f tokens/s]\n",
            r->n_prompt, r->n_reused, r->prompt_s > 0 ? (r->n_prompt - r->n_reused) / r->prompt_s : 0.0, r->n_gen,
            r->gen_s > 0 ? r->n_gen / r->gen_s : 0.0);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = (char *)malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = 0;
        }
    }
    fclose(f);
    return buf;
}

static int cmd_run(int argc, char **argv) {
    gen_opts o;
    rf_model *m = NULL;
    rf_ctx *c = NULL;
    rf_sampler *smp = NULL;
    rf_gen_params gp;
    rf_gen_result r;
    rf_status s;
    char *file_text = NULL;
    const char *prompt;
    int rc = parse_gen_opts(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.prompt_file && !(file_text = read_file(o.prompt_file)))
        return fprintf(stderr, "rf: cannot read %s\n", o.prompt_file), 1;
    prompt = file_text ? file_text : o.prompt;
    if (!prompt) return fprintf(stderr, "rf run: no prompt (-p TEXT or -f FILE)\n\n%s", usage_run), 2;
    if ((rc = load_model(o.model, o.n_gpu_layers, o.moe_cpu, o.cp.n_ctx, &m)) != 0) return free(file_text), rc;
    if ((s = rf_ctx_new(m, &o.cp, &c)) != RF_OK || (s = rf_sampler_new(&o.sp, rf_model_n_vocab(m), &smp)) != RF_OK) {
        rc = fail(s, o.model);
    } else {
        memset(&gp, 0, sizeof gp);
        gp.max_tokens = o.max_set ? o.max_tokens : 128;
        gp.stop = o.stops;
        gp.n_stop = o.n_stops;
        gp.parse_special = o.special;
        gp.on_piece = write_piece;
        fputs(prompt, stdout);
        s = rf_generate(c, smp, prompt, strlen(prompt), &gp, &r);
        printf("\n");
        if (s != RF_OK) rc = fail(s, "generate");
        else print_speed(&r);
        if (s == RF_OK && r.stop == RF_STOP_CONTEXT) fprintf(stderr, "[stopped: the context (%d tokens) is full]\n", rf_ctx_n_ctx(c));
    }
    rf_sampler_free(smp);
    rf_ctx_free(c);
    rf_model_free(m);
    free(file_text);
    return rc;
}

/* Ctrl-C during a reply stops the reply; the flag is the program's, not the library's. */
static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}
/* chat: stream the reply and keep it, to add it to the conversation */
typedef struct reply_buf {
    char *p;
    size_t n, cap;
} reply_buf;

static int write_piece_and_keep(void *user, const char *text, size_t len) {
    reply_buf *b = (reply_buf *)user;
    write_piece(NULL, text, len);
    if (b->n + len + 1 > b->cap) {
        size_t cap = 2 * (b->n + len + 1);
        char *p = (char *)realloc(b->p, cap);
        if (!p) return 1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, text, len);
    b->n += len;
    b->p[b->n] = 0;
    return interrupted != 0;
}

static int cmd_chat(int argc, char **argv) {
    gen_opts o;
    rf_model *m = NULL;
    rf_ctx *c = NULL;
    rf_sampler *smp = NULL;
    rf_chat_msg msgs[256];
    char *owned[256];
    size_t n_msgs = 0, i;
    char line[8192], *buf = NULL;
    size_t cap = 0, need = 0;
    rf_chat_format fmt;
    const rf_tokenizer *tok;
    char bos[64] = "", eos[64] = "";
    rf_status s;
    int rc = parse_gen_opts(argc, argv, &o), tty = isatty(0);
    if (rc) return rc < 0 ? 0 : rc;
    if ((rc = load_model(o.model, o.n_gpu_layers, o.moe_cpu, o.cp.n_ctx, &m)) != 0) return rc;
    if ((s = rf_ctx_new(m, &o.cp, &c)) != RF_OK || (s = rf_sampler_new(&o.sp, rf_model_n_vocab(m), &smp)) != RF_OK) {
        rc = fail(s, o.model);
        goto done;
    }
    fmt = rf_model_chat_format(m);
    if (fmt == RF_CHAT_UNKNOWN) {
        fprintf(stderr, "warning: the model's chat template is not one rocmforge knows; using chatml\n");
        fmt = RF_CHAT_CHATML;
    }
    tok = rf_model_tokenizer(m);
    if (rf_tokenizer_bos(tok) >= 0) rf_token_to_piece(tok, rf_tokenizer_bos(tok), RF_TOK_RENDER_SPECIAL, bos, sizeof bos - 1, &need), bos[RF__MIN(need, sizeof bos - 1)] = 0;
    if (rf_tokenizer_eos(tok) >= 0) rf_token_to_piece(tok, rf_tokenizer_eos(tok), RF_TOK_RENDER_SPECIAL, eos, sizeof eos - 1, &need), eos[RF__MIN(need, sizeof eos - 1)] = 0;
    if (o.system) {
        msgs[n_msgs].role = "system";
        msgs[n_msgs].content = o.system;
        owned[n_msgs++] = NULL;
    }
    signal(SIGINT, on_sigint);
    if (tty) fprintf(stderr, "rf chat: %s (%s template). Ctrl-C stops a reply; Ctrl-D or /quit ends.\n", o.model, rf_chat_format_name(fmt));
    for (;;) {
        rf_gen_params gp;
        rf_gen_result r;
        size_t len;
        reply_buf reply;
        if (tty) fprintf(stderr, "\n> ");
        interrupted = 0;
        if (!fgets(line, sizeof line, stdin)) break;
        len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!strcmp(line, "/quit")) break;
        if (!len) continue;
        if (n_msgs + 2 > sizeof msgs / sizeof msgs[0]) {
            fprintf(stderr, "rf chat: the conversation is too long for this session; start a new one\n");
            break;
        }
        if (!(owned[n_msgs] = (char *)malloc(len + 1))) break;
        memcpy(owned[n_msgs], line, len + 1);
        msgs[n_msgs].role = "user";
        msgs[n_msgs].content = owned[n_msgs];
        n_msgs++;
        /* render the whole conversation; rf_generate reuses the cached prefix */
        while ((s = rf_chat_render(fmt, msgs, n_msgs, 1, bos, eos, buf, cap, &need)) == RF_ERR_TOO_LARGE) {
            free(buf);
            cap = need + 1;
            if (!(buf = (char *)malloc(cap))) { s = RF_ERR_OOM; break; }
        }
        if (s != RF_OK) { rc = fail(s, "chat template"); break; }
        memset(&gp, 0, sizeof gp);
        gp.max_tokens = o.max_set ? o.max_tokens : 1024;
        gp.stop = o.stops;
        gp.n_stop = o.n_stops;
        gp.no_add_special = 1; /* the rendered template carries BOS itself */
        gp.parse_special = 1;
        gp.on_piece = write_piece_and_keep;
        memset(&reply, 0, sizeof reply);
        gp.user = &reply;
        s = rf_generate(c, smp, buf, need, &gp, &r);
        if (s != RF_OK) { free(reply.p); rc = fail(s, "generate"); break; }
        if (r.stop == RF_STOP_CALLBACK) fprintf(stderr, "\n[stopped]");
        if (r.stop == RF_STOP_CONTEXT) fprintf(stderr, "\n[the context is full: /quit and start again]");
        if (tty) print_speed(&r);
        else printf("\n");
        /* the reply joins the conversation (empty if the model said nothing) */
        owned[n_msgs] = reply.p;
        msgs[n_msgs].role = "assistant";
        msgs[n_msgs].content = reply.p ? reply.p : "";
        n_msgs++;
    }
done:
    for (i = 0; i < n_msgs; i++) free(owned[i]);
    free(buf);
    rf_sampler_free(smp);
    rf_ctx_free(c);
    rf_model_free(m);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
   rf serve */

static const char *usage_serve =
    "usage: rf serve -m model.gguf [options]\n"
    "\n"
    "An OpenAI-compatible HTTP/1.1 server: POST /v1/chat/completions, /v1/completions (stream: true\n"
    "as Server-Sent Events), GET /v1/models, POST /tokenize /detokenize, GET /health /ready\n"
    "/metrics (Prometheus) /traces. Ctrl-C or SIGTERM stops it gracefully.\n"
    "\n"
    "  -m, --model FILE       the GGUF model\n"
    "  --host H               address to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)\n"
    "  --port N               default 8080\n"
    "  --parallel N           slots generating at once, each with its own context (default 1)\n"
    "  --kv-size N            KV positions all slots share, allocated as used (default parallel x ctx)\n"
    "  --queue N              requests waiting for a slot before 503 (default 4 x slots)\n"
    "  -c, --ctx N            context per slot (default: the model's, at most 4096)\n"
    "  --threads N            threads per slot's matmuls (default: one per core)\n"
    "  --api-key KEY          require Authorization: Bearer KEY (also $RF_API_KEY)\n"
    "  --alias NAME           the model's name in /v1/models (default: the file name)\n"
    "  -n, --max-tokens N     default max_tokens of a request (default 0: until the context is full)\n"
    "  --max-body BYTES       default 1048576\n"
    "  --max-conns N          default 256\n"
    "  --timeout S            seconds a request may take to arrive (default 30)\n"
    "  --idle-timeout S       seconds a keep-alive connection may idle (default 60)\n"
    "  -v, --verbose          log each start, load and stop\n"
    "\n"
    "example:\n"
    "  rf serve -m model.gguf --parallel 4 &\n"
    "  curl -s localhost:8080/v1/chat/completions -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'\n";

#ifdef ROCMFORGE_HTTP
static volatile sig_atomic_t serve_stop;
static void on_stop_signal(int sig) {
    (void)sig;
    serve_stop = 1;
}

static int cmd_serve(int argc, char **argv) {
    rf_server_params p;
    rf_logger lg;
    rf_status s;
    struct sigaction sa;
    int i, ok = 1;
    int64_t v = 0;
    float f = 0;
    memset(&p, 0, sizeof p);
    memset(&lg, 0, sizeof lg);
    lg.fn = log_to_terminal;
    lg.level = RF_LOG_INFO;
    p.log = &lg;
    p.api_key = getenv("RF_API_KEY");
    for (i = 0; i < argc && ok; i++) {
        const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage_serve), 0;
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) { lg.level = RF_LOG_DEBUG; continue; }
        if (!n) return fprintf(stderr, "rf serve: %s needs a value\n\n%s", a, usage_serve), 2;
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) p.model_path = n;
        else if (!strcmp(a, "--host")) p.host = n;
        else if (!strcmp(a, "--api-key")) p.api_key = n;
        else if (!strcmp(a, "--alias")) p.model_id = n;
        else if (!strcmp(a, "--port")) ok = parse_int(a, n, 0, &v) && v > 0 && v < 65536, p.port = (int)v;
        else if (!strcmp(a, "--parallel")) ok = parse_int(a, n, 0, &v) && v > 0 && v <= 256, p.n_parallel = (int)v;
        else if (!strcmp(a, "--queue")) ok = parse_int(a, n, 0, &v) && v <= 100000, p.max_queue = (int)v;
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) ok = parse_int(a, n, 0, &v), p.ctx.n_ctx = (int32_t)v;
        else if (!strcmp(a, "--threads")) ok = parse_int(a, n, 0, &v), p.ctx.n_threads = (int)v;
        else if (!strcmp(a, "--kv-size")) ok = parse_int(a, n, 0, &v) && v > 0, p.kv_size = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) ok = parse_int(a, n, 0, &v), p.default_max_tokens = (int32_t)v;
        else if (!strcmp(a, "--max-body")) ok = parse_int(a, n, 0, &v), p.max_body = (size_t)v;
        else if (!strcmp(a, "--max-conns")) ok = parse_int(a, n, 0, &v) && v <= 65536, p.max_conns = (int)v;
        else if (!strcmp(a, "--timeout")) ok = parse_f32(a, n, &f), p.request_timeout_s = f;
        else if (!strcmp(a, "--idle-timeout")) ok = parse_f32(a, n, &f), p.idle_timeout_s = f;
        else return fprintf(stderr, "rf serve: unknown option %s\n\n%s", a, usage_serve), 2;
    }
    if (!ok) return fprintf(stderr, "rf serve: bad value\n"), 2;
    if (!p.model_path) return fprintf(stderr, "rf serve: no model (-m model.gguf)\n\n%s", usage_serve), 2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((s = rf_server_run(&p, &serve_stop)) != RF_OK) return fail(s, "serve");
    return 0;
}
#else
static int cmd_serve(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "rf serve: this rf was built without the server; rebuild with -DROCMFORGE_HTTP\n\n%s", usage_serve);
    return 2;
}
#endif

static int cmd_quantize(int argc, char **argv) {
    rf_logger lg;
    rf_status s;
    if (argc == 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) return printf("%s", usage_quantize), 0;
    if (argc != 3) return fprintf(stderr, "%s", usage_quantize), 2;
    memset(&lg, 0, sizeof lg);
    lg.level = isatty(2) ? RF_LOG_INFO : RF_LOG_WARN;
    lg.fn = log_to_terminal;
    s = rf_quantize_model(argv[0], argv[1], argv[2], &lg);
    if (isatty(2)) fprintf(stderr, "\n");
    if (s != RF_OK) return fail(s, argv[0]);
    fprintf(stderr, "rf quantize: wrote %s\n", argv[1]);
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Weight bytes one generated token reads: every tensor but the embedding table (one row of it
   per token), which the logits read whole when the output is tied to it. */
static double weight_bytes_per_token(const rf_model *m) {
    const rf_gguf *g = rf_model_gguf(m);
    int64_t k, nt = rf_gguf_n_tensors(g);
    double total = 0, embd = 0;
    int tied = 1;
    for (k = 0; k < nt; k++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, k);
        if (!strcmp(t->name, "token_embd.weight")) embd = (double)t->size;
        else total += (double)t->size;
        if (!strcmp(t->name, "output.weight")) tied = 0;
    }
    return total + (tied ? embd : 0);
}

/* One test's repetitions, as llama-bench runs them: a context sized for the test alone (n_ctx
   n + 8: a tg test's cache is as small as its tokens), one untimed run first (the GPU captures its
   decode graph there, the CPU faults the weights in), then each repetition from an empty cache
   (pp: one batch of n tokens; tg: n tokens one at a time). r[i]: tokens/s of repetition i;
   dev_ms: the mean ms per token on the CPU and the GPU; probe: the host's bandwidth measured
   before each repetition into bw[*nbw] (NULL: none). */
static rf_status bench_test(const rf_model *m, const rf_ctx_params *base, int test, int n, int reps, double *r, double *dev_ms,
                            double (*probe)(int), int nt, double *bw, int *nbw) {
    rf_ctx_params cp = *base;
    rf_ctx *c;
    int32_t *tok = (int32_t *)malloc(sizeof(int32_t) * (size_t)(n + 1));
    int i, rep, nv = rf_model_n_vocab(m);
    double d0[2], d1[2];
    rf_status st;
    if (!tok) return RF_ERR_OOM;
    for (i = 0; i <= n; i++) tok[i] = 1 + (int32_t)((i * 7919u) % (unsigned)(nv - 1));
    cp.n_ctx = n + 8;
    if ((st = rf_ctx_new(m, &cp, &c)) != RF_OK) return free(tok), st;
    for (rep = -1; rep < reps && st == RF_OK; rep++) { /* rep -1: the warm-up */
        double t0, dt;
        if (rep >= 0 && probe) bw[(*nbw)++] = probe(nt);
        if (rep < 0) fprintf(stderr, "%s%d: warm-up...\n", test == 0 ? "pp" : "tg", n);
        else fprintf(stderr, "%s%d: repetition %d/%d...\n", test == 0 ? "pp" : "tg", n, rep + 1, reps);
        rf_ctx_truncate(c, 0);
        rf_ctx_device_seconds(c, &d0[0], &d0[1]);
        t0 = now_s();
        if (test == 0) st = rf_ctx_decode(c, tok, n);
        for (i = 0; test == 1 && i < (rep < 0 ? 1 : n) && st == RF_OK; i++) st = rf_ctx_decode(c, tok + i, 1);
        dt = now_s() - t0;
        rf_ctx_device_seconds(c, &d1[0], &d1[1]);
        if (rep < 0) continue;
        r[rep] = dt > 0 ? n / dt : 0;
        dev_ms[0] += 1e3 * (d1[0] - d0[0]) / n / reps;
        dev_ms[1] += 1e3 * (d1[1] - d0[1]) / n / reps;
    }
    rf_ctx_free(c);
    free(tok);
    return st;
}

/* The host's streaming-read bandwidth with nt threads (0: one per core), as rf bench's roof: the
   best of 5 passes over 512 MiB (16x this machine's 32 MiB L3; the model's weights stream from
   memory the same way). */
static double cpu_bandwidth(int nt) {
    fprintf(stderr, "measuring memory bandwidth...\n");
    return rf_cpu_read_bandwidth(nt, (uint64_t)512 << 20, 5);
}

static int cmd_bench(int argc, char **argv) {
    const char *path = NULL, *cpu = NULL;
    int64_t np = 512, ng = 128, nt = 0, reps = 3, v;
    int32_t ngl = DEFAULT_NGL;
    int i, ok = 1, rc, test, moe_cpu = 0, on_gpu = 0, nbw = 0;
    rf_model *m = NULL;
    rf_ctx_params cp;
    rf_gpu_plan plan;
    rf_status st = RF_OK;
    double bw, bwp[65], bws[65], wb, pp[64], tg[64], dev_ms[2][2] = {{0, 0}, {0, 0}}; /* [pp, tg][cpu, gpu] per token */
    char hb[32];
    for (i = 0; i < argc && ok; i++) {
        const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return printf("%s", usage_bench), 0;
        if (!strcmp(a, "--moe-cpu")) { moe_cpu = 1; continue; }
        if (!n) return fprintf(stderr, "rf bench: missing value for %s\n\n%s", a, usage_bench), 2;
        i++;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) path = n;
        else if (!strcmp(a, "-p")) ok = parse_int(a, n, 0, &np);
        else if (!strcmp(a, "-n")) ok = parse_int(a, n, 0, &ng);
        else if (!strcmp(a, "-t")) ok = parse_int(a, n, 0, &nt);
        else if (!strcmp(a, "-r")) ok = parse_int(a, n, 0, &v) && v >= 1 && v <= 64, reps = v;
        else if (!strcmp(a, "--cpu")) cpu = n;
        else if (!strcmp(a, "-ngl") || !strcmp(a, "--gpu-layers")) ok = parse_ngl(a, n, &ngl);
        else return fprintf(stderr, "rf bench: unknown option %s\n\n%s", a, usage_bench), 2;
    }
    if (!ok) return fprintf(stderr, "rf bench: bad option value (-r takes 1..64)\n"), 2;
    if (!path) return fprintf(stderr, "rf bench: no model (-m model.gguf)\n\n%s", usage_bench), 2;
    memset(&cp, 0, sizeof cp);
    cp.n_ctx = (int32_t)((np > ng ? np : ng) + 8); /* the largest test's (bench_test sizes each its own) */
    if ((rc = load_model(path, ngl, moe_cpu, cp.n_ctx, &m)) != 0) return rc;
    rf_model_gpu_plan(m, &plan);
    cp.n_threads = (int32_t)nt;
    cp.cpu_kernels = cpu;
    wb = weight_bytes_per_token(m);
    /* all layers on the GPU: its memory is the roof; any on the CPU: the host's, probed around the tests */
    bw = 0;
    if (plan.n_gpu_layers == plan.n_layer) {
        fprintf(stderr, "measuring memory bandwidth...\n");
        if (rf_gpu_read_bandwidth(0, (uint64_t)2 << 30, 5, &bw) == RF_OK) on_gpu = 1;
    }
    for (test = 0; test < 2; test++) {
        int n = (int)(test == 0 ? np : ng);
        double *r = test == 0 ? pp : tg;
        if (n == 0) continue;
        st = bench_test(m, &cp, test, n, (int)reps, r, dev_ms[test], !on_gpu && test == 1 ? cpu_bandwidth : NULL, (int)nt, bwp, &nbw);
        if (st != RF_OK) {
            rf_model_free(m);
            return fail(st, "bench");
        }
        qsort(r, (size_t)reps, sizeof(double), cmp_double);
    }
    if (!on_gpu) {
        bwp[nbw++] = cpu_bandwidth((int)nt); /* after the last repetition (the only one without tg) */
        memcpy(bws, bwp, sizeof(double) * (size_t)nbw);
        qsort(bws, (size_t)nbw, sizeof(double), cmp_double);
        bw = nbw % 2 ? bws[nbw / 2] : (bws[nbw / 2 - 1] + bws[nbw / 2]) / 2;
    }
    {
        rf_ctx *c;
        const char *kern = "?";
        if (rf_ctx_new(m, &cp, &c) == RF_OK) {
            kern = rf_ctx_cpu_kernels(c);
            printf("model: %s (%s arch)\n", path, rf_model_arch(m));
            human_bytes(hb, sizeof hb, wb);
            printf("weights read per token: %s | kernels: %s | threads: %d | repetitions: %d\n", hb, kern,
                   nt > 0 ? (int)nt : (int)sysconf(_SC_NPROCESSORS_ONLN), (int)reps);
            rf_ctx_free(c);
        }
    }
    if (plan.n_gpu_layers > 0 || plan.io_on_gpu)
        printf("GPU: %d of %d layers (from layer %d)%s%s | GPU memory: %.2f GB weights + %.2f GB KV + %.2f GB scratch\n",
               (int)plan.n_gpu_layers, (int)plan.n_layer, (int)plan.first_gpu_layer,
               plan.io_on_gpu ? ", output head" : ", output head on the CPU", plan.moe_cpu ? ", experts on the CPU" : "",
               (double)plan.gpu_weight_bytes / 1e9, (double)plan.gpu_kv_bytes / 1e9, (double)plan.gpu_scratch_bytes / 1e9);
    else
        printf("GPU: none (all %d layers on the CPU)\n", (int)plan.n_layer);
    printf("memory read bandwidth (streaming, %s): %.1f GB/s\n", on_gpu ? "GPU 0" : "same threads", bw);
    if (!on_gpu) {
        printf("  the median of %d probes (before each tg repetition, after the last):", nbw);
        for (i = 0; i < nbw; i++) printf(" %.1f", bwp[i]);
        printf(" GB/s; each the best of 5 passes over 512 MiB\n");
    }
    printf("%-8s %12s %12s %10s %9s\n", "test", "t/s median", "t/s min", "GB/s", "% of bw");
    if (np > 0) printf("pp%-6d %12.2f %12.2f %10s %9s\n", (int)np, pp[reps / 2], pp[0], "-", "-");
    if (ng > 0)
        printf("tg%-6d %12.2f %12.2f %10.1f %8.1f%%\n", (int)ng, tg[reps / 2], tg[0], wb * tg[reps / 2] / 1e9,
               bw > 0 ? 100.0 * wb * tg[reps / 2] / 1e9 / bw : 0.0);
    /* where a token's time went (the mean over the repetitions): the GPU's includes moving the
       activations across and waiting for it */
    for (test = 0; test < 2; test++)
        if (test == 0 ? np > 0 : ng > 0)
            printf("%s%-6d ms per token by device: GPU %.3f, CPU %.3f\n", test == 0 ? "pp" : "tg", (int)(test == 0 ? np : ng),
                   dev_ms[test][1], dev_ms[test][0]);
    rf_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "help";
    if (!strcmp(cmd, "run")) return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "chat")) return cmd_chat(argc - 2, argv + 2);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "quantize")) return cmd_quantize(argc - 2, argv + 2);
    if (!strcmp(cmd, "synth")) return cmd_synth(argc - 2, argv + 2);
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) return printf("rf %s\n", RF_VERSION), 0;
    if (!strcmp(cmd, "help") || !strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
        const char *sub = argc > 2 ? argv[2] : "";
        printf("%s", !strcmp(sub, "info")       ? usage_info
                     : !strcmp(sub, "synth")    ? usage_synth
                     : !strcmp(sub, "quantize") ? usage_quantize
                     : !strcmp(sub, "serve")    ? usage_serve
                     : !strcmp(sub, "bench")    ? usage_bench
                     : (!strcmp(sub, "run") || !strcmp(sub, "chat")) ? usage_run
                                                : usage_main);
        return 0;
    }
    fprintf(stderr, "rf: unknown command '%s'\n\n%s", cmd, usage_main);
    return 2;
}
