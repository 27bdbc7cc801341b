import { markdownToSafeHtml } from "./Markdown";

describe("guideline Markdown", () => {
  it("renders headings, emphasis and lists", () => {
    const html = markdownToSafeHtml("# Ranking guide\n\nRank the most **helpful** answer first.\n\n- one\n- two");
    expect(html).toContain("<h1>Ranking guide</h1>");
    expect(html).toContain("<strong>helpful</strong>");
    expect(html).toContain("<li>one</li>");
  });

  it("removes script, event handlers and javascript: links", () => {
    const html = markdownToSafeHtml('<script>alert(1)</script>\n\n<img src="x" onerror="alert(2)">\n\n[click](javascript:alert(3))');
    expect(html).not.toContain("<script");
    expect(html).not.toContain("onerror");
    expect(html).not.toContain("javascript:");
  });
});
