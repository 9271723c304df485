// Prints the admin page as the host serves it, for
// tests/integration/admin_page_test.py (which loads it in Chromium).
#include <iostream>

#include "host/admin/admin_page.h"

int main() {
  std::cout << tiny::host::AdminPageHtml();
  return std::cout.good() ? 0 : 1;
}
