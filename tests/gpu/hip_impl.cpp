#define ROCMFORGE_HIP_IMPLEMENTATION
#include "rocmforge_hip.h"
