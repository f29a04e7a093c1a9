/* The one translation unit of the test build that holds the implementation. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
