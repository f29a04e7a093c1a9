"""Chat templates: rf_chat_render must equal jinja2's render of the real template, byte for
byte, under Hugging Face's settings (transformers' apply_chat_template: an
ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, and a raise_exception
global). Templates and their sources: tests/data/chat_templates/SOURCES.md.

Needs jinja2 (pip install jinja2); skips without it."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

TMPL_DIR = os.path.join(rftest.ROOT, "tests", "data", "chat_templates")
TOOL = os.path.join(rftest.BUILD, "tools", "chat_tool")

# template file -> (detected format, conversations it must render exactly). "all" means every
# conversation below; a variant of a family renders like its family's canonical template only
# where the two templates agree, which the list says.
SYS = {"role": "system", "content": "You are a helpful assistant."}
U1 = {"role": "user", "content": "Hello!"}
A1 = {"role": "assistant", "content": "Hi there. How can I help?"}
U2 = {"role": "user", "content": "Line one\nline two\n\n  indented\ttab"}
A2 = {"role": "assistant", "content": "   padded reply   \n"}
U3 = {"role": "user", "content": "Ünïcödé ✓ 日本語 😀 and {{ not_a_var }} {% raw %} <|im_end|> [INST]"}
U_WS = {"role": "user", "content": "\u3000\u00a0 spaced \u2003\n"}  # Unicode spaces |trim strips
SYS_WS = {"role": "system", "content": "  sys with spaces  "}
U_EMPTY = {"role": "user", "content": ""}
SYS_EMPTY = {"role": "system", "content": ""}  # Phi-3.5 skips it; llama2 still opens <<SYS>>

CONVS = {
    "single": [U1],
    "system_user": [SYS, U1],
    "multi": [U1, A1, U2],
    "system_multi": [SYS, U1, A1, U2, A2, U3],
    "ends_assistant": [U1, A1],
    "unicode": [U3],
    "unicode_spaces": [SYS_WS, U_WS, A2, U_EMPTY],
    "empty_user": [U_EMPTY],
    "bad_order": [A1, U1],          # templates that check alternation raise
    "two_users": [SYS, U1, U2],
    "empty_system": [SYS_EMPTY, U1, A1, U2],
    "empty": [],
}
NO_SYS = ["single", "multi", "ends_assistant", "unicode", "empty_user", "bad_order", "empty"]

TEMPLATES = {
    "chatml_openhermes.jinja": ("chatml", "all"),
    "llama2_chat.jinja": ("llama2", "all"),
    "llama3_instruct.jinja": ("llama3", "all"),
    "mistral_v0.2.jinja": ("mistral", "all"),
    "mistral_v0.2_old.jinja": ("mistral", []),   # older v0.2 template: "[INST]" without the leading space
    "gemma3.jinja": ("gemma", "all"),
    "gemma2.jinja": ("gemma", NO_SYS),           # Gemma 2 raises on a system message; otherwise as Gemma 3
    "phi3.5_mini.jinja": ("phi3", "all"),
    "phi3_mini.jinja": ("phi3", []),             # Phi-3-mini: BOS first, no system turn
}

TOKENS = [("<s>", "</s>"), ("", "")]


def need_jinja():
    try:
        import jinja2  # noqa: F401
    except ImportError as e:
        raise rftest.Skip("%s (pip install jinja2)" % e)
    if not os.path.exists(TOOL):
        raise rftest.Skip("%s not built (make)" % TOOL)


def read_template(name):
    with open(os.path.join(TMPL_DIR, name), encoding="utf-8") as f:
        return f.read()


def jinja_render(src, messages, add_generation_prompt, bos, eos):
    """Hugging Face's render; returns (text, None) or (None, error message)."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    try:
        return env.from_string(src).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                           bos_token=bos, eos_token=eos), None
    except jinja2.exceptions.TemplateError as e:  # includes UndefinedError (messages[0] of [])
        return None, str(e)


def rf_render(fmt, messages, add_generation_prompt, bos, eos):
    stdin = b"".join(m["role"].encode() + b"\0" + m["content"].encode() + b"\0" for m in messages)
    r = subprocess.run([TOOL, "render", fmt, "1" if add_generation_prompt else "0", bos, eos],
                       input=stdin, capture_output=True, timeout=60)
    assert r.returncode in (0, 2), "chat_tool exit %d (3: buffer protocol broken): %r" % (r.returncode, r.stderr)
    if r.returncode == 2:
        return None, r.stderr.decode()
    return r.stdout.decode("utf-8"), None


def test_detect():
    need_jinja()
    for name, (fmt, _) in TEMPLATES.items():
        r = subprocess.run([TOOL, "detect"], input=read_template(name).encode(), capture_output=True, check=True)
        assert r.stdout.decode().strip() == fmt, "%s: detected %r, want %r" % (name, r.stdout, fmt)


def test_detect_unknown():
    need_jinja()
    unknown = [
        "",
        # a Vicuna-style template: none of the six families' markers
        "{% for m in messages %}{{ m['role'].upper() + ': ' + m['content'] + '\\n' }}{% endfor %}ASSISTANT:",
        # GLM spells <|user|> but never ends turns with <|end|>
        "{% for item in messages %}<|{{ item['role'] }}|>\\n{{ item['content'] }}{% endfor %}<|user|><|assistant|>",
    ]
    for src in unknown:
        r = subprocess.run([TOOL, "detect"], input=src.encode(), capture_output=True, check=True)
        assert r.stdout.decode().strip() == "unknown", (src, r.stdout)


def check_template(name):
    fmt, convs = TEMPLATES[name]
    src = read_template(name)
    names = list(CONVS) if convs == "all" else convs
    n = 0
    for conv in names:
        for gen in (True, False):
            for bos, eos in TOKENS:
                want, werr = jinja_render(src, CONVS[conv], gen, bos, eos)
                got, gerr = rf_render(fmt, CONVS[conv], gen, bos, eos)
                where = "%s / %s / gen=%s / bos=%r" % (name, conv, gen, bos)
                if werr is not None:
                    assert got is None, "%s: jinja raised %r but rocmforge rendered %r" % (where, werr, got)
                else:
                    assert gerr is None, "%s: rocmforge failed (%s), jinja gave %r" % (where, gerr, want)
                    assert got == want, "%s:\n  want %r\n  got  %r" % (where, want, got)
                n += 1
    return n


def make_test(name):
    def fn():
        need_jinja()
        check_template(name)
    fn.__name__ = "test_render_" + name.replace(".jinja", "").replace(".", "_")
    return fn


def test_unknown_renders_chatml():
    need_jinja()
    src = read_template("chatml_openhermes.jinja")
    for conv in ("system_multi", "unicode"):
        want, _ = jinja_render(src, CONVS[conv], True, "", "")
        got, err = rf_render("unknown", CONVS[conv], True, "", "")
        assert got == want, (got, want, err)


if __name__ == "__main__":
    rftest.run(test_detect)
    rftest.run(test_detect_unknown)
    for t in TEMPLATES:
        if TEMPLATES[t][1]:
            rftest.run(make_test(t))
    rftest.run(test_unknown_renders_chatml)
    sys.exit(rftest.exit_code())
