import { previewJsonl } from "./jsonl";

describe("prompt import preview", () => {
  it("shows each line with its error and line number, skipping blank lines", () => {
    const rows = previewJsonl([
      '{"text": "Write a poem", "category": "generation", "split": "sft"}',
      "",
      '{"text": "Hi", "category": "nonsense"}',
      "{broken",
      '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Joke?"}]}',
    ].join("\n"));
    expect(rows.map((r) => [r.line, r.error === null])).toEqual([[1, true], [3, false], [4, false], [5, true]]);
    expect(rows[1].error).toContain("category");
    expect(rows[1].text).toBe("Hi");
    expect(rows[2].error).toContain("Not valid JSON");
    expect(rows[3]).toMatchObject({ text: "Joke?", turns: 3, split: "rm", category: "other" });
  });

  it("rejects empty text and unknown roles", () => {
    const rows = previewJsonl('{"text": "  "}\n{"messages": [{"role": "bot", "content": "x"}]}');
    expect(rows[0].error).toContain("text");
    expect(rows[1].error).toContain("messages[0]");
  });
});
