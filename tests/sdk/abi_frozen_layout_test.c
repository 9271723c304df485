/* The frozen ABI 1.0 header (commit 3f96ba7, the header the abi_1_0 fixture
 * plugin is built from) has the layout the current header is pinned to:
 * the same table of abi_layout.h passes against both, so a plugin built
 * from the old header reads and writes the same bytes as today's host.
 * A compile-time test: building this file is the check. */
#include "../loader/fixtures/abi_1_0/plugin.h"

#include <stdio.h>

#include "abi_layout.h"

int main(void) {
  printf("abi_frozen_layout_test: the frozen 1.0 header has the pinned layout\n");
  return 0;
}
