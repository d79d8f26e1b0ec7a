/* The example project cbuild builds in the quick start. */
#include <stdio.h>
#include <string.h>

#ifndef GREETING
#define GREETING "Hello"
#endif

int main(int argc, char** argv) {
  const char* who = argc > 1 ? argv[1] : "world";
  printf("%s, %s!\n", GREETING, who);
  return strlen(who) > 0 ? 0 : 1;
}
