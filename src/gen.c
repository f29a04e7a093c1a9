/* The generation loop. Text leaves it in pieces that are (a) whole UTF-8 sequences and (b) not
   possibly the beginning of a stop string; a stop string itself is never shown. */

typedef struct rf__text {
    char *p;
    size_t n, cap;
} rf__text;

static rf_status rf__text_append(rf__text *t, const char *s, size_t n) {
    if (t->n + n + 1 > t->cap) {
        size_t cap = RF__MAX(2 * t->cap, t->n + n + 64);
        char *p = (char *)RF_REALLOC(t->p, cap);
        if (!p) return rf__err(RF_ERR_OOM, "generate: out of memory for the output text");
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = 0;
    return RF_OK;
}

/* Length of the longest prefix of s[0..n) that ends on a UTF-8 sequence boundary: a trailing lead
   byte whose continuation bytes have not arrived yet is held back. */
static size_t rf__utf8_complete(const char *s, size_t n) {
    size_t i = n, back;
    for (back = 0; back < 4 && i > 0; back++) {
        unsigned char c = (unsigned char)s[--i];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte: keep looking for the lead */
        {
            size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return n - i >= need ? n : i;
        }
    }
    return n;
}

/* Tokenize into a growing buffer (the tokenizer reports the count it needs). */
static rf_status rf__tokenize_alloc(const rf_tokenizer *tok, const char *text, size_t len, unsigned flags,
                                    int32_t **out, size_t *n) {
    size_t cap = len + 8, need = 0;
    rf_status s;
    int32_t *ids = RF__NEW(int32_t, cap);
    if (!ids) return rf__err(RF_ERR_OOM, "generate: out of memory tokenizing the prompt");
    s = rf_tokenize(tok, text, len, flags, ids, cap, &need);
    if (s == RF_ERR_TOO_LARGE && need > cap) {
        int32_t *bigger = (int32_t *)RF_REALLOC(ids, sizeof(int32_t) * need);
        if (!bigger) {
            RF_FREE(ids);
            return rf__err(RF_ERR_OOM, "generate: out of memory tokenizing the prompt");
        }
        ids = bigger;
        s = rf_tokenize(tok, text, len, flags, ids, need, &need);
    }
    if (s != RF_OK) {
        RF_FREE(ids);
        return s;
    }
    *out = ids;
    *n = need;
    return RF_OK;
}

/* The state of one generation between steps. rf_generate runs the steps in a loop; a server
   interleaves the steps of many generations (one rf_gen per slot). */
struct rf_gen {
    rf_ctx *c;
    rf_sampler *smp;
    rf_gen_params p;
    rf_gen_result res;
    int32_t *ids;          /* the prompt's tokens until the prefill has run */
    size_t n_ids;
    rf__text text;         /* everything generated; text.p[0..shown) has been streamed */
    size_t shown;
    int prefilled;
    double t_gen;          /* when generation (after the prefill) started */
};

RF_API rf_status rf_gen_begin(rf_ctx *c, rf_sampler *smp, const char *prompt, size_t len, const rf_gen_params *p,
                              rf_gen **out) {
    rf_gen *g;
    unsigned flags;
    rf_status s;
    int32_t n_cached, i;
    const int32_t *cached;
    if (!out) return rf__err(RF_ERR_INVALID_ARG, "rf_gen_begin: NULL argument");
    *out = NULL;
    if (!c || !smp || (!prompt && len)) return rf__err(RF_ERR_INVALID_ARG, "rf_gen_begin: NULL argument");
    if (!(g = RF__NEWZ(rf_gen, 1))) return rf__err(RF_ERR_OOM, "generate: out of memory");
    g->c = c;
    g->smp = smp;
    if (p) g->p = *p;
    flags = (g->p.no_add_special ? 0u : (unsigned)RF_TOK_ADD_SPECIAL) | (g->p.parse_special ? (unsigned)RF_TOK_PARSE_SPECIAL : 0u);
    if ((s = rf__tokenize_alloc(c->m->tok, prompt ? prompt : "", len, flags, &g->ids, &g->n_ids)) != RF_OK) {
        RF_FREE(g);
        return s;
    }
    if (g->n_ids == 0) s = rf__err(RF_ERR_INVALID_ARG, "generate: the prompt is empty (and the vocab adds no BOS)");
    else if (g->n_ids >= (size_t)c->n_ctx)
        s = rf__err(RF_ERR_TOO_LARGE, "generate: the prompt is %zu tokens, the context holds %d", g->n_ids, c->n_ctx);
    if (s != RF_OK) {
        rf_gen_end(g, NULL);
        return s;
    }
    g->res.n_prompt = (int32_t)g->n_ids;
    /* Reuse the cached prefix; at least the last prompt token is run again for its logits. */
    cached = rf_ctx_tokens(c, &n_cached);
    for (i = 0; i < n_cached && (size_t)i < g->n_ids - 1 && cached[i] == g->ids[i]; i++) {}
    g->res.n_reused = i;
    rf_ctx_truncate(c, i);
    rf_sampler_reset(smp);
    for (i = 0; (size_t)i < g->n_ids; i++) rf_sampler_accept(smp, g->ids[i]);
    *out = g;
    return RF_OK;
}

/* The prefill: the prompt tokens not already in the cache. A prefill that fails may be stepped
   again (the server retries one that found the KV pool empty once it has made room). */
static rf_status rf__gen_prefill(rf_gen *g) {
    double t0 = rf__now();
    rf_status s = rf_ctx_decode(g->c, g->ids + g->res.n_reused, (int32_t)g->n_ids - g->res.n_reused);
    g->res.prompt_s = rf__now() - t0;
    if (s != RF_OK) return s;
    RF_FREE(g->ids);
    g->ids = NULL;
    g->prefilled = 1;
    g->t_gen = rf__now();
    return RF_OK;
}

/* Show what is left (a held-back tail that turned out not to be a stop) once the generation ends
   other than by a stop string or the callback. */
static void rf__gen_flush(rf_gen *g) {
    rf_stop_reason r = g->res.stop;
    if ((r == RF_STOP_EOG || r == RF_STOP_LENGTH || r == RF_STOP_CONTEXT) && g->text.n > g->shown && g->p.on_piece) {
        g->p.on_piece(g->p.user, g->text.p + g->shown, g->text.n - g->shown);
        g->shown = g->text.n;
    }
}

/* One generated token: sample, stream what is safe to show; *next: the token to decode for the
   next logits, or -1 when the generation is over. */
static rf_status rf__gen_token(rf_gen *g, int32_t *next) {
    const rf_tokenizer *tok = g->c->m->tok;
    rf_gen_result *res = &g->res;
    size_t plen = 0, stop_at = 0, safe = 0;
    int32_t tokn;
    char piece[256];
    rf_status s;
    *next = -1;
    if ((s = rf_sampler_sample(g->smp, rf_ctx_logits(g->c), &tokn)) != RF_OK) return s;
    rf_sampler_accept(g->smp, tokn);
    res->n_gen++;
    if (rf_tokenizer_is_eog(tok, tokn)) {
        res->stop = RF_STOP_EOG;
        return RF_OK;
    }
    s = rf_token_to_piece(tok, tokn, 0, piece, sizeof piece, &plen);
    if (s == RF_ERR_TOO_LARGE) plen = sizeof piece, s = RF_OK; /* a >256-byte piece: cut (never seen) */
    if (s != RF_OK || (s = rf__text_append(&g->text, piece, plen)) != RF_OK) return s;
    rf_stop_scan(g->p.stop, g->p.n_stop, g->text.p + g->shown, g->text.n - g->shown, &stop_at, &safe);
    if (stop_at < g->text.n - g->shown) {
        safe = stop_at;
        res->stop = RF_STOP_STRING;
    } else {
        safe = rf__utf8_complete(g->text.p + g->shown, safe);
    }
    if (safe > 0 && g->p.on_piece && g->p.on_piece(g->p.user, g->text.p + g->shown, safe) && res->stop == RF_STOP_NONE)
        res->stop = RF_STOP_CALLBACK;
    g->shown += safe;
    if (res->stop != RF_STOP_NONE) return RF_OK;
    if (g->p.max_tokens > 0 && res->n_gen >= g->p.max_tokens) res->stop = RF_STOP_LENGTH;
    else if (rf_ctx_pos(g->c) >= rf_ctx_n_ctx(g->c)) res->stop = RF_STOP_CONTEXT;
    else *next = tokn;
    return RF_OK;
}

RF_API int rf_gen_prefilled(const rf_gen *g) { return g ? g->prefilled : 0; }

RF_API rf_status rf_gen_sample(rf_gen *g, int32_t *next) {
    rf_status s;
    if (!g || !next) return rf__err(RF_ERR_INVALID_ARG, "rf_gen_sample: NULL argument");
    *next = -1;
    if (!g->prefilled) return rf__err(RF_ERR_INVALID_ARG, "rf_gen_sample: the prefill has not run");
    if (g->res.stop != RF_STOP_NONE) return RF_OK;
    s = rf__gen_token(g, next);
    g->res.gen_s = rf__now() - g->t_gen;
    if (s == RF_OK) rf__gen_flush(g);
    return s;
}

RF_API void rf_gen_stop(rf_gen *g, rf_stop_reason why) {
    if (!g || g->res.stop != RF_STOP_NONE || why == RF_STOP_NONE) return;
    g->res.stop = why;
    rf__gen_flush(g);
}

/* One step: the prefill, or sample + decode. */
RF_API rf_status rf_gen_step(rf_gen *g) {
    int32_t next;
    rf_status s;
    if (!g) return rf__err(RF_ERR_INVALID_ARG, "rf_gen_step: NULL argument");
    if (g->res.stop != RF_STOP_NONE) return RF_OK;
    if (!g->prefilled) return rf__gen_prefill(g);
    if ((s = rf_gen_sample(g, &next)) != RF_OK || next < 0) return s;
    return rf_ctx_decode(g->c, &next, 1);
}

RF_API const rf_gen_result *rf_gen_result_of(const rf_gen *g) { return g ? &g->res : NULL; }

RF_API void rf_gen_end(rf_gen *g, rf_gen_result *r) {
    if (!g) return;
    if (r) *r = g->res;
    RF_FREE(g->ids);
    RF_FREE(g->text.p);
    RF_FREE(g);
}

RF_API rf_status rf_generate(rf_ctx *c, rf_sampler *smp, const char *prompt, size_t len, const rf_gen_params *p,
                             rf_gen_result *r) {
    rf_gen *g = NULL;
    rf_status s = rf_gen_begin(c, smp, prompt, len, p, &g);
    if (s != RF_OK) return s;
    while (s == RF_OK && rf_gen_result_of(g)->stop == RF_STOP_NONE) s = rf_gen_step(g);
    rf_gen_end(g, r);
    return s;
}
