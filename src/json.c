/* JSON (RFC 8259) reader and writer for the server, bounded and non-throwing.

   Reader: one pass over the text builds a flat array of nodes in document order. A container's
   children follow it; `end` is the index just past its subtree, so siblings are found by
   jumping from one `end` to the next. An object's children alternate key (a string node) and
   value. Strings are decoded (escapes, surrogate pairs) into one buffer owned by the document;
   decoding never grows a string (the longest output, 4 bytes for a surrogate pair, comes from
   12 input bytes), so a buffer of len + nodes bytes always suffices. Input must be valid UTF-8
   (overlongs, surrogates and code points past U+10FFFF are rejected, as RFC 3629 says), and a
   lone surrogate escape is rejected, so every decoded string is valid UTF-8.

   Limits (rf_json_limits) bound the depth (recursion is replaced by an explicit stack, but a
   deep document still costs memory), the node count and the length of one string. Errors name
   the byte offset. */

typedef struct rf__jnode {
    rf_json_type type;
    int32_t end;     /* index after this node's subtree */
    int32_t n;       /* array: elements; object: members; string: bytes */
    int32_t kids;    /* array, object: where its element / member value indices start in kids */
    double num;
    size_t str;      /* string: offset of its bytes (NUL-terminated) in the document's buffer */
} rf__jnode;

struct rf_json {
    rf__jnode *nodes;
    int32_t n_nodes, cap_nodes;
    int32_t *kids;   /* every container's element (or member value) indices, for O(1) rf_json_at */
    char *strs;
    size_t n_strs;
};

typedef struct rf__jparse {
    const unsigned char *s;
    size_t len, i;
    rf_json *doc;
    rf_json_limits lim;
} rf__jparse;

RF_API rf_json_limits rf_json_default_limits(void) {
    rf_json_limits l;
    memset(&l, 0, sizeof l);
    l.max_depth = 64;
    l.max_nodes = 1 << 20;
    l.max_string = 1 << 24;
    return l;
}

static rf_status rf__jerr(rf__jparse *p, const char *what) {
    return rf__err(RF_ERR_BAD_STRING, "json: %s at byte %zu", what, p->i);
}

static void rf__jws(rf__jparse *p) {
    while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static rf_status rf__jnew(rf__jparse *p, rf_json_type t, int32_t *out) {
    rf_json *d = p->doc;
    if (d->n_nodes >= d->cap_nodes) {
        int32_t cap = d->cap_nodes ? 2 * d->cap_nodes : 64;
        rf__jnode *nn;
        if ((size_t)d->n_nodes >= p->lim.max_nodes) return rf__err(RF_ERR_TOO_LARGE, "json: more than %zu values", p->lim.max_nodes);
        if ((size_t)cap > p->lim.max_nodes) cap = (int32_t)p->lim.max_nodes;
        if (!(nn = (rf__jnode *)RF_REALLOC(d->nodes, sizeof(rf__jnode) * (size_t)cap))) return rf__err(RF_ERR_OOM, "json: out of memory");
        d->nodes = nn;
        d->cap_nodes = cap;
    }
    memset(&d->nodes[d->n_nodes], 0, sizeof(rf__jnode));
    d->nodes[d->n_nodes].type = t;
    d->nodes[d->n_nodes].end = d->n_nodes + 1;
    *out = d->n_nodes++;
    return RF_OK;
}

static int rf__jhex4(const unsigned char *s, uint32_t *out) {
    uint32_t v = 0;
    int k;
    for (k = 0; k < 4; k++) {
        unsigned c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return 0;
    }
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 (RFC 3629's table of well-formed bytes). */
static size_t rf__utf8_valid_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF; /* no overlongs, no surrogates */
        return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF; /* U+10000..U+10FFFF */
        return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

static size_t rf__utf8_put(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static rf_status rf__jstring(rf__jparse *p, int32_t *out) {
    rf_json *d = p->doc;
    size_t start = d->n_strs;
    rf_status s;
    p->i++; /* the opening quote */
    if ((s = rf__jnew(p, RF_JSON_STRING, out)) != RF_OK) return s;
    for (;;) {
        unsigned c;
        if (p->i >= p->len) return rf__jerr(p, "unterminated string");
        c = p->s[p->i];
        if (d->n_strs - start > p->lim.max_string) return rf__err(RF_ERR_TOO_LARGE, "json: a string longer than %zu bytes", p->lim.max_string);
        if (c == '"') { p->i++; break; }
        if (c < 0x20) return rf__jerr(p, "control character in a string");
        if (c == '\\') {
            uint32_t cp;
            if (p->i + 1 >= p->len) return rf__jerr(p, "unterminated escape");
            c = p->s[p->i + 1];
            p->i += 2;
            switch (c) {
            case '"': case '\\': case '/': d->strs[d->n_strs++] = (char)c; continue;
            case 'b': d->strs[d->n_strs++] = '\b'; continue;
            case 'f': d->strs[d->n_strs++] = '\f'; continue;
            case 'n': d->strs[d->n_strs++] = '\n'; continue;
            case 'r': d->strs[d->n_strs++] = '\r'; continue;
            case 't': d->strs[d->n_strs++] = '\t'; continue;
            case 'u': break;
            default: p->i -= 2; return rf__jerr(p, "bad escape");
            }
            if (p->i + 4 > p->len || !rf__jhex4(p->s + p->i, &cp)) return rf__jerr(p, "bad \\u escape");
            p->i += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return rf__jerr(p, "lone low surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate must be followed by \uDC00..\uDFFF */
                uint32_t lo;
                if (p->i + 6 > p->len || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' || !rf__jhex4(p->s + p->i + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return rf__jerr(p, "lone high surrogate");
                p->i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) return rf__jerr(p, "\\u0000 in a string"); /* strings are C strings to their users */
            d->n_strs += rf__utf8_put(d->strs + d->n_strs, cp);
        } else {
            size_t k = rf__utf8_valid_len(p->s + p->i, p->len - p->i);
            if (!k) return rf__jerr(p, "invalid UTF-8");
            memcpy(d->strs + d->n_strs, p->s + p->i, k);
            d->n_strs += k;
            p->i += k;
        }
    }
    d->strs[d->n_strs++] = 0;
    d->nodes[*out].str = start;
    d->nodes[*out].n = (int32_t)RF__MIN(d->n_strs - 1 - start, (size_t)INT32_MAX);
    return RF_OK;
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, then strtod on a copy
   (the text is not NUL-terminated, and strtod alone accepts more than JSON does). */
static rf_status rf__jnumber(rf__jparse *p, int32_t *out) {
    size_t st = p->i, n;
    char buf[64];
    rf_status s;
    if (p->i < p->len && p->s[p->i] == '-') p->i++;
    if (p->i < p->len && p->s[p->i] == '0') p->i++;
    else if (p->i < p->len && p->s[p->i] >= '1' && p->s[p->i] <= '9') while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    else return rf__jerr(p, "bad number");
    if (p->i < p->len && p->s[p->i] == '.') {
        p->i++;
        if (p->i >= p->len || p->s[p->i] < '0' || p->s[p->i] > '9') return rf__jerr(p, "bad number");
        while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (p->i >= p->len || p->s[p->i] < '0' || p->s[p->i] > '9') return rf__jerr(p, "bad number");
        while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
    }
    n = p->i - st;
    if (n >= sizeof buf) return rf__jerr(p, "number longer than 63 characters");
    memcpy(buf, p->s + st, n);
    buf[n] = 0;
    if ((s = rf__jnew(p, RF_JSON_NUMBER, out)) != RF_OK) return s;
    p->doc->nodes[*out].num = strtod(buf, NULL); /* overflow gives +-HUGE_VAL: callers range-check */
    return RF_OK;
}

static rf_status rf__jliteral(rf__jparse *p, const char *word, rf_json_type t, int32_t *out) {
    size_t n = strlen(word);
    if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0) return rf__jerr(p, "unexpected character");
    p->i += n;
    return rf__jnew(p, t, out);
}

/* The parser proper: an explicit stack of open containers instead of recursion. */
static rf_status rf__jparse_doc(rf__jparse *p) {
    int32_t stack[256], depth = 0, node;
    rf__jnode *nodes;
    rf_status s;
    int32_t max_depth = RF__MIN(p->lim.max_depth, (int32_t)(sizeof stack / sizeof stack[0]));
    for (;;) {
        /* a value */
        rf__jws(p);
        if (p->i >= p->len) return rf__jerr(p, "unexpected end");
        switch (p->s[p->i]) {
        case '{': case '[':
            if (depth >= max_depth) return rf__err(RF_ERR_TOO_LARGE, "json: nested deeper than %d at byte %zu", max_depth, p->i);
            if ((s = rf__jnew(p, p->s[p->i] == '{' ? RF_JSON_OBJECT : RF_JSON_ARRAY, &node)) != RF_OK) return s;
            stack[depth++] = node;
            p->i++;
            rf__jws(p);
            if (p->i < p->len && p->s[p->i] == (p->doc->nodes[node].type == RF_JSON_OBJECT ? '}' : ']')) {
                p->i++;
                depth--;
                break; /* an empty container is a complete value */
            }
            if (p->doc->nodes[node].type == RF_JSON_OBJECT) {
                if (p->i >= p->len || p->s[p->i] != '"') return rf__jerr(p, "expected a key");
                if ((s = rf__jstring(p, &node)) != RF_OK) return s;
                rf__jws(p);
                if (p->i >= p->len || p->s[p->i] != ':') return rf__jerr(p, "expected ':'");
                p->i++;
            }
            continue; /* parse the first element */
        case '"': if ((s = rf__jstring(p, &node)) != RF_OK) return s; break;
        case 't': if ((s = rf__jliteral(p, "true", RF_JSON_TRUE, &node)) != RF_OK) return s; break;
        case 'f': if ((s = rf__jliteral(p, "false", RF_JSON_FALSE, &node)) != RF_OK) return s; break;
        case 'n': if ((s = rf__jliteral(p, "null", RF_JSON_NULL, &node)) != RF_OK) return s; break;
        default: if ((s = rf__jnumber(p, &node)) != RF_OK) return s; break;
        }
        /* after a complete value: close containers or move to the next element */
        for (;;) {
            rf__jnode *top;
            if (depth == 0) {
                rf__jws(p);
                if (p->i != p->len) return rf__jerr(p, "trailing characters after the document");
                return RF_OK;
            }
            nodes = p->doc->nodes;
            top = &nodes[stack[depth - 1]];
            top->n++;
            rf__jws(p);
            if (p->i >= p->len) return rf__jerr(p, "unexpected end");
            if (p->s[p->i] == ',') {
                p->i++;
                if (top->type == RF_JSON_OBJECT) {
                    rf__jws(p);
                    if (p->i >= p->len || p->s[p->i] != '"') return rf__jerr(p, "expected a key");
                    if ((s = rf__jstring(p, &node)) != RF_OK) return s;
                    rf__jws(p);
                    if (p->i >= p->len || p->s[p->i] != ':') return rf__jerr(p, "expected ':'");
                    p->i++;
                }
                break; /* next value */
            }
            if (p->s[p->i] != (top->type == RF_JSON_OBJECT ? '}' : ']')) return rf__jerr(p, "expected ',' or a closing bracket");
            p->i++;
            top->end = p->doc->n_nodes;
            depth--;
        }
    }
}

/* The child index. Without it rf_json_at(i) walked i siblings, so a loop over an n-element array
   cost n^2/2 jumps: a 1 MiB body of [0,0,0,...] to /detokenize held the single-threaded server
   for minutes. Building it is one pass; it holds at most one int32 per value. */
static rf_status rf__jindex(rf_json *d) {
    int32_t i, k, c, total = 0;
    for (i = 0; i < d->n_nodes; i++)
        if (d->nodes[i].type == RF_JSON_ARRAY || d->nodes[i].type == RF_JSON_OBJECT) total += d->nodes[i].n;
    if (!(d->kids = RF__NEW(int32_t, total ? total : 1))) return rf__err(RF_ERR_OOM, "json: out of memory");
    total = 0;
    for (i = 0; i < d->n_nodes; i++) {
        rf__jnode *n = &d->nodes[i];
        if (n->type != RF_JSON_ARRAY && n->type != RF_JSON_OBJECT) continue;
        n->kids = total;
        for (k = 0, c = i + 1; k < n->n; k++) {
            if (n->type == RF_JSON_OBJECT) c = d->nodes[c].end; /* skip the key */
            d->kids[total++] = c;
            c = d->nodes[c].end;
        }
    }
    return RF_OK;
}

RF_API rf_status rf_json_parse(const char *text, size_t len, const rf_json_limits *lim, rf_json **out) {
    rf__jparse p;
    rf_status s;
    if (!out || (!text && len)) return rf__err(RF_ERR_INVALID_ARG, "rf_json_parse: NULL argument");
    *out = NULL;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)text;
    p.len = len;
    p.lim = lim ? *lim : rf_json_default_limits();
    if (p.lim.max_depth <= 0 || p.lim.max_nodes == 0 || p.lim.max_nodes > INT32_MAX - 1)
        return rf__err(RF_ERR_INVALID_ARG, "rf_json_parse: bad limits");
    if (len > SIZE_MAX / 2 - 16) return rf__err(RF_ERR_TOO_LARGE, "json: text too large");
    if (!(p.doc = RF__NEWZ(rf_json, 1))) return rf__err(RF_ERR_OOM, "json: out of memory");
    /* decoded strings never outgrow their source; +1 NUL per string, and strings < len */
    if (!(p.doc->strs = RF__NEW(char, 2 * len + 16))) {
        rf_json_free(p.doc);
        return rf__err(RF_ERR_OOM, "json: out of memory");
    }
    if ((s = rf__jparse_doc(&p)) != RF_OK || (s = rf__jindex(p.doc)) != RF_OK) {
        rf_json_free(p.doc);
        return s;
    }
    *out = p.doc;
    return RF_OK;
}

RF_API void rf_json_free(rf_json *j) {
    if (!j) return;
    RF_FREE(j->nodes);
    RF_FREE(j->kids);
    RF_FREE(j->strs);
    RF_FREE(j);
}

static const rf__jnode *rf__jat(const rf_json *j, int32_t node) {
    return j && node >= 0 && node < j->n_nodes ? &j->nodes[node] : NULL;
}

RF_API rf_json_type rf_json_type_of(const rf_json *j, int32_t node) {
    const rf__jnode *n = rf__jat(j, node);
    return n ? n->type : RF_JSON_NONE;
}

RF_API int32_t rf_json_len(const rf_json *j, int32_t node) {
    const rf__jnode *n = rf__jat(j, node);
    return n && (n->type == RF_JSON_ARRAY || n->type == RF_JSON_OBJECT || n->type == RF_JSON_STRING) ? n->n : 0;
}

RF_API int32_t rf_json_at(const rf_json *j, int32_t node, int32_t i) {
    const rf__jnode *n = rf__jat(j, node);
    if (!n || (n->type != RF_JSON_ARRAY && n->type != RF_JSON_OBJECT) || i < 0 || i >= n->n) return -1;
    return j->kids[n->kids + i];
}

RF_API const char *rf_json_key(const rf_json *j, int32_t node, int32_t i) {
    const rf__jnode *n = rf__jat(j, node);
    if (!n || n->type != RF_JSON_OBJECT || i < 0 || i >= n->n) return NULL;
    return rf_json_str(j, rf_json_at(j, node, i) - 1, NULL); /* a value's key is the node before it */
}

RF_API int32_t rf_json_get(const rf_json *j, int32_t obj, const char *key) {
    const rf__jnode *n = rf__jat(j, obj);
    int32_t k, c, found = -1;
    if (!n || n->type != RF_JSON_OBJECT || !key) return -1;
    /* the last duplicate wins, as in JavaScript's JSON.parse and Python's json */
    for (k = 0, c = obj + 1; k < n->n; k++) {
        if (!strcmp(j->strs + j->nodes[c].str, key)) found = j->nodes[c].end;
        c = j->nodes[j->nodes[c].end].end;
    }
    return found;
}

RF_API const char *rf_json_str(const rf_json *j, int32_t node, size_t *len) {
    const rf__jnode *n = rf__jat(j, node);
    int is_str = n && n->type == RF_JSON_STRING;
    if (len) *len = is_str ? (size_t)n->n : 0; /* always written: NULL comes with length 0 */
    return is_str ? j->strs + n->str : NULL;
}

RF_API double rf_json_num(const rf_json *j, int32_t node) {
    const rf__jnode *n = rf__jat(j, node);
    return n && n->type == RF_JSON_NUMBER ? n->num : 0.0;
}

/* ---------------------------------------------------------------------------------------------
   Writer: a string as a JSON string literal. Control characters, quote and backslash are
   escaped; invalid UTF-8 bytes become U+FFFD, so the output is always valid JSON in UTF-8. */

/* Copy k bytes at offset o when they fit; the offset advances either way (to count the need). */
static size_t rf__jput(char *buf, size_t cap, size_t o, const char *p, size_t k) {
    if (o + k <= cap) memcpy(buf + o, p, k);
    return o + k;
}

RF_API rf_status rf_json_escape(const char *s, size_t n, char *buf, size_t cap, size_t *n_out) {
    size_t i = 0, o = 0;
    const unsigned char *u = (const unsigned char *)s;
    char tmp[8];
    if ((!s && n) || (!buf && cap) || !n_out) return rf__err(RF_ERR_INVALID_ARG, "rf_json_escape: NULL argument");
#define RF__JPUT(p, k) (o = rf__jput(buf, cap, o, p, k))
    RF__JPUT("\"", 1);
    while (i < n) {
        unsigned c = u[i];
        size_t k;
        if (c == '"') RF__JPUT("\\\"", 2), i++;
        else if (c == '\\') RF__JPUT("\\\\", 2), i++;
        else if (c == '\n') RF__JPUT("\\n", 2), i++;
        else if (c == '\r') RF__JPUT("\\r", 2), i++;
        else if (c == '\t') RF__JPUT("\\t", 2), i++;
        else if (c < 0x20 || c == 0x7F) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            RF__JPUT(tmp, 6);
            i++;
        } else if ((k = rf__utf8_valid_len(u + i, n - i)) != 0) {
            RF__JPUT(s + i, k);
            i += k;
        } else {
            RF__JPUT("\xEF\xBF\xBD", 3); /* U+FFFD REPLACEMENT CHARACTER for one bad byte */
            i++;
        }
    }
    RF__JPUT("\"", 1);
#undef RF__JPUT
    *n_out = o;
    if (o > cap) return rf__err(RF_ERR_TOO_LARGE, "json: escaped string needs %zu bytes", o);
    return RF_OK;
}
