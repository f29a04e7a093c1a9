/* Compile check: the implementation TU. Built as C11 and as C++17. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "rocmforge.h" /* a second include is harmless */
