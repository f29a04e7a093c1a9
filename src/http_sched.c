/* The server: slots, the step-wise scheduler, metrics, traces and the loop that ties them to the
   transport. One thread runs everything (the model loads on a second one, so /health answers
   and /ready says 503 meanwhile); the matmuls inside a step use each context's thread pool.

   Scheduling: each slot has its own rf_ctx (KV cache) and at most one job. One round of
   rf__slots_step advances every busy slot by one step -- the prefill, or one token -- so requests
   join and leave between steps and a long generation cannot hold others back; the tokens of all
   slots past their prefill are decoded together as one batch. The slots' caches take pages from
   one shared KV pool as they grow (kv.c), so N slots need memory for the positions in use, not
   N full contexts. Waiting
   jobs sit in a FIFO of at most max_queue; beyond it a request gets 503 with Retry-After. A job
   goes to the free slot whose last prompt shares the longest prefix with its own, so a
   conversation's next turn finds its history in the cache (rf_gen_begin reuses it). */

typedef struct rf__slot {
    rf_ctx *ctx;
    rf_sampler *smp;
    rf_gen *gen;
    rf__job *job;
    char *last_prompt;        /* the prompt the cache holds the prefix of */
    size_t last_len;
} rf__slot;

typedef struct rf__trace {
    char trace_id[33], span_id[17];
    int kind, status, stream;
    long long wall_ns;
    double queued_s, prefill_s, ttft_s, decode_s, total_s;
    rf_gen_result res;
} rf__trace;

/* Time-to-first-token histogram bounds in seconds (Prometheus' default buckets). */
static const double rf__ttft_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define RF__N_TTFT ((int)(sizeof rf__ttft_bounds / sizeof rf__ttft_bounds[0]))

typedef struct rf__metrics {
    uint64_t requests, requests_ok, requests_failed, rejected_busy;
    uint64_t prompt_tokens, prompt_reused, gen_tokens, n_decode;
    double prompt_s, gen_s;
    uint64_t ttft_buckets[RF__N_TTFT + 1];
    double ttft_sum;
    uint64_t ttft_count;
    uint64_t n_batches, batch_rows;   /* batched decode steps, and the tokens they decoded */
} rf__metrics;

struct rf__server {
    rf_server_params p;
    rf__net net;
    rf_model *model;
    const char *model_id;
    rf__slot *slots;
    int n_slots;
    rf_kv_pool *kv;           /* the KV pages the slots' contexts share */
    rf_ctx **batch_ctx;       /* [n_slots]: one decode step's contexts, tokens and slots */
    int32_t *batch_tok;
    int *batch_slot;
    rf__job *queue_head, *queue_tail;
    int queue_len;
    rf__metrics met;
    rf__trace *traces;
    int n_traces, trace_next, trace_count;
    uint64_t counter, rng;
    int ready, draining;
    double started;
};
typedef struct rf__server rf__server;

static uint64_t rf__rand(rf__server *S) { /* splitmix64: ids and unseeded requests' seeds */
    uint64_t z = (S->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static long long rf__wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------------------
   Jobs on slots */

static int rf__on_piece(void *user, const char *text, size_t len) {
    rf__job *j = (rf__job *)user;
    if (!j->conn) return 1; /* the client left: stop generating */
    if (j->t_first == 0) j->t_first = rf__now();
    if (!j->stream) return rf__text_append(&j->text, text, len) != RF_OK;
    rf__sse_chunk(&j->conn->out, j, text, len, NULL, NULL, 0);
    return 0;
}

/* Start a job on a free slot: 0 on success, else it is answered with an error here. */
static int rf__job_start(rf__server *S, rf__job *j, int slot) {
    rf__slot *sl = &S->slots[slot];
    rf_gen_params gp;
    rf_status s;
    memset(&gp, 0, sizeof gp);
    gp.max_tokens = j->max_tokens;
    gp.stop = (const char *const *)j->stops;
    gp.n_stop = j->n_stops;
    gp.no_add_special = j->kind == RF__JOB_CHAT; /* a rendered template carries BOS itself */
    gp.parse_special = j->kind == RF__JOB_CHAT;
    gp.on_piece = rf__on_piece;
    gp.user = j;
    if ((s = rf_sampler_new(&j->sp, rf_model_n_vocab(S->model), &sl->smp)) == RF_OK)
        s = rf_gen_begin(sl->ctx, sl->smp, j->prompt, j->prompt_len, &gp, &sl->gen);
    if (s != RF_OK) {
        rf_sampler_free(sl->smp);
        sl->smp = NULL;
        return s == RF_ERR_TOO_LARGE ? 400 : s == RF_ERR_INVALID_ARG ? 400 : 500;
    }
    j->slot = slot;
    j->t_start = rf__now();
    sl->job = j;
    RF_FREE(sl->last_prompt);
    sl->last_prompt = rf__dup_n(j->prompt, j->prompt_len);
    sl->last_len = sl->last_prompt ? j->prompt_len : 0;
    if (j->stream && j->conn) {
        RF__TEXT_LIT(&j->conn->out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                    "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n");
        j->conn->close_after = 1; /* the stream ends with the connection */
        if (j->kind == RF__JOB_CHAT) rf__sse_chunk(&j->conn->out, j, "", 0, NULL, NULL, 1);
    }
    return 0;
}

static void rf__trace_record(rf__server *S, const rf__job *j) {
    rf__trace *t;
    if (S->n_traces <= 0) return;
    t = &S->traces[S->trace_next];
    S->trace_next = (S->trace_next + 1) % S->n_traces;
    if (S->trace_count < S->n_traces) S->trace_count++;
    memset(t, 0, sizeof *t);
    snprintf(t->trace_id, sizeof t->trace_id, "%016llx%016llx", (unsigned long long)rf__rand(S), (unsigned long long)rf__rand(S));
    snprintf(t->span_id, sizeof t->span_id, "%016llx", (unsigned long long)rf__rand(S));
    t->kind = j->kind;
    t->status = j->status;
    t->stream = j->stream;
    t->wall_ns = j->wall_ns;
    t->res = j->res;
    t->total_s = j->t_end - j->t_queued;
    if (j->t_start > 0) {
        t->queued_s = j->t_start - j->t_queued;
        t->prefill_s = j->res.prompt_s;
        t->ttft_s = j->t_first > 0 ? j->t_first - j->t_queued : 0;
        t->decode_s = j->res.gen_s;
    } else {
        t->queued_s = t->total_s;
    }
}

/* Answer and retire a job. status 200: its result; else an error (a stream that already began
   gets a final event instead, since its status line is gone). */
static void rf__job_finish(rf__server *S, rf__job *j, int status, const char *error_msg) {
    rf__conn *c = j->conn;
    char msg[512]; /* a copy: callers pass rf_last_error(), which what follows may overwrite */
    snprintf(msg, sizeof msg, "%s", error_msg ? error_msg : "");
    if (j->slot >= 0) {
        rf__slot *sl = &S->slots[j->slot];
        rf_gen_end(sl->gen, &j->res);
        rf_sampler_free(sl->smp);
        sl->gen = NULL;
        sl->smp = NULL;
        sl->job = NULL;
    }
    j->t_end = rf__now();
    j->status = status;
    if (status == 200) S->met.requests_ok++;
    else S->met.requests_failed++;
    S->met.prompt_tokens += (uint64_t)j->res.n_prompt;
    S->met.prompt_reused += (uint64_t)j->res.n_reused;
    S->met.gen_tokens += (uint64_t)j->res.n_gen;
    S->met.n_decode += (uint64_t)j->res.n_gen;
    S->met.prompt_s += j->res.prompt_s;
    S->met.gen_s += j->res.gen_s;
    if (j->t_first > 0) {
        double ttft = j->t_first - j->t_queued;
        int b = 0;
        while (b < RF__N_TTFT && ttft > rf__ttft_bounds[b]) b++;
        S->met.ttft_buckets[b]++;
        S->met.ttft_sum += ttft;
        S->met.ttft_count++;
    }
    rf__trace_record(S, j);
    if (c) {
        if (j->stream && j->slot >= 0) {
            if (status == 200) {
                rf__sse_chunk(&c->out, j, "", 0, rf__finish_reason(j->res.stop), &j->res, 0);
                if (j->include_usage) { /* OpenAI's usage chunk: empty choices */
                    RF__TEXT_LIT(&c->out, "data: ");
                    rf__resp_head(&c->out, j, 1);
                    RF__TEXT_LIT(&c->out, "\"choices\":[],");
                    rf__usage_json(&c->out, &j->res);
                    RF__TEXT_LIT(&c->out, "}\n\n");
                }
            } else {
                RF__TEXT_LIT(&c->out, "data: {\"error\":{\"message\":");
                rf__text_json(&c->out, msg, strlen(msg));
                rf__text_printf(&c->out, ",\"type\":\"server_error\",\"code\":%d}}\n\n", status);
            }
            RF__TEXT_LIT(&c->out, "data: [DONE]\n\n");
        } else if (status == 200) {
            rf__text b;
            memset(&b, 0, sizeof b);
            rf__completion_json(&b, j);
            rf__http_respond(c, 200, "application/json", b.p ? b.p : "", b.n, "", !c->close_after);
            RF_FREE(b.p);
        } else {
            rf__http_error(c, status, status >= 500 ? "server_error" : "invalid_request_error", NULL, msg, !c->close_after);
        }
        c->job = NULL;
        rf__conn_consume(c);
    }
    rf__job_free(j);
}

/* A free slot for a job: the one whose cached prompt shares the longest prefix with it. */
static int rf__pick_slot(rf__server *S, const rf__job *j) {
    int i, best = -1;
    size_t best_len = 0;
    for (i = 0; i < S->n_slots; i++) {
        size_t k = 0, n;
        if (S->slots[i].job) continue;
        n = RF__MIN(S->slots[i].last_len, j->prompt_len);
        while (k < n && S->slots[i].last_prompt[k] == j->prompt[k]) k++;
        if (best < 0 || k > best_len) best = i, best_len = k;
    }
    return best;
}

/* Move queued jobs onto free slots. */
static void rf__dispatch(rf__server *S) {
    while (S->queue_head) {
        rf__job *j = S->queue_head;
        int slot = rf__pick_slot(S, j), st;
        if (slot < 0) return;
        S->queue_head = j->next;
        if (!S->queue_head) S->queue_tail = NULL;
        S->queue_len--;
        j->next = NULL;
        if ((st = rf__job_start(S, j, slot)) != 0) rf__job_finish(S, j, st, rf_last_error());
    }
}

/* The shared KV pool is empty: idle slots give back their caches (losing their prefix for reuse).
   1 if that freed anything. */
static int rf__kv_make_room(rf__server *S) {
    int i, freed = 0;
    for (i = 0; i < S->n_slots; i++) {
        rf__slot *sl = &S->slots[i];
        if (sl->job || rf_ctx_kv_bytes(sl->ctx) == 0) continue;
        rf_ctx_truncate(sl->ctx, 0);
        sl->last_len = 0;
        freed = 1;
    }
    return freed;
}

/* One round: every busy slot advances by one step. A slot still to prefill runs its prompt alone
   (a prompt is a batch already); the others sample their next token, and those tokens are decoded
   together, one row per slot (rf_ctx_decode_batch: the weights are read once per round for all
   of them). A slot whose cache cannot grow because the KV pool is empty gets room from idle
   slots; failing that, a generation ends with finish_reason "length", a prefill with 503. */
static void rf__slots_step(rf__server *S) {
    int i, n = 0;
    rf_status s;
    for (i = 0; i < S->n_slots; i++) {
        rf__slot *sl = &S->slots[i];
        int32_t next = -1;
        if (!sl->job) continue;
        if (!rf_gen_prefilled(sl->gen)) {
            s = rf_gen_step(sl->gen);
            if (s == RF_ERR_OOM && rf__kv_make_room(S)) s = rf_gen_step(sl->gen);
            if (s != RF_OK) rf__job_finish(S, sl->job, s == RF_ERR_OOM ? 503 : 500, rf_last_error());
            continue;
        }
        s = rf_gen_sample(sl->gen, &next);
        if (s == RF_OK && next >= 0) {
            s = rf_ctx_reserve(sl->ctx, rf_ctx_pos(sl->ctx) + 1);
            if (s == RF_ERR_OOM && rf__kv_make_room(S)) s = rf_ctx_reserve(sl->ctx, rf_ctx_pos(sl->ctx) + 1);
            if (s == RF_ERR_OOM) {
                rf_gen_stop(sl->gen, RF_STOP_LENGTH);
                s = RF_OK;
            } else if (s == RF_OK) {
                S->batch_ctx[n] = sl->ctx;
                S->batch_tok[n] = next;
                S->batch_slot[n++] = i;
            }
        }
        if (s != RF_OK) rf__job_finish(S, sl->job, 500, rf_last_error());
        else if (rf_gen_result_of(sl->gen)->stop != RF_STOP_NONE) rf__job_finish(S, sl->job, 200, "");
    }
    if (n == 0) return;
    s = rf_ctx_decode_batch(S->batch_ctx, S->batch_tok, n);
    S->met.n_batches++;
    S->met.batch_rows += (uint64_t)n;
    if (s != RF_OK)
        for (i = 0; i < n; i++) rf__job_finish(S, S->slots[S->batch_slot[i]].job, 500, rf_last_error());
}

/* The client is gone: a queued job leaves the queue, a running one frees its slot now. */
static void rf__job_cancel(rf__server *S, rf__job *j) {
    j->conn = NULL;
    if (j->slot < 0) {
        rf__job **pp = &S->queue_head, *prev = NULL;
        while (*pp && *pp != j) prev = *pp, pp = &(*pp)->next;
        if (*pp) {
            *pp = j->next;
            if (S->queue_tail == j) S->queue_tail = prev;
            S->queue_len--;
        }
    }
    rf__job_finish(S, j, 499, "the client closed the connection"); /* 499: nginx's "client closed request" */
}
