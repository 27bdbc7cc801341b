import { diffLines, diffStats } from "./diff";

describe("guideline diff", () => {
  it("marks added, removed and unchanged lines in order", () => {
    const before = "Be helpful.\nBe truthful.\nBe harmless.";
    const after = "Be helpful.\nBe honest.\nBe harmless.\nPrefer short answers.";
    expect(diffLines(before, after)).toEqual([
      { op: "same", text: "Be helpful." },
      { op: "del", text: "Be truthful." },
      { op: "add", text: "Be honest." },
      { op: "same", text: "Be harmless." },
      { op: "add", text: "Prefer short answers." },
    ]);
  });

  it("finds nothing to change between equal texts", () => {
    const lines = diffLines("a\nb", "a\nb");
    expect(diffStats(lines)).toEqual({ added: 0, removed: 0 });
  });

  it("handles an empty side", () => {
    expect(diffStats(diffLines("", "x\ny"))).toEqual({ added: 2, removed: 1 });
    expect(diffLines("a", "")).toEqual([{ op: "del", text: "a" }, { op: "add", text: "" }]);
  });
});
