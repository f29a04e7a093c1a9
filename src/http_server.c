/* Routing, /metrics, /traces, the poll loop and rf_server_run. */

/* Prometheus text exposition. Names follow llama-server's (llamacpp:prompt_tokens_total, ...)
   under our prefix, so its dashboards need only the prefix changed. */
static void rf__api_metrics(rf__server *S, rf__conn *c, int keep) {
    rf__text b;
    const rf__metrics *m = &S->met;
    int i, busy = 0;
    long long kv = 0, kv_cap = 0;
    rf_kv_pool_stats ks = rf_kv_pool_stats_of(S->kv);
    uint64_t cum = 0;
    for (i = 0; i < S->n_slots; i++) {
        busy += S->slots[i].job != NULL;
        if (S->slots[i].ctx) kv += rf_ctx_pos(S->slots[i].ctx), kv_cap += rf_ctx_n_ctx(S->slots[i].ctx);
    }
    memset(&b, 0, sizeof b);
#define RF__M(type, name, help, fmt, v) rf__text_printf(&b, "# HELP rocmforge:" name " " help "\n# TYPE rocmforge:" name " " type "\nrocmforge:" name " " fmt "\n", v)
    RF__M("counter", "requests_total", "Generation requests answered.", "%llu", (unsigned long long)(m->requests_ok + m->requests_failed));
    RF__M("counter", "requests_failed_total", "Generation requests that ended in an error or a disconnect.", "%llu", (unsigned long long)m->requests_failed);
    RF__M("counter", "requests_rejected_total", "Requests refused with 503 because the queue was full.", "%llu", (unsigned long long)m->rejected_busy);
    RF__M("counter", "prompt_tokens_total", "Prompt tokens processed.", "%llu", (unsigned long long)m->prompt_tokens);
    RF__M("counter", "prompt_tokens_cached_total", "Prompt tokens reused from a slot's cache.", "%llu", (unsigned long long)m->prompt_reused);
    RF__M("counter", "prompt_seconds_total", "Prefill time.", "%.6f", m->prompt_s);
    RF__M("counter", "tokens_predicted_total", "Generated tokens.", "%llu", (unsigned long long)m->gen_tokens);
    RF__M("counter", "tokens_predicted_seconds_total", "Generation time, summed over slots.", "%.6f", m->gen_s);
    RF__M("counter", "n_decode_total", "Decode steps.", "%llu", (unsigned long long)m->n_decode);
    RF__M("gauge", "prompt_tokens_seconds", "Average prefill throughput in tokens/s.", "%.3f", m->prompt_s > 0 ? (double)(m->prompt_tokens - m->prompt_reused) / m->prompt_s : 0.0);
    RF__M("gauge", "predicted_tokens_seconds", "Average generation throughput per slot in tokens/s.", "%.3f", m->gen_s > 0 ? (double)m->gen_tokens / m->gen_s : 0.0);
    RF__M("gauge", "requests_processing", "Slots busy.", "%d", busy);
    RF__M("gauge", "requests_deferred", "Requests waiting in the queue.", "%d", S->queue_len);
    RF__M("gauge", "slots_total", "Slots.", "%d", S->n_slots);
    RF__M("gauge", "kv_cache_tokens", "Positions held in the slots' KV caches.", "%lld", kv);
    RF__M("gauge", "kv_cache_usage_ratio", "KV cache use: positions held / positions available.", "%.6f", kv_cap ? (double)kv / (double)kv_cap : 0.0);
    RF__M("gauge", "kv_cache_bytes", "KV cache the slots hold now (pages of the shared pool).", "%lld", (long long)ks.pages_used * ks.page_bytes);
    RF__M("gauge", "kv_cache_bytes_allocated", "KV cache memory allocated: the pool's high-water mark.", "%lld", (long long)ks.pages_allocated * ks.page_bytes);
    RF__M("gauge", "kv_cache_bytes_capacity", "The pool's budget (--kv-size positions).", "%lld", (long long)ks.pages_total * ks.page_bytes);
    RF__M("gauge", "kv_cache_bytes_full_contexts", "What every slot reserving its whole context would take.", "%lld", ks.page_positions ? kv_cap * (ks.page_bytes / ks.page_positions) : 0);
    RF__M("counter", "decode_batches_total", "Batched decode steps (one forward pass for every decoding slot).", "%llu", (unsigned long long)m->n_batches);
    RF__M("counter", "decode_batch_rows_total", "Tokens decoded in those batches.", "%llu", (unsigned long long)m->batch_rows);
    RF__M("gauge", "connections", "Open connections.", "%d", S->net.n_conns);
    RF__M("gauge", "ready", "1 once the model is loaded.", "%d", S->ready);
#undef RF__M
    rf__text_printf(&b, "# HELP rocmforge:time_to_first_token_seconds From arrival to the first streamed text.\n"
                        "# TYPE rocmforge:time_to_first_token_seconds histogram\n");
    for (i = 0; i <= RF__N_TTFT; i++) {
        cum += m->ttft_buckets[i];
        if (i < RF__N_TTFT) rf__text_printf(&b, "rocmforge:time_to_first_token_seconds_bucket{le=\"%g\"} %llu\n", rf__ttft_bounds[i], (unsigned long long)cum);
        else rf__text_printf(&b, "rocmforge:time_to_first_token_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    rf__text_printf(&b, "rocmforge:time_to_first_token_seconds_sum %.6f\nrocmforge:time_to_first_token_seconds_count %llu\n", m->ttft_sum,
                    (unsigned long long)m->ttft_count);
    rf__http_respond(c, 200, "text/plain; version=0.0.4", b.p ? b.p : "", b.n, "", keep);
    RF_FREE(b.p);
}

/* The last requests as spans with OpenTelemetry's field names (OTLP/JSON: traceId, spanId,
   startTimeUnixNano, events, attributes with gen_ai.* semantic conventions), newest first. */
static void rf__api_traces(rf__server *S, rf__conn *c, int keep) {
    rf__text b;
    int k;
    memset(&b, 0, sizeof b);
    RF__TEXT_LIT(&b, "{\"spans\":[");
    for (k = 0; k < S->trace_count; k++) {
        const rf__trace *t = &S->traces[(S->trace_next - 1 - k + 2 * S->n_traces) % S->n_traces];
        long long t0 = t->wall_ns, q = t0 + (long long)(t->queued_s * 1e9), pf = q + (long long)(t->prefill_s * 1e9);
        rf__text_printf(&b, "%s{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":\"%s\",\"kind\":\"SPAN_KIND_SERVER\","
                            "\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\",",
                        k ? "," : "", t->trace_id, t->span_id, t->kind == RF__JOB_CHAT ? "chat" : "text_completion", t0,
                        t0 + (long long)(t->total_s * 1e9));
        rf__text_printf(&b, "\"attributes\":{\"gen_ai.operation.name\":\"%s\",\"gen_ai.request.model\":", t->kind == RF__JOB_CHAT ? "chat" : "text_completion");
        rf__text_json(&b, S->model_id, strlen(S->model_id));
        rf__text_printf(&b, ",\"gen_ai.usage.input_tokens\":%d,\"gen_ai.usage.output_tokens\":%d,\"gen_ai.response.finish_reasons\":[\"%s\"],"
                            "\"http.response.status_code\":%d,\"rocmforge.stream\":%s,\"rocmforge.prompt_tokens_cached\":%d,"
                            "\"rocmforge.queued_s\":%.6f,\"rocmforge.prefill_s\":%.6f,\"rocmforge.ttft_s\":%.6f,\"rocmforge.decode_s\":%.6f},",
                        t->res.n_prompt, t->res.n_gen, rf__finish_reason(t->res.stop), t->status, t->stream ? "true" : "false", t->res.n_reused,
                        t->queued_s, t->prefill_s, t->ttft_s, t->decode_s);
        rf__text_printf(&b, "\"events\":[{\"name\":\"queued\",\"timeUnixNano\":\"%lld\"}", t0);
        if (t->status == 200 || t->res.n_prompt) {
            rf__text_printf(&b, ",{\"name\":\"prefill\",\"timeUnixNano\":\"%lld\"}", q);
            if (t->ttft_s > 0) rf__text_printf(&b, ",{\"name\":\"first_token\",\"timeUnixNano\":\"%lld\"}", t0 + (long long)(t->ttft_s * 1e9));
            rf__text_printf(&b, ",{\"name\":\"decode\",\"timeUnixNano\":\"%lld\"}", pf);
        }
        rf__text_printf(&b, ",{\"name\":\"finish\",\"timeUnixNano\":\"%lld\"}],\"status\":{\"code\":\"%s\"}}",
                        t0 + (long long)(t->total_s * 1e9), t->status == 200 ? "STATUS_CODE_OK" : "STATUS_CODE_ERROR");
    }
    RF__TEXT_LIT(&b, "]}");
    rf__http_respond(c, 200, "application/json", b.p, b.n, "", keep);
    RF_FREE(b.p);
}

/* "Authorization: Bearer KEY". The key bytes are compared in constant time (every byte, OR of
   the differences): how long the check takes says nothing about how much of a guess was right. */
static int rf__auth_ok(const rf__server *S, const rf__http_req *r) {
    size_t n, i;
    unsigned diff = 0;
    if (!S->p.api_key || !*S->p.api_key) return 1;
    n = strlen(S->p.api_key);
    if (!r->auth || r->auth_len != 7 + n || !rf__ieq(r->auth, 7, "bearer ")) return 0;
    for (i = 0; i < n; i++) diff |= (unsigned)((unsigned char)r->auth[7 + i] ^ (unsigned char)S->p.api_key[i]);
    return diff == 0;
}

/* A complete request: answer it now, or hand it to a slot (c->job). */
static void rf__api_route(rf__server *S, rf__conn *c, const rf__http_req *r) {
    int keep = r->keep_alive && !S->draining, get = !strcmp(r->method, "GET"), post = !strcmp(r->method, "POST");
    int is_gen = !strcmp(r->path, "/v1/chat/completions") || !strcmp(r->path, "/v1/completions") ||
                 !strcmp(r->path, "/chat/completions") || !strcmp(r->path, "/completions");
    int known = is_gen || !strcmp(r->path, "/v1/models") || !strcmp(r->path, "/models") || !strcmp(r->path, "/tokenize") ||
                !strcmp(r->path, "/detokenize") || !strcmp(r->path, "/health") || !strcmp(r->path, "/ready") ||
                !strcmp(r->path, "/metrics") || !strcmp(r->path, "/traces");
    int wants_post = is_gen || !strcmp(r->path, "/tokenize") || !strcmp(r->path, "/detokenize");
    rf_json *j = NULL;
    rf_json_limits lim;
    if (!known) { rf__http_error(c, 404, "invalid_request_error", NULL, "no such endpoint", keep); return; }
    if (wants_post ? !post : !get) { rf__http_error(c, 405, "invalid_request_error", NULL, wants_post ? "use POST" : "use GET", keep); return; }
    if (!strcmp(r->path, "/health")) { rf__http_respond(c, 200, "application/json", "{\"status\":\"ok\"}", 15, "", keep); return; }
    if (!strcmp(r->path, "/ready")) {
        if (!S->ready) rf__http_error(c, 503, "server_error", NULL, "loading the model", keep);
        else if (S->draining || S->queue_len >= S->p.max_queue) rf__http_error(c, 503, "server_error", NULL, "busy: the queue is full", keep);
        else rf__http_respond(c, 200, "application/json", "{\"status\":\"ready\"}", 18, "", keep);
        return;
    }
    if (!rf__auth_ok(S, r)) { rf__http_error(c, 401, "invalid_request_error", NULL, "a valid API key is needed (Authorization: Bearer ...)", keep); return; }
    if (!strcmp(r->path, "/metrics")) { rf__api_metrics(S, c, keep); return; }
    if (!strcmp(r->path, "/traces")) { rf__api_traces(S, c, keep); return; }
    if (!S->ready) { rf__http_error(c, 503, "server_error", NULL, "loading the model", keep); return; }
    if (S->draining && is_gen) { rf__http_error(c, 503, "server_error", NULL, "the server is shutting down", 0); return; }
    if (get) { /* /v1/models */
        rf__text b;
        memset(&b, 0, sizeof b);
        RF__TEXT_LIT(&b, "{\"object\":\"list\",\"data\":[{\"id\":");
        rf__text_json(&b, S->model_id, strlen(S->model_id));
        rf__text_printf(&b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"rocmforge\"}]}", (long long)S->started);
        rf__http_respond(c, 200, "application/json", b.p, b.n, "", keep);
        RF_FREE(b.p);
        return;
    }
    lim = rf_json_default_limits();
    lim.max_depth = S->p.max_json_depth;
    if (rf_json_parse(r->body, r->body_len, &lim, &j) != RF_OK) {
        rf__http_error(c, 400, "invalid_request_error", NULL, rf_last_error(), keep);
        return;
    }
    if (!strcmp(r->path, "/tokenize")) rf__api_tokenize(S->model, c, j, keep);
    else if (!strcmp(r->path, "/detokenize")) rf__api_detokenize(S->model, c, j, keep);
    else {
        rf__job *job = RF__NEWZ(rf__job, 1);
        rf__bad bad;
        int slot;
        memset(&bad, 0, sizeof bad);
        if (!job) {
            rf__http_error(c, 500, "server_error", NULL, "out of memory", keep);
        } else if (!rf__job_parse(S->model, j, strstr(r->path, "chat") ? RF__JOB_CHAT : RF__JOB_COMPLETION, S->p.default_max_tokens, rf__rand(S), job, &bad)) {
            rf__http_error(c, 400, "invalid_request_error", bad.param, bad.msg, keep);
            rf__job_free(job);
        } else if ((slot = rf__pick_slot(S, job)) < 0 && S->queue_len >= S->p.max_queue) {
            S->met.rejected_busy++;
            rf__http_error(c, 503, "server_error", NULL, "busy: every slot is working and the queue is full; retry", keep);
            rf__job_free(job);
        } else {
            job->conn = c;
            job->model = S->model_id;
            job->t_queued = rf__now();
            job->wall_ns = rf__wall_ns();
            job->created = (long long)time(NULL);
            snprintf(job->id, sizeof job->id, "%s-%llx", job->kind == RF__JOB_CHAT ? "chatcmpl" : "cmpl", (unsigned long long)rf__rand(S));
            if (!keep) c->close_after = 1;
            c->job = job;
            S->met.requests++;
            if (S->queue_tail) S->queue_tail->next = job;
            else S->queue_head = job;
            S->queue_tail = job;
            S->queue_len++;
            rf__dispatch(S);
        }
    }
    rf_json_free(j);
}

static void rf__api_request(rf__server *S, rf__conn *c, const rf__http_req *r) {
    rf__api_route(S, c, r);
    if (!c->job) rf__conn_consume(c); /* answered now: the next pipelined request may follow */
}

static void rf__net_close(rf__server *S, int i) {
    rf__conn *c = S->net.conns[i];
    if (c->job) rf__job_cancel(S, c->job);
    rf__conn_free(c);
    S->net.conns[i] = S->net.conns[--S->net.n_conns];
}

/* One pass over the sockets: wait up to timeout_ms, accept, read, answer, write, expire. */
static void rf__net_poll(rf__server *S, int timeout_ms) {
    rf__net *n = &S->net;
    int i, np = 0, has_listen = n->listen_fd >= 0;
    double now;
    if (has_listen) {
        n->pfds[np].fd = n->listen_fd;
        n->pfds[np].events = POLLIN;
        n->pfds[np++].revents = 0;
    }
    for (i = 0; i < n->n_conns; i++) {
        rf__conn *c = n->conns[i];
        n->pfds[np].fd = c->fd;
        n->pfds[np].events = (short)((c->eof ? 0 : POLLIN) | (c->out.n > c->out_off ? POLLOUT : 0));
        n->pfds[np++].revents = 0;
    }
    if (poll(n->pfds, (nfds_t)np, timeout_ms) < 0 && errno != EINTR) return;
    now = rf__now();
    for (i = n->n_conns - 1; i >= 0; i--) { /* backwards: closing moves the last one here */
        rf__conn *c = n->conns[i];
        struct pollfd *pf = &n->pfds[i + has_listen];
        const char *why;
        rf__http_req req;
        int st;
        if (pf->fd == c->fd && (pf->revents & (POLLIN | POLLHUP | POLLERR))) rf__conn_read(c, &n->lim);
        /* a client that leaves (or half-closes) mid-request is gone: free its slot now */
        if (c->eof && c->job) {
            rf__net_close(S, i);
            continue;
        }
        while (!c->job && !c->close_after && (st = rf__http_parse(c, &n->lim, &req, &why)) != 0) {
            if (st == 1) {
                rf__api_request(S, c, &req);
            } else {
                rf__http_error(c, st, "invalid_request_error", NULL, why, 0); /* the stream is out of step: close */
                c->in.n = 0;
            }
        }
        if (rf__conn_flush(c) < 0) {
            rf__net_close(S, i);
            continue;
        }
        if (!c->job && c->out.n == c->out_off) {
            int mid = c->in.n > 0 || c->t_first > 0;
            if (c->close_after || (c->eof && !mid) || (c->eof && mid)) {
                if (c->eof && mid && !c->close_after) { /* half a request, then the client stopped sending */
                    rf__http_error(c, 400, "invalid_request_error", NULL, "the connection closed before the request was complete", 0);
                    c->in.n = 0;
                    rf__conn_flush(c);
                }
                rf__net_close(S, i);
                continue;
            }
            if (c->in.n > 0 && now - c->t_first > n->lim.request_timeout) {
                rf__http_error(c, 408, "invalid_request_error", NULL, "the request did not arrive in time", 0);
                c->in.n = 0;
                rf__conn_flush(c);
                rf__net_close(S, i);
                continue;
            }
            if (c->in.n == 0 && now - c->t_last > n->lim.idle_timeout) {
                rf__net_close(S, i);
                continue;
            }
        }
    }
    if (has_listen && (n->pfds[0].revents & POLLIN)) rf__net_accept(n);
}

/* The model, the KV pool the slots share and the slots' contexts. The pool holds kv_size
   positions [n_parallel x n_ctx: every slot can fill its context], but its pages are allocated only
   as slots first use them, so the memory follows the positions in use (/metrics: kv_cache_bytes). */
static rf_status rf__server_load(rf__server *S) {
    rf_model_params mp;
    rf_ctx_params cp = S->p.ctx;
    rf_status s;
    int64_t n_ctx, kv_size;
    int i;
    memset(&mp, 0, sizeof mp);
    mp.log = S->p.log;
    if ((s = rf_model_load(S->p.model_path, &mp, &S->model)) != RF_OK) return s;
    n_ctx = cp.n_ctx > 0 ? cp.n_ctx : RF__MIN(rf_model_n_ctx_train(S->model), 4096); /* rf_ctx_new's default */
    kv_size = S->p.kv_size > 0 ? S->p.kv_size : n_ctx * S->n_slots;
    if ((s = rf_kv_pool_new(S->model, cp.kv_type, kv_size, &S->kv)) != RF_OK) return s;
    cp.kv_pool = S->kv;
    for (i = 0; s == RF_OK && i < S->n_slots; i++) s = rf_ctx_new(S->model, &cp, &S->slots[i].ctx);
    return s;
}

#ifndef RF_NO_THREADS
typedef struct rf__loader {
    rf__server *S;
    pthread_mutex_t mu;
    int done;        /* 1: loaded, -1: failed */
    rf_status status;
    char err[512];
} rf__loader;

static void *rf__load_thread(void *arg) {
    rf__loader *L = (rf__loader *)arg;
    rf__server *S = L->S;
    rf_status s = rf__server_load(S);
    pthread_mutex_lock(&L->mu);
    L->status = s;
    if (s != RF_OK) snprintf(L->err, sizeof L->err, "%s", rf_last_error());
    L->done = s == RF_OK ? 1 : -1;
    pthread_mutex_unlock(&L->mu);
    return NULL;
}
#endif

static void rf__server_free(rf__server *S) {
    int i;
    while (S->net.n_conns > 0) rf__net_close(S, S->net.n_conns - 1);
    while (S->queue_head) rf__job_cancel(S, S->queue_head);
    for (i = 0; S->slots && i < S->n_slots; i++) {
        if (S->slots[i].job) rf__job_finish(S, S->slots[i].job, 503, "shutting down");
        rf_ctx_free(S->slots[i].ctx);
        RF_FREE(S->slots[i].last_prompt);
    }
    rf_kv_pool_free(S->kv); /* after the contexts that took pages from it */
    if (S->net.listen_fd >= 0) close(S->net.listen_fd);
    RF_FREE(S->slots);
    RF_FREE(S->batch_ctx);
    RF_FREE(S->batch_tok);
    RF_FREE(S->batch_slot);
    RF_FREE(S->traces);
    RF_FREE(S->net.conns);
    RF_FREE(S->net.pfds);
    rf_model_free(S->model);
}

static int rf__any_busy(const rf__server *S) {
    int i;
    for (i = 0; i < S->n_slots; i++)
        if (S->slots[i].job) return 1;
    return S->queue_head != NULL;
}

RF_API rf_status rf_server_run(const rf_server_params *params, const volatile sig_atomic_t *stop) {
    rf__server S;
    rf_status s;
    const char *base;
    double drain_until = 0;
    int i;
#ifndef RF_NO_THREADS
    rf__loader L;
    pthread_t th;
    int joined = 0;
#endif
    if (!params || !params->model_path) return rf__err(RF_ERR_INVALID_ARG, "rf_server_run: no model path");
    memset(&S, 0, sizeof S);
    S.p = *params;
    S.net.listen_fd = -1;
    if (!S.p.host) S.p.host = "127.0.0.1";
    if (S.p.port <= 0) S.p.port = 8080;
    if (S.p.n_parallel <= 0) S.p.n_parallel = 1;
    if (S.p.max_queue <= 0) S.p.max_queue = 4 * S.p.n_parallel;
    if (S.p.max_conns <= 0) S.p.max_conns = 256;
    if (!S.p.max_header) S.p.max_header = 16384;
    if (!S.p.max_body) S.p.max_body = 1 << 20;
    if (S.p.max_json_depth <= 0) S.p.max_json_depth = 64;
    if (S.p.request_timeout_s <= 0) S.p.request_timeout_s = 30;
    if (S.p.idle_timeout_s <= 0) S.p.idle_timeout_s = 60;
    if (S.p.drain_timeout_s <= 0) S.p.drain_timeout_s = 5;
    if (S.p.n_traces <= 0) S.p.n_traces = 64;
    base = strrchr(S.p.model_path, '/');
    S.model_id = S.p.model_id ? S.p.model_id : base ? base + 1 : S.p.model_path;
    S.net.lim.max_header = S.p.max_header;
    S.net.lim.max_body = S.p.max_body;
    S.net.lim.max_conns = S.p.max_conns;
    S.net.lim.request_timeout = S.p.request_timeout_s;
    S.net.lim.idle_timeout = S.p.idle_timeout_s;
    S.n_slots = S.p.n_parallel;
    S.n_traces = S.p.n_traces;
    S.rng = (uint64_t)rf__wall_ns() ^ ((uint64_t)getpid() << 32);
    S.started = (double)time(NULL);
    S.slots = RF__NEWZ(rf__slot, S.n_slots);
    S.batch_ctx = RF__NEWZ(rf_ctx *, S.n_slots);
    S.batch_tok = RF__NEWZ(int32_t, S.n_slots);
    S.batch_slot = RF__NEWZ(int, S.n_slots);
    S.traces = RF__NEWZ(rf__trace, S.n_traces);
    S.net.conns = RF__NEWZ(rf__conn *, S.p.max_conns);
    S.net.pfds = RF__NEWZ(struct pollfd, S.p.max_conns + 1);
    if (!S.slots || !S.batch_ctx || !S.batch_tok || !S.batch_slot || !S.traces || !S.net.conns || !S.net.pfds) {
        rf__server_free(&S);
        return rf__err(RF_ERR_OOM, "serve: out of memory");
    }
    if ((s = rf__net_listen(&S.net, S.p.host, S.p.port)) != RF_OK) {
        rf__server_free(&S);
        return s;
    }
    rf__log(S.p.log, RF_LOG_INFO, "listening on http://%s:%d (%d slots, model %s)", S.p.host, S.p.port, S.n_slots, S.p.model_path);
#ifndef RF_NO_THREADS
    memset(&L, 0, sizeof L);
    L.S = &S;
    pthread_mutex_init(&L.mu, NULL);
    if (pthread_create(&th, NULL, rf__load_thread, &L) != 0) {
        pthread_mutex_destroy(&L.mu);
        rf__server_free(&S);
        return rf__err(RF_ERR_OOM, "serve: cannot start the loader thread");
    }
#else
    {
        s = rf__server_load(&S);
        if (s != RF_OK) {
            rf__server_free(&S);
            return s;
        }
        S.ready = 1;
    }
#endif
    s = RF_OK;
    for (;;) {
#ifndef RF_NO_THREADS
        if (!joined) {
            int done;
            pthread_mutex_lock(&L.mu);
            done = L.done;
            pthread_mutex_unlock(&L.mu);
            if (done) {
                pthread_join(th, NULL);
                pthread_mutex_destroy(&L.mu);
                joined = 1;
                if (done < 0) {
                    s = rf__err(L.status, "%s", L.err);
                    break;
                }
                S.ready = 1;
                rf__log(S.p.log, RF_LOG_INFO, "model loaded: ready");
            }
        }
#endif
        if (*stop && !S.draining) { /* stop taking work; the queue is told to go elsewhere */
            S.draining = 1;
            drain_until = rf__now() + S.p.drain_timeout_s;
            close(S.net.listen_fd);
            S.net.listen_fd = -1;
            while (S.queue_head) {
                rf__job *j = S.queue_head;
                S.queue_head = j->next;
                S.queue_len--;
                j->next = NULL;
                rf__job_finish(&S, j, 503, "the server is shutting down");
            }
            S.queue_tail = NULL;
        }
        if (S.draining && (!rf__any_busy(&S) || rf__now() > drain_until)) break;
        rf__net_poll(&S, rf__any_busy(&S) ? 0 : 50);
        if (S.ready) {
            rf__slots_step(&S);
            rf__dispatch(&S);
        }
    }
#ifndef RF_NO_THREADS
    if (!joined) { /* stopped while loading: let the load finish, then free it */
        pthread_join(th, NULL);
        pthread_mutex_destroy(&L.mu);
    }
#endif
    /* cancel what is still running (its stream gets a final event), then give writes a moment */
    for (i = 0; i < S.n_slots; i++)
        if (S.slots[i].job) rf__job_finish(&S, S.slots[i].job, 503, "the server is shutting down");
    for (i = 0; i < 20 && S.net.n_conns > 0; i++) {
        int k, pending = 0;
        for (k = 0; k < S.net.n_conns; k++) pending |= S.net.conns[k]->out.n > S.net.conns[k]->out_off;
        if (!pending) break;
        rf__net_poll(&S, 50);
    }
    rf__server_free(&S);
    rf__log(params->log, RF_LOG_INFO, "server stopped");
    return s;
}
