/* The tokenizer's vocabulary, loaded from a GGUF's tokenizer.ggml.* keys and validated:
   token texts (copied), scores, types, hash tables for text -> id and (left, right) -> merge,
   special token ids, and the list of special-token texts that tokenize() matches in raw text. */

enum { RF__VOCAB_SPM = 1, RF__VOCAB_BPE, RF__VOCAB_WPM };

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum { RF__TT_UNDEFINED = 0, RF__TT_NORMAL = 1, RF__TT_UNKNOWN = 2, RF__TT_CONTROL = 3,
       RF__TT_USER = 4, RF__TT_UNUSED = 5, RF__TT_BYTE = 6 };

/* Per-token flags: when the token is matched in raw text, eat white space before / after it.
   GGUF files do not carry these; llama.cpp sets them for a few models by name, and so do we. */
enum { RF__TF_LSTRIP = 1, RF__TF_RSTRIP = 2 };

typedef struct rf__merge_slot {
    uint64_t key;      /* (left id << 32) | right id; UINT64_MAX: empty */
    int32_t rank;      /* position in tokenizer.ggml.merges: lower merges first */
    int32_t result;    /* id of left+right */
} rf__merge_slot;

struct rf_tokenizer {
    int kind;                   /* RF__VOCAB_* */
    int32_t n_vocab;
    char *text;                 /* every token's text, each followed by a NUL */
    uint32_t *off, *len;        /* token i is text[off[i] .. off[i]+len[i]) */
    float *score;               /* SPM merge priority */
    uint8_t *type;              /* RF__TT_* */
    uint8_t *flags;             /* RF__TF_* */
    int16_t *byte_val;          /* SPM byte tokens "<0xNN>": NN, else -1 */
    uint32_t max_len;           /* longest token text in bytes */

    int32_t *hash;              /* open addressing, text -> id; -1 empty */
    size_t hash_mask;
    rf__merge_slot *merges;     /* BPE only */
    size_t merge_mask;

    int32_t byte_tok[256];      /* SPM: the "<0xNN>" token of each byte; BPE: its byte-level char */
    int32_t bos, eos, unk, eot, eom, pad, sep;
    int add_bos, add_eos, add_space_prefix, ignore_merges;

    int32_t *special;           /* ids matched in raw text, longest text first */
    size_t n_special;
    int32_t eog[16];            /* end-of-generation ids */
    int n_eog;

    rf__rx *pre[8];             /* BPE pre-tokenizer regexes, applied in order */
    int n_pre;
};

static uint64_t rf__tok_hash(const char *s, size_t n) {  /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The id of a token text, or -1. */
static int32_t rf__tok_find(const rf_tokenizer *t, const char *s, size_t n) {
    size_t i = (size_t)rf__tok_hash(s, n) & t->hash_mask;
    for (;; i = (i + 1) & t->hash_mask) {
        int32_t id = t->hash[i];
        if (id < 0) return -1;
        if (t->len[id] == n && memcmp(t->text + t->off[id], s, n) == 0) return id;
    }
}

static size_t rf__pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
}

static uint64_t rf__merge_hash(uint64_t k) {  /* a 64-bit mix (splitmix64's finalizer) */
    k ^= k >> 30; k *= 0xbf58476d1ce4e5b9ull;
    k ^= k >> 27; k *= 0x94d049bb133111ebull;
    return k ^ (k >> 31);
}

/* The merge of (left, right): its rank and result id, or 0 if there is none. */
static int rf__merge_find(const rf_tokenizer *t, int32_t left, int32_t right, int32_t *rank, int32_t *result) {
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    size_t i = (size_t)rf__merge_hash(key) & t->merge_mask;
    if (!t->merges || left < 0 || right < 0) return 0;
    for (;; i = (i + 1) & t->merge_mask) {
        if (t->merges[i].key == UINT64_MAX) return 0;
        if (t->merges[i].key == key) {
            *rank = t->merges[i].rank;
            *result = t->merges[i].result;
            return 1;
        }
    }
}

RF_API void rf_tokenizer_free(rf_tokenizer *t) {
    int i;
    if (!t) return;
    RF_FREE(t->text); RF_FREE(t->off); RF_FREE(t->len); RF_FREE(t->score); RF_FREE(t->type);
    RF_FREE(t->flags); RF_FREE(t->byte_val); RF_FREE(t->hash); RF_FREE(t->merges); RF_FREE(t->special);
    for (i = 0; i < t->n_pre; i++) RF_FREE(t->pre[i]);
    RF_FREE(t);
}

/* An optional array key of n elements: *present = 0 when absent; errors on a wrong element
   type class or length. */
static rf_status rf__tok_array(const rf_gguf *g, const char *key, int want_string, uint64_t n,
                               rf_gguf_value *v, int *present) {
    rf_status st = rf_gguf_get_array(g, key, v);
    *present = 0;
    if (st == RF_ERR_NOT_FOUND) return RF_OK;
    if (st) return st;
    if (want_string ? v->elem_type != RF_GGUF_STRING
                    : (v->elem_type == RF_GGUF_STRING || v->elem_type == RF_GGUF_ARRAY))
        return rf__err(RF_ERR_WRONG_TYPE, "tokenizer: %s is an array of type %d, not of %s", key,
                       (int)v->elem_type, want_string ? "strings" : "numbers");
    if (n && v->n != n)
        return rf__err(RF_ERR_BAD_SHAPE, "tokenizer: %s has %llu elements, tokenizer.ggml.tokens has %llu",
                       key, (unsigned long long)v->n, (unsigned long long)n);
    *present = 1;
    return RF_OK;
}

/* An optional token id key: -1 (UINT32_MAX in the file) means none; others must be in range. */
static rf_status rf__tok_id_key(const rf_gguf *g, const char *key, int32_t n_vocab, int32_t *id) {
    uint32_t v = 0;
    rf_status st = rf_gguf_get_u32(g, key, &v);
    if (st == RF_ERR_NOT_FOUND) {
        if (*id >= n_vocab) *id = -1;  /* a default that this vocab is too small for */
        return RF_OK;
    }
    if (st) return st;
    if (v == UINT32_MAX) { *id = -1; return RF_OK; }
    if (v >= (uint32_t)n_vocab)
        return rf__err(RF_ERR_TOO_LARGE, "tokenizer: %s = %u, but the vocab has %d tokens", key, v, (int)n_vocab);
    *id = (int32_t)v;
    return RF_OK;
}

static rf_status rf__tok_bool_key(const rf_gguf *g, const char *key, int *out) {
    rf_status st = rf_gguf_get_bool(g, key, out);
    return st == RF_ERR_NOT_FOUND ? RF_OK : st;
}

static int rf__tok_text_is(const rf_tokenizer *t, int32_t id, const char *s) {
    size_t n = strlen(s);
    return t->len[id] == n && memcmp(t->text + t->off[id], s, n) == 0;
}

static int rf__u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first occurrence of needle in hay, or NULL (memmem is not C11). */
static const char *rf__memmem(const char *hay, size_t n, const char *needle, size_t m) {
    size_t i;
    if (m == 0) return hay;
    for (i = 0; i + m <= n; i++) {
        const char *p = (const char *)memchr(hay + i, needle[0], n - m + 1 - i);
        if (!p) return NULL;
        i = (size_t)(p - hay);
        if (memcmp(p, needle, m) == 0) return p;
    }
    return NULL;
}

/* Token texts, scores and types: copied and indexed. */
static rf_status rf__tok_load_tokens(rf_tokenizer *t, const rf_gguf *g) {
    rf_gguf_value toks, scores, types, e;
    int has_scores, has_types;
    uint64_t i, total = 0;
    size_t cap;
    rf_status st = rf__tok_array(g, "tokenizer.ggml.tokens", 1, 0, &toks, &has_types);
    if (st) return st;
    if (!has_types) return rf__err(RF_ERR_NOT_FOUND, "tokenizer: no tokenizer.ggml.tokens");
    if (toks.n == 0 || toks.n > (uint64_t)INT32_MAX / 4)
        return rf__err(RF_ERR_TOO_LARGE, "tokenizer: %llu tokens (want 1 .. %d)", (unsigned long long)toks.n,
                       INT32_MAX / 4);
    t->n_vocab = (int32_t)toks.n;
    if ((st = rf__tok_array(g, "tokenizer.ggml.scores", 0, toks.n, &scores, &has_scores)) != RF_OK) return st;
    if ((st = rf__tok_array(g, "tokenizer.ggml.token_type", 0, toks.n, &types, &has_types)) != RF_OK) return st;

    for (i = 0; i < toks.n; i++) {
        if ((st = rf_gguf_array_get(g, &toks, i, &e)) != RF_OK) return st;
        total += e.n + 1;
        if (total > UINT32_MAX) return rf__err(RF_ERR_TOO_LARGE, "tokenizer: token texts exceed 4 GiB");
    }
    t->text = RF__NEW(char, total);
    t->off = RF__NEW(uint32_t, toks.n);
    t->len = RF__NEW(uint32_t, toks.n);
    t->score = RF__NEWZ(float, toks.n);
    t->type = RF__NEW(uint8_t, toks.n);
    t->flags = RF__NEWZ(uint8_t, toks.n);
    t->byte_val = RF__NEW(int16_t, toks.n);
    cap = rf__pow2_at_least((size_t)toks.n * 2);
    t->hash = RF__NEW(int32_t, cap);
    if (!t->text || !t->off || !t->len || !t->score || !t->type || !t->flags || !t->byte_val || !t->hash)
        return rf__err(RF_ERR_OOM, "tokenizer: out of memory for %d tokens", (int)t->n_vocab);
    memset(t->hash, 0xFF, cap * sizeof *t->hash);
    t->hash_mask = cap - 1;

    total = 0;
    for (i = 0; i < toks.n; i++) {
        int32_t id = (int32_t)i;
        size_t h;
        if ((st = rf_gguf_array_get(g, &toks, i, &e)) != RF_OK) return st;
        memcpy(t->text + total, e.str, (size_t)e.n);
        t->text[total + e.n] = 0;
        t->off[i] = (uint32_t)total;
        t->len[i] = (uint32_t)e.n;
        total += e.n + 1;
        if (t->len[i] > t->max_len) t->max_len = t->len[i];
        if (has_scores) {
            if ((st = rf_gguf_array_get(g, &scores, i, &e)) != RF_OK) return st;
            t->score[i] = (float)e.f;
        }
        t->type[i] = RF__TT_NORMAL;
        if (has_types) {
            if ((st = rf_gguf_array_get(g, &types, i, &e)) != RF_OK) return st;
            if (!(e.f >= 0 && e.f <= RF__TT_BYTE))  /* written so that NaN is refused too */
                return rf__err(RF_ERR_BAD_TYPE, "tokenizer: token %d has type %g (want 0..6)", (int)id, e.f);
            t->type[i] = (uint8_t)e.f;
        }
        /* Byte tokens are spelled "<0xNN>" (SPM byte fallback). */
        t->byte_val[i] = -1;
        if (t->type[i] == RF__TT_BYTE && t->len[i] == 6) {
            const char *s = t->text + t->off[i];
            unsigned v;
            if (s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>' && sscanf(s + 3, "%2x", &v) == 1)
                t->byte_val[i] = (int16_t)v;
        }
        /* Insert; a duplicate text takes the later id, as in llama.cpp. */
        h = (size_t)rf__tok_hash(t->text + t->off[i], t->len[i]) & t->hash_mask;
        for (;; h = (h + 1) & t->hash_mask) {
            int32_t o = t->hash[h];
            if (o < 0 || (t->len[o] == t->len[i] && memcmp(t->text + t->off[o], t->text + t->off[i], t->len[i]) == 0)) {
                t->hash[h] = id;
                break;
            }
        }
    }
    return RF_OK;
}

/* The byte-level alphabet of GPT-2 BPE: the printable Latin-1 bytes 0x21..0x7E, 0xA1..0xAC and
   0xAE..0xFF stand for themselves; the other 68 bytes (0x00..0x20, 0x7F..0xA0, 0xAD), in order,
   become U+0100..U+0143, so that every byte is a visible character. */
static int rf__bpe_byte_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint32_t rf__byte_to_cp(unsigned b) {
    if (rf__bpe_byte_printable(b)) return b;
    if (b <= 0x20) return 0x100 + b;                  /* 33 control and space bytes */
    if (b <= 0xA0) return 0x100 + 33 + (b - 0x7F);    /* DEL, C1 controls, NBSP: 34 bytes */
    return 0x100 + 67;                                /* 0xAD, the soft hyphen */
}

/* The byte a byte-level character stands for, or -1. */
static int rf__cp_to_byte(uint32_t cp) {
    if (cp < 0x100) return rf__bpe_byte_printable(cp) ? (int)cp : -1;
    if (cp < 0x100 + 33) return (int)(cp - 0x100);
    if (cp < 0x100 + 67) return (int)(cp - 0x100 - 33 + 0x7F);
    return cp == 0x100 + 67 ? 0xAD : -1;
}

static rf_status rf__tok_load_merges(rf_tokenizer *t, const rf_gguf *g) {
    rf_gguf_value arr, e;
    int present;
    uint64_t i;
    size_t cap;
    char *buf;  /* left + right, to look the result up */
    rf_status st = rf__tok_array(g, "tokenizer.ggml.merges", 1, 0, &arr, &present);
    if (st) return st;
    if (!present) return rf__err(RF_ERR_NOT_FOUND, "tokenizer: BPE vocab without tokenizer.ggml.merges");
    if (arr.n > (uint64_t)INT32_MAX / 4)
        return rf__err(RF_ERR_TOO_LARGE, "tokenizer: %llu merges", (unsigned long long)arr.n);
    cap = rf__pow2_at_least((size_t)arr.n * 2);
    t->merges = RF__NEW(rf__merge_slot, cap);
    if (!t->merges) return rf__err(RF_ERR_OOM, "tokenizer: out of memory for %llu merges", (unsigned long long)arr.n);
    memset(t->merges, 0xFF, cap * sizeof *t->merges);
    t->merge_mask = cap - 1;
    if (!(buf = RF__NEW(char, (size_t)t->max_len + 1))) return rf__err(RF_ERR_OOM, "tokenizer: out of memory");
    for (i = 0; i < arr.n; i++) {
        const char *sp;
        int32_t l, r, res = -1;
        uint64_t key;
        size_t h, ln, rn;
        if ((st = rf_gguf_array_get(g, &arr, i, &e)) != RF_OK) break;
        /* "left right"; the split is the first space after the first byte, as llama.cpp reads it */
        sp = e.n > 1 ? (const char *)memchr(e.str + 1, ' ', (size_t)e.n - 1) : NULL;
        if (!sp) {
            st = rf__err(RF_ERR_BAD_STRING, "tokenizer: merge %llu is not \"left right\"", (unsigned long long)i);
            break;
        }
        ln = (size_t)(sp - e.str);
        rn = (size_t)e.n - ln - 1;
        l = rf__tok_find(t, e.str, ln);
        r = rf__tok_find(t, sp + 1, rn);
        if (ln + rn <= t->max_len) {  /* longer than any token: cannot be one */
            memcpy(buf, e.str, ln);
            memcpy(buf + ln, sp + 1, rn);
            res = rf__tok_find(t, buf, ln + rn);
        }
        if (l < 0 || r < 0 || res < 0) {
            st = rf__err(RF_ERR_BAD_STRING, "tokenizer: merge %llu '%.*s' refers to a text that is not a token",
                         (unsigned long long)i, (int)RF__MIN(e.n, 200), e.str);
            break;
        }
        key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
        h = (size_t)rf__merge_hash(key) & t->merge_mask;
        for (;; h = (h + 1) & t->merge_mask) {
            if (t->merges[h].key == key) break;  /* a repeated merge keeps its first rank */
            if (t->merges[h].key == UINT64_MAX) {
                t->merges[h].key = key;
                t->merges[h].rank = (int32_t)i;
                t->merges[h].result = res;
                break;
            }
        }
    }
    RF_FREE(buf);
    return st;
}

/* Special ids, flags, the special-text list and end-of-generation ids. */
static rf_status rf__tok_load_specials(rf_tokenizer *t, const rf_gguf *g, const char *name, size_t name_len,
                                       const char *pre, size_t pre_len) {
    static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                            "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>"};
    char lname[128];
    size_t i, k;
    rf_status st;
    int32_t id;

    /* Defaults when the keys are absent, as llama.cpp has them per model kind. */
    t->bos = t->eos = t->unk = t->eot = t->eom = t->pad = t->sep = -1;
    if (t->kind == RF__VOCAB_SPM) { t->bos = 1; t->eos = 2; t->unk = 0; t->add_bos = 1; t->add_space_prefix = 1; }
    if (t->kind == RF__VOCAB_BPE) { t->bos = 11; t->eos = 11; }
    if (t->kind == RF__VOCAB_WPM) { t->bos = 101; t->unk = 100; t->sep = 102; t->pad = 0; t->add_bos = 1; t->add_eos = 1; }
    if ((st = rf__tok_id_key(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos)) != RF_OK) return st;
    if ((st = rf__tok_id_key(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos)) != RF_OK) return st;
    if ((st = rf__tok_id_key(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk)) != RF_OK) return st;
    if ((st = rf__tok_id_key(g, "tokenizer.ggml.padding_token_id", t->n_vocab, &t->pad)) != RF_OK) return st;
    if ((st = rf__tok_id_key(g, "tokenizer.ggml.eot_token_id", t->n_vocab, &t->eot)) != RF_OK) return st;
    if ((st = rf__tok_id_key(g, "tokenizer.ggml.eom_token_id", t->n_vocab, &t->eom)) != RF_OK) return st;
    if ((st = rf__tok_id_key(g, "tokenizer.ggml.seperator_token_id", t->n_vocab, &t->sep)) != RF_OK) return st;
    if (t->kind == RF__VOCAB_WPM) {
        /* BERT: [CLS] opens and [SEP] closes a sequence */
        if ((st = rf__tok_id_key(g, "tokenizer.ggml.cls_token_id", t->n_vocab, &t->bos)) != RF_OK) return st;
        t->eos = t->sep;
    }
    if ((st = rf__tok_bool_key(g, "tokenizer.ggml.add_bos_token", &t->add_bos)) != RF_OK) return st;
    if ((st = rf__tok_bool_key(g, "tokenizer.ggml.add_eos_token", &t->add_eos)) != RF_OK) return st;
    if ((st = rf__tok_bool_key(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix)) != RF_OK) return st;

    /* End of generation: eos/eot/eom and the tokens that spell a known end-of-turn text. Those
       are control tokens whatever the file says (llama.cpp overrides their type the same way),
       so they are never matched in raw text without RF_TOK_PARSE_SPECIAL. */
    for (id = 0; id < t->n_vocab; id++) {
        for (k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++) {
            if (rf__tok_text_is(t, id, eog_texts[k])) {
                t->type[id] = RF__TT_CONTROL;
                if (t->n_eog < 13) t->eog[t->n_eog++] = id;
            }
        }
    }
    if (t->eos >= 0) t->eog[t->n_eog++] = t->eos;
    if (t->eot >= 0) t->eog[t->n_eog++] = t->eot;
    if (t->eom >= 0) t->eog[t->n_eog++] = t->eom;

    /* Texts matched in raw text: control, user-defined and unknown tokens, longest first
       (ties by id, so the order does not depend on the sort). */
    t->special = RF__NEW(int32_t, (size_t)t->n_vocab);
    if (!t->special) return rf__err(RF_ERR_OOM, "tokenizer: out of memory");
    for (id = 0; id < t->n_vocab; id++) {
        int ty = t->type[id];
        if ((ty == RF__TT_CONTROL || ty == RF__TT_USER || ty == RF__TT_UNKNOWN) && t->len[id] > 0)
            t->special[t->n_special++] = id;
    }
    /* qsort is not stable and takes no context: sort one 64-bit key per token that encodes
       (length descending, id ascending) */
    {
        uint64_t *keys = RF__NEW(uint64_t, t->n_special ? t->n_special : 1);
        if (!keys) return rf__err(RF_ERR_OOM, "tokenizer: out of memory");
        for (i = 0; i < t->n_special; i++)
            keys[i] = ((uint64_t)(UINT32_MAX - t->len[t->special[i]]) << 32) | (uint32_t)t->special[i];
        qsort(keys, t->n_special, sizeof *keys, rf__u64_cmp);
        for (i = 0; i < t->n_special; i++) t->special[i] = (int32_t)(uint32_t)keys[i];
        RF_FREE(keys);
    }

    /* White-space stripping around special tokens, by model name (llama.cpp does the same:
       the GGUF has no field for it). */
    for (i = 0; i < name_len && i + 1 < sizeof lname; i++)
        lname[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    lname[i] = 0;
    if (pre && (rf__memmem(pre, pre_len, "jina-v2-de", 10) || rf__memmem(pre, pre_len, "jina-v2-es", 10) ||
                rf__memmem(pre, pre_len, "jina-v2-code", 12))) {
        if ((id = rf__tok_find(t, "<mask>", 6)) >= 0) t->flags[id] |= RF__TF_LSTRIP;
    } else if (strstr(lname, "phi-3") || strstr(lname, "phi3")) {
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (i = 0; i < t->n_special; i++) t->flags[t->special[i]] |= RF__TF_RSTRIP;
        if ((id = rf__tok_find(t, "</s>", 4)) >= 0) t->flags[id] |= RF__TF_RSTRIP;
        for (k = 0; k < 3; k++)
            if ((id = rf__tok_find(t, keep[k], strlen(keep[k]))) >= 0) t->flags[id] &= (uint8_t)~RF__TF_RSTRIP;
    }
    return RF_OK;
}

static rf_status rf__tok_load_pre(rf_tokenizer *t, const char *pre, size_t pre_len) {
    const rf__pre_spec *spec;
    int i;
    rf_status st;
    if (!pre) { pre = "default"; pre_len = 7; }
    spec = rf__pre_find(pre, pre_len);
    if (!spec) return rf__err(RF_ERR_UNSUPPORTED, "tokenizer: unknown BPE pre-tokenizer '%.*s'", (int)RF__MIN(pre_len, 100), pre);
    t->ignore_merges = spec->ignore_merges;
    for (i = 0; spec->patterns[i]; i++) {
        if ((st = rf__rx_compile(spec->patterns[i], &t->pre[i])) != RF_OK) return st;
        t->n_pre = i + 1;
    }
    return RF_OK;
}

RF_API rf_status rf_tokenizer_load(const rf_gguf *g, rf_tokenizer **out) {
    const char *model = NULL, *pre = NULL, *name = "";
    size_t model_len = 0, pre_len = 0, name_len = 0;
    rf_tokenizer *t;
    rf_status st;
    int b;
    if (!g || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_tokenizer_load: NULL argument");
    *out = NULL;
    if ((st = rf_gguf_get_str(g, "tokenizer.ggml.model", &model, &model_len)) != RF_OK) {
        if (st == RF_ERR_NOT_FOUND) return rf__err(st, "tokenizer: no tokenizer.ggml.model");
        return st;
    }
    st = rf_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len);
    if (st == RF_ERR_NOT_FOUND) pre = NULL;
    else if (st) return st;
    if (rf_gguf_get_str(g, "general.name", &name, &name_len) != RF_OK) { name = ""; name_len = 0; }

    t = RF__NEWZ(rf_tokenizer, 1);
    if (!t) return rf__err(RF_ERR_OOM, "tokenizer: out of memory");
    if (model_len == 5 && memcmp(model, "llama", 5) == 0) t->kind = RF__VOCAB_SPM;
    else if (model_len == 4 && memcmp(model, "gpt2", 4) == 0) t->kind = RF__VOCAB_BPE;
    else if (model_len == 4 && memcmp(model, "bert", 4) == 0) t->kind = RF__VOCAB_WPM;
    else {
        RF_FREE(t);
        return rf__err(RF_ERR_UNSUPPORTED, "tokenizer: model '%.*s' is not supported (llama, gpt2, bert are)",
                       (int)RF__MIN(model_len, 100), model);
    }
    st = rf__tok_load_tokens(t, g);
    if (!st && t->kind == RF__VOCAB_BPE) st = rf__tok_load_merges(t, g);
    if (!st && t->kind == RF__VOCAB_BPE) st = rf__tok_load_pre(t, pre, pre_len);
    if (!st) st = rf__tok_load_specials(t, g, name, name_len, pre, pre_len);
    if (st) {
        rf_tokenizer_free(t);
        return st;
    }
    for (b = 0; b < 256; b++) {
        char buf[8];
        size_t n;
        if (t->kind == RF__VOCAB_BPE) {
            n = rf__utf8_encode(rf__byte_to_cp(b), buf);
            t->byte_tok[b] = rf__tok_find(t, buf, n);
        } else {
            /* "<0xNN>", else the byte itself as a one-byte token */
            snprintf(buf, sizeof buf, "<0x%02X>", b);
            t->byte_tok[b] = rf__tok_find(t, buf, 6);
            if (t->byte_tok[b] < 0) {
                buf[0] = (char)b;
                t->byte_tok[b] = rf__tok_find(t, buf, 1);
            }
        }
    }
    *out = t;
    return RF_OK;
}
