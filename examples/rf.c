/* rf -- the rocmforge command line. Placeholder until rf info/synth land. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include <stdio.h>
int main(void) { printf("rf %s\n", RF_VERSION); return 0; }
