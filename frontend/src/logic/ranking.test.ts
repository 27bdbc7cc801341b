import { assignRank, emptyRanks, isComplete, moveTo, normalise, orderByRank, pairCount, rankFromKey, rankingEntries, tiedIds } from "./ranking";

describe("keyboard ranking", () => {
  const ids = [11, 12, 13, 14];

  it("gives the selected answer the rank of the digit typed", () => {
    const ranks = assignRank(emptyRanks(ids), 12, 1, 4);
    expect(ranks).toEqual({ 11: null, 12: 1, 13: null, 14: null });
  });

  it("makes a tie when the same digit is typed on two answers", () => {
    let ranks = emptyRanks(ids);
    ranks = assignRank(ranks, 11, 1, 4);
    ranks = assignRank(ranks, 12, 2, 4);
    ranks = assignRank(ranks, 13, 2, 4);
    ranks = assignRank(ranks, 14, 4, 4);
    expect(tiedIds(ranks)).toEqual(new Set([12, 13]));
    expect(isComplete(ranks)).toBe(true);
    expect(pairCount(ranks)).toBe(5); // C(4,2)=6 minus the one tied pair
  });

  it("refuses ranks outside 1..K", () => {
    expect(() => assignRank(emptyRanks(ids), 11, 5, 4)).toThrow(RangeError);
    expect(() => assignRank(emptyRanks(ids), 11, 0, 4)).toThrow(RangeError);
  });

  it("reads digit keys up to K only", () => {
    expect(rankFromKey("3", 4)).toBe(3);
    expect(rankFromKey("5", 4)).toBeNull();
    expect(rankFromKey("0", 9)).toBeNull();
    expect(rankFromKey("a", 9)).toBeNull();
  });

  it("normalises any digits to competition ranks", () => {
    expect(normalise({ 1: 1, 2: 3, 3: 3, 4: 4 })).toEqual({ 1: 1, 2: 2, 3: 2, 4: 4 });
    expect(normalise({ 1: 2, 2: 2, 3: null })).toEqual({ 1: 1, 2: 1, 3: null });
  });

  it("builds the submit entries with scores and flags, in display order", () => {
    const ranks = { 11: 1, 12: 3, 13: 3, 14: 4 };
    const entries = rankingEntries(ids, ranks, { 12: { score: 6, flags: ["harmful"] } });
    expect(entries).toEqual([
      { response: 11, rank: 1, score: null, flags: [] },
      { response: 12, rank: 2, score: 6, flags: ["harmful"] },
      { response: 13, rank: 2, score: null, flags: [] },
      { response: 14, rank: 4, score: null, flags: [] },
    ]);
  });

  it("will not build entries while an answer is unranked", () => {
    expect(() => rankingEntries(ids, { 11: 1, 12: null, 13: 2, 14: 3 }, {})).toThrow();
  });
});

describe("drag and drop ranking", () => {
  const ids = [1, 2, 3, 4];

  it("orders answers best first, ties in display order, unranked last", () => {
    expect(orderByRank(ids, { 1: null, 2: 2, 3: 1, 4: 2 })).toEqual([3, 2, 4, 1]);
  });

  it("dropping an unranked list gives a strict order", () => {
    const ranks = moveTo(ids, emptyRanks(ids), 4, 0);
    expect(ranks).toEqual({ 4: 1, 1: 2, 2: 3, 3: 4 });
  });

  it("keeps the ties of the other answers when one is moved", () => {
    // 1 best, 2 and 3 tied, 4 last; drag 4 to the top.
    const ranks = moveTo(ids, { 1: 1, 2: 2, 3: 2, 4: 4 }, 4, 0);
    expect(ranks).toEqual({ 4: 1, 1: 2, 2: 3, 3: 3 });
  });

  it("takes the moved answer out of its tie", () => {
    const ranks = moveTo(ids, { 1: 1, 2: 2, 3: 2, 4: 4 }, 2, 3);
    expect(ranks).toEqual({ 1: 1, 3: 2, 4: 3, 2: 4 });
  });
});
