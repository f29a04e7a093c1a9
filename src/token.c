/* The public tokenizer calls: special-token partitioning, tokenize, token_to_piece, detokenize.
   What counts as "the same ids as llama.cpp" is pinned by tests/test_token.c against llama.cpp's
   vocab test vectors. */

RF_API int32_t rf_tokenizer_n_vocab(const rf_tokenizer *t) { return t ? t->n_vocab : 0; }
RF_API int32_t rf_tokenizer_bos(const rf_tokenizer *t) { return t ? t->bos : -1; }
RF_API int32_t rf_tokenizer_eos(const rf_tokenizer *t) { return t ? t->eos : -1; }

RF_API int rf_tokenizer_is_eog(const rf_tokenizer *t, int32_t id) {
    int i;
    if (!t || id < 0) return 0;
    for (i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return 1;
    return 0;
}

/* A piece of the input: raw text [a, b), or a special token (id >= 0). */
typedef struct rf__frag { int32_t id; size_t a, b; } rf__frag;
typedef struct rf__frags { rf__frag *v; size_t n, cap; } rf__frags;

static int rf__frags_push(rf__frags *f, int32_t id, size_t a, size_t b) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        rf__frag *v = (rf__frag *)RF_REALLOC(f->v, cap * sizeof *v);
        if (!v) return 0;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n].id = id;
    f->v[f->n].a = a;
    f->v[f->n].b = b;
    f->n++;
    return 1;
}

static int rf__is_space_byte(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Split text into raw fragments and special tokens, the way llama.cpp does: the special texts
   are taken in order (longest first), and each one claims every non-overlapping occurrence,
   leftmost first, in the raw fragments that are left. Without parse_special only user-defined
   tokens are matched -- llama.cpp always matches those, and the ids must agree with it.
   Tokens flagged LSTRIP/RSTRIP eat the white space before/after them. */
static rf_status rf__partition(const rf_tokenizer *t, const char *s, size_t n, int parse_special,
                               rf__frags *out) {
    rf__frags tmp;
    size_t k, i;
    /* Which byte pairs occur in the text: a special text whose first two bytes never occur
       cannot match, so the common case skips the search over the whole text. */
    uint8_t *pairs = NULL, bytes[32];
    memset(&tmp, 0, sizeof tmp);
    memset(bytes, 0, sizeof bytes);
    out->n = 0;
    if (n == 0) return RF_OK;
    if (!rf__frags_push(out, -1, 0, n)) goto oom;
    if (t->n_special == 0) return RF_OK;
    pairs = RF__NEWZ(uint8_t, 8192);
    if (!pairs) goto oom;
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        bytes[c >> 3] |= (uint8_t)(1u << (c & 7));
        if (i + 1 < n) {
            unsigned p = (c << 8) | (unsigned char)s[i + 1];
            pairs[p >> 3] |= (uint8_t)(1u << (p & 7));
        }
    }
    for (k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        const char *tx = t->text + t->off[id];
        size_t tl = t->len[id];
        int ty = t->type[id], found = 0;
        unsigned c0 = (unsigned char)tx[0];
        if (!parse_special && (ty == RF__TT_CONTROL || ty == RF__TT_UNKNOWN)) continue;
        if (tl > n || !(bytes[c0 >> 3] & (1u << (c0 & 7)))) continue;
        if (tl >= 2) {
            unsigned p = (c0 << 8) | (unsigned char)tx[1];
            if (!(pairs[p >> 3] & (1u << (p & 7)))) continue;
        }
        tmp.n = 0;
        for (i = 0; i < out->n; i++) {
            rf__frag f = out->v[i];
            const char *m;
            if (f.id >= 0) {
                if (!rf__frags_push(&tmp, f.id, f.a, f.b)) goto oom;
                continue;
            }
            while (f.a < f.b && (m = rf__memmem(s + f.a, f.b - f.a, tx, tl)) != NULL) {
                size_t at = (size_t)(m - s), left_end = at, right = at + tl;
                found = 1;
                if (t->flags[id] & RF__TF_LSTRIP)
                    while (left_end > f.a && rf__is_space_byte(s[left_end - 1])) left_end--;
                if (left_end > f.a && !rf__frags_push(&tmp, -1, f.a, left_end)) goto oom;
                if (!rf__frags_push(&tmp, id, at, right)) goto oom;
                if (t->flags[id] & RF__TF_RSTRIP)
                    while (right < f.b && rf__is_space_byte(s[right])) right++;
                f.a = right;
            }
            if (f.a < f.b && !rf__frags_push(&tmp, -1, f.a, f.b)) goto oom;
        }
        if (found) {  /* swap: tmp becomes the fragment list */
            rf__frags sw = *out;
            *out = tmp;
            tmp = sw;
        }
    }
    RF_FREE(tmp.v);
    RF_FREE(pairs);
    return RF_OK;
oom:
    RF_FREE(tmp.v);
    RF_FREE(pairs);
    return rf__err(RF_ERR_OOM, "tokenize: out of memory");
}

/* SPM input form: the space prefix (when asked) and every ' ' as U+2581. */
static rf_status rf__spm_fragment(const rf_tokenizer *t, const char *s, size_t n, int prefix, rf__ids *out) {
    size_t i, m = 0, spaces = (size_t)prefix;
    char *buf;
    rf_status st;
    for (i = 0; i < n; i++) spaces += s[i] == ' ';
    if (n > SIZE_MAX / 4) return rf__err(RF_ERR_TOO_LARGE, "tokenize: text too long");
    buf = RF__NEW(char, n + 2 * spaces + 1);
    if (!buf) return rf__err(RF_ERR_OOM, "tokenize: out of memory");
    if (prefix) { memcpy(buf, "\xE2\x96\x81", 3); m = 3; }
    for (i = 0; i < n; i++) {
        if (s[i] == ' ') { memcpy(buf + m, "\xE2\x96\x81", 3); m += 3; }
        else buf[m++] = s[i];
    }
    st = rf__spm_tokenize(t, buf, m, out);
    RF_FREE(buf);
    return st;
}

RF_API rf_status rf_tokenize(const rf_tokenizer *t, const char *text, size_t len, unsigned flags,
                             int32_t *out, size_t cap, size_t *n_out) {
    rf__frags frags;
    rf__ids ids;
    rf_status st = RF_OK;
    size_t i;
    int add = (flags & RF_TOK_ADD_SPECIAL) != 0, prev_special = 1;
    if (n_out) *n_out = 0;
    if (!t || !n_out || (!text && len) || (!out && cap))
        return rf__err(RF_ERR_INVALID_ARG, "rf_tokenize: NULL argument");
    memset(&frags, 0, sizeof frags);
    memset(&ids, 0, sizeof ids);
    if ((st = rf__partition(t, text, len, (flags & RF_TOK_PARSE_SPECIAL) != 0, &frags)) != RF_OK) goto done;
    if (add && t->add_bos && t->bos >= 0 && !rf__ids_push(&ids, t->bos)) goto oom;
    for (i = 0; i < frags.n && !st; i++) {
        const rf__frag *f = &frags.v[i];
        if (f->id >= 0) {
            if (!rf__ids_push(&ids, f->id)) goto oom;
            prev_special = 1;
            continue;
        }
        switch (t->kind) {
        case RF__VOCAB_SPM:
            /* sentencepiece adds its space prefix at the start and after each special token */
            st = rf__spm_fragment(t, text + f->a, f->b - f->a, t->add_space_prefix && prev_special, &ids);
            break;
        case RF__VOCAB_BPE:
            st = rf__bpe_tokenize(t, text + f->a, f->b - f->a, &ids);
            break;
        default:
            st = rf__wpm_tokenize(t, text + f->a, f->b - f->a, &ids);
            break;
        }
        prev_special = 0;
    }
    if (st) goto done;
    if (add && t->add_eos && t->eos >= 0 && !rf__ids_push(&ids, t->eos)) goto oom;
    if (ids.n && cap) memcpy(out, ids.v, RF__MIN(cap, ids.n) * sizeof *out);  /* out may be NULL when cap is 0 */
    *n_out = ids.n;
    if (ids.n > cap) st = rf__err(RF_ERR_TOO_LARGE, "rf_tokenize: %zu tokens, buffer holds %zu", ids.n, cap);
    goto done;
oom:
    st = rf__err(RF_ERR_OOM, "tokenize: out of memory");
done:
    RF_FREE(frags.v);
    RF_FREE(ids.v);
    return st;
}

/* ---- pieces and detokenization --------------------------------------------------------- */

/* Output with the buffer protocol: writes what fits, counts everything. `strip_space` drops
   one leading ' ' from the very start of the output (sentencepiece's space prefix). */
typedef struct rf__out { char *buf; size_t cap, n; int strip_space; } rf__out;

static void rf__out_put(rf__out *o, const char *s, size_t n) {
    if (n && o->strip_space) {
        o->strip_space = 0;
        if (s[0] == ' ') { s++; n--; }
    }
    if (o->n < o->cap) memcpy(o->buf + o->n, s, RF__MIN(n, o->cap - o->n));
    o->n += n;
}

static void rf__piece(const rf_tokenizer *t, int32_t id, unsigned flags, rf__out *o) {
    const char *s = t->text + t->off[id];
    size_t n = t->len[id], i;
    switch (t->type[id]) {
    case RF__TT_CONTROL:
    case RF__TT_UNKNOWN:
        if (flags & RF_TOK_RENDER_SPECIAL) rf__out_put(o, s, n);
        return;
    case RF__TT_UNUSED:
        return;
    case RF__TT_USER:
        rf__out_put(o, s, n);
        return;
    case RF__TT_BYTE:
        if (t->byte_val[id] >= 0) {
            char c = (char)t->byte_val[id];
            rf__out_put(o, &c, 1);
            return;
        }
        break;
    default:
        break;
    }
    if (t->kind == RF__VOCAB_BPE) {
        /* byte-level characters -> the bytes they stand for; anything else stays as is */
        size_t len;
        for (i = 0; i < n; i += len) {
            uint32_t cp = rf__utf8_decode((const unsigned char *)s + i, n - i, &len);
            int b = rf__cp_to_byte(cp);
            if (b >= 0) {
                char c = (char)b;
                rf__out_put(o, &c, 1);
            } else {
                rf__out_put(o, s + i, len);
            }
        }
        return;
    }
    /* SPM / WPM: U+2581 is a space */
    for (i = 0; i < n;) {
        size_t j = i;
        while (j < n && !(j + 2 < n && memcmp(s + j, "\xE2\x96\x81", 3) == 0)) j++;
        rf__out_put(o, s + i, j - i);
        if (j < n) {
            rf__out_put(o, " ", 1);
            j += 3;
        }
        i = j;
    }
}

static rf_status rf__out_done(const rf__out *o, size_t *n_out, const char *what) {
    *n_out = o->n;
    if (o->n > o->cap) return rf__err(RF_ERR_TOO_LARGE, "%s: %zu bytes, buffer holds %zu", what, o->n, o->cap);
    return RF_OK;
}

RF_API rf_status rf_token_to_piece(const rf_tokenizer *t, int32_t id, unsigned flags, char *buf,
                                   size_t cap, size_t *n_out) {
    rf__out o;
    if (n_out) *n_out = 0;
    if (!t || !n_out || (!buf && cap)) return rf__err(RF_ERR_INVALID_ARG, "rf_token_to_piece: NULL argument");
    if (id < 0 || id >= t->n_vocab)
        return rf__err(RF_ERR_INVALID_ARG, "rf_token_to_piece: token %d out of range (vocab %d)", (int)id, (int)t->n_vocab);
    o.buf = buf;
    o.cap = cap;
    o.n = 0;
    o.strip_space = 0;
    rf__piece(t, id, flags, &o);
    return rf__out_done(&o, n_out, "rf_token_to_piece");
}

RF_API rf_status rf_detokenize(const rf_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                               char *buf, size_t cap, size_t *n_out) {
    rf__out o;
    size_t i;
    if (n_out) *n_out = 0;
    if (!t || !n_out || (!ids && n) || (!buf && cap)) return rf__err(RF_ERR_INVALID_ARG, "rf_detokenize: NULL argument");
    for (i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return rf__err(RF_ERR_INVALID_ARG, "rf_detokenize: ids[%zu] = %d out of range (vocab %d)", i,
                           (int)ids[i], (int)t->n_vocab);
    o.buf = buf;
    o.cap = cap;
    o.n = 0;
    /* The space that tokenize() put in front of the text (SPM's prefix, WPM's word-initial
       marker) is not part of it: drop it from the start of the output. A rendered BOS comes
       first, so "<s> Hello" keeps its space, as llama.cpp prints it. */
    o.strip_space = (t->kind == RF__VOCAB_SPM && t->add_space_prefix) || t->kind == RF__VOCAB_WPM;
    for (i = 0; i < n; i++) rf__piece(t, ids[i], flags, &o);
    return rf__out_done(&o, n_out, "rf_detokenize");
}
