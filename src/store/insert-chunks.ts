// Multi-row INSERTs in chunks of 64, 32, …, 1 rows: few distinct statement texts, so prepared
// statements are cached and reused whatever the batch size.

/** Rows per INSERT at most (request-log rows have 17 parameters, response items 6: far below any driver's limit). */
export const INSERT_CHUNK = 64;

export function insertChunks<T>(list: T[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (let size = INSERT_CHUNK; size >= 1; size /= 2) {
    for (; list.length - at >= size; at += size) out.push(list.slice(at, at + size));
  }
  return out;
}
