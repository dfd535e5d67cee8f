/**
 * Seeded random numbers (mulberry32 + Box–Muller), so that synthetic batches and labels are the
 * same on every run and every backend.
 */

/** A seeded generator of uniform [0, 1) numbers. */
export function uniform(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` standard normal samples from `seed`. */
export function normals(n: number, seed: number): Float32Array {
  const u = uniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** `n` integers uniform in [0, k) from `seed`. */
export function integers(n: number, k: number, seed: number): Int32Array {
  const u = uniform(seed);
  return Int32Array.from({ length: n }, () => Math.min(k - 1, Math.floor(u() * k)));
}
