/* Chat templates: recognise the tokenizer.chat_template of the common model families and
   render a conversation the way that template renders it under Hugging Face's settings
   (jinja2 ImmutableSandboxedEnvironment, trim_blocks and lstrip_blocks). There is no Jinja
   engine here: each format is a short function that mirrors one real template, named in its
   comment; tests/test_chat.py checks every function against jinja2 byte for byte.

   A family's templates differ between releases (Llama 3.1 adds a "Cutting Knowledge Date"
   system block, Qwen2.5 a default system prompt, ...). A format renders the one template
   named at its function; other members of the family are detected as the same format and
   rendered that way, as llama.cpp's built-in formats do. */

static const char *const rf__chat_names[RF_CHAT_FORMAT_COUNT] = {
    "unknown", "chatml", "llama2", "llama3", "mistral", "gemma", "phi3",
};

RF_API const char *rf_chat_format_name(rf_chat_format f) {
    if ((int)f < 0 || f >= RF_CHAT_FORMAT_COUNT) return "unknown";
    return rf__chat_names[f];
}

/* 1 if needle occurs in s[0..len); s need not be NUL-terminated. */
static int rf__chat_has(const char *s, size_t len, const char *needle) {
    size_t m = strlen(needle), i;
    if (m > len) return 0;
    for (i = 0; i + m <= len; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0) return 1;
    return 0;
}

RF_API rf_chat_format rf_chat_detect(const char *tmpl, size_t len) {
    if (!tmpl) return RF_CHAT_UNKNOWN;
    /* Each family's turn markers are spelled out literally in its templates. Order matters
       only where families share a marker: "[INST]" is both llama2's and mistral's, and only
       llama2 wraps the system prompt in <<SYS>>. */
    if (rf__chat_has(tmpl, len, "<|im_start|>")) return RF_CHAT_CHATML;
    if (rf__chat_has(tmpl, len, "<|start_header_id|>")) return RF_CHAT_LLAMA3;
    if (rf__chat_has(tmpl, len, "<start_of_turn>")) return RF_CHAT_GEMMA;
    /* Phi-3 ends turns with <|end|>; GLM templates use <|user|> too, but never <|end|>. */
    if (rf__chat_has(tmpl, len, "<|end|>") &&
        (rf__chat_has(tmpl, len, "<|user|>") || rf__chat_has(tmpl, len, "<|assistant|>")))
        return RF_CHAT_PHI3;
    if (rf__chat_has(tmpl, len, "[INST]"))
        return rf__chat_has(tmpl, len, "<<SYS>>") ? RF_CHAT_LLAMA2 : RF_CHAT_MISTRAL;
    return RF_CHAT_UNKNOWN;
}

/* ---------------------------------------------------------------------------------------------
   Output: writes what fits into the caller's buffer and counts everything, so one pass gives
   both the text and the full length. */

typedef struct rf__chat_out {
    char *buf;
    size_t cap;
    size_t len;      /* full length so far, including what did not fit */
    int overflow;    /* len would exceed SIZE_MAX */
} rf__chat_out;

static void rf__chat_put(rf__chat_out *o, const char *s, size_t n) {
    if (n > SIZE_MAX - o->len) {
        o->overflow = 1;
        return;
    }
    if (o->len < o->cap) memcpy(o->buf + o->len, s, RF__MIN(n, o->cap - o->len));
    o->len += n;
}

static void rf__chat_puts(rf__chat_out *o, const char *s) { rf__chat_put(o, s, strlen(s)); }

/* Python's str.isspace() for one code point: jinja's |trim and str.strip() use it, so a
   template strips Unicode spaces (U+00A0, U+3000, ...) as well as ASCII ones. */
static int rf__py_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Length of the UTF-8 sequence at s[0..n) if it encodes a Python space, else 0. Spaces above
   U+007F take 2 or 3 bytes; invalid bytes are never spaces. */
static size_t rf__space_at(const unsigned char *s, size_t n) {
    if (n >= 1 && s[0] < 0x80) return rf__py_isspace(s[0]) ? 1 : 0;
    if (n >= 2 && (s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80)
        return rf__py_isspace(((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F)) ? 2 : 0;
    if (n >= 3 && (s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80)
        return rf__py_isspace(((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
                              (s[2] & 0x3F)) ? 3 : 0;
    return 0;
}

/* Offset of the first non-space byte of s[0..n). */
static size_t rf__lstrip_at(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t b = 0, k;
    while (b < n && (k = rf__space_at(s + b, n - b)) > 0) b += k;
    return b;
}

/* End of s[0..n) without its trailing spaces: tries the 1-, 2- and 3-byte sequences that
   could end at each position. */
static size_t rf__rstrip_at(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t e = n, w;
    while (e > 0) {
        for (w = 1; w <= 3 && w <= e; w++)
            if (rf__space_at(s + e - w, w) == w) break;
        if (w > 3 || w > e) break;
        e -= w;
    }
    return e;
}

/* Writes the concatenation of parts[0..np) with leading and trailing Python whitespace
   removed, as jinja's |trim or str.strip() on the joined string would: a part that is all
   whitespace lets the strip reach into its neighbour. */
static void rf__chat_put_stripped(rf__chat_out *o, const char *const *parts, size_t np) {
    size_t first = 0, last = np, b = 0, e = 0, i;
    /* Leading: skip whole parts that are all space, then the spaces of the first one left. */
    for (; first < np; first++) {
        size_t n = strlen(parts[first]);
        b = rf__lstrip_at(parts[first], n);
        if (b < n) break;
    }
    if (first == np) return;  /* all whitespace */
    for (; last > first; last--) {
        size_t n = strlen(parts[last - 1]);
        /* The strip from the front already ate part of `first`; never cross it. */
        e = rf__rstrip_at(parts[last - 1], n);
        if (last - 1 == first ? e > b : e > 0) break;
    }
    for (i = first; i < last; i++) {
        const char *p = parts[i];
        size_t from = i == first ? b : 0, to = i == last - 1 ? e : strlen(p);
        rf__chat_put(o, p + from, to - from);
    }
}

static void rf__chat_put_trimmed(rf__chat_out *o, const char *s) { rf__chat_put_stripped(o, &s, 1); }

static int rf__role_is(const rf_chat_msg *m, const char *role) { return strcmp(m->role, role) == 0; }

/* The templates' raise_exception(): the render fails with the template's own message. */
static rf_status rf__chat_raise(const char *msg) {
    return rf__err(RF_ERR_INVALID_ARG, "chat template: %s", msg);
}

static const char rf__alternate_msg[] = "Conversation roles must alternate user/assistant/user/assistant/...";

/* ---------------------------------------------------------------------------------------------
   The formats. Each mirrors one template, quoted in tests/data/chat_templates/. */

/* teknium/OpenHermes-2.5-Mistral-7B (plain ChatML): every message as
   <|im_start|>role\ncontent<|im_end|>\n. No BOS; roles are not checked. */
static rf_status rf__render_chatml(rf__chat_out *o, const rf_chat_msg *m, size_t n, int gen) {
    size_t i;
    for (i = 0; i < n; i++) {
        rf__chat_puts(o, "<|im_start|>");
        rf__chat_puts(o, m[i].role);
        rf__chat_puts(o, "\n");
        rf__chat_puts(o, m[i].content);
        rf__chat_puts(o, "<|im_end|>\n");
    }
    if (gen) rf__chat_puts(o, "<|im_start|>assistant\n");
    return RF_OK;
}

/* meta-llama/Llama-2-7b-chat-hf: a leading system message goes into the first turn inside
   <<SYS>>; every user turn opens with BOS; contents are stripped. The template has no
   generation prompt (the last [/INST] is one). */
static rf_status rf__render_llama2(rf__chat_out *o, const rf_chat_msg *m, size_t n, const char *bos,
                                   const char *eos) {
    const char *sys = NULL;
    size_t i, first = 0;
    if (n == 0) return rf__chat_raise("messages[0] is undefined");
    if (rf__role_is(&m[0], "system")) {
        sys = m[0].content;
        first = 1;
    }
    for (i = first; i < n; i++) {
        size_t idx = i - first;  /* the template's loop.index0 over the non-system messages */
        int user = rf__role_is(&m[i], "user");
        if (user != (idx % 2 == 0)) return rf__chat_raise(rf__alternate_msg);
        if (user) {
            rf__chat_puts(o, bos);
            rf__chat_puts(o, "[INST] ");
        } else if (rf__role_is(&m[i], "assistant")) {
            rf__chat_puts(o, " ");
        } else {
            continue;  /* any other role renders nothing */
        }
        if (idx == 0 && sys) {
            /* content = '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + content, stripped whole */
            const char *parts[4];
            parts[0] = "<<SYS>>\n";
            parts[1] = sys;
            parts[2] = "\n<</SYS>>\n\n";
            parts[3] = m[i].content;
            rf__chat_put_stripped(o, parts, 4);
        } else {
            rf__chat_put_trimmed(o, m[i].content);
        }
        if (user) {
            rf__chat_puts(o, " [/INST]");
        } else {
            rf__chat_puts(o, " ");
            rf__chat_puts(o, eos);
        }
    }
    return RF_OK;
}

/* meta-llama/Meta-Llama-3-8B-Instruct: <|start_header_id|>role<|end_header_id|>\n\n, the
   trimmed content, <|eot_id|>; BOS before the first message. */
static rf_status rf__render_llama3(rf__chat_out *o, const rf_chat_msg *m, size_t n, int gen,
                                   const char *bos) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (i == 0) rf__chat_puts(o, bos);
        rf__chat_puts(o, "<|start_header_id|>");
        rf__chat_puts(o, m[i].role);
        rf__chat_puts(o, "<|end_header_id|>\n\n");
        rf__chat_put_trimmed(o, m[i].content);
        rf__chat_puts(o, "<|eot_id|>");
    }
    if (gen) rf__chat_puts(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return RF_OK;
}

/* mistralai/Mistral-7B-Instruct-v0.2, the "v1" template with a system prompt: BOS once,
   " [INST] " ... " [/INST]" per user turn, the system prompt and a blank line before the
   first user message, " " + reply + EOS per assistant turn. Contents are not stripped. The
   template has no generation prompt. */
static rf_status rf__render_mistral(rf__chat_out *o, const rf_chat_msg *m, size_t n, const char *bos,
                                    const char *eos) {
    const char *sys = NULL;
    size_t i, first = 0;
    if (n == 0) return rf__chat_raise("messages[0] is undefined");
    if (rf__role_is(&m[0], "system")) {
        sys = m[0].content;
        first = 1;
    }
    rf__chat_puts(o, bos);
    for (i = first; i < n; i++) {
        size_t idx = i - first;
        int user = rf__role_is(&m[i], "user");
        if (user != (idx % 2 == 0))
            return rf__chat_raise("After the optional system message, conversation roles must "
                                  "alternate user/assistant/user/assistant/...");
        if (user) {
            rf__chat_puts(o, " [INST] ");
            if (idx == 0 && sys) {
                rf__chat_puts(o, sys);
                rf__chat_puts(o, "\n\n");
            }
            rf__chat_puts(o, m[i].content);
            rf__chat_puts(o, " [/INST]");
        } else if (rf__role_is(&m[i], "assistant")) {
            rf__chat_puts(o, " ");
            rf__chat_puts(o, m[i].content);
            rf__chat_puts(o, eos);
        } else {
            return rf__chat_raise("Only user and assistant roles are supported, with the exception "
                                  "of an initial optional system message!");
        }
    }
    return RF_OK;
}

/* google/gemma-3 (-it): BOS, then <start_of_turn>role\n ... <end_of_turn>\n with the
   assistant called "model"; a leading system message is folded into the first turn as
   system + "\n\n" (not trimmed), before the trimmed content. */
static rf_status rf__render_gemma(rf__chat_out *o, const rf_chat_msg *m, size_t n, int gen,
                                  const char *bos) {
    const char *sys = NULL;
    size_t i, first = 0;
    rf__chat_puts(o, bos);
    if (n == 0) return rf__chat_raise("messages[0] is undefined");
    if (rf__role_is(&m[0], "system")) {
        sys = m[0].content;
        first = 1;
    }
    for (i = first; i < n; i++) {
        size_t idx = i - first;
        int user = rf__role_is(&m[i], "user");
        if (user != (idx % 2 == 0)) return rf__chat_raise(rf__alternate_msg);
        rf__chat_puts(o, "<start_of_turn>");
        rf__chat_puts(o, rf__role_is(&m[i], "assistant") ? "model" : m[i].role);
        rf__chat_puts(o, "\n");
        if (idx == 0 && sys) {
            rf__chat_puts(o, sys);
            rf__chat_puts(o, "\n\n");
        }
        rf__chat_put_trimmed(o, m[i].content);
        rf__chat_puts(o, "<end_of_turn>\n");
    }
    if (gen) rf__chat_puts(o, "<start_of_turn>model\n");
    return RF_OK;
}

/* microsoft/Phi-3.5-mini-instruct: <|role|>\ncontent<|end|>\n for system (when not empty),
   user and assistant; other roles render nothing. Ends with the generation prompt, or with
   EOS when there is none. */
static rf_status rf__render_phi3(rf__chat_out *o, const rf_chat_msg *m, size_t n, int gen,
                                 const char *eos) {
    size_t i;
    for (i = 0; i < n; i++) {
        const char *tag;
        if (rf__role_is(&m[i], "system")) {
            if (!m[i].content[0]) continue;  /* the template tests the content's truth */
            tag = "<|system|>\n";
        } else if (rf__role_is(&m[i], "user")) {
            tag = "<|user|>\n";
        } else if (rf__role_is(&m[i], "assistant")) {
            tag = "<|assistant|>\n";
        } else {
            continue;
        }
        rf__chat_puts(o, tag);
        rf__chat_puts(o, m[i].content);
        rf__chat_puts(o, "<|end|>\n");
    }
    rf__chat_puts(o, gen ? "<|assistant|>\n" : eos);
    return RF_OK;
}

RF_API rf_status rf_chat_render(rf_chat_format f, const rf_chat_msg *msgs, size_t n, int add_assistant,
                                const char *bos, const char *eos, char *buf, size_t cap, size_t *n_out) {
    rf__chat_out o;
    rf_status st;
    size_t i;
    if (n_out) *n_out = 0;
    if (!n_out || (n && !msgs) || (cap && !buf))
        return rf__err(RF_ERR_INVALID_ARG, "rf_chat_render: NULL argument");
    if ((int)f < 0 || f >= RF_CHAT_FORMAT_COUNT)
        return rf__err(RF_ERR_INVALID_ARG, "rf_chat_render: unknown format %d", (int)f);
    for (i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return rf__err(RF_ERR_INVALID_ARG, "rf_chat_render: message %zu has a NULL role or content", i);
    if (!bos) bos = "";
    if (!eos) eos = "";
    memset(&o, 0, sizeof o);
    o.buf = buf;
    o.cap = cap;
    switch (f) {
    case RF_CHAT_LLAMA2: st = rf__render_llama2(&o, msgs, n, bos, eos); break;
    case RF_CHAT_LLAMA3: st = rf__render_llama3(&o, msgs, n, add_assistant, bos); break;
    case RF_CHAT_MISTRAL: st = rf__render_mistral(&o, msgs, n, bos, eos); break;
    case RF_CHAT_GEMMA: st = rf__render_gemma(&o, msgs, n, add_assistant, bos); break;
    case RF_CHAT_PHI3: st = rf__render_phi3(&o, msgs, n, add_assistant, eos); break;
    default: st = rf__render_chatml(&o, msgs, n, add_assistant); break;  /* chatml, unknown */
    }
    if (st != RF_OK) return st;
    if (o.overflow) return rf__err(RF_ERR_TOO_LARGE, "rf_chat_render: output longer than SIZE_MAX");
    *n_out = o.len;
    if (o.len > cap)
        return rf__err(RF_ERR_TOO_LARGE, "rf_chat_render: %zu bytes do not fit in %zu", o.len, cap);
    return RF_OK;
}
