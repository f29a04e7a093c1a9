/* tok_tool: the tokenizer from the command line, for tests and for looking at a vocab.

     tok_tool encode VOCAB.gguf [--special] [--parse-special]   stdin text -> ids, one line
     tok_tool decode VOCAB.gguf [--render-special] ID...        ids -> text on stdout
     tok_tool pre NAME                                           pre-tokenizer pieces
     tok_tool rx PATTERN                                         one regex's pieces (engine test)

   `pre` reads texts separated by NUL bytes from stdin and prints, per text, one line of its
   pieces, each as hex bytes, separated by spaces (tests/test_token_pre.py compares them with
   the Python `regex` module). The pre-tokenizer is internal, so this tool carries its own copy
   of the implementation (RF_STATIC: no clash with build/impl.o). */
#define _GNU_SOURCE
#define RF_STATIC
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wunused-function"  /* RF_STATIC: most of the API is unused here */
#endif
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"

static char *read_stdin(size_t *n) {
    size_t cap = 1 << 16, len = 0, r;
    char *buf = (char *)malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += r;
        if (len == cap) {
            char *nb = (char *)realloc(buf, cap * 2);
            if (!nb) { free(buf); return NULL; }
            buf = nb;
            cap *= 2;
        }
    }
    *n = len;
    return buf;
}

/* `pre NAME` splits with a pre-tokenizer's patterns, `rx PATTERN` with one pattern. */
static int cmd_pre(const char *name, int is_pattern) {
    const rf__pre_spec *spec = is_pattern ? NULL : rf__pre_find(name, strlen(name));
    const char *one[2];
    const char *const *pats = one;
    rf__rx *rx[8];
    int n_rx = 0, i, rc = 0;
    size_t n, off = 0;
    char *text;
    one[0] = name;
    one[1] = NULL;
    if (!is_pattern) {
        if (!spec) { fprintf(stderr, "unknown pre-tokenizer %s\n", name); return 2; }
        pats = spec->patterns;
    }
    for (i = 0; pats[i]; i++) {
        if (rf__rx_compile(pats[i], &rx[n_rx]) != RF_OK) { fprintf(stderr, "%s\n", rf_last_error()); return 3; }
        n_rx++;
    }
    if (!(text = read_stdin(&n))) return 1;
    while (off <= n) {
        size_t end = off, ncp, k;
        uint32_t *cps;
        size_t *offs;
        rf__spans a, b;
        while (end < n && text[end]) end++;
        if (end == n && off == n) break;
        cps = (uint32_t *)malloc((end - off + 1) * sizeof *cps);
        offs = (size_t *)malloc((end - off + 2) * sizeof *offs);
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        if (!cps || !offs) { rc = 1; break; }
        ncp = rf__decode_all(text + off, end - off, cps, offs);
        rf__spans_push(&a, 0, ncp);
        for (i = 0; i < n_rx; i++) {
            rf__spans tmp;
            rf__rx_split(rx[i], cps, &a, &b);
            tmp = a; a = b; b = tmp;
        }
        for (k = 0; k < a.n; k++) {
            size_t j;
            if (k) putchar(' ');
            for (j = offs[a.v[k].a]; j < offs[a.v[k].b]; j++) printf("%02x", (unsigned char)text[off + j]);
        }
        putchar('\n');
        free(cps); free(offs); free(a.v); free(b.v);
        off = end + 1;
    }
    for (i = 0; i < n_rx; i++) free(rx[i]);
    free(text);
    return rc;
}

static rf_tokenizer *load(const char *path) {
    rf_gguf *g = NULL;
    rf_tokenizer *t = NULL;
    if (rf_gguf_open(path, &g) || rf_tokenizer_load(g, &t)) {
        fprintf(stderr, "%s: %s\n", path, rf_last_error());
        rf_gguf_close(g);
        return NULL;
    }
    rf_gguf_close(g);
    return t;
}

int main(int argc, char **argv) {
    rf_tokenizer *t;
    int i;
    unsigned flags = 0;
    if (argc >= 3 && strcmp(argv[1], "pre") == 0) return cmd_pre(argv[2], 0);
    if (argc >= 3 && strcmp(argv[1], "rx") == 0) return cmd_pre(argv[2], 1);
    if (argc >= 3 && strcmp(argv[1], "encode") == 0) {
        size_t n, cap, count = 0;
        char *text;
        int32_t *ids;
        for (i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--special") == 0) flags |= RF_TOK_ADD_SPECIAL;
            if (strcmp(argv[i], "--parse-special") == 0) flags |= RF_TOK_PARSE_SPECIAL;
        }
        if (!(t = load(argv[2])) || !(text = read_stdin(&n))) return 1;
        cap = n + 16;
        ids = (int32_t *)malloc(cap * sizeof *ids);
        if (!ids || rf_tokenize(t, text, n, flags, ids, cap, &count) != RF_OK) {
            fprintf(stderr, "tokenize: %s\n", rf_last_error());
            return 1;
        }
        for (i = 0; i < (int)count; i++) printf("%s%d", i ? " " : "", (int)ids[i]);
        printf("\n");
        free(ids); free(text); rf_tokenizer_free(t);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "decode") == 0) {
        int32_t ids[4096];
        size_t n = 0, len = 0;
        char *buf;
        for (i = 3; i < argc && n < 4096; i++) {
            if (strcmp(argv[i], "--render-special") == 0) flags |= RF_TOK_RENDER_SPECIAL;
            else ids[n++] = (int32_t)atoi(argv[i]);
        }
        if (!(t = load(argv[2]))) return 1;
        rf_detokenize(t, ids, n, flags, NULL, 0, &len);
        buf = (char *)malloc(len + 1);
        if (!buf || rf_detokenize(t, ids, n, flags, buf, len, &len) != RF_OK) {
            fprintf(stderr, "detokenize: %s\n", rf_last_error());
            return 1;
        }
        fwrite(buf, 1, len, stdout);
        free(buf); rf_tokenizer_free(t);
        return 0;
    }
    fprintf(stderr, "usage: tok_tool encode|decode VOCAB.gguf ... | tok_tool pre NAME\n");
    return 2;
}
