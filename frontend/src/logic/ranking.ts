/**
 * Ranking rules of the labeling screen, free of the DOM so they can be tested on their own.
 *
 * A ranking gives each of the K answers a rank 1..K (1 = best). Equal ranks are ties, as in the
 * SPEC. Ranks are kept in "competition" form (1, 2, 2, 4): the labeler may type any digits, and
 * `normalise` turns them into competition ranks so "1, 3, 3, 5" and "1, 2, 2, 4" mean the same.
 */

export type Ranks = Record<number, number | null>;

export const FLAGS: { value: string; label: string }[] = [
  { value: "fails_instruction", label: "Fails to follow the instruction" },
  { value: "made_up_facts", label: "Makes up facts" },
  { value: "harmful", label: "Harmful" },
  { value: "inappropriate", label: "Inappropriate" },
  { value: "bad_formatting", label: "Bad formatting" },
];

export interface AnswerMarks {
  score: number | null; // 1..7 Likert score, optional
  flags: string[];
}

export function emptyRanks(ids: number[]): Ranks {
  return Object.fromEntries(ids.map((id) => [id, null]));
}

/** Give one answer a rank (a digit key press). Typing the same digit on two answers makes a tie. */
export function assignRank(ranks: Ranks, id: number, rank: number | null, k: number): Ranks {
  if (!(id in ranks)) throw new Error(`unknown answer ${id}`);
  if (rank !== null && (!Number.isInteger(rank) || rank < 1 || rank > k)) {
    throw new RangeError(`rank must be between 1 and ${k}`);
  }
  return { ...ranks, [id]: rank };
}

/** Competition ranks ("1224") from any numbers where smaller is better; unranked answers stay null. */
export function normalise(ranks: Ranks): Ranks {
  const given = Object.values(ranks).filter((r): r is number => r !== null);
  const out: Ranks = {};
  for (const [id, r] of Object.entries(ranks)) {
    out[Number(id)] = r === null ? null : 1 + given.filter((other) => other < r).length;
  }
  return out;
}

export function isComplete(ranks: Ranks): boolean {
  return Object.values(ranks).every((r) => r !== null);
}

/** Answers that share a rank with at least one other answer. */
export function tiedIds(ranks: Ranks): Set<number> {
  const count = new Map<number, number>();
  for (const r of Object.values(ranks)) if (r !== null) count.set(r, (count.get(r) ?? 0) + 1);
  return new Set(
    Object.entries(ranks)
      .filter(([, r]) => r !== null && (count.get(r) ?? 0) > 1)
      .map(([id]) => Number(id)),
  );
}

/** Number of comparison pairs a ranking yields: C(K,2) minus the tied pairs (ties give no pair). */
export function pairCount(ranks: Ranks): number {
  const values = Object.values(ranks).filter((r): r is number => r !== null);
  let pairs = 0;
  for (let i = 0; i < values.length; i++)
    for (let j = i + 1; j < values.length; j++) if (values[i] !== values[j]) pairs++;
  return pairs;
}

/** Answer ids best first (ties keep the order they were shown in; unranked answers last). */
export function orderByRank(ids: number[], ranks: Ranks): number[] {
  const position = new Map(ids.map((id, i) => [id, i]));
  return [...ids].sort((a, b) => {
    const ra = ranks[a] ?? Infinity;
    const rb = ranks[b] ?? Infinity;
    return ra === rb ? position.get(a)! - position.get(b)! : ra - rb;
  });
}

/**
 * Drag and drop: move answer `id` to `index` in the best-first list. The dragged answer gets a rank
 * of its own at its new place; the others keep their relative order and their ties.
 */
export function moveTo(ids: number[], ranks: Ranks, id: number, index: number): Ranks {
  const ordered = orderByRank(ids, ranks).filter((x) => x !== id);
  const at = Math.max(0, Math.min(index, ordered.length));
  ordered.splice(at, 0, id);
  const out: Ranks = {};
  let rank = 0;
  let previous: number | null | undefined = undefined;
  ordered.forEach((x, i) => {
    const r = x === id ? null : ranks[x];
    // Keep a tie with the previous answer when both had the same rank and neither is the moved one.
    if (i > 0 && x !== id && ordered[i - 1] !== id && r !== null && r === previous) {
      out[x] = rank;
    } else {
      rank = i + 1;
      out[x] = rank;
    }
    previous = r;
  });
  return normalise(out);
}

export interface RankingPayload {
  ranks: { response: number; rank: number; score: number | null; flags: string[] }[];
}

/** What the submit endpoint receives for the ranked answers (competition ranks). */
export function rankingEntries(ids: number[], ranks: Ranks, marks: Record<number, AnswerMarks>): RankingPayload["ranks"] {
  if (!isComplete(ranks)) throw new Error("every answer needs a rank");
  const norm = normalise(ranks);
  return ids.map((id) => ({
    response: id,
    rank: norm[id] as number,
    score: marks[id]?.score ?? null,
    flags: marks[id]?.flags ?? [],
  }));
}

/** The digit typed for a rank: "1".."9"; anything else is not a rank key. */
export function rankFromKey(key: string, k: number): number | null {
  if (!/^[1-9]$/.test(key)) return null;
  const n = Number(key);
  return n <= k ? n : null;
}
