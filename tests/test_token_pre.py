"""The BPE pre-tokenizers (src/token_regex.c) against the Python `regex` module.

Each pre-tokenizer is a list of patterns, as written in the models' tokenizer.json files (the
llama.cpp forms are the same patterns); each pattern splits every piece of the previous one into
its matches and the gaps between them. build/tools/tok_tool prints our pieces; `regex` (a PCRE-
style engine with \\p{..} support) gives the reference. Inputs: the 46 strings of llama.cpp's
vocab tests and random strings over letters, digits, punctuation, white space and other scripts.
Unicode: our tables are Python 3.11's unicodedata (14.0); random characters are drawn from code
points assigned there, so a newer `regex` Unicode version does not show up as a difference.
"""
import os
import random
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

TOOL = os.path.join(rftest.BUILD, "tools", "tok_tool")

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = LLAMA3.replace(r"\p{N}{1,3}", r"\p{N}")
# DeepSeek LLM's cased-letter class, as code point ranges (tokenizer.json spells the characters).
DS_LETTERS = [(0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA),
              (0x1BC, 0x1BF), (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x377),
              (0x37B, 0x37D), (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C),
              (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F), (0x531, 0x556),
              (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF),
              (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15), (0x1F18, 0x1F1D),
              (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B),
              (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE),
              (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC),
              (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2102, 0x2102), (0x2107, 0x2107), (0x210A, 0x2113),
              (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126), (0x2128, 0x2128),
              (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149),
              (0x214E, 0x214E), (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE),
              (0x2CF2, 0x2CF3), (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787),
              (0xA78B, 0xA78E), (0xAB70, 0xABBF), (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A),
              (0xFF41, 0xFF5A), (0x10400, 0x1044F), (0x104B0, 0x104D3), (0x104D8, 0x104FB),
              (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943)]


def cls(ranges):
    return "".join("\\U%08X-\\U%08X" % r for r in ranges)


DS_CJK = r"[\U00004E00-\U00009FA5\U00000800-\U00004E00\U0000AC00-\U0000D7FF]+"
PRE = {
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
    "gpt-2": [GPT2],
    "llama-bpe": [LLAMA3],
    "qwen2": [QWEN2],
    "starcoder": [r"\p{N}", GPT2],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", GPT2, r"[0-9][0-9][0-9]"],
    "deepseek-llm": [r"[\r\n]", r"\s?[" + cls(DS_LETTERS) + r"]+",
                     r"\s?[!-/:-~\U0000FF01-\U0000FF0F\U0000FF1A-\U0000FF5E\U00002018-\U0000201F\U00003000-\U00003002]+",
                     r"\s+$", DS_CJK, r"\p{N}+"],
    "deepseek-coder": [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", DS_CJK, r"\p{N}"],
    "chameleon": [r"<sentinel:[0-9]+>", r"(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", r"([\t\n]|    |  )", r"\p{N}",
                  r"[\p{P}!-/:-@\[-`{-~]", GPT2],
}
# names that share a spec with one above (checked to produce the same pieces)
ALIASES = {"mpt": "gpt-2", "roberta-bpe": "gpt-2", "llama3": "llama-bpe", "refact": "starcoder",
           "command-r": "starcoder", "deepseek-r1-qwen": "qwen2"}


def reference_split(regex, patterns, text):
    pieces = [text]
    for p in patterns:
        out = []
        for piece in pieces:
            pos = 0
            for m in regex.finditer(p, piece):
                if m.end() == m.start():
                    continue
                if m.start() > pos:
                    out.append(piece[pos:m.start()])
                out.append(m.group())
                pos = m.end()
            if pos < len(piece):
                out.append(piece[pos:])
        pieces = out
    return pieces


def our_split(name, texts, cmd="pre"):
    data = b"".join(t.encode("utf-8") + b"\0" for t in texts)
    r = subprocess.run([TOOL, cmd, name], input=data, stdout=subprocess.PIPE, check=True)
    lines = r.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(texts), (len(lines), len(texts))
    return [[bytes.fromhex(h).decode("utf-8") for h in line.split(" ")] if line else [] for line in lines]


def test_inputs():
    texts = []
    sh = rftest.shared_dir()
    if sh:
        with open(os.path.join(sh, "models", "vocab", "ggml-vocab-llama-spm.gguf.inp"), encoding="utf-8") as f:
            texts += f.read().split("\n__ggml_vocab_test__\n")[:-1]
    rng = random.Random(1234)
    assigned = [c for c in range(0x20, 0x2FFFF) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")
                and not 0x1C <= c <= 0x1F]
    pools = ["abcXYZ", "0123456789", "'sStTrReEvVmMlLdD", " ", "  \t", "\n\r", ".,!?-_()[]{}<>$+^~|`@#%&*/\\\"",
             "éÀßøÆ", "αβγΩώ", "中文字한국어", "٣٤۵", "\u00a0\u3000\u2028\u0085", "\u0301\u0308", "😀🚀",
             "！？，。‘“", "IMGIMGABZ<sentinel:12>"]
    for _ in range(1000):
        n = rng.randint(1, 40)
        s = []
        for _ in range(n):
            if rng.random() < 0.1:
                s.append(chr(rng.choice(assigned)))
            else:
                s.append(rng.choice(rng.choice(pools)))
        texts.append("".join(s))
    return texts


def make_test(name, patterns, texts):
    def fn():
        import regex
        ours = our_split(name, texts)
        bad = 0
        for t, mine in zip(texts, ours):
            ref = reference_split(regex, patterns, t)
            if mine != ref:
                bad += 1
                if bad <= 3:
                    print("  %s: %r\n    ref  %r\n    ours %r" % (name, t, ref, mine))
        assert bad == 0, "%d of %d texts split differently" % (bad, len(texts))
    fn.__name__ = "pre_" + name.replace("-", "_")
    return fn


# The engine on its own: constructs the patterns use, in other combinations.
ENGINE = [r"a+b|ab|b", r"(?:ab)?c", r"[^a-c]{2,3}", r"x(?!y)", r"\s+$", r"[\p{L}\p{N}]+", r"\p{P}?\S+",
          r"(IMG)[A-C]{1,4}Z", r"'[sS]|'t", r"\p{M}+|\p{S}+", r"[\r\n]*\s*[\r\n]+", r"a{2}"]
UNSUPPORTED = [r"a+?", r"(?i:'s)", r"(?=a)", r"(ab)+", r"a.b", r"^a", r"\w+", r"[a-", r"(a", r"a)", r"\p{Lu}"]


def test_engine():
    import regex
    texts = ["", "aab abc xyzzy  x xy \n\r\n  ", "IMGABZ IMGABCDZ 's 'S 't éé ü\u0301 ++ -- ..", "aaaa bbbb"] + \
        ["".join(random.Random(i).choice("abcxyIMGZ' \n\r.+é\u0301") for _ in range(30)) for i in range(200)]
    for p in ENGINE:
        ours = our_split(p, texts, "rx")
        for t, mine in zip(texts, ours):
            ref = reference_split(regex, [p], t)
            assert mine == ref, "%r on %r: ref %r ours %r" % (p, t, ref, mine)
    for p in UNSUPPORTED:  # refused with a message, not misread
        r = subprocess.run([TOOL, "rx", p], input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert r.returncode == 3 and b"cannot compile" in r.stderr, (p, r.returncode, r.stderr)


def main():
    try:
        import regex  # noqa: F401
    except ImportError as e:
        print("skip pre_tokenizers: %s (pip install regex)" % e)
        return 0
    if not os.path.exists(TOOL):
        print("skip pre_tokenizers: %s not built" % TOOL)
        return 0
    rftest.run(test_engine)
    texts = test_inputs()
    for name, pats in PRE.items():
        rftest.run(make_test(name, pats, texts))
    for alias, name in ALIASES.items():
        rftest.run(make_test(alias, PRE[name], texts))
    return rftest.exit_code()


if __name__ == "__main__":
    sys.exit(main())
