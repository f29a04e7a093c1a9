/* A small backtracking regex engine for BPE pre-tokenizer patterns, and the pattern lists of
   the pre-tokenizers we know.

   The patterns are facts of each tokenizer (its tokenizer.json "pre_tokenizer"); llama.cpp
   applies a list of them in turn, each splitting the pieces the previous one produced into
   matches and the unmatched gaps between them. This engine supports exactly the subset those
   patterns use:
       literals (UTF-8, or \x{HHHH}), \r \n \t, escaped punctuation, $ (end of the piece),
       classes [...] / [^...] with ranges, \p{L} \p{N} \p{P} \p{M} \p{S}, \s \S,
       groups (...) and (?:...), alternation |, negative lookahead (?!...),
       quantifiers ? * + {m} {m,n} on single-character atoms, and ? on groups.
   Case-insensitive groups are written out ('[sS] for (?i:'s)).

   Matching is leftmost, first alternative wins, quantifiers are greedy with backtracking --
   the semantics of PCRE, Python's regex and ECMAScript alike for these patterns. A repeated
   single-character atom is matched by a loop, not by recursion, so the recursion depth is
   bounded by the pattern's size, never by the input's length. */

enum { RF__RX_MAX_RANGES = 256, RF__RX_MAX_NODES = 256, RF__RX_MAX_ALTS = 512 };

enum {
    RF__RX_SET,      /* one code point in a class */
    RF__RX_REPEAT,   /* a class repeated min..max times (greedy) */
    RF__RX_ALT,      /* try alternatives alt[a0 .. a0+na) in order */
    RF__RX_NOTAHEAD, /* continue only if `sub` does not match here */
    RF__RX_EOL,      /* end of the piece */
    RF__RX_ACCEPT    /* match complete */
};

/* \p{X} and \s bits of a class */
enum { RF__RXC_L = 1, RF__RXC_N = 2, RF__RXC_P = 4, RF__RXC_M = 8, RF__RXC_S = 16,
       RF__RXC_SPACE = 32, RF__RXC_NOTSPACE = 64 };

typedef struct rf__rx_class {
    int negate;
    unsigned bits;      /* RF__RXC_* */
    int r0, nr;         /* ranges[r0 .. r0+nr), sorted by lo */
} rf__rx_class;

typedef struct rf__rx_node {
    int op;
    int next;           /* node to continue with */
    int cls;            /* SET, REPEAT: class index */
    int min, max;       /* REPEAT; max < 0: unbounded */
    int a0, na;         /* ALT: alternatives in alts[] */
    int sub;            /* NOTAHEAD: start of the sub-pattern (ends in ACCEPT) */
} rf__rx_node;

typedef struct rf__rx {
    rf__rx_node nodes[RF__RX_MAX_NODES];
    int n_nodes;
    rf__rx_class classes[RF__RX_MAX_NODES];
    int n_classes;
    uint32_t ranges[RF__RX_MAX_RANGES][2];
    int n_ranges;
    int alts[RF__RX_MAX_ALTS];
    int n_alts;
    int start;
} rf__rx;

/* ---- compiling -------------------------------------------------------------------------- */

/* The parser builds the node graph back to front: each parse function gets the node that
   follows what it parses (`next`) and returns the node where its match starts. Patterns are
   our own constants, so an unsupported construct is a bug here; it still fails cleanly. */
typedef struct rf__rx_parser {
    rf__rx *rx;
    const char *p;   /* pattern, NUL-terminated */
    size_t pos;
    int bad;
} rf__rx_parser;

static int rf__rx_new_node(rf__rx_parser *ps, int op, int next) {
    rf__rx_node *n;
    if (ps->rx->n_nodes >= RF__RX_MAX_NODES) { ps->bad = 1; return 0; }
    n = &ps->rx->nodes[ps->rx->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->next = next;
    n->max = -1;
    return ps->rx->n_nodes++;
}

static uint32_t rf__rx_hex(rf__rx_parser *ps) {  /* after "\x{" up to "}" */
    uint32_t v = 0;
    char c;
    while ((c = ps->p[ps->pos]) != '}') {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0 || v > 0x10FFFF) { ps->bad = 1; return 0; }
        v = v * 16 + (uint32_t)d;
        ps->pos++;
    }
    ps->pos++;
    return v;
}

/* One literal code point (not a class escape). Outside a class, an unescaped operator here
   means a construct this engine lacks (a lazy quantifier, a stray parenthesis): refuse it
   rather than read it as a literal. */
static uint32_t rf__rx_literal(rf__rx_parser *ps, int in_class) {
    const unsigned char *s = (const unsigned char *)ps->p + ps->pos;
    size_t len;
    uint32_t cp;
    if (!in_class && s[0] && strchr("?*+{}()|[].^", s[0])) { ps->bad = 1; return 0; }
    if (s[0] == '\\') {
        ps->pos += 2;
        switch (s[1]) {
        case 'r': return '\r';
        case 'n': return '\n';
        case 't': return '\t';
        case 'x':
            if (s[2] != '{') { ps->bad = 1; return 0; }
            ps->pos++;
            return rf__rx_hex(ps);
        default:
            if (s[1] == 0 || (s[1] < 0x80 && ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z')))) {
                ps->bad = 1;  /* an escape we do not know */
                return 0;
            }
            return s[1];
        }
    }
    cp = rf__utf8_decode(s, strlen((const char *)s), &len);
    ps->pos += len;
    return cp;
}

static void rf__rx_add_range(rf__rx_parser *ps, rf__rx_class *c, uint32_t lo, uint32_t hi) {
    rf__rx *rx = ps->rx;
    if (lo > hi) return;  /* an empty range matches nothing */
    if (rx->n_ranges >= RF__RX_MAX_RANGES) { ps->bad = 1; return; }
    rx->ranges[rx->n_ranges][0] = lo;
    rx->ranges[rx->n_ranges][1] = hi;
    rx->n_ranges++;
    c->nr++;
}

/* A class escape (\p{X}, \s, \S) at the current position: its bits, or 0 if it is not one. */
static unsigned rf__rx_class_escape(rf__rx_parser *ps) {
    const char *s = ps->p + ps->pos;
    if (s[0] != '\\') return 0;
    if (s[1] == 's') { ps->pos += 2; return RF__RXC_SPACE; }
    if (s[1] == 'S') { ps->pos += 2; return RF__RXC_NOTSPACE; }
    if (s[1] == 'p' && s[2] == '{' && s[3] && s[4] == '}') {
        ps->pos += 5;
        switch (s[3]) {
        case 'L': return RF__RXC_L;
        case 'N': return RF__RXC_N;
        case 'P': return RF__RXC_P;
        case 'M': return RF__RXC_M;
        case 'S': return RF__RXC_S;
        default: ps->bad = 1; return 0;
        }
    }
    return 0;
}

static int rf__rx_new_class(rf__rx_parser *ps) {
    rf__rx_class *c;
    if (ps->rx->n_classes >= RF__RX_MAX_NODES) { ps->bad = 1; return 0; }
    c = &ps->rx->classes[ps->rx->n_classes];
    memset(c, 0, sizeof *c);
    c->r0 = ps->rx->n_ranges;
    return ps->rx->n_classes++;
}

static int rf__rx_range_cmp(const void *a, const void *b) {
    uint32_t x = ((const uint32_t *)a)[0], y = ((const uint32_t *)b)[0];
    return x < y ? -1 : x > y;
}

/* Sort a class's ranges and merge overlaps, so membership is one binary search. */
static void rf__rx_finish_class(rf__rx *rx, rf__rx_class *c) {
    int i, w = 0;
    uint32_t (*r)[2] = rx->ranges + c->r0;
    qsort(r, (size_t)c->nr, sizeof r[0], rf__rx_range_cmp);
    for (i = 0; i < c->nr; i++) {
        if (w > 0 && r[i][0] <= r[w - 1][1] + 1) {
            if (r[i][1] > r[w - 1][1]) r[w - 1][1] = r[i][1];
        } else {
            r[w][0] = r[i][0];
            r[w][1] = r[i][1];
            w++;
        }
    }
    rx->n_ranges = c->r0 + w;  /* classes are finished in creation order: the tail is free */
    c->nr = w;
}

/* Parse one single-character atom -- a class [...], a class escape, or a literal -- into a new
   class; returns its index. Groups are handled by the caller. */
static int rf__rx_parse_class_atom(rf__rx_parser *ps) {
    int ci = rf__rx_new_class(ps);
    rf__rx_class *c = &ps->rx->classes[ci];
    unsigned bits;
    if (ps->bad) return 0;
    if (ps->p[ps->pos] == '[') {
        ps->pos++;
        if (ps->p[ps->pos] == '^') { c->negate = 1; ps->pos++; }
        while (!ps->bad && ps->p[ps->pos] && ps->p[ps->pos] != ']') {
            uint32_t lo, hi;
            if ((bits = rf__rx_class_escape(ps)) != 0) { c->bits |= bits; continue; }
            lo = hi = rf__rx_literal(ps, 1);
            if (ps->p[ps->pos] == '-' && ps->p[ps->pos + 1] && ps->p[ps->pos + 1] != ']') {
                ps->pos++;
                hi = rf__rx_literal(ps, 1);
            }
            rf__rx_add_range(ps, c, lo, hi);
        }
        if (ps->p[ps->pos] != ']') ps->bad = 1; else ps->pos++;
    } else if ((bits = rf__rx_class_escape(ps)) != 0) {
        c->bits = bits;
    } else {
        uint32_t cp = rf__rx_literal(ps, 0);
        rf__rx_add_range(ps, c, cp, cp);
    }
    rf__rx_finish_class(ps->rx, c);
    return ci;
}

static int rf__rx_parse_alt(rf__rx_parser *ps, int next);

/* Parse a sequence of atoms up to '|' or ')' or the end; returns its start node.
   A node needs its successor when it is made, so the sequence is built back to front in two
   passes: the first only finds where each atom (with its quantifier) starts and ends, the second
   builds the atoms from the last to the first, each pointing at the one built before it.
   Patterns are short constants, so reading them twice costs nothing. */
static int rf__rx_parse_seq(rf__rx_parser *ps, int next) {
    size_t starts[64], ends[64];
    int n = 0, i, cur = next;
    while (!ps->bad && ps->p[ps->pos] && ps->p[ps->pos] != '|' && ps->p[ps->pos] != ')') {
        size_t s = ps->pos;
        if (n >= 64) { ps->bad = 1; break; }
        if (ps->p[s] == '(') {  /* skip over a balanced group */
            int depth = 0;
            do {
                char ch = ps->p[ps->pos];
                if (ch == '\\' && ps->p[ps->pos + 1]) ps->pos++;
                else if (ch == '[') { while (ps->p[ps->pos] && ps->p[ps->pos] != ']') ps->pos += (ps->p[ps->pos] == '\\' && ps->p[ps->pos + 1]) ? 2 : 1; }
                else if (ch == '(') depth++;
                else if (ch == ')') depth--;
                if (!ps->p[ps->pos]) { ps->bad = 1; break; }
                ps->pos++;
            } while (depth > 0);
        } else if (ps->p[s] == '$') {
            ps->pos++;
        } else {
            rf__rx_parser probe = *ps;  /* parse to find the atom's end; the class is discarded */
            int n_classes = ps->rx->n_classes, n_ranges = ps->rx->n_ranges;
            rf__rx_parse_class_atom(&probe);
            ps->rx->n_classes = n_classes;
            ps->rx->n_ranges = n_ranges;
            if (probe.bad) { ps->bad = 1; break; }
            ps->pos = probe.pos;
        }
        /* the quantifier belongs to the atom */
        if (ps->p[ps->pos] == '?' || ps->p[ps->pos] == '*' || ps->p[ps->pos] == '+') ps->pos++;
        else if (ps->p[ps->pos] == '{') { while (ps->p[ps->pos] && ps->p[ps->pos] != '}') ps->pos++; if (ps->p[ps->pos]) ps->pos++; }
        starts[n] = s;
        ends[n] = ps->pos;
        n++;
    }
    for (i = n - 1; i >= 0 && !ps->bad; i--) {
        rf__rx_parser sub = *ps;
        const char *q;
        sub.pos = starts[i];
        q = ps->p + ends[i] - 1;  /* last char of the atom: maybe a quantifier */
        if (ps->p[starts[i]] == '(') {
            int opt = (*q == '?' && ends[i] - starts[i] >= 2 && q[-1] == ')');
            int lookahead = ps->p[starts[i] + 1] == '?' && ps->p[starts[i] + 2] == '!';
            int body_next;
            if (!opt && *q != ')') { ps->bad = 1; break; }  /* only ? may follow a group */
            if (ps->p[starts[i] + 1] == '?' && !lookahead && ps->p[starts[i] + 2] != ':') {
                ps->bad = 1;  /* (?i:...), (?=...), ...: not supported */
                break;
            }
            sub.pos = starts[i] + 1;
            if (lookahead) {
                int acc = rf__rx_new_node(&sub, RF__RX_ACCEPT, -1);
                int look = rf__rx_new_node(&sub, RF__RX_NOTAHEAD, cur);
                sub.pos = starts[i] + 3;
                ps->rx->nodes[look].sub = rf__rx_parse_alt(&sub, acc);
                cur = look;
            } else {
                if (ps->p[sub.pos] == '?' && ps->p[sub.pos + 1] == ':') sub.pos += 2;
                body_next = cur;
                if (opt) {
                    /* (group)? == (group|empty): the alternatives share `cur` as their next */
                    int alt = rf__rx_new_node(&sub, RF__RX_ALT, cur);
                    int body = rf__rx_parse_alt(&sub, body_next);
                    if (ps->rx->n_alts + 2 > RF__RX_MAX_ALTS) { ps->bad = 1; break; }
                    ps->rx->nodes[alt].a0 = ps->rx->n_alts;
                    ps->rx->nodes[alt].na = 2;
                    ps->rx->alts[ps->rx->n_alts++] = body;
                    ps->rx->alts[ps->rx->n_alts++] = cur;
                    cur = alt;
                } else {
                    cur = rf__rx_parse_alt(&sub, body_next);
                }
            }
            if (sub.bad || sub.p[sub.pos] != ')') ps->bad = 1;
        } else if (ps->p[starts[i]] == '$') {
            cur = rf__rx_new_node(ps, RF__RX_EOL, cur);
        } else {
            int ci = rf__rx_parse_class_atom(&sub);
            int min = 1, max = 1;
            const char *qs = ps->p + sub.pos;
            if (sub.bad) { ps->bad = 1; break; }
            if (*qs == '?') { min = 0; max = 1; }
            else if (*qs == '*') { min = 0; max = -1; }
            else if (*qs == '+') { min = 1; max = -1; }
            else if (*qs == '{') {
                char *endp;
                min = (int)strtol(qs + 1, &endp, 10);
                max = min;
                if (*endp == ',') max = (int)strtol(endp + 1, &endp, 10);
                if (*endp != '}' || max < min) { ps->bad = 1; break; }
            }
            if (min == 1 && max == 1) {
                cur = rf__rx_new_node(ps, RF__RX_SET, cur);
            } else {
                cur = rf__rx_new_node(ps, RF__RX_REPEAT, cur);
                ps->rx->nodes[cur].min = min;
                ps->rx->nodes[cur].max = max;
            }
            ps->rx->nodes[cur].cls = ci;
        }
    }
    return cur;
}

/* alternation: seq ('|' seq)* up to ')' or the end (the caller checks which) */
static int rf__rx_parse_alt(rf__rx_parser *ps, int next) {
    int first[64], n = 0, i, node;
    for (;;) {
        if (n >= 64) { ps->bad = 1; return 0; }
        first[n++] = rf__rx_parse_seq(ps, next);
        if (ps->bad) return 0;
        if (ps->p[ps->pos] == '|') { ps->pos++; continue; }
        break;
    }
    if (n == 1) return first[0];
    node = rf__rx_new_node(ps, RF__RX_ALT, next);
    if (ps->bad || ps->rx->n_alts + n > RF__RX_MAX_ALTS) { ps->bad = 1; return 0; }
    ps->rx->nodes[node].a0 = ps->rx->n_alts;
    ps->rx->nodes[node].na = n;
    for (i = 0; i < n; i++) ps->rx->alts[ps->rx->n_alts++] = first[i];
    return node;
}

/* Compile a pattern; RF_ERR_UNSUPPORTED if it uses something this engine lacks. */
static rf_status rf__rx_compile(const char *pattern, rf__rx **out) {
    rf__rx_parser ps;
    rf__rx *rx = RF__NEW(rf__rx, 1);
    int acc;
    *out = NULL;
    if (!rx) return rf__err(RF_ERR_OOM, "tokenizer: out of memory compiling a pre-tokenizer regex");
    memset(rx, 0, sizeof *rx);
    memset(&ps, 0, sizeof ps);
    ps.rx = rx;
    ps.p = pattern;
    acc = rf__rx_new_node(&ps, RF__RX_ACCEPT, -1);
    rx->start = rf__rx_parse_alt(&ps, acc);
    if (ps.bad || ps.p[ps.pos] != 0) {
        RF_FREE(rx);
        return rf__err(RF_ERR_UNSUPPORTED, "tokenizer: cannot compile pre-tokenizer regex at offset %zu: %s",
                       ps.pos, pattern);
    }
    *out = rx;
    return RF_OK;
}

/* ---- matching --------------------------------------------------------------------------- */

static int rf__rx_class_has(const rf__rx *rx, const rf__rx_class *c, uint32_t cp) {
    int in = 0;
    if (c->bits) {
        int cat = rf__ucat(cp);
        unsigned b = c->bits;
        int sp = rf__uspace(cp);
        in = ((b & RF__RXC_L) && cat == RF__UCAT_L) || ((b & RF__RXC_N) && cat == RF__UCAT_N) ||
             ((b & RF__RXC_P) && cat == RF__UCAT_P) || ((b & RF__RXC_M) && cat == RF__UCAT_M) ||
             ((b & RF__RXC_S) && cat == RF__UCAT_S) || ((b & RF__RXC_SPACE) && sp) ||
             ((b & RF__RXC_NOTSPACE) && !sp);
    }
    if (!in && c->nr > 0) {
        int lo = 0, hi = c->nr;  /* last range with lo <= cp */
        const uint32_t (*r)[2] = (const uint32_t (*)[2])rx->ranges + c->r0;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (r[mid][0] <= cp) lo = mid; else hi = mid;
        }
        in = r[lo][0] <= cp && cp <= r[lo][1];
    }
    return in != c->negate;
}

/* Does the pattern from `node` match cp[pos..) within [.., end)? On success *out_end is where
   the match ends. */
static int rf__rx_run(const rf__rx *rx, int node, const uint32_t *cp, size_t pos, size_t end,
                      size_t *out_end) {
    for (;;) {
        const rf__rx_node *n = &rx->nodes[node];
        switch (n->op) {
        case RF__RX_SET:
            if (pos >= end || !rf__rx_class_has(rx, &rx->classes[n->cls], cp[pos])) return 0;
            pos++;
            node = n->next;
            break;
        case RF__RX_REPEAT: {
            size_t k = 0, max = n->max < 0 ? (size_t)-1 : (size_t)n->max;
            const rf__rx_class *c = &rx->classes[n->cls];
            while (k < max && pos + k < end && rf__rx_class_has(rx, c, cp[pos + k])) k++;
            for (;;) {  /* greedy: the longest run first, then give back one at a time */
                if (k < (size_t)n->min) return 0;
                if (rf__rx_run(rx, n->next, cp, pos + k, end, out_end)) return 1;
                if (k == 0) return 0;
                k--;
            }
        }
        case RF__RX_ALT: {
            int i;
            for (i = 0; i < n->na; i++)
                if (rf__rx_run(rx, rx->alts[n->a0 + i], cp, pos, end, out_end)) return 1;
            return 0;
        }
        case RF__RX_NOTAHEAD: {
            size_t e;
            if (rf__rx_run(rx, n->sub, cp, pos, end, &e)) return 0;
            node = n->next;
            break;
        }
        case RF__RX_EOL:
            if (pos != end) return 0;
            node = n->next;
            break;
        default: /* ACCEPT */
            *out_end = pos;
            return 1;
        }
    }
}

/* ---- pre-tokenizers --------------------------------------------------------------------- */

/* The GPT-2 pattern, shared by many pre-tokenizers. */
#define RF__PAT_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
/* Llama 3 / Qwen 2, with (?i:'s|...) written out case by case. They differ in \p{N}{1,3}. */
#define RF__PAT_CONTRACTIONS_I "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RF__PAT_LLAMA3 RF__PAT_CONTRACTIONS_I "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RF__PAT_QWEN2 RF__PAT_CONTRACTIONS_I "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* DeepSeek LLM's letter class: Unicode's cased letters (LC) of some years ago, as shipped in
   its tokenizer.json, written with \x{} escapes so no editor can normalize them. */
#define RF__PAT_DEEPSEEK_LETTERS                                                                       \
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"       \
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}" \
    "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"       \
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"    \
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"    \
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}"               \
    "\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"             \
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"    \
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"      \
    "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}"               \
    "\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}"               \
    "\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"    \
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"    \
    "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"                   \
    "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"               \
    "\\x{1E900}-\\x{1E943}"
/* CJK ideographs, a block before them, and Hangul (DeepSeek). */
#define RF__PAT_DEEPSEEK_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

typedef struct rf__pre_spec {
    const char *names;          /* the tokenizer.ggml.pre values, each followed by ';' */
    int ignore_merges;          /* a word that is a whole token is not merged (Llama 3) */
    const char *patterns[7];    /* applied in order; NULL-terminated */
} rf__pre_spec;

static const rf__pre_spec rf__pre_specs[] = {
    /* No "pre" key, or "default": what llama.cpp uses then (e.g. GPT-NeoX vocabs). */
    {"default;", 0,
     {"[\\p{P}\\$\\+<=>\\^~\\|]+", RF__PAT_GPT2, "\\p{N}+", "[0-9][0-9][0-9]", NULL}},
    {"gpt-2;mpt;phi-2;roberta-bpe;jina-es;jina-de;jina-v1-en;jina-v2-es;jina-v2-de;jina-v2-code;"
     "gigachat;olmo;jais;trillion;", 0,
     {RF__PAT_GPT2, NULL}},
    {"llama3;llama-v3;llama-bpe;falcon3;dbrx;smaug-bpe;", 1, {RF__PAT_LLAMA3, NULL}},
    {"qwen2;deepseek-r1-qwen;stablelm2;megrez;", 0, {RF__PAT_QWEN2, NULL}},
    {"starcoder;refact;command-r;smollm;codeshell;exaone;minerva-7b;", 0,
     {"\\p{N}", RF__PAT_GPT2, NULL}},
    {"falcon;", 0, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RF__PAT_GPT2, "[0-9][0-9][0-9]", NULL}},
    {"deepseek-llm;", 0,
     {"[\\r\\n]", "\\s?[" RF__PAT_DEEPSEEK_LETTERS "]+",
      "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
      "\\s+$", RF__PAT_DEEPSEEK_CJK, "\\p{N}+", NULL}},
    {"deepseek-coder;", 0,
     {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RF__PAT_DEEPSEEK_CJK, "\\p{N}", NULL}},
    /* Chameleon: image tokens, whitespace runs, single digits, single punctuation, GPT-2.
       "((A|B|...|I){1,4})" is written as the equivalent class repeat. */
    {"chameleon;", 0,
     {"<sentinel:[0-9]+>", "(IMGIMG)[A-I]{1,4}Z", "(?:[\\t\\n]|    |  )", "\\p{N}",
      "[\\p{P}!-/:-@\\[-`{-~]", RF__PAT_GPT2, NULL}},
};

/* The spec for a pre-tokenizer name (len bytes), or NULL. */
static const rf__pre_spec *rf__pre_find(const char *name, size_t len) {
    size_t i;
    for (i = 0; i < sizeof rf__pre_specs / sizeof rf__pre_specs[0]; i++) {
        const char *s = rf__pre_specs[i].names;
        while (*s) {
            const char *e = strchr(s, ';');
            if ((size_t)(e - s) == len && memcmp(s, name, len) == 0) return &rf__pre_specs[i];
            s = e + 1;
        }
    }
    return NULL;
}

/* A piece of text as code point indices [a, b). */
typedef struct rf__span { size_t a, b; } rf__span;

typedef struct rf__spans { rf__span *v; size_t n, cap; } rf__spans;

static int rf__spans_push(rf__spans *s, size_t a, size_t b) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        rf__span *v = (rf__span *)RF_REALLOC(s->v, cap * sizeof *v);
        if (!v) return 0;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].a = a;
    s->v[s->n].b = b;
    s->n++;
    return 1;
}

/* Split every span of `in` by rx into matches and the gaps between them, into `out`. */
static int rf__rx_split(const rf__rx *rx, const uint32_t *cp, const rf__spans *in, rf__spans *out) {
    size_t i;
    out->n = 0;
    for (i = 0; i < in->n; i++) {
        size_t pos = in->v[i].a, end = in->v[i].b, gap = pos, e;
        while (pos < end) {
            if (rf__rx_run(rx, rx->start, cp, pos, end, &e) && e > pos) {
                if (gap < pos && !rf__spans_push(out, gap, pos)) return 0;
                if (!rf__spans_push(out, pos, e)) return 0;
                pos = gap = e;
            } else {
                pos++;
            }
        }
        if (gap < end && !rf__spans_push(out, gap, end)) return 0;
    }
    return 1;
}
