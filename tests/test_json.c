/* The JSON reader and writer, alone. Expected values come from RFC 8259 (grammar), RFC 3629
   (well-formed UTF-8) and the JSONTestSuite's y_/n_ cases (Nicolas Seriot's "Parsing JSON is a
   Minefield"), written out by hand here. */
#include "rocmforge.h"
#include "rf_test.h"

static int parses(const char *text) {
    rf_json *j = NULL;
    rf_status s = rf_json_parse(text, strlen(text), NULL, &j);
    rf_json_free(j);
    return s == RF_OK;
}

static void test_accepts_rfc8259_documents(void) {
    static const char *ok[] = {"0", "-0", "1.5e3", "-12.25E-2", "\"\"", "true", "false", "null", "[]", "{}", " [1 , [2,[]] ] ",
                               "{\"a\":{\"b\":[null,true]}}", "\"\\u00e9\\ud83d\\ude00\"", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
                               "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""};
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) CHECKF(parses(ok[i]), "%s: %s", ok[i], rf_last_error());
}

static void test_rejects_what_rfc8259_forbids(void) {
    /* JSONTestSuite n_ cases: leading zeros, trailing commas, single quotes, bare words, NaN,
       unescaped control characters, lone surrogates, truncated input, two documents */
    static const char *bad[] = {"", " ", "01", "1.", ".5", "-", "1e", "+1", "[1,]", "{\"a\":1,}", "{'a':1}", "[1 2]",
                                "{\"a\" 1}", "{1:2}", "nul", "truex", "NaN", "Infinity", "\"a\tb\"", "\"\\x\"",
                                "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u00\"", "\"abc", "[1", "{\"a\":",
                                "[] []", "\"\\u0000\"", "[\"a\",,]"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECKF(!parses(bad[i]), "accepted %s", bad[i]);
}

static void test_rejects_invalid_utf8(void) {
    /* RFC 3629 section 4: overlong forms, surrogates (ED A0..BF), > U+10FFFF, stray continuation */
    static const char *bad[] = {"\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\x80\"",
                                "\"\xc3\"", "\"\xff\""};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECKF(!parses(bad[i]), "accepted bad UTF-8 case %zu", i);
}

static void test_decodes_escapes_and_surrogate_pairs(void) {
    rf_json *j = NULL;
    const char *t = "[\"a\\u00e9\\ud83d\\ude00\\n\", 2.5, -7, {\"k\":\"v\",\"k\":\"w\"}]";
    size_t len = 0;
    const char *s;
    REQUIRE(rf_json_parse(t, strlen(t), NULL, &j) == RF_OK);
    CHECK(rf_json_type_of(j, 0) == RF_JSON_ARRAY && rf_json_len(j, 0) == 4);
    s = rf_json_str(j, rf_json_at(j, 0, 0), &len);
    /* U+00E9 is C3 A9, U+1F600 is F0 9F 98 80 (RFC 3629 encoding of the surrogate pair D83D DE00) */
    CHECK(s && len == 8 && !memcmp(s, "a\xc3\xa9\xf0\x9f\x98\x80\n", 8));
    CHECK(rf_json_num(j, rf_json_at(j, 0, 1)) == 2.5 && rf_json_num(j, rf_json_at(j, 0, 2)) == -7);
    CHECK(rf_json_len(j, rf_json_at(j, 0, 3)) == 2);
    CHECK(!strcmp(rf_json_key(j, rf_json_at(j, 0, 3), 1), "k"));
    CHECK(!strcmp(rf_json_str(j, rf_json_get(j, rf_json_at(j, 0, 3), "k"), NULL), "w")); /* last duplicate wins */
    CHECK(rf_json_get(j, rf_json_at(j, 0, 3), "absent") == -1);
    CHECK(rf_json_type_of(j, rf_json_at(j, 0, 9)) == RF_JSON_NONE && rf_json_str(j, -1, NULL) == NULL);
    rf_json_free(j);
}

static void test_nested_siblings_are_found(void) {
    rf_json *j = NULL;
    const char *t = "{\"a\":[1,[2,3],{\"x\":[]}],\"b\":{\"c\":{}},\"d\":\"e\"}";
    int32_t a;
    REQUIRE(rf_json_parse(t, strlen(t), NULL, &j) == RF_OK);
    a = rf_json_get(j, 0, "a");
    CHECK(rf_json_len(j, a) == 3);
    CHECK(rf_json_num(j, rf_json_at(j, rf_json_at(j, a, 1), 1)) == 3);
    CHECK(rf_json_type_of(j, rf_json_get(j, rf_json_at(j, a, 2), "x")) == RF_JSON_ARRAY);
    CHECK(rf_json_type_of(j, rf_json_get(j, rf_json_get(j, 0, "b"), "c")) == RF_JSON_OBJECT);
    CHECK(!strcmp(rf_json_str(j, rf_json_get(j, 0, "d"), NULL), "e"));
    rf_json_free(j);
}

static void test_limits_are_errors_not_crashes(void) {
    rf_json_limits lim = rf_json_default_limits();
    rf_json *j = NULL;
    char deep[2001];
    int i;
    for (i = 0; i < 1000; i++) deep[i] = '[', deep[1000 + i] = ']';
    deep[2000] = 0;
    CHECK(rf_json_parse(deep, 2000, NULL, &j) == RF_ERR_TOO_LARGE && j == NULL);
    lim.max_depth = 1000; /* capped at 256 internally: still an error, never a stack overflow */
    CHECK(rf_json_parse(deep, 2000, &lim, &j) == RF_ERR_TOO_LARGE);
    lim = rf_json_default_limits();
    lim.max_nodes = 3;
    CHECK(rf_json_parse("[1,2,3]", 7, &lim, &j) == RF_ERR_TOO_LARGE);
    CHECK(rf_json_parse("[1,2]", 5, &lim, &j) == RF_OK);
    rf_json_free(j);
    lim = rf_json_default_limits();
    lim.max_string = 4;
    CHECK(rf_json_parse("\"abcdefgh\"", 10, &lim, &j) == RF_ERR_TOO_LARGE);
    CHECK(rf_json_parse("[1]", 2, NULL, &j) == RF_ERR_BAD_STRING); /* truncated by length, not NUL */
}

static void test_escape_round_trips(void) {
    const char in[] = "q\"b\\s/\x01\n\t\xc3\xa9\xf0\x9f\x98\x80\xff";
    char buf[128];
    size_t n = 0, len = 0;
    rf_json *j = NULL;
    const char *s;
    REQUIRE(rf_json_escape(in, sizeof in - 1, buf, sizeof buf, &n) == RF_OK);
    REQUIRE(rf_json_parse(buf, n, NULL, &j) == RF_OK);
    s = rf_json_str(j, 0, &len);
    /* the invalid byte FF comes back as U+FFFD (EF BF BD); everything else unchanged */
    CHECK(s && len == sizeof in - 2 + 3 && !memcmp(s, in, sizeof in - 2) && !memcmp(s + len - 3, "\xef\xbf\xbd", 3));
    rf_json_free(j);
    CHECK(rf_json_escape("abc", 3, buf, 3, &n) == RF_ERR_TOO_LARGE && n == 5);
}

/* Walking every element is linear: rf_json_at once walked i siblings, so /detokenize on a 1 MiB
   body of [0,0,0,...] (524288 elements) made 1.4e11 jumps and held the server for minutes. */
static void test_walking_a_large_array_is_linear(void) {
    size_t n = 1 << 19, i;
    char *text = (char *)malloc(2 * n + 1);
    rf_json *j = NULL;
    int32_t k, sum = 0;
    REQUIRE(text != NULL);
    for (i = 0; i < n; i++) text[2 * i] = ',', text[2 * i + 1] = '1';
    text[0] = '[';
    text[2 * n] = ']';
    REQUIRE(rf_json_parse(text, 2 * n + 1, NULL, &j) == RF_OK);
    CHECK(rf_json_len(j, 0) == (int32_t)n);
    for (k = 0; k < rf_json_len(j, 0); k++) sum += (int32_t)rf_json_num(j, rf_json_at(j, 0, k));
    CHECK(sum == (int32_t)n);
    rf_json_free(j);
    free(text);
}

int main(void) {
    RUN(test_accepts_rfc8259_documents);
    RUN(test_rejects_what_rfc8259_forbids);
    RUN(test_rejects_invalid_utf8);
    RUN(test_decodes_escapes_and_surrogate_pairs);
    RUN(test_nested_siblings_are_found);
    RUN(test_limits_are_errors_not_crashes);
    RUN(test_escape_round_trips);
    RUN(test_walking_a_large_array_is_linear);
    return TEST_EXIT();
}
