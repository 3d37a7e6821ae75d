/* NOTES.md entry 11: OpenBLAS's sgemm on the native kernel's per-step products.
 * C[m, n] = A[m, k] B[k, n] row-major, B one contiguous panel per n columns (as the
 * kernel packs W_hh), one thread, repeated for about 2 GFLOP; prints GFLOP/s.
 * Built and run by benchmarks/experiments/openblas_small.py. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cblas.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  const int M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]), nb = atoi(argv[4]);
  const long reps = (long)(2e9 / (2.0 * M * N * K)) + 1;
  scipy_openblas_set_num_threads(1);
  float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
  float *c = malloc(sizeof(float) * M * N);
  for (long i = 0; i < (long)M * K; ++i) a[i] = 0.01f * (i % 7);
  for (long i = 0; i < (long)K * N; ++i) b[i] = 0.001f * (i % 5);
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    const double t0 = now();
    for (long r = 0; r < reps; ++r)
      for (int j = 0; j + nb <= N; j += nb)
        scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, nb, K, 1.0f, a, K,
                          b + (long)j * K, nb, 0.0f, c + j, N);
    const double dt = now() - t0;
    if (dt < best) best = dt;
  }
  printf("%.1f\n", 2.0 * M * (N / nb * nb) * K * reps / best / 1e9);
  free(a);
  free(b);
  free(c);
  return 0;
}
