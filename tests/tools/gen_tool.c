/* gen_tool -- drives the forward pass from token ids, for the Python tests.

     gen_tool MODEL --ids 1,2,3 [-n 64] [--kv f16|q8_0|f32] [--ctx N] [--all-logits] [--prompt-logits]

   Prints one JSON object: "greedy" (n argmax continuations, each fed back), "last_prompt_logits"
   (all logits after the last prompt token), "step_logits" (with --all-logits: the logits at
   every generated step, interleaved after each step_top2 entry), "prompt_logits" (with
   --prompt-logits: the prompt is run one token at a time and the logits after each position are
   printed). No tokenizer involved: the ids
   come from the reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rocmforge.h"

static int argmax(const float *x, int n) {
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static void print_logits(const float *x, int n) {
    int i;
    printf("[");
    for (i = 0; i < n; i++) printf("%s%.6g", i ? "," : "", x[i]);
    printf("]");
}

int main(int argc, char **argv) {
    const char *path = NULL, *ids_arg = NULL;
    int n_gen = 0, all_logits = 0, prompt_logits = 0, i, n_ids = 0, nv;
    int32_t ids[4096];
    rf_model *m;
    rf_ctx *c;
    rf_ctx_params cp;
    rf_status s;
    memset(&cp, 0, sizeof cp);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_arg = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) n_gen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ctx") && i + 1 < argc) cp.n_ctx = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kv") && i + 1 < argc) {
            const char *k = argv[++i];
            cp.kv_type = !strcmp(k, "q8_0") ? RF_KV_Q8_0 : !strcmp(k, "f32") ? RF_KV_F32 : RF_KV_F16;
        }
        else if (!strcmp(argv[i], "--all-logits")) all_logits = 1;
        else if (!strcmp(argv[i], "--prompt-logits")) prompt_logits = 1;
        else path = argv[i];
    }
    if (!path || !ids_arg) {
        fprintf(stderr, "usage: gen_tool MODEL --ids 1,2,3 [-n 64] [--kv f16|q8_0|f32] [--ctx N] [--all-logits]\n");
        return 2;
    }
    for (const char *p = ids_arg; *p && n_ids < 4096;) {
        ids[n_ids++] = (int32_t)strtol(p, (char **)&p, 10);
        if (*p == ',') p++;
    }
    if ((s = rf_model_load(path, NULL, &m)) != RF_OK) {
        printf("{\"status\": \"%s\", \"error\": \"%s\"}\n", rf_status_str(s), rf_last_error());
        return 1;
    }
    if ((s = rf_ctx_new(m, &cp, &c)) != RF_OK) {
        printf("{\"status\": \"%s\", \"error\": \"%s\"}\n", rf_status_str(s), rf_last_error());
        rf_model_free(m);
        return 1;
    }
    nv = rf_model_n_vocab(m);
    printf("{\"status\": \"RF_OK\", ");
    if (prompt_logits) {
        printf("\"prompt_logits\": [");
        for (i = 0; i < n_ids && s == RF_OK; i++) {
            if ((s = rf_ctx_decode(c, &ids[i], 1)) != RF_OK) break;
            printf("%s", i ? "," : "");
            print_logits(rf_ctx_logits(c), nv);
        }
        printf("], ");
    } else {
        s = rf_ctx_decode(c, ids, n_ids);
    }
    if (s != RF_OK) {
        printf("\"error\": \"%s\"}\n", rf_last_error());
        rf_ctx_free(c);
        rf_model_free(m);
        return 1;
    }
    printf("\"last_prompt_logits\": ");
    print_logits(rf_ctx_logits(c), nv);
    /* greedy: each argmax fed back; per step the top two (id, logit) as in the reference's step_top2 */
    {
        int32_t *greedy = (int32_t *)malloc(sizeof(int32_t) * (size_t)(n_gen > 0 ? n_gen : 1));
        printf(", \"step_top2\": [");
        for (i = 0; i < n_gen && greedy; i++) {
            const float *lg = rf_ctx_logits(c);
            int32_t t = argmax(lg, nv), j, t2 = t == 0 ? 1 : 0;
            for (j = 0; j < nv; j++)
                if (j != t && lg[j] > lg[t2]) t2 = j;
            printf("%s[%d,%.6g,%d,%.6g]", i ? "," : "", t, lg[t], t2, lg[t2]);
            if (all_logits) {
                printf(",");
                print_logits(lg, nv);
            }
            greedy[i] = t;
            if (i + 1 < n_gen && (s = rf_ctx_decode(c, &t, 1)) != RF_OK) break;
        }
        printf("], \"greedy\": [");
        for (i = 0; i < n_gen && greedy; i++) printf("%s%d", i ? "," : "", greedy[i]);
        printf("]}\n");
        free(greedy);
    }
    rf_ctx_free(c);
    rf_model_free(m);
    return s == RF_OK ? 0 : 1;
}
