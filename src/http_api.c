/* The OpenAI-compatible endpoints: requests -> validated jobs, and jobs -> responses (JSON or
   Server-Sent Events). Scheduling the jobs onto slots is http_sched.c's.

   A job owns copies of everything it needs (prompt text, stop strings, logit bias), so it does
   not depend on the connection's buffer, which is reused once the request is read. */

enum { RF__JOB_CHAT = 0, RF__JOB_COMPLETION = 1, RF__MAX_STOPS = 16 };

struct rf__job {
    rf__conn *conn;           /* NULL once the client has gone */
    int kind, stream, include_usage;
    const char *model;        /* the server's model id (lives as long as the server) */
    char *prompt;
    size_t prompt_len;
    rf_sampler_params sp;
    rf_logit_bias *bias;
    char *stops[RF__MAX_STOPS];
    size_t n_stops;
    int32_t max_tokens;
    char id[48];
    long long created;
    rf__text text;            /* the reply, for a non-streamed response */
    int slot;                 /* -1 while queued */
    rf__job *next;            /* the queue's link */
    /* trace: monotonic times (0: not reached) and the wall clock at arrival */
    double t_queued, t_start, t_first, t_end;
    long long wall_ns;
    int status;               /* HTTP status it ended with */
    rf_gen_result res;
};

static void rf__job_free(rf__job *j) {
    size_t i;
    if (!j) return;
    RF_FREE(j->prompt);
    RF_FREE(j->bias);
    for (i = 0; i < j->n_stops; i++) RF_FREE(j->stops[i]);
    RF_FREE(j->text.p);
    RF_FREE(j);
}

/* The reason for a 400, with the offending field (OpenAI's "param"). */
typedef struct rf__bad {
    const char *param;
    char msg[256];
} rf__bad;

static int rf__bad_set(rf__bad *b, const char *param, const char *msg) {
    size_t n = RF__MIN(strlen(msg), sizeof b->msg - 1); /* rf_last_error() may be longer: cut */
    b->param = param;
    memcpy(b->msg, msg, n);
    b->msg[n] = 0;
    return 0;
}

/* Optional number field within [lo, hi]; 1 when absent/null or good. */
static int rf__field_num(const rf_json *j, const char *key, double lo, double hi, int integer, double *out, rf__bad *b) {
    int32_t v = rf_json_get(j, 0, key);
    double x;
    rf_json_type t = rf_json_type_of(j, v);
    if (t == RF_JSON_NONE || t == RF_JSON_NULL) return 1;
    if (t != RF_JSON_NUMBER) {
        snprintf(b->msg, sizeof b->msg, "'%s' must be a number", key);
        b->param = key;
        return 0;
    }
    x = rf_json_num(j, v);
    if (!(x >= lo && x <= hi) || (integer && x != floor(x))) {
        snprintf(b->msg, sizeof b->msg, "'%s' must be %s in [%g, %g]", key, integer ? "an integer" : "a number", lo, hi);
        b->param = key;
        return 0;
    }
    *out = x;
    return 1;
}

static char *rf__dup_n(const char *s, size_t n) {
    char *d = RF__NEW(char, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* The text of a message's content: a string, or an array of {"type": "text", "text": ...} parts. */
static int rf__content_text(const rf_json *j, int32_t v, rf__text *out, rf__bad *b) {
    int32_t i;
    if (rf_json_type_of(j, v) == RF_JSON_STRING) {
        size_t n;
        const char *s = rf_json_str(j, v, &n);
        return rf__text_append(out, s, n) == RF_OK || rf__bad_set(b, "messages", "out of memory");
    }
    if (rf_json_type_of(j, v) == RF_JSON_NULL) return RF__TEXT_LIT(out, "") == RF_OK;
    if (rf_json_type_of(j, v) != RF_JSON_ARRAY) return rf__bad_set(b, "messages", "a message's content must be a string or an array of text parts");
    for (i = 0; i < rf_json_len(j, v); i++) {
        int32_t part = rf_json_at(j, v, i);
        const char *type = rf_json_str(j, rf_json_get(j, part, "type"), NULL);
        size_t n;
        const char *s = rf_json_str(j, rf_json_get(j, part, "text"), &n);
        if (!type || strcmp(type, "text") != 0 || !s) return rf__bad_set(b, "messages", "only text content parts are supported");
        if (rf__text_append(out, s, n) != RF_OK) return rf__bad_set(b, "messages", "out of memory");
    }
    return 1;
}

/* messages -> the prompt, through the model's chat template. */
static int rf__chat_prompt(const rf_model *m, const rf_json *j, rf__job *job, rf__bad *b) {
    int32_t msgs = rf_json_get(j, 0, "messages"), n, i;
    rf_chat_msg *cm;
    rf__text *texts;
    rf_chat_format fmt = rf_model_chat_format(m);
    const rf_tokenizer *tok = rf_model_tokenizer(m);
    char bos[64] = "", eos[64] = "";
    size_t need = 0;
    int ok = 1;
    if (rf_json_type_of(j, msgs) != RF_JSON_ARRAY || (n = rf_json_len(j, msgs)) == 0)
        return rf__bad_set(b, "messages", "'messages' must be a non-empty array");
    cm = RF__NEWZ(rf_chat_msg, n);
    texts = RF__NEWZ(rf__text, n);
    if (!cm || !texts) ok = rf__bad_set(b, "messages", "out of memory");
    for (i = 0; ok && i < n; i++) {
        int32_t msg = rf_json_at(j, msgs, i);
        const char *role = rf_json_str(j, rf_json_get(j, msg, "role"), NULL);
        if (rf_json_type_of(j, msg) != RF_JSON_OBJECT || !role) {
            ok = rf__bad_set(b, "messages", "each message must be an object with a string 'role'");
            break;
        }
        if (strcmp(role, "system") && strcmp(role, "developer") && strcmp(role, "user") && strcmp(role, "assistant")) {
            ok = rf__bad_set(b, "messages", "a message's role must be system, developer, user or assistant");
            break;
        }
        if (!(ok = rf__content_text(j, rf_json_get(j, msg, "content"), &texts[i], b))) break;
        cm[i].role = strcmp(role, "developer") ? role : "system"; /* OpenAI's newer name for system */
        cm[i].content = texts[i].p ? texts[i].p : "";
    }
    if (ok) {
        if (fmt == RF_CHAT_UNKNOWN) fmt = RF_CHAT_CHATML;
        if (rf_tokenizer_bos(tok) >= 0 && rf_token_to_piece(tok, rf_tokenizer_bos(tok), RF_TOK_RENDER_SPECIAL, bos, sizeof bos - 1, &need) == RF_OK) bos[need] = 0;
        if (rf_tokenizer_eos(tok) >= 0 && rf_token_to_piece(tok, rf_tokenizer_eos(tok), RF_TOK_RENDER_SPECIAL, eos, sizeof eos - 1, &need) == RF_OK) eos[need] = 0;
        if (rf_chat_render(fmt, cm, (size_t)n, 1, bos, eos, NULL, 0, &need) != RF_ERR_TOO_LARGE && need != 0)
            ok = rf__bad_set(b, "messages", rf_last_error());
        else if (!(job->prompt = RF__NEW(char, need + 1)))
            ok = rf__bad_set(b, "messages", "out of memory");
        else if (rf_chat_render(fmt, cm, (size_t)n, 1, bos, eos, job->prompt, need + 1, &need) != RF_OK)
            ok = rf__bad_set(b, "messages", rf_last_error());
        else
            job->prompt[need] = 0, job->prompt_len = need;
    }
    for (i = 0; texts && i < n; i++) RF_FREE(texts[i].p);
    RF_FREE(texts);
    RF_FREE(cm);
    return ok;
}

/* A request body -> a job, or 0 with the reason in *b. Unknown fields are ignored, as OpenAI's
   own clients send fields a server may not know. */
static int rf__job_parse(const rf_model *m, const rf_json *j, int kind, int32_t default_max, uint64_t seed, rf__job *job,
                         rf__bad *b) {
    double x;
    int32_t v, i;
    rf_json_type t;
    job->kind = kind;
    job->slot = -1;
    job->sp = rf_sampler_default_params();
    job->sp.seed = seed;
    job->max_tokens = default_max;
    if (rf_json_type_of(j, 0) != RF_JSON_OBJECT) return rf__bad_set(b, NULL, "the request body must be a JSON object");
    t = rf_json_type_of(j, rf_json_get(j, 0, "model"));
    if (t != RF_JSON_NONE && t != RF_JSON_STRING) return rf__bad_set(b, "model", "'model' must be a string");
    t = rf_json_type_of(j, v = rf_json_get(j, 0, "stream"));
    if (t != RF_JSON_NONE && t != RF_JSON_NULL && t != RF_JSON_TRUE && t != RF_JSON_FALSE) return rf__bad_set(b, "stream", "'stream' must be a boolean");
    job->stream = t == RF_JSON_TRUE;
    job->include_usage = rf_json_type_of(j, rf_json_get(j, rf_json_get(j, 0, "stream_options"), "include_usage")) == RF_JSON_TRUE;
    x = 1;
    if (!rf__field_num(j, "n", 1, 1, 1, &x, b)) return rf__bad_set(b, "n", "only n = 1 is supported");
    if (!rf__field_num(j, "temperature", 0, 2, 0, &x, b)) return 0;
    if (rf_json_get(j, 0, "temperature") >= 0 && rf_json_type_of(j, rf_json_get(j, 0, "temperature")) == RF_JSON_NUMBER) job->sp.temperature = (float)x;
    x = -1;
    if (!rf__field_num(j, "top_p", 0, 1, 0, &x, b)) return 0;
    if (x >= 0) job->sp.top_p = (float)x;
    x = -1;
    if (!rf__field_num(j, "top_k", 0, 1e6, 1, &x, b)) return 0;
    if (x >= 0) job->sp.top_k = (int32_t)x;
    x = -1;
    if (!rf__field_num(j, "min_p", 0, 1, 0, &x, b)) return 0;
    if (x >= 0) job->sp.min_p = (float)x;
    x = 0;
    if (!rf__field_num(j, "presence_penalty", -2, 2, 0, &x, b)) return 0;
    job->sp.presence_penalty = (float)x;
    x = 0;
    if (!rf__field_num(j, "frequency_penalty", -2, 2, 0, &x, b)) return 0;
    job->sp.frequency_penalty = (float)x;
    x = -1;
    if (!rf__field_num(j, "seed", -9007199254740991.0, 9007199254740991.0, 1, &x, b)) return 0;
    if (rf_json_type_of(j, rf_json_get(j, 0, "seed")) == RF_JSON_NUMBER) job->sp.seed = (uint64_t)(int64_t)x;
    x = -1;
    if (!rf__field_num(j, "max_completion_tokens", 1, 1e9, 1, &x, b)) return 0;
    if (!rf__field_num(j, "max_tokens", 1, 1e9, 1, &x, b)) return 0;
    if (x > 0) job->max_tokens = (int32_t)RF__MIN(x, (double)INT32_MAX);
    /* stop: a string or an array of strings */
    t = rf_json_type_of(j, v = rf_json_get(j, 0, "stop"));
    if (t == RF_JSON_STRING || t == RF_JSON_ARRAY) {
        int32_t n = t == RF_JSON_STRING ? 1 : rf_json_len(j, v);
        if (n > RF__MAX_STOPS) return rf__bad_set(b, "stop", "at most 16 stop strings");
        for (i = 0; i < n; i++) {
            size_t len;
            const char *s = rf_json_str(j, t == RF_JSON_STRING ? v : rf_json_at(j, v, i), &len);
            if (!s) return rf__bad_set(b, "stop", "'stop' must be a string or an array of strings");
            if (len == 0) continue;
            if (!(job->stops[job->n_stops] = rf__dup_n(s, len))) return rf__bad_set(b, "stop", "out of memory");
            job->n_stops++;
        }
    } else if (t != RF_JSON_NONE && t != RF_JSON_NULL) {
        return rf__bad_set(b, "stop", "'stop' must be a string or an array of strings");
    }
    /* logit_bias: {"token id": bias in [-100, 100]} */
    t = rf_json_type_of(j, v = rf_json_get(j, 0, "logit_bias"));
    if (t == RF_JSON_OBJECT && rf_json_len(j, v) > 0) {
        int32_t n = rf_json_len(j, v);
        if (!(job->bias = RF__NEW(rf_logit_bias, n))) return rf__bad_set(b, "logit_bias", "out of memory");
        for (i = 0; i < n; i++) {
            const char *key = rf_json_key(j, v, i);
            char *end;
            long id = strtol(key, &end, 10);
            int32_t bv = rf_json_at(j, v, i);
            double bias = rf_json_num(j, bv);
            if (!*key || *end || id < 0 || id >= rf_model_n_vocab(m)) return rf__bad_set(b, "logit_bias", "logit_bias keys must be token ids of this model");
            if (rf_json_type_of(j, bv) != RF_JSON_NUMBER || !(bias >= -100 && bias <= 100)) return rf__bad_set(b, "logit_bias", "logit_bias values must be numbers in [-100, 100]");
            job->bias[i].token = (int32_t)id;
            job->bias[i].bias = (float)bias;
        }
        job->sp.logit_bias = job->bias;
        job->sp.n_logit_bias = (size_t)n;
    } else if (t != RF_JSON_NONE && t != RF_JSON_NULL && t != RF_JSON_OBJECT) {
        return rf__bad_set(b, "logit_bias", "'logit_bias' must be an object");
    }
    if (kind == RF__JOB_CHAT) return rf__chat_prompt(m, j, job, b);
    /* completions: prompt is a string, or an array holding one string */
    t = rf_json_type_of(j, v = rf_json_get(j, 0, "prompt"));
    if (t == RF_JSON_ARRAY && rf_json_len(j, v) == 1) v = rf_json_at(j, v, 0), t = rf_json_type_of(j, v);
    if (t != RF_JSON_STRING) return rf__bad_set(b, "prompt", "'prompt' must be a string (or an array of one string)");
    {
        size_t len;
        const char *s = rf_json_str(j, v, &len);
        if (!(job->prompt = rf__dup_n(s, len))) return rf__bad_set(b, "prompt", "out of memory");
        job->prompt_len = len;
    }
    return 1;
}

static const char *rf__finish_reason(rf_stop_reason r) {
    return r == RF_STOP_LENGTH || r == RF_STOP_CONTEXT ? "length" : "stop";
}

static void rf__usage_json(rf__text *t, const rf_gen_result *r) {
    rf__text_printf(t, "\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d,"
                       "\"prompt_tokens_details\":{\"cached_tokens\":%d}}",
                    r->n_prompt, r->n_gen, r->n_prompt + r->n_gen, r->n_reused);
}

/* The head of every response object and chunk: id, object, created, model. */
static void rf__resp_head(rf__text *t, const rf__job *j, int chunk) {
    const char *model = j->model ? j->model : "";
    rf__text_printf(t, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":", j->id,
                    j->kind == RF__JOB_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion", j->created);
    rf__text_json(t, model, strlen(model));
    RF__TEXT_LIT(t, ",\"system_fingerprint\":\"rocmforge-" RF_VERSION "\",");
}

/* One SSE event carrying text (a piece), or the final event (finish != NULL). */
static void rf__sse_chunk(rf__text *out, const rf__job *j, const char *text, size_t len, const char *finish,
                          const rf_gen_result *usage, int role) {
    RF__TEXT_LIT(out, "data: ");
    rf__resp_head(out, j, 1);
    RF__TEXT_LIT(out, "\"choices\":[{\"index\":0,");
    if (j->kind == RF__JOB_CHAT) {
        RF__TEXT_LIT(out, "\"delta\":{");
        if (role) RF__TEXT_LIT(out, "\"role\":\"assistant\",");
        if (!finish) RF__TEXT_LIT(out, "\"content\":"), rf__text_json(out, text, len);
        RF__TEXT_LIT(out, "},");
    } else {
        RF__TEXT_LIT(out, "\"text\":");
        rf__text_json(out, finish ? "" : text, finish ? 0 : len);
        RF__TEXT_LIT(out, ",");
    }
    RF__TEXT_LIT(out, "\"logprobs\":null,\"finish_reason\":");
    if (finish) rf__text_printf(out, "\"%s\"}]", finish);
    else RF__TEXT_LIT(out, "null}]");
    if (usage) RF__TEXT_LIT(out, ","), rf__usage_json(out, usage);
    RF__TEXT_LIT(out, "}\n\n");
}

/* The whole non-streamed response. */
static void rf__completion_json(rf__text *b, const rf__job *j) {
    const char *text = j->text.p ? j->text.p : "";
    rf__resp_head(b, j, 0);
    RF__TEXT_LIT(b, "\"choices\":[{\"index\":0,");
    if (j->kind == RF__JOB_CHAT) {
        RF__TEXT_LIT(b, "\"message\":{\"role\":\"assistant\",\"content\":");
        rf__text_json(b, text, j->text.n);
        RF__TEXT_LIT(b, "},");
    } else {
        RF__TEXT_LIT(b, "\"text\":");
        rf__text_json(b, text, j->text.n);
        RF__TEXT_LIT(b, ",");
    }
    rf__text_printf(b, "\"logprobs\":null,\"finish_reason\":\"%s\"}],", rf__finish_reason(j->res.stop));
    rf__usage_json(b, &j->res);
    RF__TEXT_LIT(b, "}");
}

/* POST /tokenize {"content": "...", "add_special": bool} -> {"tokens": [...]} (llama-server's) */
static void rf__api_tokenize(const rf_model *m, rf__conn *c, const rf_json *j, int keep) {
    size_t len, n = 0, k;
    const char *s = rf_json_str(j, rf_json_get(j, 0, "content"), &len);
    int32_t *ids = NULL;
    rf__text b;
    unsigned flags = RF_TOK_PARSE_SPECIAL;
    if (!s) {
        rf__http_error(c, 400, "invalid_request_error", "content", "'content' must be a string", keep);
        return;
    }
    if (rf_json_type_of(j, rf_json_get(j, 0, "add_special")) == RF_JSON_TRUE) flags |= RF_TOK_ADD_SPECIAL;
    if (rf__tokenize_alloc(rf_model_tokenizer(m), s, len, flags, &ids, &n) != RF_OK) {
        rf__http_error(c, 400, "invalid_request_error", "content", rf_last_error(), keep);
        return;
    }
    memset(&b, 0, sizeof b);
    RF__TEXT_LIT(&b, "{\"tokens\":[");
    for (k = 0; k < n; k++) rf__text_printf(&b, k ? ",%d" : "%d", ids[k]);
    RF__TEXT_LIT(&b, "]}");
    rf__http_respond(c, 200, "application/json", b.p, b.n, "", keep);
    RF_FREE(b.p);
    RF_FREE(ids);
}

/* POST /detokenize {"tokens": [...]} -> {"content": "..."} */
static void rf__api_detokenize(const rf_model *m, rf__conn *c, const rf_json *j, int keep) {
    int32_t v = rf_json_get(j, 0, "tokens"), n = rf_json_len(j, v), i;
    int32_t *ids;
    size_t need = 0;
    char *out = NULL;
    rf__text b;
    if (rf_json_type_of(j, v) != RF_JSON_ARRAY) {
        rf__http_error(c, 400, "invalid_request_error", "tokens", "'tokens' must be an array of token ids", keep);
        return;
    }
    if (!(ids = RF__NEW(int32_t, n + 1))) {
        rf__http_error(c, 500, "server_error", NULL, "out of memory", keep);
        return;
    }
    for (i = 0; i < n; i++) {
        double x = rf_json_num(j, rf_json_at(j, v, i));
        if (rf_json_type_of(j, rf_json_at(j, v, i)) != RF_JSON_NUMBER || x != floor(x) || x < 0 || x >= rf_model_n_vocab(m)) {
            RF_FREE(ids);
            rf__http_error(c, 400, "invalid_request_error", "tokens", "'tokens' must hold token ids of this model", keep);
            return;
        }
        ids[i] = (int32_t)x;
    }
    rf_detokenize(rf_model_tokenizer(m), ids, (size_t)n, 0, NULL, 0, &need);
    if ((out = RF__NEW(char, need + 1)) != NULL && rf_detokenize(rf_model_tokenizer(m), ids, (size_t)n, 0, out, need, &need) == RF_OK) {
        memset(&b, 0, sizeof b);
        RF__TEXT_LIT(&b, "{\"content\":");
        rf__text_json(&b, out, need);
        RF__TEXT_LIT(&b, "}");
        rf__http_respond(c, 200, "application/json", b.p, b.n, "", keep);
        RF_FREE(b.p);
    } else {
        rf__http_error(c, 500, "server_error", NULL, "detokenize failed", keep);
    }
    RF_FREE(out);
    RF_FREE(ids);
}
