/* Demo: picolibc's printf, qsort and integer math on the edge-sdk MCU; same output on Spike and the RTL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

int main(void) {
  int v[16];
  unsigned seed = 12345;
  for (int i = 0; i < 16; ++i) {
    seed = seed * 1103515245u + 12345u;
    v[i] = (int)(seed >> 16) % 1000 - 500;
  }
  qsort(v, 16, sizeof v[0], cmp_int);
  printf("sorted:");
  for (int i = 0; i < 16; ++i) printf(" %d", v[i]);
  printf("\n");
  long long f = 1;
  for (int i = 1; i <= 20; ++i) f *= i;
  printf("20! = %lld, 1000000007 / 97 = %d rem %d\n", f, 1000000007 / 97, 1000000007 % 97);
  char *p = malloc(64);
  strcpy(p, "heap ok");
  errno = 0;
  strtol("99999999999999999999", NULL, 10);
  printf("%s, errno after overflow = %s\n", p, errno == ERANGE ? "ERANGE" : "?");
  free(p);
  return 0;
}
