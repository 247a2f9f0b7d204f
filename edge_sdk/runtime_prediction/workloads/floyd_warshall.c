/* PolyBench-style Floyd-Warshall all-pairs shortest paths on SIZE nodes (integer). */
static int path[SIZE][SIZE];

unsigned run(void) {
  for (int i = 0; i < SIZE; i++)
    for (int j = 0; j < SIZE; j++) {
      path[i][j] = i * j % 7 + 1;
      if ((i + j) % 13 == 0 || (i + j) % 7 == 0 || (i + j) % 11 == 0) path[i][j] = 999;
    }
  for (int k = 0; k < SIZE; k++)
    for (int i = 0; i < SIZE; i++)
      for (int j = 0; j < SIZE; j++)
        if (path[i][k] + path[k][j] < path[i][j]) path[i][j] = path[i][k] + path[k][j];
  unsigned s = 0;
  for (int i = 0; i < SIZE; i++) s += (unsigned)path[i][(i * 3) % SIZE];
  return s;
}
