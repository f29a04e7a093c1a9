/* Fuzz target body: the HTTP/1.1 request parser (rf__http_parse in src/http.c) and the OpenAI
   request validation behind it (src/http_api.c). Needs ROCMFORGE_HTTP and the implementation in
   the including TU, since both are static.
   Input: byte 0 picks the limits (low two bits 0: the server's defaults, 16 KiB of headers and
   1 MiB of body; else small limits from the other bits, so the fuzzer reaches them); the rest is
   the byte stream a client sends on one connection (pipelined requests welcome).
     1. The stream is fed to a fake connection the way rf__net_poll does -- reads bounded by
        max_header + max_body, parse, consume the answered request, parse the next -- once in
        one piece and once cut at pseudo-random points. Both give the same requests and the same
        refusal. Each parse sees a buffer of exactly the bytes received (ASan catches a read
        past it). A request's headers fit max_header, its body max_body; a refusal is one of
        400, 411, 413, 431, 505 and nothing follows it; a full read buffer never stalls.
     2. In the one-piece run, each POST to a known endpoint goes where rf__api_route sends it:
        rf_json_parse with the server's depth limit, then rf__job_parse (chat and completions)
        or /tokenize and /detokenize, against a small synthetic model. A rejected body yields a
        400 whose body is OpenAI's error object; an accepted one a job within the documented
        ranges. Every response written is checked: status line, Content-Length, JSON body.
   Shared by tests/fuzz/fuzz_http.c (libFuzzer) and tests/test_fuzz_replay.c (make test). */
#ifndef RF_FUZZ_HTTP_H
#define RF_FUZZ_HTTP_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"

static rf_model *rff_http_model;
static int rff_http_inited;

/* A small synthetic llama (SPM vocab of 1000) for the validation that needs a model. */
static rf_model *rff_http_init(void) {
    rf_synth_params p;
    char path[256];
    if (rff_http_inited) return rff_http_model;
    rff_http_inited = 1;
    memset(&p, 0, sizeof p);
    p.dim = 8;
    p.n_layers = 1;
    p.n_heads = 2;
    p.ffn = 8;
    p.vocab = 1000;
    p.ctx = 64;
    snprintf(path, sizeof path, "/tmp/rf_fuzz_http_%ld.gguf", (long)getpid());
    if (rf_synth_write(&p, path) == RF_OK && rf_model_load(path, NULL, &rff_http_model) != RF_OK) rff_http_model = NULL;
    remove(path); /* the mapping stays valid */
    return rff_http_model;
}

static void rff_http_fini(void) {
    rf_model_free(rff_http_model);
    rff_http_model = NULL;
    rff_http_inited = 0;
}

/* An append-only log of what a run saw, compared between the one-piece and the cut run. */
typedef struct rff_hlog {
    char *p;
    size_t n, cap;
} rff_hlog;

static void rff_hlog_put(rff_hlog *l, const void *s, size_t n) {
    if (l->n + n > l->cap) {
        size_t cap = (l->n + n) * 2 + 64;
        char *p = (char *)realloc(l->p, cap);
        rff_check(p != NULL);
        l->p = p;
        l->cap = cap;
    }
    if (n) memcpy(l->p + l->n, s, n);
    l->n += n;
}

static void rff_hlog_int(rff_hlog *l, const char *tag, long long v) {
    char tmp[64];
    int k = snprintf(tmp, sizeof tmp, "%s=%lld;", tag, v);
    rff_hlog_put(l, tmp, (size_t)k);
}

/* A response in c->out[from..): "HTTP/1.1 <code> ...", a Content-Length that matches, and a
   body that is JSON (an OpenAI error object for code >= 400). Returns the code. */
static int rff_http_check_response(const rf__conn *c, size_t from) {
    const char *p = c->out.p + from, *hdr_end, *cl;
    size_t n = c->out.n - from, clen, hlen;
    int code = 0;
    rf_json *j = NULL;
    rff_check(c->out.p != NULL && n > 12);
    rff_check(memcmp(p, "HTTP/1.1 ", 9) == 0);
    code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    rff_check(code >= 100 && code <= 599);
    {
        char *h = (char *)malloc(n + 1);
        rff_check(h != NULL);
        memcpy(h, p, n);
        h[n] = 0;
        hdr_end = strstr(h, "\r\n\r\n");
        rff_check(hdr_end != NULL);
        hlen = (size_t)(hdr_end - h) + 4;
        cl = strstr(h, "\r\nContent-Length: ");
        rff_check(cl != NULL && cl < hdr_end);
        clen = (size_t)strtoull(cl + 18, NULL, 10);
        free(h);
    }
    rff_check(hlen + clen == n);
    {   /* JSON allows \u0000 (a detokenized <0x00> byte token gives one); rf_json_parse refuses it
           because its strings are C strings, so the check reads it as \u0001 */
        char *b = (char *)malloc(clen + 1), *z;
        rff_check(b != NULL);
        memcpy(b, p + hlen, clen);
        b[clen] = 0;
        for (z = b; (z = strstr(z, "\\u0000")) != NULL; z += 6) z[5] = '1';
        if (rf_json_parse(b, clen, NULL, &j) != RF_OK)
            fprintf(stderr, "response body is not JSON (%s):\n%.*s\n", rf_last_error(), (int)RF__MIN(n, 800), p);
        rff_check(j != NULL);
        free(b);
    }
    rff_check(rf_json_type_of(j, 0) == RF_JSON_OBJECT);
    if (code >= 400) {
        int32_t e = rf_json_get(j, 0, "error");
        rff_check(rf_json_type_of(j, e) == RF_JSON_OBJECT);
        rff_check(rf_json_str(j, rf_json_get(j, e, "message"), NULL) != NULL);
        rff_check(rf_json_num(j, rf_json_get(j, e, "code")) == code);
    }
    rf_json_free(j);
    return code;
}

/* What rf__api_route does with a parsed POST body, minus the scheduler. */
static void rff_http_answer(const rf__http_req *r) {
    rf__conn c;
    rf_json *j = NULL;
    rf_json_limits lim;
    int code, kind = -1, tok = 0;
    const char *path = r->path;
    if (!rff_http_model || strcmp(r->method, "POST") != 0) return;
    if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/chat/completions")) kind = RF__JOB_CHAT;
    else if (!strcmp(path, "/v1/completions") || !strcmp(path, "/completions")) kind = RF__JOB_COMPLETION;
    else if (!strcmp(path, "/tokenize")) tok = 1;
    else if (!strcmp(path, "/detokenize")) tok = 2;
    else return;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    lim = rf_json_default_limits();
    lim.max_depth = 64; /* rf_server_params.max_json_depth's default */
    if (rf_json_parse(r->body, r->body_len, &lim, &j) != RF_OK) {
        rf__http_error(&c, 400, "invalid_request_error", NULL, rf_last_error(), 1);
        rff_check(rff_http_check_response(&c, 0) == 400);
    } else if (tok == 1) {
        rf__api_tokenize(rff_http_model, &c, j, 1);
        code = rff_http_check_response(&c, 0);
        rff_check(code == 200 || code == 400);
    } else if (tok == 2) {
        rf__api_detokenize(rff_http_model, &c, j, 1);
        code = rff_http_check_response(&c, 0);
        rff_check(code == 200 || code == 400);
    } else {
        rf__job *job = (rf__job *)calloc(1, sizeof(rf__job));
        rf__bad bad;
        size_t i;
        rff_check(job != NULL);
        memset(&bad, 0, sizeof bad);
        if (!rf__job_parse(rff_http_model, j, kind, 0, 7, job, &bad)) {
            rff_check(bad.msg[0] != 0);
            rf__http_error(&c, 400, "invalid_request_error", bad.param, bad.msg, 1);
            rff_check(rff_http_check_response(&c, 0) == 400);
        } else {
            int32_t nv = rf_model_n_vocab(rff_http_model);
            rff_check(job->kind == kind);
            rff_check(job->prompt != NULL && job->prompt[job->prompt_len] == 0);
            rff_check(job->sp.temperature >= 0 && job->sp.temperature <= 2);
            rff_check(job->sp.top_p >= 0 && job->sp.top_p <= 1);
            rff_check(job->sp.min_p >= 0 && job->sp.min_p <= 1);
            rff_check(job->sp.top_k >= 0);
            rff_check(job->sp.presence_penalty >= -2 && job->sp.presence_penalty <= 2);
            rff_check(job->sp.frequency_penalty >= -2 && job->sp.frequency_penalty <= 2);
            rff_check(job->max_tokens >= 0);
            rff_check(job->n_stops <= RF__MAX_STOPS);
            for (i = 0; i < job->n_stops; i++) rff_check(job->stops[i] != NULL && job->stops[i][0] != 0);
            for (i = 0; i < job->sp.n_logit_bias; i++) {
                rff_check(job->sp.logit_bias[i].token >= 0 && job->sp.logit_bias[i].token < nv);
                rff_check(job->sp.logit_bias[i].bias >= -100 && job->sp.logit_bias[i].bias <= 100);
            }
        }
        rf__job_free(job);
    }
    rf_json_free(j);
    free(c.out.p);
}

/* Feeds s[0..n) to a fake connection. cut: 0 for reads as large as the bound allows, else the
   seed of the pseudo-random read sizes. Logs each request and the refusal, if any. */
static void rff_http_run(const uint8_t *s, size_t n, const rf__net_limits *lim, uint64_t cut, rff_hlog *log) {
    rf__conn c;
    size_t pos = 0, bound = lim->max_header + lim->max_body;
    int done = 0;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    while (!done) {
        if (pos < n && c.in.n < bound) { /* rf__conn_read: at most bound bytes held */
            size_t k = n - pos;
            if (cut) {
                cut = cut * 6364136223846793005ULL + 1442695040888963407ULL;
                k = RF__MIN(k, (size_t)(1 + (cut >> 33) % (cut >> 62 == 0 ? 4096 : 24)));
            }
            k = RF__MIN(k, bound - c.in.n);
            rff_check(rf__text_append(&c.in, (const char *)s + pos, k) == RF_OK);
            pos += k;
        }
        for (;;) {
            rf__http_req r;
            const char *why = NULL;
            int st;
            size_t held = c.in.n, off;
            /* the parser sees exactly the bytes received, in a block of that size */
            char *saved = c.in.p, *exact = (char *)malloc(held ? held : 1);
            rff_check(exact != NULL);
            if (held) memcpy(exact, saved, held);
            c.in.p = held ? exact : NULL;
            st = rf__http_parse(&c, lim, &r, &why);
            c.in.p = saved;
            rff_check(why != NULL);
            if (st == 0) {
                free(exact);
                break;
            }
            if (st != 1) {
                rff_check(st == 400 || st == 411 || st == 413 || st == 431 || st == 505);
                rff_check(why[0] != 0);
                rff_hlog_int(log, "refused", st);
                if (!cut) { /* what the server sends back */
                    size_t from = c.out.n;
                    rf__http_error(&c, st, "invalid_request_error", NULL, why, 0);
                    rff_check(rff_http_check_response(&c, from) == st);
                }
                free(exact);
                done = 1;
                break;
            }
            rff_check(c.req_len > 0 && c.req_len <= held);
            rff_check(r.body >= exact && r.body + r.body_len == exact + c.req_len);
            off = (size_t)(r.body - exact);
            rff_check(off <= lim->max_header); /* request line + headers + blank line */
            rff_check(r.body_len <= lim->max_body);
            rff_check(r.method[0] != 0 && strlen(r.method) < sizeof r.method);
            rff_check(r.path[0] == '/' && strlen(r.path) < sizeof r.path);
            rff_check(r.auth == NULL || (r.auth >= exact && r.auth + r.auth_len <= exact + off));
            rff_hlog_put(log, r.method, strlen(r.method) + 1);
            rff_hlog_put(log, r.path, strlen(r.path) + 1);
            rff_hlog_int(log, "keep", r.keep_alive);
            rff_hlog_int(log, "auth", r.auth ? (long long)r.auth_len : -1);
            rff_hlog_int(log, "body", (long long)r.body_len);
            rff_hlog_put(log, r.body, r.body_len);
            if (!cut) rff_http_answer(&r);
            free(exact);
            rf__conn_consume(&c); /* the next pipelined request moves to the front */
            if (!r.keep_alive) { /* the server closes after answering */
                done = 1;
                break;
            }
        }
        if (done || pos == n) break;
        /* a full buffer that holds no complete request would wait for bytes it never reads */
        if (c.in.n >= bound) rff_check(!"the read buffer is full but the parser wants more");
    }
    if (!done) rff_hlog_int(log, "pending", (long long)c.in.n);
    free(c.in.p);
    free(c.out.p);
}

static int rf_fuzz_http(const uint8_t *data, size_t size) {
    rf__net_limits lim;
    rff_hlog whole, cut;
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    unsigned k;
    if (size < 1) return 0;
    rff_http_init();
    memset(&lim, 0, sizeof lim);
    k = data[0] & 3;
    if (k == 0) { /* rf_server_run's defaults */
        lim.max_header = 16384;
        lim.max_body = 1 << 20;
    } else {
        lim.max_header = 16 * k + ((size_t)data[0] >> 2 & 15) * 4;
        lim.max_body = ((size_t)data[0] >> 6) * 20;
    }
    lim.max_conns = 1;
    lim.request_timeout = 30;
    lim.idle_timeout = 60;
    for (i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ULL;
    memset(&whole, 0, sizeof whole);
    memset(&cut, 0, sizeof cut);
    rff_http_run(data + 1, size - 1, &lim, 0, &whole);
    rff_http_run(data + 1, size - 1, &lim, h | 1, &cut);
    if (whole.n != cut.n || memcmp(whole.p, cut.p, whole.n) != 0)
        fprintf(stderr, "one piece: %.*s\ncut:       %.*s\n", (int)RF__MIN(whole.n, 600), whole.p ? whole.p : "",
                (int)RF__MIN(cut.n, 600), cut.p ? cut.p : "");
    rff_check(whole.n == cut.n && memcmp(whole.p, cut.p, whole.n) == 0);
    free(whole.p);
    free(cut.p);
    return 0;
}
#endif
