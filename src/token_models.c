/* The three tokenizer algorithms, each turning one fragment of raw text (no special tokens in
   it) into ids appended to an rf__ids:
     SPM  sentencepiece's scored merges with byte fallback (llama, mistral, phi-3, ...)
     BPE  byte-level BPE with rank-ordered merges after a regex pre-tokenizer (gpt2, llama3, ...)
     WPM  BERT's WordPiece: normalize, split, greedy longest match
   Merges go through a binary heap, so n symbols cost O(n log n), never O(n^2). */

typedef struct rf__ids { int32_t *v; size_t n, cap; } rf__ids;

static int rf__ids_push(rf__ids *a, int32_t id) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        int32_t *v = (int32_t *)RF_REALLOC(a->v, cap * sizeof *v);
        if (!v) return 0;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 1;
}

/* A candidate merge of two adjacent symbols. The heap's top is the smallest key, which packs
   (priority << 32 | left index): priority is the merge rank for BPE (lowest first) and the
   score, mapped to descending order, for SPM (best first); ties go to the leftmost pair, as in
   both reference implementations. The heap is 4-ary with 16-byte entries and one 64-bit compare
   per step: a 1 MB run of one character puts a million pairs in it, and a shallow heap whose
   children share cache lines halves the time of a binary one. */
typedef struct rf__bigram {
    uint64_t key;
    int32_t right;
    int32_t size;     /* SPM: the pair's byte length, to spot stale entries */
} rf__bigram;

typedef struct rf__heap { rf__bigram *v; size_t n, cap; } rf__heap;

static int32_t rf__bigram_left(const rf__bigram *e) { return (int32_t)(uint32_t)e->key; }

/* float score -> 32 bits that sort best score first (IEEE order made unsigned, then flipped) */
static uint32_t rf__score_key(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  /* ascending float order as unsigned */
    return ~u;
}

static int rf__heap_push(rf__heap *h, const rf__bigram *e) {
    size_t i;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        rf__bigram *v = (rf__bigram *)RF_REALLOC(h->v, cap * sizeof *v);
        if (!v) return 0;
        h->v = v;
        h->cap = cap;
    }
    i = h->n++;
    while (i > 0 && e->key < h->v[(i - 1) / 4].key) {  /* sift up */
        h->v[i] = h->v[(i - 1) / 4];
        i = (i - 1) / 4;
    }
    h->v[i] = *e;
    return 1;
}

static rf__bigram rf__heap_pop(rf__heap *h) {
    rf__bigram top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {  /* sift the last element down from the root */
        size_t c = 4 * i + 1, k, end = RF__MIN(c + 4, h->n);
        if (c >= h->n) break;
        for (k = c + 1; k < end; k++)
            if (h->v[k].key < h->v[c].key) c = k;
        if (h->v[c].key >= last.key) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

/* A symbol: a run of bytes [start, start+n) of the text, in a doubly linked list. n == 0 once
   it has been merged into its left neighbour. */
typedef struct rf__sym {
    size_t start;
    uint32_t n;
    int32_t id;       /* BPE: the token this symbol is (-1: none) */
    int32_t prev, next;
} rf__sym;

/* ---- SPM -------------------------------------------------------------------------------- */

static int rf__spm_try_pair(const rf_tokenizer *t, const char *s, const rf__sym *sym, int32_t l, int32_t r,
                            rf__heap *h) {
    rf__bigram e;
    int32_t id;
    size_t n;
    if (l < 0 || r < 0) return 1;
    n = (size_t)sym[l].n + sym[r].n;
    if (n > t->max_len) return 1;  /* no token is that long */
    if ((id = rf__tok_find(t, s + sym[l].start, n)) < 0) return 1;
    e.key = ((uint64_t)rf__score_key(t->score[id]) << 32) | (uint32_t)l;
    e.right = r;
    e.size = (int32_t)n;
    return rf__heap_push(h, &e);
}

/* Tokenize s[0..n), already with spaces as U+2581 and the space prefix added. */
static rf_status rf__spm_tokenize(const rf_tokenizer *t, const char *s, size_t n, rf__ids *out) {
    /* sentencepiece splits into UTF-8 characters by the lead byte alone; a malformed sequence
       just makes an odd-length symbol, which byte fallback handles */
    static const uint8_t lead_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    rf__sym *sym;
    rf__heap h;
    size_t off = 0, k;
    int32_t ns = 0, i;
    rf_status st = RF_OK;
    if (n == 0) return RF_OK;
    if (n > (size_t)INT32_MAX) return rf__err(RF_ERR_TOO_LARGE, "tokenize: text of %zu bytes", n);
    memset(&h, 0, sizeof h);
    sym = RF__NEW(rf__sym, n);
    if (!sym) return rf__err(RF_ERR_OOM, "tokenize: out of memory");
    while (off < n) {
        size_t len = RF__MIN((size_t)lead_len[(unsigned char)s[off] >> 4], n - off);
        sym[ns].start = off;
        sym[ns].n = (uint32_t)len;
        sym[ns].id = -1;
        sym[ns].prev = ns - 1;
        sym[ns].next = off + len < n ? ns + 1 : -1;
        ns++;
        off += len;
    }
    for (i = 1; i < ns; i++)
        if (!rf__spm_try_pair(t, s, sym, i - 1, i, &h)) goto oom;
    while (h.n) {
        rf__bigram e = rf__heap_pop(&h);
        int32_t left = rf__bigram_left(&e);
        rf__sym *l = &sym[left], *r = &sym[e.right];
        if (l->n == 0 || r->n == 0 || (int32_t)(l->n + r->n) != e.size) continue;  /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = left;
        if (!rf__spm_try_pair(t, s, sym, l->prev, left, &h)) goto oom;
        if (!rf__spm_try_pair(t, s, sym, left, l->next, &h)) goto oom;
    }
    for (i = 0; i >= 0; i = sym[i].next) {
        int32_t id = rf__tok_find(t, s + sym[i].start, sym[i].n);
        if (id >= 0) {
            if (!rf__ids_push(out, id)) goto oom;
            continue;
        }
        /* Not a token: merged symbols always are, so this is one character -> its bytes. */
        for (k = 0; k < sym[i].n; k++) {
            int32_t b = t->byte_tok[(unsigned char)s[sym[i].start + k]];
            if (b < 0) b = t->unk;
            if (b >= 0 && !rf__ids_push(out, b)) goto oom;
        }
    }
    goto done;
oom:
    st = rf__err(RF_ERR_OOM, "tokenize: out of memory");
done:
    RF_FREE(sym);
    RF_FREE(h.v);
    return st;
}

/* ---- BPE -------------------------------------------------------------------------------- */

static int rf__bpe_try_pair(const rf_tokenizer *t, const rf__sym *sym, int32_t l, int32_t r, rf__heap *h) {
    rf__bigram e;
    int32_t rank, res;
    if (l < 0 || r < 0 || !rf__merge_find(t, sym[l].id, sym[r].id, &rank, &res)) return 1;
    e.key = ((uint64_t)(uint32_t)rank << 32) | (uint32_t)l;
    e.right = r;
    e.size = 0;
    return rf__heap_push(h, &e);
}

/* One pre-tokenized word s[0..n) (raw bytes) -> ids. sym and h are scratch of >= n symbols. */
static int rf__bpe_word(const rf_tokenizer *t, const unsigned char *s, size_t n, rf__sym *sym, rf__heap *h,
                        rf__ids *out) {
    int32_t i, ns = (int32_t)n;
    if (t->ignore_merges && n <= t->max_len) {
        /* Llama 3: a word that is a whole token is taken as is, without merging. Its
           byte-level spelling is at most 2 bytes per input byte. */
        char buf[1024];
        size_t k, m = 0;
        if (2 * n <= sizeof buf) {
            int32_t id;
            for (k = 0; k < n; k++) m += rf__utf8_encode(rf__byte_to_cp(s[k]), buf + m);
            if ((id = rf__tok_find(t, buf, m)) >= 0) return rf__ids_push(out, id);
        }
    }
    /* byte-level BPE starts from one symbol per byte */
    for (i = 0; i < ns; i++) {
        sym[i].start = (size_t)i;
        sym[i].n = 1;
        sym[i].id = t->byte_tok[s[i]];
        sym[i].prev = i - 1;
        sym[i].next = i + 1 < ns ? i + 1 : -1;
    }
    h->n = 0;
    for (i = 1; i < ns; i++)
        if (!rf__bpe_try_pair(t, sym, i - 1, i, h)) return 0;
    while (h->n) {
        rf__bigram e = rf__heap_pop(h);
        int32_t left = rf__bigram_left(&e), rank, res;
        rf__sym *l = &sym[left], *r = &sym[e.right];
        /* Stale when a side was merged since the pair was queued. A live adjacent pair whose
           merge has the queued rank is the queued pair: a rank names one (left, right). */
        if (l->n == 0 || r->n == 0 || l->next != e.right) continue;
        if (!rf__merge_find(t, l->id, r->id, &rank, &res) || (uint32_t)rank != (uint32_t)(e.key >> 32)) continue;
        l->id = res;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = left;
        if (!rf__bpe_try_pair(t, sym, l->prev, left, h)) return 0;
        if (!rf__bpe_try_pair(t, sym, left, l->next, h)) return 0;
    }
    for (i = 0; i >= 0; i = sym[i].next)
        if (sym[i].id >= 0 && !rf__ids_push(out, sym[i].id)) return 0;  /* a byte not in the vocab is dropped */
    return 1;
}

/* Decode s[0..n) into code points with their byte offsets (offs has n+1 entries). */
static size_t rf__decode_all(const char *s, size_t n, uint32_t *cps, size_t *offs) {
    size_t off = 0, k = 0, len;
    while (off < n) {
        cps[k] = rf__utf8_decode((const unsigned char *)s + off, n - off, &len);
        offs[k++] = off;
        off += len;
    }
    offs[k] = n;
    return k;
}

static rf_status rf__bpe_tokenize(const rf_tokenizer *t, const char *s, size_t n, rf__ids *out) {
    uint32_t *cps = NULL;
    size_t *offs = NULL, ncp, i, maxw = 0;
    rf__spans a, b;
    rf__sym *sym = NULL;
    rf__heap h;
    rf_status st = RF_OK;
    int k;
    if (n == 0) return RF_OK;
    if (n > (size_t)INT32_MAX) return rf__err(RF_ERR_TOO_LARGE, "tokenize: text of %zu bytes", n);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&h, 0, sizeof h);
    cps = RF__NEW(uint32_t, n);
    offs = RF__NEW(size_t, n + 1);
    if (!cps || !offs) goto oom;
    ncp = rf__decode_all(s, n, cps, offs);
    /* Each regex splits every piece of the previous one into matches and the gaps between them. */
    if (!rf__spans_push(&a, 0, ncp)) goto oom;
    for (k = 0; k < t->n_pre; k++) {
        rf__spans tmp;
        if (!rf__rx_split(t->pre[k], cps, &a, &b)) goto oom;
        tmp = a; a = b; b = tmp;
    }
    for (i = 0; i < a.n; i++) {
        size_t w = offs[a.v[i].b] - offs[a.v[i].a];
        if (w > maxw) maxw = w;
    }
    sym = RF__NEW(rf__sym, maxw ? maxw : 1);
    if (!sym) goto oom;
    for (i = 0; i < a.n; i++) {
        size_t from = offs[a.v[i].a], to = offs[a.v[i].b];
        if (!rf__bpe_word(t, (const unsigned char *)s + from, to - from, sym, &h, out)) goto oom;
    }
    goto done;
oom:
    st = rf__err(RF_ERR_OOM, "tokenize: out of memory");
done:
    RF_FREE(cps); RF_FREE(offs); RF_FREE(a.v); RF_FREE(b.v); RF_FREE(sym); RF_FREE(h.v);
    return st;
}

/* ---- WPM -------------------------------------------------------------------------------- */

/* BERT's "Chinese character" blocks: each such character is a word of its own. */
static int rf__is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* Greedy longest-match-first over one word, spelled with its leading U+2581 (the GGUF form of
   BERT's word-initial pieces; continuation pieces have no "##"). A word that cannot be covered
   becomes one unknown token. */
static int rf__wpm_word(const rf_tokenizer *t, const char *w, size_t n, rf__ids *out) {
    size_t i = 0, start = out->n;
    while (i < n) {
        size_t j = RF__MIN(n, i + t->max_len);
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = rf__tok_find(t, w + i, j - i)) >= 0) break;
        if (id < 0) {
            out->n = start;
            break;
        }
        if (!rf__ids_push(out, id)) return 0;
        i = j;
    }
    if (out->n == start && t->unk >= 0 && !rf__ids_push(out, t->unk)) return 0;
    return 1;
}

/* Normalize as BERT uncased does in llama.cpp: each code point becomes the base of its NFD
   decomposition (accents dropped), lowercased; controls, NUL and U+FFFD are removed; white space
   separates words; punctuation, ASCII symbols and CJK characters are words of their own. */
static rf_status rf__wpm_tokenize(const rf_tokenizer *t, const char *s, size_t n, rf__ids *out) {
    char *w;
    size_t off = 0, wn = 3, len;
    rf_status st = RF_OK;
    /* each input code point (>= 1 byte) gives at most one code point (<= 4 bytes), so a word
       is at most 4*n bytes after its 3-byte U+2581 */
    if (n > SIZE_MAX / 4 - 8) return rf__err(RF_ERR_TOO_LARGE, "tokenize: text of %zu bytes", n);
    w = RF__NEW(char, 4 * n + 8);
    if (!w) return rf__err(RF_ERR_OOM, "tokenize: out of memory");
    memcpy(w, "\xE2\x96\x81", 3);
    while (off <= n) {
        uint32_t cp = 0;
        int cat = 0, split = 0, alone = 0;
        if (off < n) {
            cp = rf__unfd_first(rf__utf8_decode((const unsigned char *)s + off, n - off, &len));
            cat = rf__ucat(cp);
            off += len;
            if (rf__uspace(cp)) split = 1;
            else if (cp == 0 || cp == 0xFFFD || cat == RF__UCAT_C) continue;
            else if (cat == RF__UCAT_P || (cp < 0x7F && cat == RF__UCAT_S) || rf__is_cjk(cp)) alone = 1;
        } else {
            split = 1;
            off++;
        }
        if ((split || alone) && wn > 3) {
            if (!rf__wpm_word(t, w, wn, out)) goto oom;
            wn = 3;
        }
        if (split) continue;
        wn += rf__utf8_encode(rf__ulower(cp), w + wn);
        if (alone) {
            if (!rf__wpm_word(t, w, wn, out)) goto oom;
            wn = 3;
        }
    }
    goto done;
oom:
    st = rf__err(RF_ERR_OOM, "tokenize: out of memory");
done:
    RF_FREE(w);
    return st;
}
