/* PolyBench-style 2-D Jacobi stencil, double precision, SIZE x SIZE grid, SIZE / 4 sweeps. */
static double A[SIZE][SIZE], B[SIZE][SIZE];

unsigned run(void) {
  for (int i = 0; i < SIZE; i++)
    for (int j = 0; j < SIZE; j++) {
      A[i][j] = ((double)i * (j + 2) + 2) / SIZE;
      B[i][j] = ((double)i * (j + 3) + 3) / SIZE;
    }
  for (int t = 0; t < SIZE / 4; t++) {
    for (int i = 1; i < SIZE - 1; i++)
      for (int j = 1; j < SIZE - 1; j++)
        B[i][j] = 0.2 * (A[i][j] + A[i][j - 1] + A[i][j + 1] + A[i + 1][j] + A[i - 1][j]);
    for (int i = 1; i < SIZE - 1; i++)
      for (int j = 1; j < SIZE - 1; j++)
        A[i][j] = 0.2 * (B[i][j] + B[i][j - 1] + B[i][j + 1] + B[i + 1][j] + B[i - 1][j]);
  }
  return (unsigned)(A[SIZE / 2][SIZE / 2] * 1e6);
}
