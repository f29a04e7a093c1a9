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

RF_API rf_status rf_generate(rf_ctx *c, rf_sampler *smp, const char *prompt, size_t len, const rf_gen_params *p,
                             rf_gen_result *r) {
    const rf_tokenizer *tok;
    rf_gen_params gp;
    rf_gen_result res;
    rf__text text;
    int32_t *ids = NULL, n_cached, i, tokn;
    const int32_t *cached;
    size_t n_ids = 0, shown = 0;
    unsigned flags;
    rf_status s;
    double t0;
    char piece[256];

    if (!c || !smp || (!prompt && len)) return rf__err(RF_ERR_INVALID_ARG, "rf_generate: NULL argument");
    memset(&gp, 0, sizeof gp);
    if (p) gp = *p;
    memset(&res, 0, sizeof res);
    memset(&text, 0, sizeof text);
    tok = c->m->tok;
    flags = (gp.no_add_special ? 0u : (unsigned)RF_TOK_ADD_SPECIAL) | (gp.parse_special ? (unsigned)RF_TOK_PARSE_SPECIAL : 0u);
    if ((s = rf__tokenize_alloc(tok, prompt ? prompt : "", len, flags, &ids, &n_ids)) != RF_OK) return s;
    if (n_ids == 0) {
        RF_FREE(ids);
        return rf__err(RF_ERR_INVALID_ARG, "generate: the prompt is empty (and the vocab adds no BOS)");
    }
    if (n_ids >= (size_t)c->n_ctx) {
        RF_FREE(ids);
        return rf__err(RF_ERR_TOO_LARGE, "generate: the prompt is %zu tokens, the context holds %d", n_ids, c->n_ctx);
    }
    res.n_prompt = (int32_t)n_ids;

    /* Reuse the cached prefix; at least the last prompt token is run again for its logits. */
    cached = rf_ctx_tokens(c, &n_cached);
    for (i = 0; i < n_cached && (size_t)i < n_ids - 1 && cached[i] == ids[i]; i++) {}
    res.n_reused = i;
    rf_ctx_truncate(c, i);
    rf_sampler_reset(smp);
    for (i = 0; (size_t)i < n_ids; i++) rf_sampler_accept(smp, ids[i]);
    t0 = rf__now();
    s = rf_ctx_decode(c, ids + res.n_reused, (int32_t)n_ids - res.n_reused);
    res.prompt_s = rf__now() - t0;
    RF_FREE(ids);
    if (s != RF_OK) return s;

    t0 = rf__now();
    while (res.stop == RF_STOP_NONE) {
        size_t plen = 0, stop_at = 0, safe = 0;
        if ((s = rf_sampler_sample(smp, rf_ctx_logits(c), &tokn)) != RF_OK) break;
        rf_sampler_accept(smp, tokn);
        res.n_gen++;
        if (rf_tokenizer_is_eog(tok, tokn)) {
            res.stop = RF_STOP_EOG;
            break;
        }
        s = rf_token_to_piece(tok, tokn, 0, piece, sizeof piece, &plen);
        if (s == RF_ERR_TOO_LARGE) plen = sizeof piece, s = RF_OK; /* a >256-byte piece: cut (never seen) */
        if (s != RF_OK || (s = rf__text_append(&text, piece, plen)) != RF_OK) break;
        rf_stop_scan(gp.stop, gp.n_stop, text.p + shown, text.n - shown, &stop_at, &safe);
        if (stop_at < text.n - shown) {
            safe = stop_at;
            res.stop = RF_STOP_STRING;
        } else {
            safe = rf__utf8_complete(text.p + shown, safe);
        }
        if (safe > 0 && gp.on_piece && gp.on_piece(gp.user, text.p + shown, safe) && res.stop == RF_STOP_NONE)
            res.stop = RF_STOP_CALLBACK;
        shown += safe;
        if (res.stop != RF_STOP_NONE) break;
        if (gp.max_tokens > 0 && res.n_gen >= gp.max_tokens) {
            res.stop = RF_STOP_LENGTH;
        } else if (rf_ctx_pos(c) >= rf_ctx_n_ctx(c)) {
            res.stop = RF_STOP_CONTEXT;
        } else if ((s = rf_ctx_decode(c, &tokn, 1)) != RF_OK) {
            break;
        }
    }
    /* what is left (a held-back tail that turned out not to be a stop) is shown at the end */
    if (s == RF_OK && res.stop != RF_STOP_STRING && res.stop != RF_STOP_CALLBACK && text.n > shown && gp.on_piece)
        gp.on_piece(gp.user, text.p + shown, text.n - shown);
    res.gen_s = rf__now() - t0;
    RF_FREE(text.p);
    if (r) *r = res;
    return s;
}
