/* PolyBench-style GEMM, float: C = alpha * A * B + beta * C on SIZE x SIZE matrices. */
static float A[SIZE][SIZE], B[SIZE][SIZE], C[SIZE][SIZE];

unsigned run(void) {
  for (int i = 0; i < SIZE; i++)
    for (int j = 0; j < SIZE; j++) {
      A[i][j] = (float)((i * j + 1) % SIZE) / SIZE;
      B[i][j] = (float)((i * (j + 1) + 2) % SIZE) / SIZE;
      C[i][j] = (float)((i * (j + 2) + 3) % SIZE) / SIZE;
    }
  for (int i = 0; i < SIZE; i++)
    for (int j = 0; j < SIZE; j++) {
      float acc = 1.2f * C[i][j];
      for (int k = 0; k < SIZE; k++) acc += 1.5f * A[i][k] * B[k][j];
      C[i][j] = acc;
    }
  float s = 0;
  for (int i = 0; i < SIZE; i++) s += C[i][i];
  return (unsigned)(s * 1000.0f);
}
