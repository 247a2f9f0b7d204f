/* Sorting: an iterative quicksort of SIZE * 64 pseudo-random 32-bit integers. */
#define N (SIZE * 64)
static int v[N];
static int stack[128];

unsigned run(void) {
  unsigned x = 2463534242u;
  for (int i = 0; i < N; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    v[i] = (int)x;
  }
  int top = 0;
  stack[top++] = 0, stack[top++] = N - 1;
  while (top) {
    int hi = stack[--top], lo = stack[--top];
    while (lo < hi) {
      int p = v[(lo + hi) / 2], i = lo, j = hi;
      while (i <= j) {
        while (v[i] < p) i++;
        while (v[j] > p) j--;
        if (i <= j) { int t = v[i]; v[i] = v[j]; v[j] = t; i++, j--; }
      }
      if (j - lo < hi - i) { stack[top++] = i, stack[top++] = hi; hi = j; }
      else { stack[top++] = lo, stack[top++] = j; lo = i; }
    }
  }
  unsigned h = 0;
  for (int i = 0; i < N; i += 97) h = h * 31u + (unsigned)v[i];
  return h;
}
