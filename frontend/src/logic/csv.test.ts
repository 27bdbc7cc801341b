import { parseCsv, previewCsv } from "./csv";

describe("CSV prompt import preview", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks", () => {
    const { rows, error } = parseCsv('text,category\n"Hi, you",chat\n"Say ""yes""\nplease",other\n');
    expect(error).toBeNull();
    expect(rows).toEqual([
      { line: 1, cells: ["text", "category"] },
      { line: 2, cells: ["Hi, you", "chat"] },
      { line: 3, cells: ['Say "yes"\nplease', "other"] },
    ]);
  });

  it("checks each row like a JSON Lines record, with its line number", () => {
    const rows = previewCsv("text,category,split\nWrite a poem,generation,sft\nHi,poetry,rm\n,chat,rm\nA,b,c,d\n");
    expect(rows.map((r) => [r.line, r.error === null])).toEqual([[2, true], [3, false], [4, false], [5, false]]);
    expect(rows[0]).toMatchObject({ text: "Write a poem", category: "generation", split: "sft" });
    expect(rows[1].error).toContain("category");
    expect(rows[3].error).toBe("More values than header columns.");
  });

  it("needs a header naming the text column, and closed quotes", () => {
    expect(previewCsv("category\nchat\n")[0].error).toContain("`text`");
    expect(previewCsv('text\n"open\n')[0].error).toContain("not closed");
  });
});
