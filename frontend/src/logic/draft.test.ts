import { clearDraft, draftKey, loadDraft, pruneDrafts, saveDraft } from "./draft";

describe("draft storage", () => {
  beforeEach(() => localStorage.clear());

  it("keeps a draft per assignment across reloads", () => {
    saveDraft(localStorage, 7, { ranks: { 1: 2 } });
    saveDraft(localStorage, 8, { ranks: { 1: 1 } });
    expect(loadDraft(localStorage, 7)).toEqual({ ranks: { 1: 2 } });
    expect(loadDraft(localStorage, 8)).toEqual({ ranks: { 1: 1 } });
    expect(localStorage.getItem(draftKey(7))).toContain('"savedAt"');
  });

  it("returns nothing for an unknown, corrupt or old-format draft", () => {
    expect(loadDraft(localStorage, 1)).toBeNull();
    localStorage.setItem(draftKey(2), "{not json");
    expect(loadDraft(localStorage, 2)).toBeNull();
    localStorage.setItem(draftKey(3), JSON.stringify({ v: 0, data: {} }));
    expect(loadDraft(localStorage, 3)).toBeNull();
  });

  it("is removed after submitting", () => {
    saveDraft(localStorage, 7, { text: "hello" });
    clearDraft(localStorage, 7);
    expect(loadDraft(localStorage, 7)).toBeNull();
  });

  it("prunes drafts of other assignments but leaves unrelated keys", () => {
    saveDraft(localStorage, 1, "a");
    saveDraft(localStorage, 2, "b");
    localStorage.setItem("theme", "dark");
    expect(pruneDrafts(localStorage, [2])).toBe(1);
    expect(loadDraft(localStorage, 1)).toBeNull();
    expect(loadDraft(localStorage, 2)).toBe("b");
    expect(localStorage.getItem("theme")).toBe("dark");
  });

  it("survives a full storage", () => {
    const full = { setItem: () => { throw new Error("QuotaExceededError"); } } as unknown as Storage;
    expect(() => saveDraft(full, 1, "x")).not.toThrow();
  });
});
